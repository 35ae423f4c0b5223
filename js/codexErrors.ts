/**
 * Reads a failed answer of the Codex backend for the core, which says what it means (a usage
 * limit with its reset time, a plan without Codex, a refused request, a bot-challenge page, a
 * `response.failed` event; see src/model_reply.rs). Shared by the streaming helper and the models
 * list so that both read replies the same way.
 *
 * Why only I/O here: the decision is the core's, tested natively; this module reads the status,
 * the three headers the decision needs and the body, bounded, and builds the error from the
 * fields the core returns.
 */
import { errorFromFields, type OAuthDeviceFlowError } from "./errors.ts";
import * as wasm from "./wasm.ts";

/** Replies larger than this are not read for an error message. */
const MAX_ERROR_BODY = 64 * 1024;

/** A non-2xx answer (or an unusable 2xx) of the Codex backend, as an error. */
export async function replyError(res: Response, what: "model call" | "models list", now: number): Promise<OAuthDeviceFlowError> {
  const status = res.status;
  let text = "";
  if (status >= 300 && status < 400) {
    // A redirect is settled by its status: its body is never read.
    await res.body?.cancel().catch(() => undefined);
  } else if (Number(res.headers.get("content-length") ?? "0") <= MAX_ERROR_BODY) {
    text = await res.text().catch(() => "");
  } else {
    await res.body?.cancel().catch(() => undefined);
  }
  return errorFromFields(wasm.codexReplyError(what, status, res.headers.get("content-type"), res.headers.get("retry-after"), text, now));
}

/** `response.failed` (or an `error` event), given the event's `error` object, as an error. */
export function failedError(error: Record<string, unknown> | undefined, now: number): OAuthDeviceFlowError {
  return errorFromFields(wasm.codexFailedError(error, now));
}
