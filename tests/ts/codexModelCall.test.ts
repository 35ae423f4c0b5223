/**
 * The model call against the mock Codex backend over real loopback HTTP: createCodexFetch's wire
 * (headers, the token to the base URL's origin only), streamCodexResponse's events and typed
 * errors, listCodexModels, and a canary check that no token reaches an error, an event or a log line.
 */
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, test } from "node:test";
import {
  OAuthDeviceFlowError,
  createCodexFetch,
  listCodexModels,
  streamCodexResponse,
  type CodexStreamEvent,
} from "../../js/oauthDeviceFlow.ts";
import { REQUEST, RESPONSES, collect, connect, modelCalls, refreshes, textOf } from "./support/codexSupport.ts";
import { callRejects, rejectsWith } from "./support/fakes.ts";
import { withMock } from "./support/mockSupport.ts";

describe("createCodexFetch", () => {
  test("adds Authorization (replacing an SDK's placeholder), ChatGPT-Account-ID, originator, User-Agent and session_id", () =>
    withMock({}, async (mock) => {
      const { codexFetch, tokens, baseUrl } = await connect(mock, undefined, { originator: "codex_cli_rs", userAgent: "host/1.0", sessionId: "conv-7" });
      const res = await codexFetch(`${baseUrl}/models?client_version=1`, { headers: { Authorization: "Bearer unused", "x-extra": "kept" } });
      assert.equal(res.status, 200);
      const sent = mock.log.at(-1);
      assert.equal(sent?.method, "GET");
      assert.equal(sent?.headers["authorization"], `Bearer ${tokens.accessToken}`);
      assert.equal(sent?.headers["chatgpt-account-id"], mock.account.accountId);
      assert.equal(sent?.headers["originator"], "codex_cli_rs");
      assert.equal(sent?.headers["user-agent"], "host/1.0");
      assert.equal(sent?.headers["session_id"], "conv-7");
      assert.equal(sent?.headers["x-extra"], "kept");
    }));

  test("the token goes to the base URL's origin only: another origin is refused before anything is sent", () =>
    withMock({}, async (mock) => {
      const { codexFetch, session } = await connect(mock);
      let elsewhere = 0;
      const other = createServer((_req, res) => {
        elsewhere += 1;
        res.end("{}");
      });
      await new Promise<void>((resolve) => other.listen(0, "127.0.0.1", resolve));
      try {
        const port = (other.address() as AddressInfo).port;
        let asked = 0;
        const counting = createCodexFetch(
          { authHeaders: () => ((asked += 1), session.authHeaders()), invalidate: (t) => session.invalidate(t) },
          { baseUrl: `${mock.url}/backend-api/codex` },
        );
        for (const url of [`http://127.0.0.1:${port}/backend-api/codex/responses`, "https://evil.example/backend-api/codex/responses", `http://localhost:${mock.port}/backend-api/codex/responses`]) {
          await rejectsWith(counting(url, { method: "POST", body: "{}" }), { code: "invalid_config" });
          await rejectsWith(codexFetch(new URL(url)), { code: "invalid_config" });
        }
        assert.equal(asked, 0, "the session was not asked for a token");
        assert.equal(elsewhere, 0);
      } finally {
        await new Promise<void>((resolve) => other.close(() => resolve()));
      }
    }));

  test("bad options throw synchronously: insecure base URL, unknown option, bad header value, no session", () =>
    withMock({}, async (mock) => {
      const { session } = await connect(mock);
      const code = (f: () => unknown) => {
        try {
          f();
        } catch (e) {
          return e instanceof OAuthDeviceFlowError ? e.code : "other";
        }
        return "none";
      };
      assert.equal(code(() => createCodexFetch(session, { baseUrl: "http://chatgpt.com/backend-api/codex" })), "insecure_endpoint");
      assert.equal(code(() => createCodexFetch(session, { baseUrl: "https://chatgpt.com/x?y=1" })), "invalid_config");
      assert.equal(code(() => createCodexFetch(session, { base: "x" } as never)), "invalid_config");
      assert.equal(code(() => createCodexFetch(session, { originator: "a\nb" })), "invalid_config");
      assert.equal(code(() => createCodexFetch({} as never)), "invalid_config");
      assert.equal(code(() => createCodexFetch(session)), "none", "the default base is https://chatgpt.com/backend-api/codex");
    }));
});

