/**
 * The embedded mock speaks OpenAI's device login (openai-codex) as the spec describes, checked
 * through the wasm module over real loopback HTTP: the wire of each step, 403-pending, the form
 * exchange with redirect_uri/client_id/PKCE checks, single-use rotating refresh tokens, revocation,
 * the JWT claims, and the Codex backend's header checks.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  codexAuthHeaders,
  decodeTokenClaims,
  isAccessTokenExpired,
  pollDeviceToken,
  refreshAccessToken,
  requestDeviceCode,
  revokeToken,
  waitForDeviceToken,
  type DeviceFlowEvent,
} from "../../js/oauthDeviceFlow.ts";
import { CODEX_CLIENT_ID } from "../../js/demo/mockServer.ts";
import { pkceChallenge } from "../../js/demo/mockTokens.ts";
import { rejectsWith } from "./fakes.ts";
import { NOW, callBackend, codexProvider, onlyRequest, rawPost, realDeps, signIn, submitPage, withMock } from "./mockSupport.ts";

const FORM = "application/x-www-form-urlencoded";

describe("mock openai-codex: device code and polling", () => {
  test("the user-code request is JSON with the Codex client id; the reply gives a string interval and the code lives 15 min", () =>
    withMock({}, async (mock) => {
      const code = await requestDeviceCode(codexProvider(mock), realDeps());
      const req = onlyRequest(mock, "/api/accounts/deviceauth/usercode");
      assert.equal(req.method, "POST");
      assert.equal(req.headers["content-type"], "application/json");
      assert.equal(req.body, `{"client_id":"${CODEX_CLIENT_ID}"}`);
      const reply = JSON.parse(req.reply) as Record<string, unknown>;
      assert.equal(reply.interval, "1");
      assert.match(code.userCode, /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
      assert.equal(code.deviceCode, reply.device_auth_id);
      assert.equal(code.verificationUri, `${mock.url}/codex/device`);
      assert.equal(code.verificationUriComplete, undefined);
      assert.equal(code.intervalMs, 1000);
      assert.equal(code.expiresAt, NOW + 15 * 60_000);
    }));

  test("the intervalSec knob sets the announced interval", () =>
    withMock({ intervalSec: 3 }, async (mock) => {
      const code = await requestDeviceCode(codexProvider(mock), realDeps());
      assert.equal(code.intervalMs, 3000);
    }));

  test("before approval a poll answers 403 deviceauth_authorization_pending, which the module reads as pending", () =>
    withMock({}, async (mock) => {
      const provider = codexProvider(mock);
      const code = await requestDeviceCode(provider, realDeps());
      assert.deepEqual(await pollDeviceToken(provider, code, realDeps()), { status: "pending", intervalMs: 1000 });
      const poll = onlyRequest(mock, "/api/accounts/deviceauth/token");
      assert.equal(poll.body, JSON.stringify({ device_auth_id: code.deviceCode, user_code: code.userCode }));
      assert.equal(poll.status, 403);
      assert.equal((JSON.parse(poll.reply) as { error: { code: string } }).error.code, "deviceauth_authorization_pending");
      assert.equal(mock.count("/oauth/token"), 0, "no exchange while pending");
    }));

  test("after approval one poll redeems the code: a form exchange with redirect_uri, client_id and the verifier", () =>
    withMock({}, async (mock) => {
      const provider = codexProvider(mock);
      const { tokens } = await signIn(mock, provider);
      const poll = onlyRequest(mock, "/api/accounts/deviceauth/token");
      const handed = JSON.parse(poll.reply) as { authorization_code: string; code_verifier: string; code_challenge: string };
      assert.equal(pkceChallenge(handed.code_verifier), handed.code_challenge, "S256 challenge of the verifier");
      const exchange = onlyRequest(mock, "/oauth/token");
      assert.equal(exchange.headers["content-type"], FORM);
      assert.equal(
        exchange.body,
        new URLSearchParams({
          grant_type: "authorization_code",
          code: handed.authorization_code,
          redirect_uri: `${mock.url}/deviceauth/callback`,
          client_id: CODEX_CLIENT_ID,
          code_verifier: handed.code_verifier,
        }).toString(),
      );
      assert.equal(exchange.status, 200);
      assert.equal(tokens.tokenType, "Bearer");
      assert.equal(tokens.expiresAt, NOW + 3600_000);
      assert.match(tokens.refreshToken ?? "", /^rt_[A-Za-z0-9_-]{32}$/);
    }));

  test("the tokens are JWTs with exp and the https://api.openai.com/auth claims; the id token has the email", () =>
    withMock({ account: { accountId: "acct_T1", planType: "pro", userId: "user_T1", email: "t1@example.com" } }, async (mock) => {
      const { tokens } = await signIn(mock, codexProvider(mock));
      const claims = decodeTokenClaims(tokens);
      assert.equal(claims.accountId, "acct_T1");
      assert.equal(claims.planType, "pro");
      assert.equal(claims.userId, "user_T1");
      assert.equal(claims.email, "t1@example.com");
      assert.deepEqual(claims.audience, ["https://api.openai.com/v1"]);
      const exp = claims.expiresAt ?? 0;
      assert.ok(Math.abs(exp - (Date.now() + 3600_000)) < 5_000, "exp is an hour after issue on the server's clock");
      assert.deepEqual(codexAuthHeaders(tokens), { Authorization: `Bearer ${tokens.accessToken}`, "ChatGPT-Account-ID": "acct_T1" });
    }));

  test("the tokenLifetimeSec knob sets expires_in and exp", () =>
    withMock({ tokenLifetimeSec: 120 }, async (mock) => {
      const { tokens } = await signIn(mock, codexProvider(mock));
      assert.equal(tokens.expiresAt, NOW + 120_000);
      assert.equal(isAccessTokenExpired(tokens, () => NOW + 59_000), false);
      assert.equal(isAccessTokenExpired(tokens, () => NOW + 60_000), true);
    }));

  test("denial on the page makes the next poll reject with access_denied", () =>
    withMock({}, async (mock) => {
      const provider = codexProvider(mock);
      const code = await requestDeviceCode(provider, realDeps());
      assert.equal((await submitPage(mock, code.userCode, "deny", "/codex/device")).status, 200);
      await rejectsWith(pollDeviceToken(provider, code, realDeps()), { code: "access_denied", status: 403, serverCode: "access_denied" });
      assert.equal(mock.count("/oauth/token"), 0);
    }));

  test("an expired code answers deviceauth_expired, which the module reports as expired_token", () =>
    withMock({}, async (mock) => {
      const provider = codexProvider(mock);
      const code = await requestDeviceCode(provider, realDeps());
      assert.equal(mock.expire(code.userCode), true);
      await rejectsWith(pollDeviceToken(provider, code, realDeps()), { code: "expired_token", status: 403, serverCode: "deviceauth_expired" });
    }));

  test("the slowDown knob answers slow_down once: the interval grows by 5 s, then polling goes on", () =>
    withMock({ slowDown: 1 }, async (mock) => {
      const provider = codexProvider(mock);
      const code = await requestDeviceCode(provider, realDeps());
      assert.deepEqual(await pollDeviceToken(provider, code, realDeps()), { status: "slow_down", intervalMs: 6000 });
      assert.deepEqual(await pollDeviceToken(provider, code, realDeps()), { status: "pending", intervalMs: 1000 });
      assert.equal(mock.knobs.slowDown, 0);
    }));

  test("waitForDeviceToken against the mock: waiting events, approval during a wait, then tokens", () =>
    withMock({}, async (mock) => {
      const provider = codexProvider(mock);
      const code = await requestDeviceCode(provider, realDeps());
      const events: DeviceFlowEvent[] = [];
      const sleeps: number[] = [];
      const tokens = await waitForDeviceToken(provider, code, {
        ...realDeps(),
        onEvent: (e) => events.push(e),
        // A fake sleep: no real waiting; the person approves during the second wait.
        sleep: async (ms) => {
          sleeps.push(ms);
          if (sleeps.length === 2) assert.equal(mock.approve(code.userCode), true);
        },
      });
      assert.deepEqual(sleeps, [1000, 1000]);
      assert.deepEqual(events, [
        { type: "waiting", nextPollInMs: 1000, expiresAt: code.expiresAt },
        { type: "waiting", nextPollInMs: 1000, expiresAt: code.expiresAt },
      ]);
      assert.equal(mock.count("/api/accounts/deviceauth/token"), 2);
      assert.equal(decodeTokenClaims(tokens).accountId, mock.account.accountId);
    }));
});

describe("mock openai-codex: the code exchange checks", () => {
  /** Approves a fresh code and fetches what the poll hands out, without the module. */
  async function approvedCode(mock: Parameters<Parameters<typeof withMock>[1]>[0]) {
    const code = await requestDeviceCode(codexProvider(mock), realDeps());
    mock.approve(code.userCode);
    const poll = await rawPost(
      `${mock.url}/api/accounts/deviceauth/token`,
      JSON.stringify({ device_auth_id: code.deviceCode, user_code: code.userCode }),
      "application/json",
    );
    assert.equal(poll.status, 200);
    return poll.json as { authorization_code: string; code_verifier: string };
  }
  const exchange = (mock: { url: string }, fields: Record<string, string>) =>
    rawPost(`${mock.url}/oauth/token`, new URLSearchParams({ grant_type: "authorization_code", ...fields }).toString(), FORM);

  test("a wrong redirect_uri, client_id or verifier is refused; the right one then succeeds once and only once", () =>
    withMock({}, async (mock) => {
      const handed = await approvedCode(mock);
      const good = {
        code: handed.authorization_code,
        redirect_uri: `${mock.url}/deviceauth/callback`,
        client_id: CODEX_CLIENT_ID,
        code_verifier: handed.code_verifier,
      };
      const badRedirect = await exchange(mock, { ...good, redirect_uri: `${mock.url}/auth/callback` });
      assert.deepEqual([badRedirect.status, badRedirect.json?.error], [400, "invalid_grant"]);
      const badClient = await exchange(mock, { ...good, client_id: "app_other" });
      assert.deepEqual([badClient.status, badClient.json?.error], [401, "invalid_client"]);
      const badVerifier = await exchange(mock, { ...good, code_verifier: `${handed.code_verifier}x` });
      assert.deepEqual([badVerifier.status, badVerifier.json?.error], [400, "invalid_grant"]);
      const ok = await exchange(mock, good);
      assert.equal(ok.status, 200);
      assert.equal(typeof ok.json?.access_token, "string");
      const again = await exchange(mock, good);
      assert.deepEqual([again.status, again.json?.error], [400, "invalid_grant"], "an authorization code is single-use");
    }));

  test("the exchange sent as JSON is refused: only the refresh may be JSON", () =>
    withMock({}, async (mock) => {
      const handed = await approvedCode(mock);
      const reply = await rawPost(
        `${mock.url}/oauth/token`,
        JSON.stringify({ grant_type: "authorization_code", code: handed.authorization_code, code_verifier: handed.code_verifier }),
        "application/json",
      );
      assert.equal(reply.status, 400);
      assert.equal((reply.json?.error as { code?: string }).code, "unsupported_grant_type");
    }));

  test("the poll hands the approved code out again until it is redeemed, then refuses the used authorization", () =>
    withMock({}, async (mock) => {
      const provider = codexProvider(mock);
      const code = await requestDeviceCode(provider, realDeps());
      mock.approve(code.userCode);
      mock.fault({ path: "/oauth/token", status: 503 });
      await rejectsWith(pollDeviceToken(provider, code, realDeps()), { code: "server_error", status: 503 });
      const second = await pollDeviceToken(provider, code, realDeps());
      assert.equal(second.status, "success", "the next poll retries the exchange");
      await rejectsWith(pollDeviceToken(provider, code, realDeps()), { code: "invalid_grant", status: 400, serverCode: "invalid_grant" });
    }));
});

