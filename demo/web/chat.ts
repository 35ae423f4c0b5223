/**
 * The "chat turn" a host makes once an admin connected ChatGPT: one streamed Responses call to the
 * Codex backend through the module's fetch (`createCodexFetch` over the token session) and its
 * streaming helper. It shows the parts hosts most often get wrong: the token comes from the session
 * on every call (a due refresh happens once, and the rotated token is saved before use), a 401
 * refreshes and retries once inside the fetch, the backend only streams, and a usage limit is a
 * reset time to show, not an error to retry.
 */
import { OAuthDeviceFlowError, createCodexFetch, streamCodexResponse, type CodexFetch, type TokenSession } from "../../js/oauthDeviceFlow.ts";

export const CHAT_MODEL = "gpt-5-codex";
export const CHAT_INSTRUCTIONS = "You are a friendly assistant.";

/** What the chat route streams to the page, one JSON object per line. */
export type ChatChunk =
  | { delta: string }
  | { done: true; text: string }
  /** `error`: the module's error code; `resetsAt` (epoch ms) for a usage limit. Never a secret or a body. */
  | { error: string; status?: number; resetsAt?: number };

const fetches = new WeakMap<TokenSession, CodexFetch>();

/** One fetch per session: createCodexFetch keeps nothing but the session and the base URL. */
function codexFetchFor(session: TokenSession, baseUrl: string): CodexFetch {
  let f = fetches.get(session);
  if (f === undefined) {
    f = createCodexFetch(session, { baseUrl, originator: "oauth_device_flow_demo" });
    fetches.set(session, f);
  }
  return f;
}

/** One user message in, the assistant's text out as it streams. Never throws: a failure is the last chunk. */
export async function* chatStream(session: TokenSession, backendUrl: string, message: string, idleTimeoutMs: number): AsyncGenerator<ChatChunk> {
  const baseUrl = `${backendUrl}/backend-api/codex`;
  try {
    const events = streamCodexResponse(
      codexFetchFor(session, baseUrl),
      {
        model: CHAT_MODEL,
        instructions: CHAT_INSTRUCTIONS,
        input: [{ type: "message", role: "user", content: [{ type: "input_text", text: message }] }],
      },
      { baseUrl, idleTimeoutMs },
    );
    for await (const e of events) {
      if (e.type === "text_delta") yield { delta: e.delta };
      if (e.type === "completed") yield { done: true, text: e.text };
    }
  } catch (e) {
    if (!(e instanceof OAuthDeviceFlowError)) {
      yield { error: "invalid_config" };
      return;
    }
    yield {
      error: e.code,
      ...(e.status === undefined ? {} : { status: e.status }),
      ...(e.resetsAt === undefined ? {} : { resetsAt: e.resetsAt }),
    };
  }
}
