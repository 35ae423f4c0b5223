/**
 * An authenticated `fetch` for the ChatGPT Codex backend, built on a token session, so that the
 * SDKs hosts already use (the `openai` package, the AI SDK) make model calls with a "Sign in with
 * ChatGPT" token by passing it as their `fetch`.
 *
 * Why a fetch and not a client: SDKs own the request and the stream; what they cannot do is hold a
 * rotating token. So this adds the session's headers to each request, lets the session refresh
 * when the token is due (once for all concurrent callers), and on a `401` marks the token,
 * refreshes once and sends the request once more when that is safe. Everything else, statuses and
 * streams included, reaches the SDK untouched. The token goes to the base URL's origin only: a
 * request anywhere else is refused before the session is even asked. The retry decision is the
 * core's (`src/model_call.rs`); this file only carries it out.
 */
import * as wasm from "./wasm.ts";
import { OAuthDeviceFlowError, invalidConfig } from "./errors.ts";
import type { TokenSession } from "./tokenSession.ts";

/** The ChatGPT Codex backend: `{base}/responses`, `{base}/models`. */
export const CODEX_BASE_URL = "https://chatgpt.com/backend-api/codex";

/** What createCodexFetch needs of a session: its public headers and invalidation. */
export type CodexSession = Pick<TokenSession, "authHeaders" | "invalidate">;

/** `fetch`'s own signature, so that it can be handed to any SDK. */
export type CodexFetch = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/** What {@link createCodexFetch} takes besides the session. */
export interface CodexFetchOptions {
  /** Default `https://chatgpt.com/backend-api/codex`; the token is sent to this origin only. */
  baseUrl?: string;
  /** The `originator` header (Codex sends `codex_cli_rs`); not sent when absent. */
  originator?: string;
  /** The `User-Agent` header; the underlying fetch's own when absent. */
  userAgent?: string;
  /** The `session_id` header (a conversation id, also the prompt cache key); not sent when absent. */
  sessionId?: string;
  /** The fetch that sends; default the global `fetch`. */
  fetch?: typeof fetch;
}

const OPTION_NAMES: readonly string[] = ["baseUrl", "originator", "userAgent", "sessionId", "fetch"];

/** The checked base URL (core rules: https, or http to loopback only), without trailing slashes. */
export function codexBaseUrl(url: string | undefined): string {
  try {
    return wasm.codexBaseUrl(url);
  } catch (e) {
    if (e instanceof OAuthDeviceFlowError) throw e;
    throw invalidConfig("baseUrl is not a usable URL.");
  }
}

function headerValue(name: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || value === "" || /[\u0000-\u001f\u007f]/.test(value)) {
    throw invalidConfig(`${name} must be a non-empty string without control characters`);
  }
  return value;
}

/** How the request body can be sent again: bytes in memory can, a stream cannot. */
function bodyKind(body: unknown): "empty" | "replayable" | "one-shot" {
  if (body === undefined || body === null) return "empty";
  if (
    typeof body === "string" ||
    body instanceof ArrayBuffer ||
    ArrayBuffer.isView(body) ||
    body instanceof URLSearchParams ||
    body instanceof Blob ||
    body instanceof FormData
  ) {
    return "replayable";
  }
  return "one-shot";
}

/**
 * A `fetch` for the Codex backend over `session`. Throws `invalid_config` or `insecure_endpoint`
 * synchronously for bad options. Each call adds `Authorization` and `ChatGPT-Account-ID` (replacing
 * any `Authorization` an SDK set from its placeholder API key) and the optional `originator`,
 * `User-Agent` and `session_id`; rejects with the session's error when there is no usable token,
 * and with `invalid_config` for a URL outside the base URL's origin (nothing is sent).
 */
export function createCodexFetch(session: CodexSession, options: CodexFetchOptions = {}): CodexFetch {
  if (typeof session !== "object" || session === null || typeof session.authHeaders !== "function" || typeof session.invalidate !== "function") {
    throw invalidConfig("createCodexFetch needs a token session (createTokenSession)");
  }
  if (typeof options !== "object" || options === null) throw invalidConfig("options must be an object");
  const unknown = Object.keys(options).find((k) => !OPTION_NAMES.includes(k));
  if (unknown !== undefined) throw invalidConfig(`createCodexFetch takes only: ${OPTION_NAMES.join(", ")}`);
  const base = codexBaseUrl(options.baseUrl);
  const origin = new URL(base).origin;
  const send = options.fetch ?? globalThis.fetch;
  if (typeof send !== "function") throw invalidConfig("fetch must be a function");
  const extra: [string, string | undefined][] = [
    ["originator", headerValue("originator", options.originator)],
    ["User-Agent", headerValue("userAgent", options.userAgent)],
    ["session_id", headerValue("sessionId", options.sessionId)],
  ];

  return async (input, init) => {
    const request = input instanceof Request ? input : undefined;
    const url = request?.url ?? String(input);
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      throw invalidConfig("The request URL is not an absolute URL.");
    }
    if (target.origin !== origin) {
      throw invalidConfig(`This fetch sends the ChatGPT token to ${origin} only (its baseUrl); a request elsewhere was refused and not sent.`);
    }
    // A Request's own body is a stream: it is sent once.
    const kind = init?.body !== undefined ? bodyKind(init.body) : request?.body ? "one-shot" : "empty";
    let retried = false;
    for (;;) {
      const auth = await session.authHeaders();
      const headers = new Headers(request?.headers);
      new Headers(init?.headers).forEach((value, name) => headers.set(name, value));
      for (const [name, value] of Object.entries(auth)) headers.set(name, value);
      for (const [name, value] of extra) if (value !== undefined) headers.set(name, value);
      const res = request ? await send(new Request(request, { ...init, headers })) : await send(url, { ...init, headers });
      // The Response has not reached the caller yet: nothing is streamed at this point.
      const decision = wasm.codexAfterReply(res.status, retried, kind, false);
      if (decision === "return") return res;
      session.invalidate(auth["Authorization"]?.replace(/^Bearer /, ""));
      if (decision !== "retry") return res;
      await res.body?.cancel().catch(() => undefined);
      retried = true;
    }
  };
}
