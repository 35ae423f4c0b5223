/**
 * The models a signed-in ChatGPT account may use on the Codex backend
 * (`GET {base}/models?client_version=...`). Models differ by plan and get retired, so a host lists
 * them instead of hard-coding one. The reply's shape is not documented: the reader is lenient
 * (a `models` or `data` array of objects named by `slug` or `id`).
 */
import { codexBaseUrl } from "./codexFetch.ts";
import { replyError } from "./codexErrors.ts";
import { OAuthDeviceFlowError } from "./errors.ts";

/** Sent as `client_version` when the host gives none (the backend may filter models by it). */
export const DEFAULT_CLIENT_VERSION = "0.1.0";

/** Where and how {@link listCodexModels} asks. */
export interface ListCodexModelsOptions {
  /** Default `https://chatgpt.com/backend-api/codex`. */
  baseUrl?: string;
  /** The `client_version` query parameter; default `DEFAULT_CLIENT_VERSION`. */
  clientVersion?: string;
  /** Aborts the call: it rejects with `aborted`. */
  signal?: AbortSignal;
}

/** One model the account may call. */
export interface CodexModel {
  /** The model name to send (`slug`, else `id`). */
  id: string;
  /** The backend's name for display (`display_name`), when it sent one. */
  displayName?: string;
  /** The entry as the backend sent it. */
  info: Record<string, unknown>;
}

const asObject = (v: unknown): Record<string, unknown> | undefined =>
  typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;

/**
 * The account's models. Rejects with `OAuthDeviceFlowError` (the same codes as a model call's
 * reply: `usage_not_included`, `challenge`, `reauth_required`, `server_error`, ...; `invalid_response`
 * for a reply without a model list).
 */
export async function listCodexModels(
  fetch: (input: string, init: RequestInit) => Promise<Response>,
  options: ListCodexModelsOptions = {},
): Promise<CodexModel[]> {
  if (typeof fetch !== "function") throw new OAuthDeviceFlowError("invalid_config", "fetch must be a function (createCodexFetch)");
  const base = codexBaseUrl(options.baseUrl);
  const version = options.clientVersion ?? DEFAULT_CLIENT_VERSION;
  if (typeof version !== "string" || version === "") throw new OAuthDeviceFlowError("invalid_config", "clientVersion must be a non-empty string");
  let res: Response;
  try {
    res = await fetch(`${base}/models?client_version=${encodeURIComponent(version)}`, {
      method: "GET",
      headers: { accept: "application/json" },
      redirect: "manual",
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
  } catch (e) {
    if (options.signal?.aborted) throw new OAuthDeviceFlowError("aborted", "Listing the models was aborted.");
    if (e instanceof OAuthDeviceFlowError) throw e;
    throw new OAuthDeviceFlowError("network_error", "The Codex backend could not be reached; try again.");
  }
  if (res.status < 200 || res.status >= 300) throw await replyError(res, "models list", Date.now());
  let body: Record<string, unknown> | undefined;
  try {
    body = asObject(await res.json());
  } catch {
    body = undefined;
  }
  const list = body?.["models"] ?? body?.["data"];
  if (!Array.isArray(list)) {
    throw new OAuthDeviceFlowError("invalid_response", "The models list reply holds no list of models.", { status: res.status });
  }
  const models: CodexModel[] = [];
  for (const entry of list) {
    const info = asObject(entry);
    const id = info?.["slug"] ?? info?.["id"];
    if (info === undefined || typeof id !== "string" || id === "") continue;
    const name = info["display_name"];
    models.push({ id, ...(typeof name === "string" ? { displayName: name } : {}), info });
  }
  return models;
}
