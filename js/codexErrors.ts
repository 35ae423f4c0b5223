/**
 * What a failed answer of the Codex backend means, as an `OAuthDeviceFlowError` a host can act on:
 * a usage limit with its reset time, a plan without Codex, a `400 {"detail"}` (model not supported,
 * instructions), a bot-challenge page, a `response.failed` event. Shared by the streaming helper and
 * the models list so that both read replies the same way.
 *
 * Server text is quoted only after anything token-shaped is removed, cut to 200 characters.
 */
import { OAuthDeviceFlowError } from "./errors.ts";

/** Replies larger than this are not read for an error message. */
const MAX_ERROR_BODY = 64 * 1024;

/** Server text fit for a message: control characters, token-shaped words and length removed. */
export function quote(text: string): string {
  return text
    .replace(/[\u0000-\u001f\u007f]/g, " ")
    .split(" ")
    .map((w) => (w.replace(/[^A-Za-z0-9\-_.~+/=]/g, "").length >= 24 ? "[redacted]" : w))
    .join(" ")
    .slice(0, 200)
    .trim();
}

const serverCodeOf = (raw: unknown): string | undefined => {
  if (typeof raw !== "string") return undefined;
  const cleaned = raw.toLowerCase().replace(/[^a-z0-9_.-]/g, "").slice(0, 64);
  return cleaned === "" ? undefined : cleaned;
};

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

const asObject = (v: unknown): Record<string, unknown> | undefined =>
  typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;

/** Retry-After in ms (seconds or an HTTP date). */
function retryAfterMs(value: string | null, now: number): number | undefined {
  if (value === null) return undefined;
  const v = value.trim();
  if (/^[0-9]+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** The reset time of a usage-limit body: `resets_at` (Unix seconds), else `resets_in_seconds`. */
function resetsAtOf(error: Record<string, unknown>, now: number): number | undefined {
  const at = error["resets_at"];
  if (typeof at === "number" && Number.isFinite(at) && at > 0) return at * 1000;
  const inSec = error["resets_in_seconds"];
  if (typeof inSec === "number" && Number.isFinite(inSec) && inSec >= 0) return now + inSec * 1000;
  return undefined;
}

/** A usage-limit error from an `error` object whose `type` (or `code`) names one, else undefined. */
export function usageError(error: Record<string, unknown>, status: number | undefined, now: number): OAuthDeviceFlowError | undefined {
  const kind = error["type"] ?? error["code"];
  if (kind !== "usage_limit_reached" && kind !== "usage_not_included") return undefined;
  const resetsAt = resetsAtOf(error, now);
  const plan = typeof error["plan_type"] === "string" ? ` (plan ${quote(error["plan_type"])})` : "";
  const base = { ...(status === undefined ? {} : { status }), serverCode: kind };
  if (kind === "usage_not_included") {
    return new OAuthDeviceFlowError("usage_not_included", `This ChatGPT plan does not include Codex${plan}: upgrade the plan or use an API key.`, {
      ...base,
      ...(resetsAt === undefined ? {} : { resetsAt }),
    });
  }
  const when = resetsAt === undefined ? "later" : `after ${new Date(resetsAt).toISOString()}`;
  return new OAuthDeviceFlowError("usage_limit_reached", `The ChatGPT usage limit is reached${plan}: try again ${when}.`, {
    ...base,
    ...(resetsAt === undefined ? {} : { resetsAt, retryAfterMs: Math.max(0, resetsAt - now) }),
  });
}

/** A non-2xx answer (or an unusable 2xx) of the Codex backend, as an error. */
export async function replyError(res: Response, what: string, now: number): Promise<OAuthDeviceFlowError> {
  const status = res.status;
  const after = retryAfterMs(res.headers.get("retry-after"), now);
  const details = { status, ...(after === undefined ? {} : { retryAfterMs: after }) };
  if (status >= 300 && status < 400) {
    await res.body?.cancel().catch(() => undefined);
    return new OAuthDeviceFlowError("redirect", `The Codex backend answered the ${what} with a redirect (HTTP ${status}); redirects are not followed.`, details);
  }
  const length = Number(res.headers.get("content-length") ?? "0");
  let text = "";
  if (length <= MAX_ERROR_BODY) text = await res.text().catch(() => "");
  else await res.body?.cancel().catch(() => undefined);
  const type = (res.headers.get("content-type") ?? "").toLowerCase();
  const html = type.includes("text/html") || /^\s*</.test(text);
  const body = asObject(parseJson(text));
  const error = asObject(body?.["error"]);
  const usage = error === undefined ? undefined : usageError(error, status, now);
  if (usage) return usage;
  if (status === 401) {
    return new OAuthDeviceFlowError("reauth_required", `The Codex backend refused the access token for the ${what} (HTTP 401), also after a refresh: sign in again.`, {
      ...details,
      ...(serverCodeOf(error?.["code"]) === undefined ? {} : { serverCode: serverCodeOf(error?.["code"]) }),
    });
  }
  if (status === 403 && html) {
    return new OAuthDeviceFlowError(
      "challenge",
      `The Codex backend answered the ${what} with an HTML page (HTTP 403, a bot challenge?): this network or host is being challenged; try another network or later.`,
      details,
    );
  }
  if (status >= 500 || status === 429) {
    return new OAuthDeviceFlowError("server_error", `The Codex backend could not answer the ${what} (HTTP ${status}); try again later.`, {
      ...details,
      ...(serverCodeOf(error?.["code"] ?? error?.["type"]) === undefined ? {} : { serverCode: serverCodeOf(error?.["code"] ?? error?.["type"]) }),
    });
  }
  const detail = typeof body?.["detail"] === "string" ? body["detail"] : typeof error?.["message"] === "string" ? error["message"] : undefined;
  if (status >= 400 && status < 500 && (detail !== undefined || error !== undefined)) {
    const code = serverCodeOf(error?.["code"] ?? error?.["type"]);
    return new OAuthDeviceFlowError("model_error", `The Codex backend refused the ${what} (HTTP ${status})${detail === undefined ? "" : `: ${quote(detail)}`}`, {
      ...details,
      ...(code === undefined ? {} : { serverCode: code }),
    });
  }
  return new OAuthDeviceFlowError("invalid_response", `Unexpected answer to the ${what}: HTTP ${status}${html ? " with an HTML page" : ""}.`, details);
}

/** `response.failed` (or an `error` event): the failure's code decides retryability. */
export function failedError(error: Record<string, unknown> | undefined, now: number): OAuthDeviceFlowError {
  const usage = error === undefined ? undefined : usageError(error, undefined, now);
  if (usage) return usage;
  const code = serverCodeOf(error?.["code"] ?? error?.["type"]);
  const message = typeof error?.["message"] === "string" ? quote(error["message"]) : "";
  const seconds = /try again in\s+([0-9]+(?:\.[0-9]+)?)\s*s/i.exec(message)?.[1];
  const retryable = code === "rate_limit_exceeded" || code === "server_error" || code === undefined;
  return new OAuthDeviceFlowError("response_failed", `The model failed to answer${code === undefined ? "" : ` (${code})`}${message === "" ? "" : `: ${message}`}`, {
    retryable,
    ...(code === undefined ? {} : { serverCode: code }),
    ...(seconds === undefined ? {} : { retryAfterMs: Math.ceil(Number(seconds) * 1000) }),
  });
}
