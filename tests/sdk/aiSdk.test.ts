/**
 * The Vercel AI SDK (`ai` with `@ai-sdk/openai`, pinned in package.json) streaming through
 * createCodexFetch against the mock: `createOpenAI({ baseURL, fetch }).responses(model)` with
 * `streamText`, the backend's `instructions` and `store: false` passed as OpenAI provider options.
 * The SDK wants Node >= 22: scripts/test.sh runs this directory with the Node 24 of scripts/runtimes/.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createOpenAI } from "@ai-sdk/openai";
import { streamText } from "ai";
import { RESPONSES, connect, modelCalls, refreshes } from "../ts/support/codexSupport.ts";
import { withMock } from "../ts/support/mockSupport.ts";

const providerOptions = { openai: { instructions: "You are a friendly assistant.", store: false } };

describe("AI SDK through createCodexFetch", () => {
  test("AI SDK: streamText with createOpenAI({ baseURL, fetch }).responses(model) streams the text and the usage", () =>
    withMock({}, async (mock) => {
      const { codexFetch, baseUrl, tokens } = await connect(mock);
      const openai = createOpenAI({ apiKey: "unused", baseURL: baseUrl, fetch: codexFetch });
      const result = streamText({ model: openai.responses("gpt-5-codex"), prompt: "hello AI SDK", providerOptions });
      const pieces: string[] = [];
      for await (const piece of result.textStream) pieces.push(piece);
      assert.equal(pieces.join(""), 'Hello! The mock Codex backend heard: "hello AI SDK"');
      assert.ok(pieces.length >= 5, "the text arrived in several pieces");
      const usage = await result.usage;
      assert.equal(usage.outputTokens, 9, "one per word the mock streamed");
      const sent = mock.log.find((e) => e.path === RESPONSES);
      const body = JSON.parse(sent?.body ?? "{}") as Record<string, unknown>;
      assert.deepEqual([body.stream, body.store, body.instructions], [true, false, "You are a friendly assistant."]);
      assert.equal(sent?.headers["authorization"], `Bearer ${tokens.accessToken}`);
      assert.equal(sent?.headers["chatgpt-account-id"], mock.account.accountId);
    }));

  test("AI SDK: a 401 on a fresh-looking token is refreshed once and retried once under streamText", () =>
    withMock({}, async (mock) => {
      const { codexFetch, baseUrl } = await connect(mock);
      const openai = createOpenAI({ apiKey: "unused", baseURL: baseUrl, fetch: codexFetch });
      mock.fault({ path: RESPONSES, codex: "unauthorized" });
      const result = streamText({ model: openai.responses("gpt-5-codex"), prompt: "retry", providerOptions });
      assert.equal(await result.text, 'Hello! The mock Codex backend heard: "retry"');
      assert.deepEqual([refreshes(mock), modelCalls(mock)], [1, 2]);
    }));
});
