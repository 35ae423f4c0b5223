/**
 * The TypeScript types of what crosses the WebAssembly boundary are generated from the Rust types
 * (src/wasm/types.rs, tsify) into pkg/oauth_device_flow.d.ts. Here `tsc` proves they are exactly
 * the drop-in's public types (not merely assignable), so neither side can change alone; the
 * runtime part checks that the values are plain objects without `undefined` members.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type * as wasm from "../../js/wasm.ts";
import * as mod from "../../js/oauthDeviceFlow.ts";
import type { OperationResults } from "../../js/wasmResults.ts";
import type { ErrorFields } from "../../js/errors.ts";

/** `true` only when A and B are the same type (the usual mutual-conditional test). */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const same = <A, B>(ok: Equal<A, B>) => ok;

same<wasm.OAuthProvider, mod.OAuthProvider>(true);
same<wasm.DeviceCode, mod.DeviceCode>(true);
same<wasm.OAuthTokens, mod.OAuthTokens>(true);
same<wasm.PollResult, mod.PollResult>(true);
same<wasm.TokenClaims, mod.TokenClaims>(true);
same<wasm.StringMap, ReturnType<typeof mod.codexAuthHeaders>>(true);
// The module's codes are the drop-in's codes minus the two the streaming helper decides alone.
same<wasm.ErrorCode, Exclude<mod.OAuthErrorCode, "stream_incomplete" | "idle_timeout">>(true);
// The error fields the module builds errors from are those the error factory takes (the codes: above).
same<Omit<wasm.ErrorFields, "code">, Omit<ErrorFields, "code">>(true);
// Events carry a module error code, which the public event type accepts.
const event = (e: wasm.DeviceFlowEvent): mod.DeviceFlowEvent => e;
// The async exports start operations (they return an id); what an operation settles with is
// typed once, per export, in js/wasmResults.ts, which must name the public types.
same<OperationResults["requestDeviceCode"], mod.DeviceCode>(true);
same<OperationResults["pollDeviceToken"], mod.PollResult>(true);
same<OperationResults["refreshAccessToken"], mod.OAuthTokens>(true);
same<OperationResults["waitForDeviceToken"], mod.OAuthTokens>(true);
same<OperationResults["revokeToken"], Awaited<ReturnType<typeof mod.revokeToken>>>(true);
// Every async export (those returning an operation id) has an entry, and nothing else does.
type OperationExports = { [K in keyof typeof wasm]: (typeof wasm)[K] extends (...a: never[]) => number ? K : never }[keyof typeof wasm];
type SameKeys<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const sameKeys: SameKeys<keyof OperationResults, Exclude<OperationExports, "isExpiredAt" | "opCount" | "wasmMemoryBytes">> = true;
same<ReturnType<typeof wasm.openaiCodexProvider>, mod.OAuthProvider>(true);

const hasUndefinedMember = (v: unknown): boolean =>
  typeof v === "object" && v !== null && Object.values(v).some((x) => x === undefined || hasUndefinedMember(x));

test("values from the module are plain objects without undefined members", () => {
  void event;
  void sameKeys;
  const codex = mod.openaiCodexProvider({ issuer: "http://127.0.0.1:9", headers: { "X-B": "2", "X-A": "1" } });
  assert.equal(Object.getPrototypeOf(codex), Object.prototype);
  assert.equal(hasUndefinedMember(codex), false);
  assert.deepEqual(Object.keys(codex.headers ?? {}), ["X-B", "X-A"], "headers keep their order");
  assert.equal(Object.getPrototypeOf(codex.headers), Object.prototype, "a map crosses as a plain object");
  const rfc = mod.rfc8628Provider({
    clientId: "c",
    deviceAuthorizationEndpoint: "https://a.example/device",
    tokenEndpoint: "https://a.example/token",
  });
  assert.deepEqual(rfc, {
    kind: "rfc8628",
    clientId: "c",
    deviceAuthorizationEndpoint: "https://a.example/device",
    tokenEndpoint: "https://a.example/token",
  });
  assert.deepEqual(mod.decodeTokenClaims({ accessToken: "not-a-jwt", tokenType: "Bearer" }), {});
  const headers = mod.codexAuthHeaders({ accessToken: "at", tokenType: "Bearer" });
  assert.equal(Object.getPrototypeOf(headers), Object.prototype);
  assert.equal(hasUndefinedMember(headers), false);
});

test("isAccessTokenExpired with a known expiresAt (numbers only) reads the clock once, also when the reading is unusable", () => {
  const T0 = 1_700_000_000_000;
  const tokens = { accessToken: "at", tokenType: "Bearer", expiresAt: T0 + 60_000 };
  for (const [now, expired] of [
    [T0, true],
    [T0 - 1, false],
  ] as const) {
    let calls = 0;
    assert.equal(mod.isAccessTokenExpired(tokens, () => (calls++, now)), expired);
    assert.equal(calls, 1);
  }
  for (const bad of [() => NaN, () => -1, () => "1700000000000" as unknown as number, () => { throw new Error("clock down"); }]) {
    let calls = 0;
    const clock = () => (calls++, bad());
    assert.throws(
      () => mod.isAccessTokenExpired(tokens, clock),
      (e: unknown) => e instanceof mod.OAuthDeviceFlowError && e.code === "invalid_config" && /clock\(\)/.test(e.message),
    );
    assert.equal(calls, 1);
  }
});
