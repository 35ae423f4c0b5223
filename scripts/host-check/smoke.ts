/**
 * The installed package used from TypeScript (run by tsx, type-checked by tsc): a real call through
 * the WebAssembly module with a scripted fetch, and the error class across the package boundary.
 */
import assert from "node:assert/strict";
import { OAuthDeviceFlowError, OPENAI_CODEX, requestDeviceCode, rfc8628Provider, type FetchLike } from "oauth-device-flow-wasm";

const NOW = 1_800_000_000_000;
const sent: { url: string; body: string }[] = [];
const fetch: FetchLike = async (url, init) => {
  sent.push({ url, body: init.body });
  return { status: 200, headers: new Headers({ "content-type": "application/json" }), text: async () => '{"device_auth_id":"da-1","user_code":"ABCD-1234","interval":"5"}' };
};

const code = await requestDeviceCode(OPENAI_CODEX, { fetch, clock: () => NOW });
assert.deepEqual(code, {
  deviceCode: "da-1",
  userCode: "ABCD-1234",
  verificationUri: "https://auth.openai.com/codex/device",
  intervalMs: 5000,
  expiresAt: NOW + 900_000,
});
assert.deepEqual(sent, [{ url: "https://auth.openai.com/api/accounts/deviceauth/usercode", body: '{"client_id":"app_EMoamEEZ73f0CkXaXp7hrann"}' }]);
assert.throws(
  () => rfc8628Provider({ clientId: "", deviceAuthorizationEndpoint: "https://idp.example.com/device", tokenEndpoint: "https://idp.example.com/token" }),
  (e: unknown) => e instanceof OAuthDeviceFlowError && e.code === "invalid_config",
);
console.log("smoke.ts: ok");
