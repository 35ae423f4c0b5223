/**
 * The official `openai` SDK (pinned in package.json) making Codex-backend calls through
 * createCodexFetch against the mock: `responses.create({ stream: true })` and `responses.stream()`,
 * the 401 refresh-and-retry under the SDK, and a usage limit as the SDK reports it. The SDK wants
 * Node >= 22: scripts/test.sh runs this directory with the Node 24 of scripts/runtimes/.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import OpenAI from "openai";
import { RESPONSES, connect, modelCalls, refreshes } from "../ts/support/codexSupport.ts";
import { withMock } from "../ts/support/mockSupport.ts";

const INSTRUCTIONS = "You are a friendly assistant.";

describe("openai SDK through createCodexFetch", () => {
  test("openai SDK: responses.create({ stream: true }) streams the deltas and response.completed", () =>
    withMock({}, async (mock) => {
      const { codexFetch, baseUrl, tokens } = await connect(mock, undefined, { originator: "codex_cli_rs" });
      const client = new OpenAI({ apiKey: "unused", baseURL: baseUrl, fetch: codexFetch, maxRetries: 0 });
      const stream = await client.responses.create({ model: "gpt-5-codex", instructions: INSTRUCTIONS, input: "hello SDK", store: false, stream: true });
      let text = "";
      let deltas = 0;
      let completed: OpenAI.Responses.Response | undefined;
      for await (const event of stream) {
        if (event.type === "response.output_text.delta") {
          text += event.delta;
          deltas += 1;
        }
        if (event.type === "response.completed") completed = event.response;
      }
      assert.equal(text, 'Hello! The mock Codex backend heard: "hello SDK"');
      assert.ok(deltas >= 5);
      assert.equal(completed?.status, "completed");
      assert.equal(completed?.usage?.total_tokens, "hello SDK".length + 8, "the mock counts input characters and output words");
      const sent = mock.log.find((e) => e.path === RESPONSES);
      assert.equal(sent?.headers["authorization"], `Bearer ${tokens.accessToken}`, "the SDK's placeholder key was replaced");
      assert.equal(sent?.headers["chatgpt-account-id"], mock.account.accountId);
      assert.equal(sent?.headers["originator"], "codex_cli_rs");
    }));

  test("openai SDK: responses.stream() emits text deltas and finalResponse() has output_text", () =>
    withMock({}, async (mock) => {
      const { codexFetch, baseUrl } = await connect(mock);
      const client = new OpenAI({ apiKey: "unused", baseURL: baseUrl, fetch: codexFetch, maxRetries: 0 });
      const pieces: string[] = [];
      const stream = client.responses.stream({ model: "gpt-5-codex", instructions: INSTRUCTIONS, input: "stream helper", store: false });
      stream.on("response.output_text.delta", (e) => pieces.push(e.delta));
      const final = await stream.finalResponse();
      assert.equal(final.output_text, 'Hello! The mock Codex backend heard: "stream helper"');
      assert.equal(pieces.join(""), final.output_text);
      assert.ok(pieces.length >= 5);
    }));

  test("openai SDK: a 401 on a fresh-looking token is refreshed once and retried once under the SDK", () =>
    withMock({}, async (mock) => {
      const { codexFetch, baseUrl } = await connect(mock);
      const client = new OpenAI({ apiKey: "unused", baseURL: baseUrl, fetch: codexFetch, maxRetries: 0 });
      mock.fault({ path: RESPONSES, codex: "unauthorized" });
      const final = await client.responses.stream({ model: "gpt-5-codex", instructions: INSTRUCTIONS, input: "retry", store: false }).finalResponse();
      assert.equal(final.status, "completed");
      assert.deepEqual([refreshes(mock), modelCalls(mock)], [1, 2]);
    }));

  test("openai SDK: a usage limit reaches the SDK as a 429 with the usage_limit_reached body and the x-codex headers", () =>
    withMock({}, async (mock) => {
      const { codexFetch, baseUrl } = await connect(mock);
      const client = new OpenAI({ apiKey: "unused", baseURL: baseUrl, fetch: codexFetch, maxRetries: 0 });
      mock.fault({ path: RESPONSES, codex: "usage_limit_reached" });
      const error = await client.responses
        .create({ model: "gpt-5-codex", instructions: INSTRUCTIONS, input: "x", store: false, stream: true })
        .then(() => undefined, (e: unknown) => e);
      assert.ok(error instanceof OpenAI.RateLimitError);
      assert.equal(error.status, 429);
      assert.equal((error.error as { type?: string }).type, "usage_limit_reached");
      assert.equal(error.headers?.get("x-codex-primary-used-percent"), "100");
      assert.equal(refreshes(mock), 0);
    }));

  test("openai SDK: a non-streaming create is refused by the backend as the spec says (400 Stream must be set to true)", () =>
    withMock({}, async (mock) => {
      const { codexFetch, baseUrl } = await connect(mock);
      const client = new OpenAI({ apiKey: "unused", baseURL: baseUrl, fetch: codexFetch, maxRetries: 0 });
      const error = await client.responses.create({ model: "gpt-5-codex", instructions: INSTRUCTIONS, input: "x", store: false }).then(() => undefined, (e: unknown) => e);
      assert.ok(error instanceof OpenAI.BadRequestError);
      assert.match(String(error.message), /Stream must be set to true/);
    }));
});
