/**
 * Secret canary sweep over the error paths the hostile-reply and host-fault suites do not reach:
 * configuration and argument errors raised while a secret is in hand (a client secret in the
 * provider, tokens and device codes in the arguments, secrets in provider headers). No canary may
 * appear in an error's `message`, `stack`, `JSON.stringify`, `String()` or `util.inspect`, whether
 * the error is thrown (factories, synchronous helpers) or rejected (operations, no request made).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  codexAuthHeaders,
  isAccessTokenExpired,
  openaiCodexProvider,
  pollDeviceToken,
  refreshAccessToken,
  requestDeviceCode,
  revokeToken,
  rfc8628Provider,
  waitForDeviceToken,
  type DeviceCode,
  type OAuthProvider,
  type OAuthTokens,
} from "../../js/oauthDeviceFlow.ts";
import { FakeClock, FakeFetch, ISSUER, T0, assertNoSecrets, callRejects, deps, jwt, throwsWith, type ExpectedError } from "./support/fakes.ts";

const CS = "cs_CANARY_sweep_client_secret";
const RT = "rt_CANARY_sweep_refresh";
const AT = jwt({ sub: "at_CANARY_sweep_access", exp: 1 });
const IT = jwt({ email: "it_CANARY_sweep@example.com" });
const DC = "dc_CANARY_sweep_device_code";
const HEADER_SECRET = "hk_CANARY_sweep_api_key";
const SECRETS = [CS, RT, AT, IT, DC, HEADER_SECRET, "CANARY", Buffer.from(`cli:${CS}`).toString("base64")];

const rfcOptions = {
  clientId: "cli",
  clientSecret: CS,
  clientAuth: "client_secret_basic" as const,
  deviceAuthorizationEndpoint: "https://idp.example.com/device",
  tokenEndpoint: "https://idp.example.com/token",
  revocationEndpoint: "https://idp.example.com/revoke",
  headers: { "X-Api-Key": HEADER_SECRET },
};
const rfc = rfc8628Provider(rfcOptions);
const codex = openaiCodexProvider({ issuer: ISSUER, headers: { "X-Api-Key": HEADER_SECRET } });
const code = (over: Partial<DeviceCode> = {}): DeviceCode => ({
  deviceCode: DC,
  userCode: "ABCD-1234",
  verificationUri: "https://idp.example.com/device",
  intervalMs: 5000,
  expiresAt: T0 + 600_000,
  ...over,
});
const tokens: OAuthTokens = { accessToken: AT, tokenType: "Bearer", refreshToken: RT, idToken: IT };

const thrown: Array<[string, () => unknown, ExpectedError]> = [
  ["a client secret with clientAuth none", () => rfc8628Provider({ ...rfcOptions, clientAuth: "none" }), { code: "invalid_config" }],
  ["a client secret beside an http endpoint", () => rfc8628Provider({ ...rfcOptions, tokenEndpoint: "http://idp.example.com/token" }), { code: "insecure_endpoint" }],
  [
    "a password in an http endpoint's userinfo",
    () => rfc8628Provider({ ...rfcOptions, tokenEndpoint: `http://cli:${CS}@idp.example.com/token` }),
    { code: "insecure_endpoint" },
  ],
  [
    "a password in an https endpoint's userinfo",
    () => rfc8628Provider({ ...rfcOptions, tokenEndpoint: `https://cli:${CS}@idp.example.com/token` }),
    { code: "invalid_config" },
  ],
  ["a secret header value with a line break", () => rfc8628Provider({ ...rfcOptions, headers: { "X-Api-Key": `${HEADER_SECRET}\r\nX: y` } }), { code: "invalid_config" }],
  ["an Authorization provider header holding a token", () => rfc8628Provider({ ...rfcOptions, headers: { authorization: `Bearer ${AT}` } }), { code: "invalid_config" }],
  ["an extra param repeating client_secret", () => rfc8628Provider({ ...rfcOptions, extraParams: { client_secret: CS } }), { code: "invalid_config" }],
  ["a clientSecret given to the openai factory", () => openaiCodexProvider({ clientSecret: CS } as never), { code: "invalid_config" }],
  ["codexAuthHeaders with an access token that is not a string", () => codexAuthHeaders({ accessToken: 42, idToken: IT } as never), { code: "invalid_config" }],
  ["isAccessTokenExpired with a garbage expiresAt", () => isAccessTokenExpired({ ...tokens, expiresAt: "soon" as never }, () => T0), { code: "invalid_config" }],
  ["isAccessTokenExpired with a NaN clock", () => isAccessTokenExpired(tokens, () => Number.NaN), { code: "invalid_config" }],
];

const rejected: Array<[string, (f: FakeFetch) => Promise<unknown>, ExpectedError]> = [
  ["refresh through a hand-built provider with an http endpoint", (f) => refreshAccessToken({ ...rfc, tokenEndpoint: "http://evil.example/t" }, tokens, deps(f, new FakeClock(T0))), { code: "insecure_endpoint" }],
  ["refresh of tokens whose refreshToken is not a string", (f) => refreshAccessToken(codex, { ...tokens, refreshToken: 42 as never }, deps(f, new FakeClock(T0))), { code: "invalid_config" }],
  ["refresh with a NaN clock", (f) => refreshAccessToken(rfc, RT, { fetch: f.fetch, clock: () => Number.NaN }), { code: "invalid_config" }],
  ["poll with a code whose interval is 0", (f) => pollDeviceToken(rfc, code({ intervalMs: 0 }), deps(f, new FakeClock(T0))), { code: "invalid_config" }],
  ["poll with an expired code", (f) => pollDeviceToken(rfc, code(), deps(f, new FakeClock(T0 + 600_000))), { code: "expired_token" }],
  ["wait with an expired code", (f) => waitForDeviceToken(rfc, code(), { ...deps(f, new FakeClock(T0 + 600_000)), sleep: async () => {} }), { code: "expired_token" }],
  ["wait with a sleep that throws", (f) => waitForDeviceToken(rfc, code(), { ...deps(f, new FakeClock(T0)), sleep: () => { throw new Error(DC); } }), { code: "invalid_config" }],
  ["revoke without a revocation endpoint", (f) => revokeToken({ ...rfc, revocationEndpoint: undefined } as OAuthProvider, RT, deps(f, new FakeClock(T0))), { code: "invalid_config" }],
  ["revoke with an already aborted signal", (f) => revokeToken(rfc, RT, deps(f, new FakeClock(T0), { signal: AbortSignal.abort(new Error(RT)) })), { code: "aborted" }],
  ["device request with a provider header holding a token", (f) => requestDeviceCode({ ...rfc, headers: { Authorization: `Bearer ${AT}` } }, deps(f, new FakeClock(T0))), { code: "invalid_config" }],
  ["device request with deps that are not an object", () => requestDeviceCode(rfc, DC as never), { code: "invalid_config" }],
];

describe("no secret in errors raised while one is in hand", () => {
  for (const [name, call, expected] of thrown) {
    test(`thrown: ${name} -> ${expected.code}`, () => {
      assertNoSecrets(throwsWith(call, expected), SECRETS);
    });
  }
  for (const [name, call, expected] of rejected) {
    test(`rejected: ${name} -> ${expected.code}, no request`, async () => {
      const f = new FakeFetch();
      assertNoSecrets(await callRejects(() => call(f), expected), SECRETS);
      assert.equal(f.calls.length, 0);
    });
  }
});
