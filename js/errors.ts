/**
 * The package's one error class, its codes, and the few helpers every module builds it with.
 *
 * Why one module: a host tells every failure apart by `code` and `retryable` alone, whether it came
 * from the WebAssembly module (through the factory js/wasm.ts registers), a token store, the token
 * session or a model call; so they all construct it here, and this module imports nothing.
 */

/**
 * Every `code` an {@link OAuthDeviceFlowError} can carry. The table in README.md ("Errors") says
 * when each occurs, whether it is retryable and what a UI shows.
 */
export type OAuthErrorCode =
  | "access_denied"
  | "expired_token"
  | "device_flow_disabled"
  | "invalid_grant"
  | "refresh_token_expired"
  | "refresh_token_reused"
  | "refresh_token_invalidated"
  | "oauth_error"
  | "server_error"
  | "network_error"
  | "invalid_response"
  | "redirect"
  | "invalid_config"
  | "insecure_endpoint"
  | "aborted"
  | "reauth_required"
  | "storage_error"
  // Model calls on the Codex backend (codexStream.ts, codexModels.ts):
  | "usage_limit_reached"
  | "usage_not_included"
  | "model_error"
  | "response_failed"
  | "stream_incomplete"
  | "idle_timeout"
  | "challenge";

/** The codes that are retryable unless the error says otherwise. */
const RETRYABLE: ReadonlySet<OAuthErrorCode> = new Set<OAuthErrorCode>([
  "server_error",
  "network_error",
  "invalid_response",
  "redirect",
  "storage_error",
  "usage_limit_reached",
  "stream_incomplete",
  "idle_timeout",
]);

/** The optional fields of an {@link OAuthDeviceFlowError}, as its constructor takes them. */
export interface OAuthDeviceFlowErrorDetails {
  /** Overrides the code's default (`server_error`, `network_error`, ... are retryable). */
  retryable?: boolean;
  /** The HTTP status of the reply the error was read from. */
  status?: number;
  /** The server's own error code (`error` of an OAuth error reply), when it was safe to quote. */
  serverCode?: string;
  /** How long the server asked to wait before trying again (`Retry-After`), in milliseconds. */
  retryAfterMs?: number;
  /** usage_limit_reached: when the limit resets (epoch ms). */
  resetsAt?: number;
  /** The error this one was derived from (a `reauth_required` carries the refresh's own error). */
  cause?: OAuthDeviceFlowError;
}

/**
 * What every function of the package rejects (or, for the synchronous ones, throws) with. Tell
 * failures apart by `code`; `retryable` says whether the same call may succeed later without user
 * action. Messages say what to do and never contain a token, code or secret.
 */
export class OAuthDeviceFlowError extends Error {
  /** Always `"OAuthDeviceFlowError"`, also across realms where `instanceof` fails. */
  override readonly name = "OAuthDeviceFlowError" as const;
  /** The stable reason: what a host branches on. */
  readonly code: OAuthErrorCode;
  /** The same call may succeed later without user action. */
  readonly retryable: boolean;
  /** The HTTP status of the reply, when the error was read from one. */
  readonly status?: number;
  /** The server's own error code, when there was one and it was safe to quote. */
  readonly serverCode?: string;
  /** The server's `Retry-After`, in milliseconds. */
  readonly retryAfterMs?: number;
  /** usage_limit_reached (and usage_not_included when the server says): the reset time, epoch ms. */
  readonly resetsAt?: number;
  /** The error this one was derived from, if any. */
  declare readonly cause?: OAuthDeviceFlowError;

  /**
   * @param code - the stable reason.
   * @param message - what happened and what to do, without any secret.
   * @param details - the optional fields; `retryable` defaults to the code's own.
   */
  constructor(code: OAuthErrorCode, message: string, details: OAuthDeviceFlowErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.retryable = details.retryable ?? RETRYABLE.has(code);
    if (details.status !== undefined) this.status = details.status;
    if (details.serverCode !== undefined) this.serverCode = details.serverCode;
    if (details.retryAfterMs !== undefined) this.retryAfterMs = details.retryAfterMs;
    if (details.resetsAt !== undefined) this.resetsAt = details.resetsAt;
  }

