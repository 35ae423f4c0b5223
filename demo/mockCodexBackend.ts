/**
 * The mock's ChatGPT Codex backend, as docs/model-calls.md describes the real one:
 * `POST /backend-api/codex/responses` answers Server-Sent Events only (`stream` must be `true`,
 * `store` must be `false`, `instructions` is required, the model must be one the account has),
 * wants a valid bearer token and the matching `ChatGPT-Account-ID`, and sends the `x-codex-*`
 * rate-limit headers; `GET /backend-api/codex/models?client_version=...` lists the models.
 *
 * Kept apart from the authorization server's routes because it is a different service with its
 * own failure modes, injected through `MockFault.codex`: a 429 usage limit with `resets_at`,
 * `usage_not_included`, `response.failed`, a stream cut before `response.completed`, a stall, an
 * HTML 403 challenge page, and a `401` however good the token looks.
 */
import type { IncomingMessage } from "node:http";
import { OPENAI_AUTH_CLAIM, randomHandle, type JwtSigner } from "./mockTokens.ts";

/** A streamed answer: events written one by one, then the stream ends as `end` says. */
export interface SseScript {
  events: Record<string, unknown>[];
  /** complete: end normally; cut: end the body early (no response.completed); stall: stop sending and keep the connection open. */
  end: "complete" | "cut" | "stall";
}

export interface BackendReply {
  status: number;
  body: string;
  headers?: Record<string, string>;
  sse?: SseScript;
}

/** The Codex-backend faults `MockFault.codex` can inject. */
export type CodexFault =
  | "usage_limit_reached"
  | "usage_not_included"
  | "response_failed"
  | "cut"
  | "stall"
  | "challenge"
  | "unauthorized";

export interface CodexFaultOptions {
  codex: CodexFault;
  /** usage_limit_reached: seconds from now to `resets_at` (default 3600). */
  resetsInSec?: number;
  /** response_failed: `response.error.code` (default "server_error") and its message. */
  failedCode?: string;
  failedMessage?: string;
}

export interface CodexBackendDeps {
  signer: JwtSigner;
  clock: () => number;
  isRevoked: (family: string) => boolean;
  /** The models the account may use (the knob `models`). */
  models: () => readonly string[];
}

/** What a model call answers, word by word. */
export const MOCK_REPLY_PREFIX = "Hello! The mock Codex backend heard: ";

const json = (status: number, value: unknown, headers: Record<string, string> = {}): BackendReply => ({
  status,
  body: JSON.stringify(value),
  headers: { "content-type": "application/json", ...headers },
});
const detail = (status: number, text: string): BackendReply => json(status, { detail: text });
const apiError = (status: number, code: string, message: string): BackendReply =>
  json(status, { error: { message, type: "invalid_request_error", param: null, code } });

const CHALLENGE_PAGE =
  '<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title></head><body><noscript>Enable JavaScript and cookies to continue</noscript></body></html>';

