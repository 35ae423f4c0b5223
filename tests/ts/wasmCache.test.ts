/**
 * The adapter validates the provider and the device code once per JSON text and reuses the
 * result while the host passes the same data: an object changed in place must be validated
 * afresh, never answered from the cache.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as mod from "../../js/oauthDeviceFlow.ts";

const T0 = 1_700_000_000_000;
const pending: mod.FetchLike = async () => ({ status: 403, headers: { get: () => null }, text: async () => "" });
const deps = { fetch: pending, clock: () => T0 };

test("a device code changed in place between polls is validated afresh", async () => {
  const provider = mod.openaiCodexProvider({ issuer: "http://127.0.0.1:9" });
  const code: mod.DeviceCode = {
    deviceCode: "deviceauth_1",
    userCode: "ABCD-1234",
    verificationUri: "http://127.0.0.1:9/codex/device",
    intervalMs: 5000,
    expiresAt: T0 + 900_000,
  };
  for (let i = 0; i < 3; i++) assert.deepEqual(await mod.pollDeviceToken(provider, code, deps), { status: "pending", intervalMs: 5000 });
  code.intervalMs = 5;
  await assert.rejects(mod.pollDeviceToken(provider, code, deps), (e: unknown) => e instanceof mod.OAuthDeviceFlowError && e.code === "invalid_config" && /intervalMs/.test(e.message));
  code.intervalMs = 7000;
  assert.deepEqual(await mod.pollDeviceToken(provider, code, deps), { status: "pending", intervalMs: 7000 });
});

test("a provider changed in place between calls is validated afresh", async () => {
  const provider = { ...mod.openaiCodexProvider({ issuer: "http://127.0.0.1:9" }) };
  const code: mod.DeviceCode = {
    deviceCode: "deviceauth_1",
    userCode: "ABCD-1234",
    verificationUri: "http://127.0.0.1:9/codex/device",
    intervalMs: 5000,
    expiresAt: T0 + 900_000,
  };
  assert.equal((await mod.pollDeviceToken(provider, code, deps)).status, "pending");
  provider.tokenEndpoint = "http://idp.example.com/token";
  await assert.rejects(mod.pollDeviceToken(provider, code, deps), (e: unknown) => e instanceof mod.OAuthDeviceFlowError && e.code === "insecure_endpoint");
});