  /** The fields a log or an HTTP reply may carry (`JSON.stringify` uses it); no stack, no cause. */
  toJSON(): {
    /** Always `"OAuthDeviceFlowError"`. */
    name: "OAuthDeviceFlowError";
    /** The stable reason. */
    code: OAuthErrorCode;
    /** Whether the same call may succeed later. */
    retryable: boolean;
    /** The HTTP status, when known. */
    status?: number;
    /** The server's own error code, when known. */
    serverCode?: string;
    /** The server's `Retry-After`, in milliseconds. */
    retryAfterMs?: number;
    /** When a usage limit resets (epoch ms). */
    resetsAt?: number;
    /** The message. */
    message: string;
  } {
    return {
      name: this.name,
      code: this.code,
      retryable: this.retryable,
      ...(this.status === undefined ? {} : { status: this.status }),
      ...(this.serverCode === undefined ? {} : { serverCode: this.serverCode }),
      ...(this.retryAfterMs === undefined ? {} : { retryAfterMs: this.retryAfterMs }),
      ...(this.resetsAt === undefined ? {} : { resetsAt: this.resetsAt }),
      message: this.message,
    };
  }
}

/**
 * An error as the WebAssembly module describes it (its `ErrorFields`, which this type accepts), so
 * that this module needs nothing from the module itself.
 */
export interface ErrorFields {
  /** The stable reason. */
  code: OAuthErrorCode;
  /** What happened and what to do, without any secret. */
  message: string;
  /** Whether the same call may succeed later without user action. */
  retryable: boolean;
  /** The HTTP status of the reply, if any. */
  status?: number;
  /** The server's own error code, if safe to quote. */
  serverCode?: string;
  /** The server's `Retry-After`, in milliseconds. */
  retryAfterMs?: number;
  /** usage_limit_reached (and usage_not_included when the server says): the reset time, epoch ms. */
  resetsAt?: number;
}

/** The message of an error that should never happen: a bug, surfaced without detail. */
const INTERNAL_FAILURE = "Unexpected internal failure in the OAuth module.";

/** The error the WebAssembly module's error fields stand for (also its registered factory). */
export function errorFromFields(f: ErrorFields, cause?: OAuthDeviceFlowError): OAuthDeviceFlowError {
  return new OAuthDeviceFlowError(f.code, f.message, {
    retryable: f.retryable,
    ...(f.status === undefined ? {} : { status: f.status }),
    ...(f.serverCode === undefined ? {} : { serverCode: f.serverCode }),
    ...(f.retryAfterMs === undefined ? {} : { retryAfterMs: f.retryAfterMs }),
    ...(f.resetsAt === undefined ? {} : { resetsAt: f.resetsAt }),
    ...(cause === undefined ? {} : { cause }),
  });
}

/** A bad argument or option: `invalid_config`, never retryable. */
export function invalidConfig(message: string): OAuthDeviceFlowError {
  return new OAuthDeviceFlowError("invalid_config", message);
}

/** A store that could not be used: `storage_error`, retryable by default. */
export function storageError(message: string, retryable = true): OAuthDeviceFlowError {
  return new OAuthDeviceFlowError("storage_error", message, { retryable });
}

/** Anything that is not our error (a bug, never expected) still surfaces as one, without detail. */
export function asOAuthError(e: unknown): OAuthDeviceFlowError {
  if (e instanceof OAuthDeviceFlowError) return e;
  return invalidConfig(INTERNAL_FAILURE);
}

/** The `invalid_config` a broken internal invariant ends in (a bug, never expected). */
export function internalFailure(): OAuthDeviceFlowError {
  return invalidConfig(INTERNAL_FAILURE);
}