describe("mock openai-codex: refresh and revocation", () => {
  test("a JSON refresh rotates the refresh token; reusing the spent one is 401 refresh_token_reused", () =>
    withMock({}, async (mock) => {
      const provider = codexProvider(mock);
      const { tokens } = await signIn(mock, provider);
      const next = await refreshAccessToken(provider, tokens, realDeps());
      const refresh = mock.log.filter((e) => e.path === "/oauth/token").at(-1);
      assert.equal(refresh?.headers["content-type"], "application/json");
      assert.equal(refresh?.body, JSON.stringify({ client_id: CODEX_CLIENT_ID, grant_type: "refresh_token", refresh_token: tokens.refreshToken }));
      assert.notEqual(next.refreshToken, tokens.refreshToken);
      assert.notEqual(next.accessToken, tokens.accessToken);
      assert.equal(decodeTokenClaims(next).accountId, mock.account.accountId);
      await rejectsWith(refreshAccessToken(provider, tokens, realDeps()), { code: "refresh_token_reused", status: 401, serverCode: "refresh_token_reused" });
      const reused = mock.log.at(-1);
      assert.deepEqual(JSON.parse(reused?.reply ?? "{}"), {
        error: {
          message: "Your refresh token has already been used to generate a new access token. Please try signing in again.",
          type: "invalid_request_error",
          param: null,
          code: "refresh_token_reused",
        },
      });
      const third = await refreshAccessToken(provider, next, realDeps());
      assert.notEqual(third.refreshToken, next.refreshToken, "the rotated token still works once");
    }));

  test("revokeToken sends JSON; afterwards the refresh token is refresh_token_invalidated and the access token is refused", () =>
    withMock({}, async (mock) => {
      const provider = codexProvider(mock);
      const { tokens } = await signIn(mock, provider);
      await revokeToken(provider, tokens.refreshToken ?? "", realDeps());
      const revoke = onlyRequest(mock, "/oauth/revoke");
      assert.equal(revoke.body, JSON.stringify({ token: tokens.refreshToken, token_type_hint: "refresh_token", client_id: CODEX_CLIENT_ID }));
      assert.equal(revoke.status, 200);
      await rejectsWith(refreshAccessToken(provider, tokens, realDeps()), {
        code: "refresh_token_invalidated",
        status: 401,
        serverCode: "refresh_token_invalidated",
      });
      const call = await callBackend(mock, codexAuthHeaders(tokens));
      assert.deepEqual([call.status, (call.json?.error as { code?: string }).code], [401, "token_revoked"]);
    }));
});