describe("streamCodexResponse", () => {
  test("streams created, several text deltas, the output item, then completed with the text and usage; stream and store forced", () =>
    withMock({}, async (mock) => {
      const { codexFetch, baseUrl } = await connect(mock);
      const { events, error } = await collect(codexFetch, { ...REQUEST, store: true, stream: false, prompt_cache_key: "conv-1" }, { baseUrl });
      assert.equal(error, undefined);
      const types = events.map((e) => e.type);
      assert.equal(types[0], "created");
      assert.ok(types.filter((t) => t === "text_delta").length >= 5);
      assert.deepEqual(types.slice(-2), ["output_item", "completed"]);
      const done = events.at(-1) as Extract<CodexStreamEvent, { type: "completed" }>;
      assert.equal(done.text, 'Hello! The mock Codex backend heard: "hi"');
      assert.equal(textOf(events), done.text);
      assert.deepEqual(done.usage, { inputTokens: 2, cachedInputTokens: 0, outputTokens: 7, reasoningTokens: 0, totalTokens: 9 });
      assert.match(done.responseId ?? "", /^resp_/);
      const sent = mock.log.find((e) => e.path === RESPONSES);
      assert.equal(sent?.headers["accept"], "text/event-stream");
      assert.equal(sent?.headers["content-type"], "application/json");
      assert.deepEqual(JSON.parse(sent?.body ?? "{}"), { ...REQUEST, store: false, stream: true, prompt_cache_key: "conv-1" });
    }));

  test("reasoning summary deltas come as reasoning_delta events", () =>
    withMock({}, async (mock) => {
      const { codexFetch, baseUrl } = await connect(mock);
      const { events } = await collect(codexFetch, { ...REQUEST, reasoning: { effort: "low", summary: "auto" } }, { baseUrl });
      const reasoning = events.filter((e) => e.type === "reasoning_delta");
      assert.equal(reasoning.map((e) => (e.type === "reasoning_delta" ? e.delta : "")).join(""), "The user wants a greeting.");
      assert.ok(reasoning.every((e) => e.type === "reasoning_delta" && e.kind === "summary"));
      assert.equal(events.filter((e) => e.type === "output_item").length, 2);
    }));

  test("a request without instructions, model or input is invalid_config and nothing is sent", () =>
    withMock({}, async (mock) => {
      const { codexFetch, baseUrl } = await connect(mock);
      const { instructions: _i, ...noInstructions } = REQUEST;
      for (const bad of [noInstructions, { ...REQUEST, instructions: " " }, { ...REQUEST, model: "" }, { ...REQUEST, input: 5 }]) {
        const { error } = await collect(codexFetch, bad as never, { baseUrl });
        assert.equal(error?.code, "invalid_config");
      }
      assert.equal(modelCalls(mock), 0);
    }));

  test("usage_limit_reached: 429 with resetsAt from resets_at, retryAfterMs until then, retryable", () =>
    withMock({}, async (mock) => {
      const { codexFetch, baseUrl } = await connect(mock);
      mock.fault({ path: RESPONSES, codex: "usage_limit_reached", resetsInSec: 1800 });
      const before = Date.now();
      const { error } = await collect(codexFetch, REQUEST, { baseUrl });
      assert.equal(error?.code, "usage_limit_reached");
      assert.equal(error?.status, 429);
      assert.equal(error?.retryable, true);
      assert.equal(error?.serverCode, "usage_limit_reached");
      const resetsAt = error?.resetsAt ?? 0;
      assert.equal(resetsAt % 1000, 0, "from Unix seconds");
      assert.ok(Math.abs(resetsAt - (before + 1_800_000)) <= 2000);
      assert.ok((error?.retryAfterMs ?? 0) > 1_790_000);
      assert.match(error?.message ?? "", /usage limit is reached \(plan plus\): try again after 20\d\d-/);
      assert.equal(error?.toJSON().resetsAt, resetsAt);
    }));

  test("usage_not_included is its own code, not retryable", () =>
    withMock({}, async (mock) => {
      const { codexFetch, baseUrl } = await connect(mock);
      mock.fault({ path: RESPONSES, codex: "usage_not_included" });
      const { error } = await collect(codexFetch, REQUEST, { baseUrl });
      assert.deepEqual([error?.code, error?.status, error?.retryable], ["usage_not_included", 429, false]);
    }));

  test("400 {detail}: model_error with the backend's words (model not supported)", () =>
    withMock({}, async (mock) => {
      const { codexFetch, baseUrl } = await connect(mock);
      const { error } = await collect(codexFetch, { ...REQUEST, model: "gpt-4o" }, { baseUrl });
      assert.deepEqual([error?.code, error?.status, error?.retryable], ["model_error", 400, false]);
      assert.match(error?.message ?? "", /The 'gpt-4o' model is not supported when using Codex with a ChatGPT account\./);
    }));

  test("response.failed: response_failed with the failure's code; rate_limit_exceeded is retryable after its seconds", () =>
    withMock({}, async (mock) => {
      const { codexFetch, baseUrl } = await connect(mock);
      mock.fault({ path: RESPONSES, codex: "response_failed", failedCode: "context_length_exceeded", failedMessage: "Your input exceeds the context window." });
      const first = await collect(codexFetch, REQUEST, { baseUrl });
      assert.deepEqual([first.error?.code, first.error?.serverCode, first.error?.retryable], ["response_failed", "context_length_exceeded", false]);
      assert.equal(textOf(first.events), "Hello! ", "what streamed before the failure was yielded");
      mock.fault({ path: RESPONSES, codex: "response_failed", failedCode: "rate_limit_exceeded" });
      const second = await collect(codexFetch, REQUEST, { baseUrl });
      assert.deepEqual([second.error?.code, second.error?.serverCode, second.error?.retryable, second.error?.retryAfterMs], ["response_failed", "rate_limit_exceeded", true, 20_000]);
    }));

  test("a stream that ends before response.completed is stream_incomplete (retryable), after the deltas that came", () =>
    withMock({}, async (mock) => {
      const { codexFetch, baseUrl } = await connect(mock);
      mock.fault({ path: RESPONSES, codex: "cut" });
      const { events, error } = await collect(codexFetch, REQUEST, { baseUrl });
      assert.deepEqual([error?.code, error?.retryable], ["stream_incomplete", true]);
      assert.equal(textOf(events), "Hello! The mock ");
      assert.ok(!events.some((e) => e.type === "completed"));
    }));

  test("a stalled stream is idle_timeout after idleTimeoutMs without a byte", () =>
    withMock({}, async (mock) => {
      const { codexFetch, baseUrl } = await connect(mock);
      mock.fault({ path: RESPONSES, codex: "stall" });
      const { events, error } = await collect(codexFetch, REQUEST, { baseUrl, idleTimeoutMs: 300 });
      assert.deepEqual([error?.code, error?.retryable], ["idle_timeout", true]);
      assert.equal(textOf(events), "Hello! The mock ");
    }));

  test("an HTML 403 page is challenge", () =>
    withMock({}, async (mock) => {
      const { codexFetch, baseUrl } = await connect(mock);
      mock.fault({ path: RESPONSES, codex: "challenge" });
      const { error } = await collect(codexFetch, REQUEST, { baseUrl });
      assert.deepEqual([error?.code, error?.status, error?.retryable], ["challenge", 403, false]);
    }));

  test("the AbortSignal ends the call with aborted, also mid-stream; breaking out of the loop cancels the request", () =>
    withMock({}, async (mock) => {
      const { codexFetch, baseUrl } = await connect(mock);
      const controller = new AbortController();
      const seen: string[] = [];
      await assert.rejects(
        (async () => {
          for await (const e of streamCodexResponse(codexFetch, REQUEST, { baseUrl, signal: controller.signal })) {
            seen.push(e.type);
            if (e.type === "text_delta") controller.abort();
          }
        })(),
        (e: unknown) => e instanceof OAuthDeviceFlowError && e.code === "aborted",
      );
      assert.deepEqual(seen, ["created", "text_delta"]);
      await rejectsWith(streamCodexResponse(codexFetch, REQUEST, { baseUrl, signal: AbortSignal.abort() }).next(), { code: "aborted" });
      for await (const e of streamCodexResponse(codexFetch, REQUEST, { baseUrl })) if (e.type === "created") break;
    }));
});

