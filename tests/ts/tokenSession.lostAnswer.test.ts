/**
 * A refresh request that got no answer (a timeout) although the server carried it out: what the
 * token session recovers and what it cannot, against the embedded mock (single-use rotating
 * refresh tokens, reuse is `401 refresh_token_reused`). The mock's `delayMs` fault answers after
 * the session's `timeoutMs`, but still rotates the token: its answer is lost.
 *
 * - Nobody else saved the rotated token: it is gone. The session holds the spent refresh token
 *   back for min(timeoutMs, 5 s), re-reads the store, then sends it once more (the only way to keep
 *   the login if the first request never reached the server); the server calls it reused, and the
 *   session latches `reauth_required` saying the answer was lost. Never a silently wrong token.
 * - The first request never reached the server: the retry after the back-off keeps the login.
 * - Another holder refreshed and saved meanwhile: its tokens are adopted from the store, and the
 *   held-back refresh token is never sent again.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { OAuthDeviceFlowError, createMemoryStore, createTokenSession, type FetchLike, type OAuthTokens } from "../../js/oauthDeviceFlow.ts";
import type { MockServer } from "../../demo/mockServer.ts";
import { FakeClock, rejectsWith } from "./support/fakes.ts";
import { codexProvider, signIn, withMock } from "./support/mockSupport.ts";

const TOKEN_PATH = "/oauth/token";
const TIMEOUT_MS = 100;
/** Far beyond TIMEOUT_MS: the session has given up long before the mock answers. */
const DELAY_MS = 1_000;

const realFetch = fetch as unknown as FetchLike;

/** Waits for the mock to have answered every token request it received (its log says so). */
async function mockDone(mock: MockServer): Promise<void> {
  for (let i = 0; i < 500 && mock.log.some((e) => e.path === TOKEN_PATH && e.status === 0); i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.ok(!mock.log.some((e) => e.path === TOKEN_PATH && e.status === 0), "the mock answered");
}

const refreshes = (mock: MockServer) => mock.log.filter((e) => e.path === TOKEN_PATH).slice(1); // the first is the sign-in's exchange

/** Signed-in tokens and a session clock at which they are due. */
async function due(mock: MockServer): Promise<{ tokens: OAuthTokens; clock: FakeClock }> {
  const { tokens } = await signIn(mock, codexProvider(mock));
  return { tokens, clock: new FakeClock((tokens.expiresAt ?? 0) + 1) };
}

describe("a refresh whose answer was lost (issue 15, item 9)", () => {
  test("nobody saved the rotated token: held back, re-read, sent once more, refresh_token_reused -> reauth_required saying the answer was lost, latched", () =>
    withMock({}, async (mock) => {
      const { tokens, clock } = await due(mock);
      const store = createMemoryStore(tokens);
      const session = createTokenSession({ provider: codexProvider(mock), fetch: realFetch, clock: clock.clock, store, timeoutMs: TIMEOUT_MS });
      mock.fault({ path: TOKEN_PATH, delayMs: DELAY_MS });
      await rejectsWith(session.getAccessToken(), { code: "network_error", retryable: true });
      await mockDone(mock);
      assert.equal(refreshes(mock)[0]?.status, 200, "the server carried the refresh out; its answer never arrived");

      const held = await rejectsWith(session.getAccessToken(), { code: "network_error", retryable: true });
      assert.equal(held.retryAfterMs, TIMEOUT_MS, "held back for min(timeoutMs, 5 s)");
      assert.equal(refreshes(mock).length, 1, "no request while held back");

      clock.advance(TIMEOUT_MS);
      const e = await rejectsWith(session.getAccessToken(), { code: "reauth_required", retryable: false });
      assert.ok(e.cause instanceof OAuthDeviceFlowError);
      assert.equal(e.cause.code, "refresh_token_reused");
      assert.match(e.message, /got no answer: the server had most likely carried that refresh out and its new tokens never arrived/);
      assert.equal(refreshes(mock).length, 2, "the spent refresh token was sent exactly once more");
      await rejectsWith(session.getAccessToken(), { code: "reauth_required" });
      assert.equal(refreshes(mock).length, 2, "latched: no further request");
      assert.deepEqual(await store.load(), tokens, "the store still holds the last tokens known, never a wrong set");
    }));

  test("the first request never reached the server: after the back-off the same refresh token keeps the login", () =>
    withMock({}, async (mock) => {
      const { tokens, clock } = await due(mock);
      const store = createMemoryStore(tokens);
      let calls = 0;
      const hangsOnce: FetchLike = (url, init) => (++calls === 1 ? new Promise(() => {}) : realFetch(url, init));
      const session = createTokenSession({ provider: codexProvider(mock), fetch: hangsOnce, clock: clock.clock, store, timeoutMs: TIMEOUT_MS });
      await rejectsWith(session.getAccessToken(), { code: "network_error" });
      await rejectsWith(session.getAccessToken(), { code: "network_error" });
      assert.equal(calls, 1);
      clock.advance(TIMEOUT_MS);
      const access = await session.getAccessToken();
      assert.notEqual(access, tokens.accessToken);
      assert.equal(refreshes(mock).length, 1);
      assert.equal(JSON.parse(refreshes(mock)[0]!.body).refresh_token, tokens.refreshToken);
      assert.equal((await store.load())?.accessToken, access, "saved");
    }));

  test("another holder refreshed and saved meanwhile: adopted from the store at once, the held-back token never sent again", () =>
    withMock({}, async (mock) => {
      const { tokens, clock } = await due(mock);
      const store = createMemoryStore(tokens);
      const options = { provider: codexProvider(mock), fetch: realFetch, clock: clock.clock, store, timeoutMs: TIMEOUT_MS };
      const a = createTokenSession(options);
      const b = createTokenSession(options);
      mock.fault({ path: TOKEN_PATH, delayMs: DELAY_MS });
      await rejectsWith(a.getAccessToken(), { code: "network_error" });
      const fromB = await b.getAccessToken(); // reaches the server before a's delayed request
      assert.equal(await a.getAccessToken(), fromB, "a adopts b's tokens from the store, within its back-off");
      await mockDone(mock);
      assert.deepEqual(
        refreshes(mock).map((e) => e.status),
        [401, 200],
        "b's refresh won; a's late request was refused as reused, its answer lost to nobody",
      );
      assert.equal(refreshes(mock).length, 2);
      clock.advance(TIMEOUT_MS);
      assert.equal(await a.getAccessToken(), fromB);
      assert.equal(refreshes(mock).length, 2);
    }));
});