describe("mock Codex backend: POST /backend-api/codex/responses", () => {
  test("with codexAuthHeaders it answers a Responses-API message that echoes the user's text", () =>
    withMock({}, async (mock) => {
      const { tokens } = await signIn(mock, codexProvider(mock));
      const reply = await callBackend(mock, codexAuthHeaders(tokens), {
        model: "gpt-5-codex",
        input: [{ type: "message", role: "user", content: [{ type: "input_text", text: "ping 42" }] }],
      });
      assert.equal(reply.status, 200);
      assert.equal(reply.json?.object, "response");
      assert.equal(reply.json?.status, "completed");
      assert.equal(reply.json?.model, "gpt-5-codex");
      const output = reply.json?.output as { type: string; role: string; content: { type: string; text: string }[] }[];
      assert.equal(output[0]?.type, "message");
      assert.equal(output[0]?.role, "assistant");
      assert.equal(output[0]?.content[0]?.type, "output_text");
      assert.equal(output[0]?.content[0]?.text, 'Hello! The mock Codex backend heard: "ping 42"');
    }));

  test("no bearer, a forged token, a missing or wrong ChatGPT-Account-ID, or an expired token are refused", () => {
    let now = Date.now();
    return withMock({ clock: () => now, tokenLifetimeSec: 60 }, async (mock) => {
      const { tokens } = await signIn(mock, codexProvider(mock));
      const headers = codexAuthHeaders(tokens);
      const code = (r: { status: number; json: Record<string, unknown> | undefined }) => [r.status, (r.json?.error as { code?: string })?.code];
      assert.deepEqual(code(await callBackend(mock, {})), [401, "invalid_api_key"]);
      const [head, body] = tokens.accessToken.split(".");
      assert.deepEqual(code(await callBackend(mock, { ...headers, Authorization: `Bearer ${head}.${body}.forged` })), [401, "invalid_api_key"]);
      assert.deepEqual(code(await callBackend(mock, { Authorization: headers.Authorization ?? "" })), [403, "account_mismatch"]);
      assert.deepEqual(code(await callBackend(mock, { ...headers, "ChatGPT-Account-ID": "acct_other" })), [403, "account_mismatch"]);
      assert.deepEqual(code(await callBackend(mock, headers, { input: "no model" })), [400, "invalid_request"]);
      assert.equal((await callBackend(mock, headers)).status, 200);
      now += 61_000;
      assert.deepEqual(code(await callBackend(mock, headers)), [401, "token_expired"]);
    });
  });
});