describe("listCodexModels", () => {
  test("GET {base}/models?client_version=... through the module's fetch: the account's models", () =>
    withMock({}, async (mock) => {
      const { codexFetch, baseUrl } = await connect(mock);
      const models = await listCodexModels(codexFetch, { baseUrl, clientVersion: "0.63.0" });
      assert.deepEqual(models.map((m) => m.id), ["gpt-5.1-codex", "gpt-5.1-codex-mini", "gpt-5-codex"]);
      assert.equal(models[0]?.displayName, "gpt-5.1-codex");
      const sent = mock.log.at(-1);
      assert.deepEqual([sent?.method, sent?.path, sent?.query], ["GET", "/backend-api/codex/models", "client_version=0.63.0"]);
      mock.fault({ path: "/backend-api/codex/models", status: 503 });
      await rejectsWith(listCodexModels(codexFetch, { baseUrl }), { code: "server_error", status: 503 });
      mock.fault({ path: "/backend-api/codex/models", status: 200, body: '{"nope":1}' });
      await rejectsWith(listCodexModels(codexFetch, { baseUrl }), { code: "invalid_response", status: 200 });
      await callRejects(() => listCodexModels(codexFetch, { baseUrl: "http://example.com/backend-api/codex" }), { code: "insecure_endpoint" });
    }));
});

