/**
 * The embedded mock as a standard RFC 8628 server, through the wasm module over real loopback HTTP:
 * device authorization, authorization_pending / slow_down / access_denied / expired_token, refresh
 * with and without rotation, RFC 7009 revocation, and confidential-client authentication.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  decodeTokenClaims,
  pollDeviceToken,
  refreshAccessToken,
  requestDeviceCode,
  revokeToken,
} from "../../js/oauthDeviceFlow.ts";
import { RFC_CLIENT_ID } from "../../demo/mockServer.ts";
import { rejectsWith } from "./support/fakes.ts";
import { NOW, callBackend, onlyRequest, realDeps, rfcProvider, signIn, submitPage, withMock } from "./support/mockSupport.ts";

const FORM = "application/x-www-form-urlencoded";
const GRANT = "urn:ietf:params:oauth:grant-type:device_code";

describe("mock rfc8628: device authorization and polling", () => {
  test("the device request is a form with client_id and scope; the reply has the complete URI, expires_in and interval", () =>
    withMock({ codeLifetimeSec: 300 }, async (mock) => {
      const code = await requestDeviceCode(rfcProvider(mock), realDeps());
      const req = onlyRequest(mock, "/rfc8628/device_authorization");
      assert.equal(req.headers["content-type"], FORM);
      assert.equal(req.body, "client_id=mock-device-client&scope=openid+offline_access");
      assert.equal(code.verificationUri, `${mock.url}/device`);
      assert.equal(code.verificationUriComplete, `${mock.url}/device?user_code=${code.userCode}`);
      assert.equal(code.intervalMs, 1000);
      assert.equal(code.expiresAt, NOW + 300_000);
      assert.match(code.deviceCode, /^dc_[A-Za-z0-9_-]{32}$/);
    }));

  test("pending is 400 authorization_pending; the slowDown knob gives slow_down (+5 s); approval gives tokens with the scope", () =>
    withMock({}, async (mock) => {
      const provider = rfcProvider(mock);
      const code = await requestDeviceCode(provider, realDeps());
      assert.deepEqual(await pollDeviceToken(provider, code, realDeps()), { status: "pending", intervalMs: 1000 });
      const poll = mock.log.filter((e) => e.path === "/rfc8628/token")[0];
      assert.equal(poll?.body, new URLSearchParams({ grant_type: GRANT, device_code: code.deviceCode, client_id: RFC_CLIENT_ID }).toString());
      assert.deepEqual([poll?.status, JSON.parse(poll?.reply ?? "{}").error], [400, "authorization_pending"]);
      mock.knobs.slowDown = 1;
      assert.deepEqual(await pollDeviceToken(provider, code, realDeps()), { status: "slow_down", intervalMs: 6000 });
      assert.equal(mock.approve(code.userCode), true);
      const done = await pollDeviceToken(provider, code, realDeps());
      assert.equal(done.status, "success");
      if (done.status !== "success") return;
      assert.equal(done.tokens.scope, "openid offline_access");
      assert.equal(done.tokens.tokenType, "Bearer");
      assert.equal(done.tokens.expiresAt, NOW + 3600_000);
      assert.deepEqual(decodeTokenClaims(done.tokens).audience, [mock.url]);
      assert.equal(decodeTokenClaims(done.tokens).accountId, undefined, "a generic IdP token carries no ChatGPT account");
      await rejectsWith(pollDeviceToken(provider, code, realDeps()), { code: "invalid_grant", status: 400, serverCode: "invalid_grant" });
    }));

  test("denial on the page gives access_denied; an expired code gives expired_token", () =>
    withMock({}, async (mock) => {
      const provider = rfcProvider(mock);
      const denied = await requestDeviceCode(provider, realDeps());
      assert.equal((await submitPage(mock, denied.userCode, "deny")).status, 200);
      await rejectsWith(pollDeviceToken(provider, denied, realDeps()), { code: "access_denied", status: 400, serverCode: "access_denied" });
      const stale = await requestDeviceCode(provider, realDeps());
      assert.equal(mock.expire(stale.userCode), true);
      await rejectsWith(pollDeviceToken(provider, stale, realDeps()), { code: "expired_token", status: 400, serverCode: "expired_token" });
    }));
});

describe("mock rfc8628: refresh and revocation", () => {
  test("with rotation (the default) the old refresh token is spent: reusing it is invalid_grant", () =>
    withMock({}, async (mock) => {
      const provider = rfcProvider(mock);
      const { tokens } = await signIn(mock, provider);
      const next = await refreshAccessToken(provider, tokens, realDeps());
      const refresh = mock.log.at(-1);
      assert.equal(refresh?.body, new URLSearchParams({ grant_type: "refresh_token", refresh_token: tokens.refreshToken ?? "", client_id: RFC_CLIENT_ID }).toString());
      assert.notEqual(next.refreshToken, tokens.refreshToken);
      assert.equal(next.scope, "openid offline_access");
      await rejectsWith(refreshAccessToken(provider, tokens, realDeps()), { code: "invalid_grant", status: 400, serverCode: "invalid_grant" });
      assert.equal((await refreshAccessToken(provider, next, realDeps())).tokenType, "Bearer");
    }));

  test("with rotateRefreshTokens off the reply has no refresh_token, so the module keeps the old one, which stays valid", () =>
    withMock({ rotateRefreshTokens: false }, async (mock) => {
      const provider = rfcProvider(mock);
      const { tokens } = await signIn(mock, provider);
      const next = await refreshAccessToken(provider, tokens, realDeps());
      assert.equal("refresh_token" in JSON.parse(mock.log.at(-1)?.reply ?? "{}"), false);
      assert.equal(next.refreshToken, tokens.refreshToken);
      assert.notEqual(next.accessToken, tokens.accessToken);
      const again = await refreshAccessToken(provider, next, realDeps());
      assert.equal(again.refreshToken, tokens.refreshToken);
    }));

  test("revokeToken posts an RFC 7009 form; the revoked refresh token and its access tokens stop working", () =>
    withMock({}, async (mock) => {
      const provider = rfcProvider(mock);
      const { tokens } = await signIn(mock, provider);
      await revokeToken(provider, tokens.refreshToken ?? "", realDeps());
      const revoke = onlyRequest(mock, "/rfc8628/revoke");
      assert.equal(revoke.headers["content-type"], FORM);
      assert.equal(revoke.body, new URLSearchParams({ token: tokens.refreshToken ?? "", token_type_hint: "refresh_token", client_id: RFC_CLIENT_ID }).toString());
      assert.equal(revoke.status, 200);
      await rejectsWith(refreshAccessToken(provider, tokens, realDeps()), { code: "invalid_grant", status: 400, serverCode: "invalid_grant" });
      assert.equal((await callBackend(mock, { Authorization: `Bearer ${tokens.accessToken}` })).status, 401);
    }));

  test("a bearer header alone reaches the model backend with an rfc8628 token (it has no account to match)", () =>
    withMock({}, async (mock) => {
      const { tokens } = await signIn(mock, rfcProvider(mock));
      assert.equal((await callBackend(mock, { Authorization: `Bearer ${tokens.accessToken}` })).status, 200);
    }));
});

describe("mock rfc8628: confidential clients", () => {
  const SECRET = "cs mock/secret+1";

  test("client_secret_post and client_secret_basic are accepted with the right secret", () =>
    withMock({ rfcClientSecret: SECRET }, async (mock) => {
      for (const clientAuth of ["client_secret_post", "client_secret_basic"] as const) {
        const provider = rfcProvider(mock, { clientSecret: SECRET, clientAuth });
        const { tokens } = await signIn(mock, provider);
        assert.equal(typeof tokens.accessToken, "string", clientAuth);
      }
    }));

  test("a wrong secret is 401 invalid_client, which the module reports as oauth_error", () =>
    withMock({ rfcClientSecret: SECRET }, async (mock) => {
      for (const clientAuth of ["client_secret_post", "client_secret_basic"] as const) {
        const provider = rfcProvider(mock, { clientSecret: "wrong", clientAuth });
        await rejectsWith(requestDeviceCode(provider, realDeps()), { code: "oauth_error", status: 401, serverCode: "invalid_client" });
      }
      await rejectsWith(requestDeviceCode(rfcProvider(mock), realDeps()), { code: "oauth_error", status: 401, serverCode: "invalid_client" });
    }));
});
