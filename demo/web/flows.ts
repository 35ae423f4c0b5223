/**
 * The server-side half of the admin page's device-code modal: one record per sign-in attempt ("flow"),
 * keyed by an opaque random id, holding the `DeviceCode` (whose `deviceCode` is a secret and never
 * leaves this file) and the interval the server last asked for.
 *
 * Why a record and not a `waitForDeviceToken` loop: the browser drives the pace (it polls the host,
 * the host polls the authorization server), so each UI poll makes at most one `pollDeviceToken` call.
 * The host still owns the pace: a UI poll that comes before the stored interval has passed is
 * answered "pending" without asking the server, so a buggy or hostile page cannot make the host poll
 * faster than the server allows (slow_down), and concurrent UI polls of one flow share one request.
 * Retryable failures back off as `waitForDeviceToken` does. Tokens go to `onConnected` (the host's
 * sign-in: `session.signIn`, a replace of the stored login); if that fails they are kept here and
 * signed in again on the next UI poll, never polled for twice.
 */
import { randomBytes } from "node:crypto";
import {
  OAuthDeviceFlowError,
  pollDeviceToken,
  requestDeviceCode,
  type Clock,
  type DeviceCode,
  type FetchLike,
  type OAuthErrorCode,
  type OAuthProvider,
  type OAuthTokens,
} from "../../js/oauthDeviceFlow.ts";

/** What `POST .../oauth/start` answers: everything the modal shows, nothing secret. */
export interface StartAnswer {
  flowId: string;
  userCode: string;
  verificationUri: string;
  verificationUriComplete?: string;
  intervalMs: number;
  /** Epoch ms on the host's clock. */
  expiresAt: number;
  /** The same instant as a duration from this answer, for a browser whose clock differs. */
  expiresInMs: number;
}

/** A failure as the page sees it: its error code, no message (the page words it). */
export interface ErrorAnswer {
  status: "error";
  code: OAuthErrorCode | "unknown_flow";
  retryable: boolean;
  serverCode?: string;
  /** Retryable: wait this long before the next poll. */
  intervalMs: number;
}

/** What `POST .../oauth/poll` answers; `intervalMs` is the wait before the next UI poll. */
export type PollAnswer = { status: "pending"; intervalMs: number } | { status: "connected"; intervalMs: number } | ErrorAnswer;

export interface FlowOptions {
  provider: OAuthProvider;
  fetch: FetchLike;
  clock: Clock;
  /** Per request to the authorization server. */
  timeoutMs: number;
  /**
   * Signs the tokens in: the host's `session.signIn(tokens)` (or `store.replace(tokens)`), which
   * replaces any older login; never a compare-and-swap `save`, which a store drops when it holds
   * something else. A rejection is retried on the next UI poll.
   */
  onConnected(tokens: OAuthTokens): Promise<void>;
}

interface FlowRecord {
  code: DeviceCode;
  /** No request to the server before this instant (host clock). */
  nextPollAt: number;
  /** Consecutive retryable failures. */
  attempt: number;
  /** Set once the flow ended; later polls repeat it. */
  final?: PollAnswer;
  /** Tokens whose save failed: saved again, never polled for again. */
  unsaved?: OAuthTokens;
  inFlight?: Promise<PollAnswer>;
}

/** At most this many flows are kept; starting one more drops the oldest. */
export const MAX_FLOWS = 32;
const MAX_BACKOFF_MS = 60_000;

function asOAuthError(e: unknown): OAuthDeviceFlowError {
  return e instanceof OAuthDeviceFlowError ? e : new OAuthDeviceFlowError("invalid_config", "Unexpected failure in the host.");
}

export function errorAnswer(e: unknown, intervalMs: number): ErrorAnswer {
  const err = asOAuthError(e);
  return {
    status: "error",
    code: err.code,
    retryable: err.retryable,
    ...(err.serverCode === undefined ? {} : { serverCode: err.serverCode }),
    intervalMs,
  };
}

export class DeviceFlows {
  private readonly flows = new Map<string, FlowRecord>();

  constructor(private readonly options: FlowOptions) {}