export function createCodexBackend(deps: CodexBackendDeps) {
  const nowSec = () => Math.floor(deps.clock() / 1000);

  /** The rate-limit headers every answer carries. */
  function rateHeaders(usedPercent: number, resetAt: number): Record<string, string> {
    return {
      "x-codex-primary-used-percent": String(usedPercent),
      "x-codex-primary-window-minutes": "300",
      "x-codex-primary-reset-at": String(resetAt),
      "x-codex-secondary-used-percent": String(Math.min(100, Math.round(usedPercent / 4))),
      "x-codex-secondary-window-minutes": "10080",
      "x-codex-secondary-reset-at": String(resetAt + 6 * 86_400),
      "x-codex-credits-has-credits": "false",
      "x-codex-credits-unlimited": "false",
    };
  }

  /** The token and account checks both routes make; undefined when they pass. */
  function authorize(req: IncomingMessage): BackendReply | undefined {
    const bearer = /^Bearer (\S+)$/.exec(req.headers.authorization ?? "")?.[1];
    const claims = bearer ? deps.signer.verify(bearer) : undefined;
    if (!claims || typeof claims.exp !== "number" || typeof claims.fam !== "string") {
      return apiError(401, "invalid_api_key", "Missing or invalid bearer token.");
    }
    if (claims.exp * 1000 <= deps.clock()) return apiError(401, "token_expired", "The access token expired.");
    if (deps.isRevoked(claims.fam)) return apiError(401, "token_revoked", "The access token was revoked.");
    const auth = claims[OPENAI_AUTH_CLAIM] as Record<string, unknown> | undefined;
    const accountId = typeof auth?.chatgpt_account_id === "string" ? auth.chatgpt_account_id : undefined;
    if (accountId !== undefined && req.headers["chatgpt-account-id"] !== accountId) {
      return apiError(403, "account_mismatch", "ChatGPT-Account-ID is missing or does not match the token.");
    }
    return undefined;
  }

  function models(req: IncomingMessage, query: string): BackendReply {
    const refused = authorize(req);
    if (refused) return refused;
    const version = new URLSearchParams(query).get("client_version");
    if (!version) return detail(400, "client_version is required");
    return json(
      200,
      {
        models: deps.models().map((slug, i) => ({
          slug,
          display_name: slug,
          supported_in_api: true,
          visibility: "list",
          priority: i,
        })),
      },
      rateHeaders(5, nowSec() + 3600),
    );
  }

  function responses(req: IncomingMessage, raw: string, fault: CodexFaultOptions | undefined): BackendReply {
    if (fault?.codex === "challenge") {
      return { status: 403, body: CHALLENGE_PAGE, headers: { "content-type": "text/html; charset=UTF-8", "cf-mitigated": "challenge" } };
    }
    if (fault?.codex === "unauthorized") return apiError(401, "token_revoked", "The access token is not accepted.");
    const refused = authorize(req);
    if (refused) return refused;
    const type = (req.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase();
    if (type !== "application/json") return detail(415, "Send JSON.");
    let body: Record<string, unknown>;
    try {
      const v: unknown = JSON.parse(raw);
      if (typeof v !== "object" || v === null || Array.isArray(v)) return detail(400, "The body must be a JSON object.");
      body = v as Record<string, unknown>;
    } catch {
      return detail(400, "The body is not JSON.");
    }
    if (typeof body.instructions !== "string" || body.instructions.trim() === "") return detail(400, "Instructions are required");
    if (body.stream !== true) return detail(400, "Stream must be set to true");
    if (body.store !== false) return detail(400, "Store must be set to false");
    const model = typeof body.model === "string" ? body.model : "";
    if (!deps.models().includes(model)) {
      return detail(400, `The '${model.slice(0, 80)}' model is not supported when using Codex with a ChatGPT account.`);
    }
    if (body.input === undefined) return detail(400, "input is required");

    const resetAt = nowSec() + (fault?.resetsInSec ?? 3600);
    if (fault?.codex === "usage_limit_reached") {
      return json(
        429,
        {
          error: {
            type: "usage_limit_reached",
            message: "The usage limit has been reached",
            plan_type: "plus",
            resets_at: resetAt,
            resets_in_seconds: fault.resetsInSec ?? 3600,
          },
        },
        rateHeaders(100, resetAt),
      );
    }
    if (fault?.codex === "usage_not_included") {
      return json(429, { error: { type: "usage_not_included", message: "Codex is not included in your plan.", plan_type: "free" } }, rateHeaders(0, resetAt));
    }
    const said = lastUserText(body.input);
    const reasoning = body.reasoning as { summary?: unknown } | undefined;
    const events = script(model, `${MOCK_REPLY_PREFIX}"${said.slice(0, 200)}"`, said.length, typeof reasoning?.summary === "string" && reasoning.summary !== "none", fault);
    const end = fault?.codex === "cut" ? "cut" : fault?.codex === "stall" ? "stall" : "complete";
    return {
      status: 200,
      body: "",
      headers: { "content-type": "text/event-stream; charset=utf-8", ...rateHeaders(12, resetAt) },
      sse: { events, end },
    };
  }

  /** The event sequence of the spec, with several text deltas; a fault shortens or fails it. */
  function script(model: string, text: string, inputTokens: number, withReasoning: boolean, fault: CodexFaultOptions | undefined) {
    const id = `resp_${randomHandle("").slice(0, 16)}`;
    const created = nowSec();
    const base = { id, object: "response", created_at: created, model, status: "in_progress", output: [] as unknown[], usage: null };
    const events: Record<string, unknown>[] = [
      { type: "response.created", response: base },
      { type: "response.in_progress", response: base },
    ];
    const output: unknown[] = [];
    let index = 0;
    if (withReasoning) {
      const rid = `rs_${randomHandle("").slice(0, 16)}`;
      const thought = "The user wants a greeting.";
      events.push({ type: "response.output_item.added", output_index: index, item: { type: "reasoning", id: rid, summary: [] } });
      events.push({ type: "response.reasoning_summary_part.added", item_id: rid, output_index: index, summary_index: 0, part: { type: "summary_text", text: "" } });
      for (const piece of words(thought)) {
        events.push({ type: "response.reasoning_summary_text.delta", item_id: rid, output_index: index, summary_index: 0, delta: piece });
      }
      events.push({ type: "response.reasoning_summary_text.done", item_id: rid, output_index: index, summary_index: 0, text: thought });
      events.push({ type: "response.reasoning_summary_part.done", item_id: rid, output_index: index, summary_index: 0, part: { type: "summary_text", text: thought } });
      const item = { type: "reasoning", id: rid, summary: [{ type: "summary_text", text: thought }], encrypted_content: "gAAAA-mock" };
      events.push({ type: "response.output_item.done", output_index: index, item });
      output.push(item);
      index += 1;
    }
    const mid = `msg_${randomHandle("").slice(0, 16)}`;
    events.push({
      type: "response.output_item.added",
      output_index: index,
      item: { type: "message", id: mid, status: "in_progress", role: "assistant", content: [] },
    });
    events.push({ type: "response.content_part.added", item_id: mid, output_index: index, content_index: 0, part: { type: "output_text", text: "", annotations: [] } });
    const pieces = words(text);
    if (fault?.codex === "cut" || fault?.codex === "stall") {
      // Half the text, then the stream ends (or stops) before completing.
      for (const piece of pieces.slice(0, Math.max(1, Math.floor(pieces.length / 2)))) {
        events.push({ type: "response.output_text.delta", item_id: mid, output_index: index, content_index: 0, delta: piece });
      }
      return numbered(events);
    }
    if (fault?.codex === "response_failed") {
      events.push({ type: "response.output_text.delta", item_id: mid, output_index: index, content_index: 0, delta: pieces[0] ?? "" });
      const code = fault.failedCode ?? "server_error";
      const message = fault.failedMessage ?? (code === "rate_limit_exceeded" ? "Rate limit reached. Please try again in 20s." : "The model failed to answer.");
      events.push({ type: "response.failed", response: { ...base, status: "failed", error: { code, message } } });
      return numbered(events);
    }
    for (const piece of pieces) {
      events.push({ type: "response.output_text.delta", item_id: mid, output_index: index, content_index: 0, delta: piece });
    }
    events.push({ type: "response.output_text.done", item_id: mid, output_index: index, content_index: 0, text });
    const part = { type: "output_text", text, annotations: [] };
    events.push({ type: "response.content_part.done", item_id: mid, output_index: index, content_index: 0, part });
    const message = { type: "message", id: mid, status: "completed", role: "assistant", content: [part] };
    events.push({ type: "response.output_item.done", output_index: index, item: message });
    output.push(message);
    const outputTokens = pieces.length;
    events.push({
      type: "response.completed",
      response: {
        ...base,
        status: "completed",
        output,
        usage: {
          input_tokens: inputTokens,
          input_tokens_details: { cached_tokens: 0 },
          output_tokens: outputTokens + (withReasoning ? 6 : 0),
          output_tokens_details: { reasoning_tokens: withReasoning ? 6 : 0 },
          total_tokens: inputTokens + outputTokens + (withReasoning ? 6 : 0),
        },
      },
    });
    return numbered(events);
  }

  return { responses, models };
}

/** Splits text into word-sized deltas that join back to the text exactly. */
function words(text: string): string[] {
  return text.match(/\S+\s*|\s+/g) ?? [text];
}

function numbered(events: Record<string, unknown>[]): Record<string, unknown>[] {
  return events.map((e, i) => ({ ...e, sequence_number: i }));
}

/** One SSE frame as the backend writes it. */
export function sseFrame(event: Record<string, unknown>): string {
  return `event: ${String(event.type)}\ndata: ${JSON.stringify(event)}\n\n`;
}

/** The text of the last user turn of a Responses-API `input` (a string or a list of items). */
export function lastUserText(input: unknown): string {
  if (typeof input === "string") return input;
  if (!Array.isArray(input)) return "";
  for (let i = input.length - 1; i >= 0; i -= 1) {
    const item = input[i] as { role?: unknown; content?: unknown } | undefined;
    if (item?.role !== "user") continue;
    if (typeof item.content === "string") return item.content;
    if (Array.isArray(item.content)) {
      return item.content.map((part: { text?: unknown }) => (typeof part?.text === "string" ? part.text : "")).join("");
    }
  }
  return "";
}
