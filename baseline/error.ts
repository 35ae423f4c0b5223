/**
 * The baseline's own `OAuthDeviceFlowError`: the same fields, retryability and `toJSON` shape as
 * the drop-in's class, but a separate class, so that a test can tell which implementation threw.
 */
import type { OAuthErrorCode } from "../js/oauthDeviceFlow.ts";

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

export interface ErrorDetails {
  status?: number;
  serverCode?: string;
  retryAfterMs?: number;
  resetsAt?: number;
  cause?: OAuthDeviceFlowError;
}

export class OAuthDeviceFlowError extends Error {
  override readonly name = "OAuthDeviceFlowError" as const;
  readonly code: OAuthErrorCode;
  readonly retryable: boolean;
  readonly status?: number;
  readonly serverCode?: string;
  readonly retryAfterMs?: number;
  readonly resetsAt?: number;
  declare readonly cause?: OAuthDeviceFlowError;

  constructor(code: OAuthErrorCode, message: string, details: ErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.retryable = RETRYABLE.has(code);
    if (details.status !== undefined) this.status = details.status;
    if (details.serverCode !== undefined) this.serverCode = details.serverCode;
    if (details.retryAfterMs !== undefined) this.retryAfterMs = details.retryAfterMs;
    if (details.resetsAt !== undefined) this.resetsAt = details.resetsAt;
  }

  toJSON(): {
    name: "OAuthDeviceFlowError";
    code: OAuthErrorCode;
    retryable: boolean;
    status?: number;
    serverCode?: string;
    retryAfterMs?: number;
    resetsAt?: number;
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

export const configError = (message: string): OAuthDeviceFlowError =>
  new OAuthDeviceFlowError("invalid_config", message);