describe("no token in any error, event or log line", () => {
  test("canary: every failure and event of a model call, and everything printed meanwhile, is free of the tokens", () =>
    withMock({}, async (mock) => {
      const { codexFetch, baseUrl, tokens, session } = await connect(mock);
      const printed: string[] = [];
      const saved = { log: console.log, error: console.error, warn: console.warn, info: console.info, debug: console.debug };
      for (const k of Object.keys(saved) as (keyof typeof saved)[]) console[k] = (...args: unknown[]) => void printed.push(args.map(String).join(" "));
      const seen: string[] = [];
      try {
        const current = await session.getAccessToken();
        const scenarios: (() => void)[] = [
          () => mock.fault({ path: RESPONSES, codex: "usage_limit_reached" }),
          () => mock.fault({ path: RESPONSES, codex: "response_failed", failedMessage: `token ${current} was rejected` }),
          () => mock.fault({ path: RESPONSES, codex: "cut" }),
          () => mock.fault({ path: RESPONSES, codex: "challenge" }),
          () => mock.fault({ path: RESPONSES, status: 400, body: JSON.stringify({ detail: `Bad token ${current} for ${tokens.refreshToken}` }) }),
          () => mock.fault({ path: RESPONSES, status: 401, times: 2, body: JSON.stringify({ error: { code: current, message: current } }) }),
          () => undefined,
        ];
        for (const arrange of scenarios) {
          arrange();
          const { events, error } = await collect(codexFetch, REQUEST, { baseUrl });
          seen.push(JSON.stringify(events));
          if (error) seen.push(error.message, JSON.stringify(error), String(error.stack), String(error));
        }
      } finally {
        Object.assign(console, saved);
      }
      const secrets = [tokens.accessToken, tokens.refreshToken ?? "", tokens.idToken ?? "", await session.getAccessToken()];
      assert.ok(seen.length > 10);
      for (const text of [...seen, ...printed]) {
        for (const s of secrets) assert.ok(!text.includes(s), `a token leaked into: ${text.slice(0, 120)}`);
        assert.ok(!/eyJ[A-Za-z0-9_-]{20,}/.test(text), `something token-shaped leaked into: ${text.slice(0, 120)}`);
      }
    }));
});
