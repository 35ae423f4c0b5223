/**
 * Helpers for the tests that drive the drop-in module against the embedded mock server over real
 * loopback HTTP: deps with the real `fetch` and a fixed clock, a raw POST for the checks the module
 * would never send, and the sign-in steps most tests start from.
 */
import assert from "node:assert/strict";
import {
  openaiCodexProvider,
  pollDeviceToken,
  requestDeviceCode,
  rfc8628Provider,
  type DeviceCode,
  type DeviceFlowDeps,
  type FetchLike,
  type OAuthProvider,
  type OAuthTokens,
} from "../../../js/oauthDeviceFlow.ts";
import { startMockServer, type MockServer, type MockServerOptions } from "../../../demo/mockServer.ts";

/** The module's clock in these tests: fixed, so every `expiresAt` is exact. */
export const NOW = 1_790_000_000_000;

export function realDeps(extra: Partial<DeviceFlowDeps> = {}): DeviceFlowDeps {
  return { fetch: fetch as unknown as FetchLike, clock: () => NOW, timeoutMs: 5_000, ...extra };
}

/** Runs `body` with a fresh mock (1 s interval unless told otherwise) and always stops it. */
export async function withMock(options: MockServerOptions, body: (mock: MockServer) => Promise<void>): Promise<void> {
  const mock = await startMockServer({ intervalSec: 1, ...options });
  try {
    await body(mock);
  } finally {
    await mock.stop();
  }
}

export function codexProvider(mock: MockServer): OAuthProvider {
  return openaiCodexProvider({ issuer: mock.url });
}

export function rfcProvider(mock: MockServer, extra: Partial<Omit<OAuthProvider, "kind">> = {}): OAuthProvider {
  return rfc8628Provider({ clientId: mock.rfcClientId, ...mock.rfc8628, scope: "openid offline_access", ...extra });
}

export interface RawReply {
  status: number;
  headers: Headers;
  text: string;
  /** The body parsed as JSON, or undefined. */
  json: Record<string, unknown> | undefined;
}

/** A POST the module would not send (wrong field, wrong type) to check that the mock refuses it. */
export async function rawPost(
  url: string,
  body: string,
  contentType: string,
  headers: Record<string, string> = {},
): Promise<RawReply> {
  const res = await fetch(url, { method: "POST", headers: { "content-type": contentType, ...headers }, body, redirect: "manual" });
  const text = await res.text();
  let json: Record<string, unknown> | undefined;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** Presses a button on the verification page, as the HTML form posts it. */
export function submitPage(mock: MockServer, userCode: string, action: string, path = "/device"): Promise<RawReply> {
  return rawPost(`${mock.url}${path}`, new URLSearchParams({ user_code: userCode, action }).toString(), "application/x-www-form-urlencoded");
}

/** Device code, approval on the page, one successful poll: a signed-in token set. */
export async function signIn(mock: MockServer, provider: OAuthProvider): Promise<{ code: DeviceCode; tokens: OAuthTokens }> {
  const deps = realDeps();
  const code = await requestDeviceCode(provider, deps);
  const page = await submitPage(mock, code.userCode, "approve", provider.kind === "openai-codex" ? "/codex/device" : "/device");
  assert.equal(page.status, 200, "the page approves a fresh code");
  const result = await pollDeviceToken(provider, code, deps);
  assert.equal(result.status, "success");
  if (result.status !== "success") throw new Error("unreachable");
  return { code, tokens: result.tokens };
}

/** The single logged request to `path` (asserts there is exactly one). */
export function onlyRequest(mock: MockServer, path: string) {
  const hits = mock.log.filter((e) => e.path === path);
  assert.equal(hits.length, 1, `exactly one request to ${path}`);
  const [hit] = hits;
  if (!hit) throw new Error("unreachable");
  return hit;
}

/** A valid streaming Responses request, as the spec says the backend wants it. */
export const RESPONSES_REQUEST = {
  model: "gpt-5-codex",
  instructions: "You are a friendly assistant.",
  input: [{ type: "message", role: "user", content: [{ type: "input_text", text: "hi" }] }],
  stream: true,
  store: false,
};

/** A raw Responses-API call with the given headers (the body read whole: JSON or the event stream). */
export function callBackend(mock: MockServer, headers: Record<string, string>, body?: unknown): Promise<RawReply> {
  return rawPost(`${mock.url}/backend-api/codex/responses`, JSON.stringify(body ?? RESPONSES_REQUEST), "application/json", headers);
}

/** The `data:` JSON of each event of an event-stream body, in order. */
export function sseEvents(text: string): Record<string, unknown>[] {
  return text
    .split("\n\n")
    .map((frame) => frame.split("\n").find((line) => line.startsWith("data: ")))
    .filter((line): line is string => line !== undefined)
    .map((line) => JSON.parse(line.slice(6)) as Record<string, unknown>);
}
