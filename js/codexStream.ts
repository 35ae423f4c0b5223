/**
 * A streamed model call for hosts without an SDK: one Responses request to the Codex backend, read
 * as the Server-Sent Events it always answers, turned into a few typed events.
 *
 * Why: the backend only streams (`stream: true` and `store: false` are required, `instructions`
 * too), so a host wanting "the answer" must still read a stream, notice one that ends without
 * `response.completed` or goes silent, and tell a usage limit from a broken request. The SSE
 * framing is parsed by `eventsource-parser`; the helper never retries (a stream that began may
 * already have been shown), and the `fetch` it is given (normally `createCodexFetch`'s) carries the
 * token.
 */
import { createParser, type EventSourceMessage } from "eventsource-parser";
import { codexBaseUrl } from "./codexFetch.ts";
import { failedError, replyError } from "./codexErrors.ts";
import { OAuthDeviceFlowError } from "./errors.ts";

/** A Responses request; `stream: true` and `store: false` are always set by the helper. */
export interface CodexRequest {
  /** The model to call (an `id` from `listCodexModels`). */
  model: string;
  /** Required by the backend. */
  instructions: string;
  /** A string, or Responses input items (`{ type: "message", role: "user", content: [...] }`). */
  input: string | readonly unknown[];
  /** Anything else the Responses API takes (`reasoning`, `tools`, `include`, `prompt_cache_key`, `text`, ...). */
  [field: string]: unknown;
}

/** How {@link streamCodexResponse} reaches the backend and when it gives up. */
export interface CodexStreamOptions {
  /** Default `https://chatgpt.com/backend-api/codex`. */
  baseUrl?: string;
  /** Aborts the call: the iterator rejects with `aborted`. */
  signal?: AbortSignal;
  /** Gives up when no byte arrives for this long (also before the answer starts); default 300 000 as Codex. */
  idleTimeoutMs?: number;
}

/** The token counts of a finished call, from the backend's `usage`. */
export interface CodexUsage {
  /** Tokens of the input (instructions included). */
  inputTokens: number;
  /** Of those, the ones read from the prompt cache, when the backend said. */
  cachedInputTokens?: number;
  /** Tokens of the output (reasoning included). */
  outputTokens: number;
  /** Of those, the reasoning tokens, when the backend said. */
  reasoningTokens?: number;
  /** Input and output together. */
  totalTokens: number;
}

/** What {@link streamCodexResponse} yields, in the order the backend sends it. */
export type CodexStreamEvent =
  | {
      /** The backend accepted the request (`response.created`). */
      type: "created";
      /** The response's id, when sent. */
      responseId?: string;
    }
  | {
      /** A piece of the answer's text (`response.output_text.delta`). */
      type: "text_delta";
      /** The new text. */
      delta: string;
      /** The output item it belongs to, when sent. */
      itemId?: string;
    }
  | {
      /** A piece of reasoning: its summary (`response.reasoning_summary_text.delta`) or its text. */
      type: "reasoning_delta";
      /** The new text. */
      delta: string;
      /** Whether it is the reasoning's summary or its text. */
      kind: "summary" | "text";
      /** The output item it belongs to, when sent. */
      itemId?: string;
    }
  | {
      /** A finished output item (`response.output_item.done`): a message, reasoning, a tool call. */
      type: "output_item";
      /** The item as the backend sent it. */
      item: Record<string, unknown>;
    }
  | {
      /** The end: the whole text, the usage, and the final response object as the backend sent it. */
      type: "completed";
      /** The response's id, when sent. */
      responseId?: string;
      /** The whole answer's text (every `text_delta` joined). */
      text: string;
      /** The token counts, when the backend sent them. */
      usage?: CodexUsage;
      /** The final response object as the backend sent it. */
      response: Record<string, unknown>;
    };

/** The default `idleTimeoutMs`: 300 000, as Codex itself. */
export const DEFAULT_IDLE_TIMEOUT_MS = 300_000;

const asObject = (v: unknown): Record<string, unknown> | undefined =>
  typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
const num = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) ? v : undefined);
const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

function usageOf(raw: unknown): CodexUsage | undefined {
  const u = asObject(raw);
  if (u === undefined) return undefined;
  const cached = num(asObject(u["input_tokens_details"])?.["cached_tokens"]);
  const reasoning = num(asObject(u["output_tokens_details"])?.["reasoning_tokens"]);
  const input = num(u["input_tokens"]) ?? 0;
  const output = num(u["output_tokens"]) ?? 0;
  return {
    inputTokens: input,
    ...(cached === undefined ? {} : { cachedInputTokens: cached }),
    outputTokens: output,
    ...(reasoning === undefined ? {} : { reasoningTokens: reasoning }),
    totalTokens: num(u["total_tokens"]) ?? input + output,
  };
}

function checkRequest(request: unknown): asserts request is CodexRequest {
  const r = asObject(request);
  const bad = (m: string) => new OAuthDeviceFlowError("invalid_config", m);
  if (r === undefined) throw bad("request must be an object { model, instructions, input }");
  if (typeof r["model"] !== "string" || r["model"] === "") throw bad("request.model must be a non-empty string");
  if (typeof r["instructions"] !== "string" || r["instructions"].trim() === "") {
    throw bad("request.instructions is required by the Codex backend (a non-empty string)");
  }
  if (typeof r["input"] !== "string" && !Array.isArray(r["input"])) throw bad("request.input must be a string or an array of input items");
}

/**
 * Streams one Responses call: `for await (const e of streamCodexResponse(codexFetch, req))`.
 * Rejects (from the iterator) with `OAuthDeviceFlowError`: `invalid_config` for a bad request,
 * `usage_limit_reached` / `usage_not_included` (with `resetsAt`), `model_error` for a refused
 * request (`400 {"detail"}`), `challenge` for an HTML 403, `response_failed` for `response.failed`,
 * `stream_incomplete` when the stream ends without `response.completed`, `idle_timeout`,
 * `aborted`, `network_error`, `server_error`, or the session's own error. Breaking out of the loop
 * cancels the request.
 */
