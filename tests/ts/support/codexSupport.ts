/**
 * What the model-call tests share: a signed-in mock with a token session over a memory store, the
 * module's fetch on the mock's backend, and counters read from the mock's request log.
 */
import {
  OAuthDeviceFlowError,
  createCodexFetch,
  createMemoryStore,
  createTokenSession,
  streamCodexResponse,
  type CodexFetch,
  type CodexFetchOptions,
  type CodexRequest,
  type CodexStreamEvent,
  type CodexStreamOptions,
  type FetchLike,
  type OAuthTokens,
  type TokenSession,
} from "../../../js/oauthDeviceFlow.ts";
import type { MockServer } from "../../../demo/mockServer.ts";
import { codexProvider, signIn } from "./mockSupport.ts";

export const RESPONSES = "/backend-api/codex/responses";

export interface Connected {
  tokens: OAuthTokens;
  session: TokenSession;
  codexFetch: CodexFetch;
  baseUrl: string;
}

/** Signs in on the mock and builds the session and the module's fetch over it. */
export async function connect(mock: MockServer, tweak: (t: OAuthTokens) => OAuthTokens = (t) => t, options: CodexFetchOptions = {}): Promise<Connected> {
  const signedIn = await signIn(mock, codexProvider(mock));
  // signIn's clock is fixed in the past; the session here runs on the real one, as the mock does.
  const tokens = { ...signedIn.tokens, expiresAt: Date.now() + 3_600_000 };
  const session = createTokenSession({
    provider: codexProvider(mock),
    fetch: fetch as unknown as FetchLike,
    clock: Date.now,
    store: createMemoryStore(tweak(tokens)),
  });
  const baseUrl = `${mock.url}/backend-api/codex`;
  return { tokens, session, codexFetch: createCodexFetch(session, { baseUrl, ...options }), baseUrl };
}

/** Refresh requests the mock has seen (the sign-in's code exchange is a form with another grant). */
export function refreshes(mock: MockServer): number {
  return mock.log.filter((e) => e.path === "/oauth/token" && e.body.includes('"grant_type":"refresh_token"')).length;
}

/** Model calls the mock has seen. */
export function modelCalls(mock: MockServer): number {
  return mock.count(RESPONSES);
}

export const REQUEST: CodexRequest = {
  model: "gpt-5-codex",
  instructions: "You are a friendly assistant.",
  input: [{ type: "message", role: "user", content: [{ type: "input_text", text: "hi" }] }],
};

/** Every event of one streamed call, and the error that ended it (if any). */
export async function collect(
  f: CodexFetch,
  request: CodexRequest,
  options: CodexStreamOptions,
): Promise<{ events: CodexStreamEvent[]; error?: OAuthDeviceFlowError }> {
  const events: CodexStreamEvent[] = [];
  try {
    for await (const e of streamCodexResponse(f, request, options)) events.push(e);
    return { events };
  } catch (e) {
    if (!(e instanceof OAuthDeviceFlowError)) throw e;
    return { events, error: e };
  }
}

/** The text the deltas add up to. */
export const textOf = (events: CodexStreamEvent[]): string =>
  events.map((e) => (e.type === "text_delta" ? e.delta : "")).join("");