  private deps() {
    return { fetch: this.options.fetch, clock: this.options.clock, timeoutMs: this.options.timeoutMs };
  }

  /** Number of live records (for tests). */
  get size(): number {
    return this.flows.size;
  }

  /** Asks the server for a device code and opens a flow; rejects with the module's error. */
  async start(): Promise<StartAnswer> {
    const code = await requestDeviceCode(this.options.provider, this.deps());
    const now = this.options.clock();
    this.prune(now);
    const flowId = randomBytes(18).toString("base64url");
    this.flows.set(flowId, { code, nextPollAt: now + code.intervalMs, attempt: 0 });
    return {
      flowId,
      userCode: code.userCode,
      verificationUri: code.verificationUri,
      ...(code.verificationUriComplete === undefined ? {} : { verificationUriComplete: code.verificationUriComplete }),
      intervalMs: code.intervalMs,
      expiresAt: code.expiresAt,
      expiresInMs: Math.max(0, code.expiresAt - now),
    };
  }

  /** One UI poll; `undefined` when the flow is unknown (never started, cancelled or dropped). */
  poll(flowId: string): Promise<PollAnswer> | undefined {
    const flow = this.flows.get(flowId);
    if (!flow) return undefined;
    if (flow.final) return Promise.resolve(flow.final);
    if (!flow.inFlight) {
      flow.inFlight = this.step(flow).finally(() => {
        flow.inFlight = undefined;
      });
    }
    return flow.inFlight;
  }

  /** Forgets a flow (the person closed the modal); false when it was unknown. */
  cancel(flowId: string): boolean {
    return this.flows.delete(flowId);
  }

  private async step(flow: FlowRecord): Promise<PollAnswer> {
    const now = this.options.clock();
    if (flow.unsaved) return this.save(flow, flow.unsaved, now);
    if (now < flow.nextPollAt && now < flow.code.expiresAt) {
      return { status: "pending", intervalMs: flow.nextPollAt - now };
    }
    let result;
    try {
      result = await pollDeviceToken(this.options.provider, flow.code, this.deps());
    } catch (e) {
      return this.failed(flow, e, now);
    }
    if (result.status === "success") return this.save(flow, result.tokens, now);
    // slow_down: the new interval becomes the code's interval (the code itself is never mutated).
    if (result.status === "slow_down") flow.code = { ...flow.code, intervalMs: result.intervalMs };
    flow.attempt = 0;
    flow.nextPollAt = now + result.intervalMs;
    return { status: "pending", intervalMs: result.intervalMs };
  }

  private async save(flow: FlowRecord, tokens: OAuthTokens, now: number): Promise<PollAnswer> {
    try {
      await this.options.onConnected(tokens);
    } catch {
      // The store's own error is not quoted (it may carry a token); the code is spent, keep the tokens.
      flow.unsaved = tokens;
      return this.failed(flow, new OAuthDeviceFlowError("storage_error", "The host could not store the tokens."), now);
    }
    flow.unsaved = undefined;
    flow.final = { status: "connected", intervalMs: flow.code.intervalMs };
    return flow.final;
  }

  private failed(flow: FlowRecord, e: unknown, now: number): PollAnswer {
    const err = asOAuthError(e);
    if (!err.retryable) {
      flow.final = errorAnswer(err, flow.code.intervalMs);
      return flow.final;
    }
    flow.attempt += 1;
    const interval = flow.code.intervalMs;
    const delay = Math.min(MAX_BACKOFF_MS, Math.max(interval, err.retryAfterMs ?? 0, interval * 2 ** (flow.attempt - 1)));
    flow.nextPollAt = now + delay;
    return errorAnswer(err, delay);
  }

  /** Drops flows whose code expired and, beyond the cap, the oldest ones. */
  private prune(now: number): void {
    for (const [id, flow] of this.flows) {
      if (now >= flow.code.expiresAt && !flow.inFlight) this.flows.delete(id);
    }
    while (this.flows.size >= MAX_FLOWS) {
      const oldest = this.flows.keys().next().value;
      if (oldest === undefined) break;
      this.flows.delete(oldest);
    }
  }
}