export async function* streamCodexResponse(
  fetch: (input: string, init: RequestInit) => Promise<Response>,
  request: CodexRequest,
  options: CodexStreamOptions = {},
): AsyncGenerator<CodexStreamEvent, void, undefined> {
  if (typeof fetch !== "function") throw new OAuthDeviceFlowError("invalid_config", "fetch must be a function (createCodexFetch)");
  checkRequest(request);
  const base = codexBaseUrl(options.baseUrl);
  const idleMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  if (!(typeof idleMs === "number" && idleMs > 0 && Number.isFinite(idleMs))) {
    throw new OAuthDeviceFlowError("invalid_config", "idleTimeoutMs must be a positive number of milliseconds");
  }
  const outer = options.signal;
  if (outer?.aborted) throw new OAuthDeviceFlowError("aborted", "The model call was aborted.");

  const controller = new AbortController();
  let idle = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const touch = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      idle = true;
      controller.abort();
    }, idleMs);
  };
  const onAbort = () => controller.abort();
  outer?.addEventListener("abort", onAbort, { once: true });
  const failure = (e: unknown, during: string): OAuthDeviceFlowError => {
    if (outer?.aborted) return new OAuthDeviceFlowError("aborted", "The model call was aborted.");
    if (idle) {
      return new OAuthDeviceFlowError("idle_timeout", `The Codex backend sent nothing for ${idleMs} ms ${during}; try again.`);
    }
    if (e instanceof OAuthDeviceFlowError) return e;
    return new OAuthDeviceFlowError(
      during === "while streaming" ? "stream_incomplete" : "network_error",
      during === "while streaming"
        ? "The answer's stream broke off before response.completed; try again."
        : "The Codex backend could not be reached; try again.",
    );
  };

  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  let completed = false;
  try {
    touch();
    let res: Response;
    try {
      res = await fetch(`${base}/responses`, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "text/event-stream" },
        body: JSON.stringify({ ...request, stream: true, store: false }),
        redirect: "manual",
        signal: controller.signal,
      });
    } catch (e) {
      throw failure(e, "before answering");
    }
    if (res.status !== 200) throw await replyError(res, "model call", Date.now());
    const type = (res.headers.get("content-type") ?? "").toLowerCase();
    if (!type.includes("text/event-stream") || res.body === null) {
      await res.body?.cancel().catch(() => undefined);
      throw new OAuthDeviceFlowError("invalid_response", "The Codex backend answered the model call without an event stream.", { status: 200 });
    }

    const queue: EventSourceMessage[] = [];
    const parser = createParser({ onEvent: (m) => queue.push(m) });
    const decoder = new TextDecoder();
    reader = res.body.getReader();
    let text = "";
    for (;;) {
      let chunk: Awaited<ReturnType<typeof reader.read>>;
      try {
        chunk = await reader.read();
      } catch (e) {
        throw failure(e, "while streaming");
      }
      touch();
      if (chunk.done) parser.feed(`${decoder.decode()}\n\n`);
      else parser.feed(decoder.decode(chunk.value, { stream: true }));
      while (queue.length > 0) {
        const message = queue.shift() as EventSourceMessage;
        if (message.data === "[DONE]") continue;
        let data: Record<string, unknown> | undefined;
        try {
          data = asObject(JSON.parse(message.data));
        } catch {
          data = undefined;
        }
        if (data === undefined) continue; // not an event of the spec: skipped, as Codex does
        const kind = str(data["type"]) ?? message.event;
        const response = asObject(data["response"]);
        switch (kind) {
          case "response.created":
            yield { type: "created", ...(str(response?.["id"]) === undefined ? {} : { responseId: str(response?.["id"]) as string }) };
            break;
          case "response.output_text.delta": {
            const delta = str(data["delta"]) ?? "";
            text += delta;
            const itemId = str(data["item_id"]);
            yield { type: "text_delta", delta, ...(itemId === undefined ? {} : { itemId }) };
            break;
          }
          case "response.reasoning_summary_text.delta":
          case "response.reasoning_text.delta": {
            const itemId = str(data["item_id"]);
            yield {
              type: "reasoning_delta",
              delta: str(data["delta"]) ?? "",
              kind: kind === "response.reasoning_text.delta" ? "text" : "summary",
              ...(itemId === undefined ? {} : { itemId }),
            };
            break;
          }
          case "response.output_item.done": {
            const item = asObject(data["item"]);
            if (item !== undefined) yield { type: "output_item", item };
            break;
          }
          case "response.completed": {
            completed = true;
            const usage = usageOf(response?.["usage"]);
            const id = str(response?.["id"]);
            yield { type: "completed", ...(id === undefined ? {} : { responseId: id }), text, ...(usage === undefined ? {} : { usage }), response: response ?? {} };
            return;
          }
          case "response.failed":
          case "response.incomplete":
            throw failedError(asObject(response?.["error"]) ?? asObject(response?.["incomplete_details"]), Date.now());
          case "error":
            throw failedError(asObject(data["error"]) ?? data, Date.now());
          default:
            break; // in_progress, content_part.*, *.done, and events newer than this helper
        }
      }
      if (chunk.done) {
        throw new OAuthDeviceFlowError("stream_incomplete", "The answer's stream closed before response.completed; try again.");
      }
    }
  } finally {
    clearTimeout(timer);
    outer?.removeEventListener("abort", onAbort);
    if (!completed) controller.abort();
    await reader?.cancel().catch(() => undefined);
  }
}
