/**
 * The embedded mock speaks OpenAI's device login (openai-codex) as the spec describes, checked
 * through the wasm module over real loopback HTTP: the wire of each step, 403-pending, the form
 * exchange with redirect_uri/client_id/PKCE checks, single-use rotating refresh tokens, revocation,
 * the JWT claims, and the Codex backend (event streams, validation, header checks, faults, models).
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
import { CODEX_CLIENT_ID } from "../../demo/mockServer.ts";
import { pkceChallenge } from "../../demo/mockTokens.ts";
import { rejectsWith } from "./support/fakes.ts";
import { NOW, RESPONSES_REQUEST, callBackend, codexProvider, onlyRequest, rawPost, realDeps, signIn, sseEvents, submitPage, withMock } from "./support/mockSupport.ts";

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

const errorCode = (r: { status: number; json: Record<string, unknown> | undefined }) => [r.status, (r.json?.error as { code?: string })?.code];

describe("mock Codex backend: POST /backend-api/codex/responses", () => {
  test("a valid request streams the spec's event sequence: several text deltas, then response.completed with usage", () =>
    withMock({}, async (mock) => {
      const { tokens } = await signIn(mock, codexProvider(mock));
      const reply = await callBackend(mock, codexAuthHeaders(tokens), {
        ...RESPONSES_REQUEST,
        input: [{ type: "message", role: "user", content: [{ type: "input_text", text: "ping 42" }] }],
      });
      assert.equal(reply.status, 200);
      assert.equal(reply.headers.get("content-type"), "text/event-stream; charset=utf-8");
      assert.equal(reply.headers.get("x-codex-primary-used-percent"), "12");
      assert.equal(reply.headers.get("x-codex-primary-window-minutes"), "300");
      assert.match(reply.headers.get("x-codex-secondary-reset-at") ?? "", /^[0-9]+$/);
      assert.match(reply.text, /^event: response\.created\ndata: \{/);
      const events = sseEvents(reply.text);
      const types = events.map((e) => e.type);
      const deltas = events.filter((e) => e.type === "response.output_text.delta");
      assert.ok(deltas.length >= 5, "several text deltas");
      assert.deepEqual(
        types.filter((t) => t !== "response.output_text.delta"),
        [
          "response.created",
          "response.in_progress",
          "response.output_item.added",
          "response.content_part.added",
          "response.output_text.done",
          "response.content_part.done",
          "response.output_item.done",
          "response.completed",
        ],
      );
      assert.deepEqual(events.map((e) => e.sequence_number), events.map((_, i) => i));
      assert.equal(deltas.map((e) => e.delta).join(""), 'Hello! The mock Codex backend heard: "ping 42"');
      const completed = events.at(-1)?.response as { status: string; model: string; usage: Record<string, unknown>; output: unknown[] };
      assert.equal(completed.status, "completed");
      assert.equal(completed.model, "gpt-5-codex");
      assert.deepEqual(Object.keys(completed.usage), ["input_tokens", "input_tokens_details", "output_tokens", "output_tokens_details", "total_tokens"]);
      assert.equal(completed.output.length, 1);
    }));

  test("reasoning with a summary streams a reasoning item with summary deltas before the message", () =>
    withMock({}, async (mock) => {
      const { tokens } = await signIn(mock, codexProvider(mock));
      const reply = await callBackend(mock, codexAuthHeaders(tokens), { ...RESPONSES_REQUEST, reasoning: { effort: "low", summary: "auto" } });
      const events = sseEvents(reply.text);
      const summary = events.filter((e) => e.type === "response.reasoning_summary_text.delta").map((e) => e.delta);
      assert.equal(summary.join(""), "The user wants a greeting.");
      const items = events.filter((e) => e.type === "response.output_item.done").map((e) => (e.item as { type: string }).type);
      assert.deepEqual(items, ["reasoning", "message"]);
    }));

  test("the backend's validation: instructions required, stream true, store false, a model of the account, input", () =>
    withMock({}, async (mock) => {
      const { tokens } = await signIn(mock, codexProvider(mock));
      const headers = codexAuthHeaders(tokens);
      const detail = async (body: unknown) => {
        const r = await callBackend(mock, headers, body);
        return [r.status, r.json?.detail];
      };
      const { instructions: _i, ...noInstructions } = RESPONSES_REQUEST;
      assert.deepEqual(await detail(noInstructions), [400, "Instructions are required"]);
      assert.deepEqual(await detail({ ...RESPONSES_REQUEST, stream: false }), [400, "Stream must be set to true"]);
      const { stream: _s, ...noStream } = RESPONSES_REQUEST;
      assert.deepEqual(await detail(noStream), [400, "Stream must be set to true"]);
      const { store: _t, ...noStore } = RESPONSES_REQUEST;
      assert.deepEqual(await detail(noStore), [400, "Store must be set to false"]);
      assert.deepEqual(await detail({ ...RESPONSES_REQUEST, store: true }), [400, "Store must be set to false"]);
      assert.deepEqual(await detail({ ...RESPONSES_REQUEST, model: "gpt-4o" }), [
        400,
        "The 'gpt-4o' model is not supported when using Codex with a ChatGPT account.",
      ]);
      const { input: _n, ...noInput } = RESPONSES_REQUEST;
      assert.deepEqual(await detail(noInput), [400, "input is required"]);
      mock.knobs.models = ["gpt-5.1-codex"];
      assert.equal((await callBackend(mock, headers)).status, 400, "a model taken off the account is refused");
    }));

  test("no bearer, a forged token, a missing or wrong ChatGPT-Account-ID, an expired or a revoked token are refused", () => {
    let now = Date.now();
    return withMock({ clock: () => now, tokenLifetimeSec: 60 }, async (mock) => {
      const provider = codexProvider(mock);
      const { tokens } = await signIn(mock, provider);
      const headers = codexAuthHeaders(tokens);
      assert.deepEqual(errorCode(await callBackend(mock, {})), [401, "invalid_api_key"]);
      const [head, body] = tokens.accessToken.split(".");
      assert.deepEqual(errorCode(await callBackend(mock, { ...headers, Authorization: `Bearer ${head}.${body}.forged` })), [401, "invalid_api_key"]);
      assert.deepEqual(errorCode(await callBackend(mock, { Authorization: headers.Authorization ?? "" })), [403, "account_mismatch"]);
      assert.deepEqual(errorCode(await callBackend(mock, { ...headers, "ChatGPT-Account-ID": "acct_other" })), [403, "account_mismatch"]);
      assert.equal((await callBackend(mock, headers)).status, 200);
      now += 61_000;
      assert.deepEqual(errorCode(await callBackend(mock, headers)), [401, "token_expired"]);
      now -= 61_000;
      await revokeToken(provider, tokens.refreshToken ?? "", realDeps());
      assert.deepEqual(errorCode(await callBackend(mock, headers)), [401, "token_revoked"]);
    });
  });
});

describe("mock Codex backend: faults", () => {
  test("usage_limit_reached: 429 with resets_at and the x-codex-* headers at 100 %", () =>
    withMock({}, async (mock) => {
      const { tokens } = await signIn(mock, codexProvider(mock));
      mock.fault({ path: "/backend-api/codex/responses", codex: "usage_limit_reached", resetsInSec: 1800 });
      const reply = await callBackend(mock, codexAuthHeaders(tokens));
      assert.equal(reply.status, 429);
      const error = reply.json?.error as { type: string; plan_type: string; resets_at: number; resets_in_seconds: number };
      assert.equal(error.type, "usage_limit_reached");
      assert.equal(error.plan_type, "plus");
      assert.ok(Math.abs(error.resets_at - (Math.floor(Date.now() / 1000) + 1800)) <= 2);
      assert.equal(error.resets_in_seconds, 1800);
      assert.equal(reply.headers.get("x-codex-primary-used-percent"), "100");
      assert.equal(reply.headers.get("x-codex-primary-reset-at"), String(error.resets_at));
      assert.equal(reply.headers.get("x-codex-credits-has-credits"), "false");
      assert.equal((await callBackend(mock, codexAuthHeaders(tokens))).status, 200, "the fault hits one request");
    }));

  test("usage_not_included: 429 with that type", () =>
    withMock({}, async (mock) => {
      const { tokens } = await signIn(mock, codexProvider(mock));
      mock.fault({ codex: "usage_not_included" });
      const reply = await callBackend(mock, codexAuthHeaders(tokens));
      assert.deepEqual([reply.status, (reply.json?.error as { type: string }).type], [429, "usage_not_included"]);
    }));

  test("response.failed ends the stream with the failure's code; cut ends it before response.completed", () =>
    withMock({}, async (mock) => {
      const { tokens } = await signIn(mock, codexProvider(mock));
      mock.fault({ codex: "response_failed", failedCode: "context_length_exceeded", failedMessage: "Too long." });
      const failed = sseEvents((await callBackend(mock, codexAuthHeaders(tokens))).text);
      assert.deepEqual(failed.at(-1), {
        type: "response.failed",
        response: { ...(failed.at(-1)?.response as object), status: "failed", error: { code: "context_length_exceeded", message: "Too long." } },
        sequence_number: failed.length - 1,
      });
      mock.fault({ codex: "cut" });
      const cut = sseEvents((await callBackend(mock, codexAuthHeaders(tokens))).text);
      assert.equal(cut.at(-1)?.type, "response.output_text.delta");
      assert.ok(!cut.some((e) => e.type === "response.completed"));
    }));

  test("stall: the stream stops sending and stays open until the client gives up", () =>
    withMock({}, async (mock) => {
      const { tokens } = await signIn(mock, codexProvider(mock));
      mock.fault({ codex: "stall" });
      const controller = new AbortController();
      const res = await fetch(`${mock.url}/backend-api/codex/responses`, {
        method: "POST",
        headers: { ...codexAuthHeaders(tokens), "content-type": "application/json" },
        body: JSON.stringify(RESPONSES_REQUEST),
        signal: controller.signal,
      });
      assert.equal(res.status, 200);
      const reader = (res.body as ReadableStream<Uint8Array>).getReader();
      let text = "";
      const decoder = new TextDecoder();
      // The script: created, in_progress, output_item.added, content_part.added, then 3 of the 7 deltas.
      while (sseEvents(text).length < 7) {
        const chunk = await reader.read();
        assert.equal(chunk.done, false, "the stream stays open");
        text += decoder.decode(chunk.value, { stream: true });
      }
      assert.equal(sseEvents(text).at(-1)?.type, "response.output_text.delta");
      const next = reader.read();
      controller.abort();
      await assert.rejects(next, { name: "AbortError" }, "nothing more came and the stream did not end");
    }));

  test("challenge: an HTML 403 'Just a moment' page; unauthorized: a 401 whatever the token", () =>
    withMock({}, async (mock) => {
      const { tokens } = await signIn(mock, codexProvider(mock));
      mock.fault({ codex: "challenge" });
      const page = await callBackend(mock, codexAuthHeaders(tokens));
      assert.equal(page.status, 403);
      assert.match(page.headers.get("content-type") ?? "", /^text\/html/);
      assert.match(page.text, /<title>Just a moment\.\.\.<\/title>/);
      mock.fault({ codex: "unauthorized" });
      assert.deepEqual(errorCode(await callBackend(mock, codexAuthHeaders(tokens))), [401, "token_revoked"]);
    }));
});

describe("mock Codex backend: GET /backend-api/codex/models", () => {
  test("lists the account's models for a client_version, with the token and account headers", () =>
    withMock({}, async (mock) => {
      const { tokens } = await signIn(mock, codexProvider(mock));
      const get = (query: string, headers: Record<string, string>) => fetch(`${mock.url}/backend-api/codex/models${query}`, { headers });
      const res = await get("?client_version=0.1.0", codexAuthHeaders(tokens));
      assert.equal(res.status, 200);
      const body = (await res.json()) as { models: { slug: string }[] };
      assert.deepEqual(body.models.map((m) => m.slug), ["gpt-5.1-codex", "gpt-5.1-codex-mini", "gpt-5-codex"]);
      assert.equal((await get("", codexAuthHeaders(tokens))).status, 400, "client_version is required");
      assert.equal((await get("?client_version=0.1.0", {})).status, 401);
      const post = await fetch(`${mock.url}/backend-api/codex/models?client_version=1`, { method: "POST", headers: codexAuthHeaders(tokens) });
      assert.equal(post.status, 405);
    }));
});
