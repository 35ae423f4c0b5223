/**
 * createCodexFetch's refresh and retry, counted from the mock's request log: many streaming calls
 * on an expired token share one refresh; a 401 on a token that looks fresh refreshes once and
 * retries once, and a second 401 surfaces without looping; nothing is retried once the stream has
 * begun or when the body cannot be sent again.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { REQUEST, RESPONSES, collect, connect, modelCalls, refreshes, textOf } from "./support/codexSupport.ts";
import { withMock } from "./support/mockSupport.ts";

/** The bearer tokens of the model calls, in order. */
const bearers = (mock: { log: { path: string; headers: Record<string, string> }[] }) =>
  mock.log.filter((e) => e.path === RESPONSES).map((e) => e.headers["authorization"]);

describe("createCodexFetch: refresh and retry", () => {
  test("200 concurrent streaming calls on an expired token make exactly one refresh", () =>
    withMock({}, async (mock) => {
      const { codexFetch, baseUrl } = await connect(mock, (t) => ({ ...t, expiresAt: Date.now() - 1000 }));
      const results = await Promise.all(Array.from({ length: 200 }, () => collect(codexFetch, REQUEST, { baseUrl })));
      assert.equal(results.filter((r) => r.error === undefined && r.events.at(-1)?.type === "completed").length, 200);
      assert.equal(refreshes(mock), 1);
      assert.equal(modelCalls(mock), 200);
      assert.equal(new Set(bearers(mock)).size, 1, "every call used the one refreshed token");
    }));

  test("a 401 on a fresh-looking token: one refresh, one retry with the new token, and the stream completes", () =>
    withMock({}, async (mock) => {
      const { codexFetch, baseUrl, tokens } = await connect(mock);
      mock.fault({ path: RESPONSES, codex: "unauthorized" });
      const { events, error } = await collect(codexFetch, REQUEST, { baseUrl });
      assert.equal(error, undefined);
      assert.equal(textOf(events), 'Hello! The mock Codex backend heard: "hi"');
      assert.equal(refreshes(mock), 1);
      assert.equal(modelCalls(mock), 2);
      const [first, second] = bearers(mock);
      assert.equal(first, `Bearer ${tokens.accessToken}`);
      assert.notEqual(second, first);
    }));

  test("a second 401 after the refresh surfaces (reauth_required, status 401) without looping, and the next call does not refresh again", () =>
    withMock({}, async (mock) => {
      const { codexFetch, baseUrl } = await connect(mock);
      mock.fault({ path: RESPONSES, codex: "unauthorized", times: 2 });
      const { error } = await collect(codexFetch, REQUEST, { baseUrl });
      assert.deepEqual([error?.code, error?.status, error?.retryable], ["reauth_required", 401, false]);
      assert.equal(refreshes(mock), 1);
      assert.equal(modelCalls(mock), 2);
      const raw = await codexFetch(`${baseUrl}/models?client_version=1`);
      assert.equal(raw.status, 200);
      assert.equal(refreshes(mock), 1, "the refreshed token was not marked: no refresh per call");
    }));

  test("the fetch itself hands a second 401 to the caller untouched (status and body)", () =>
    withMock({}, async (mock) => {
      const { codexFetch, baseUrl } = await connect(mock);
      mock.fault({ path: RESPONSES, codex: "unauthorized", times: 2 });
      const res = await codexFetch(`${baseUrl}/responses`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
      assert.equal(res.status, 401);
      assert.equal(((await res.json()) as { error: { code: string } }).error.code, "token_revoked");
      assert.deepEqual([refreshes(mock), modelCalls(mock)], [1, 2]);
    }));

  test("a token rejected after the stream began (response.failed) is not retried: one request, no refresh", () =>
    withMock({}, async (mock) => {
      const { codexFetch, baseUrl } = await connect(mock);
      mock.fault({ path: RESPONSES, codex: "response_failed", failedCode: "token_expired", failedMessage: "The access token expired." });
      const { events, error } = await collect(codexFetch, REQUEST, { baseUrl });
      assert.equal(textOf(events), "Hello! ", "the caller already has text");
      assert.deepEqual([error?.code, error?.serverCode], ["response_failed", "token_expired"]);
      assert.deepEqual([refreshes(mock), modelCalls(mock)], [0, 1]);
    }));

  test("a 401 on a body that cannot be sent again (a ReadableStream) is returned, not retried; the next call refreshes first", () =>
    withMock({}, async (mock) => {
      const { codexFetch, baseUrl } = await connect(mock);
      mock.fault({ path: RESPONSES, codex: "unauthorized" });
      const payload = new TextEncoder().encode(JSON.stringify({ ...REQUEST, stream: true, store: false }));
      const body = new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(payload);
          c.close();
        },
      });
      const res = await codexFetch(`${baseUrl}/responses`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
        duplex: "half",
      } as RequestInit);
      assert.equal(res.status, 401);
      await res.body?.cancel();
      assert.deepEqual([refreshes(mock), modelCalls(mock)], [0, 1]);
      const next = await collect(codexFetch, REQUEST, { baseUrl });
      assert.equal(next.error, undefined);
      assert.deepEqual([refreshes(mock), modelCalls(mock)], [1, 2], "the rejected token was marked");
    }));
});
