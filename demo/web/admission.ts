/**
 * Who may use the reference host's admin API, and how much. Each admin request carries the
 * admin token the host printed at start-up (a secret only the person at the console has; a
 * page on another site cannot read it, and a local process cannot guess it), `start` is
 * rate-limited (each one is a real request to the authorization server), and the number of
 * open flows is bounded: when it is reached new starts are refused, so nobody's flow is ever
 * dropped to make room for another.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

/** Header that carries the admin token on every API request. */
export const ADMIN_TOKEN_HEADER = "x-admin-token";

/** A fresh admin token: 32 random bytes, base64url. */
export function newAdminToken(): string {
  return randomBytes(32).toString("base64url");
}

const digest = (s: string) => createHash("sha256").update(s, "utf8").digest();

/** Compares in constant time (digests of equal length, whatever was sent). */
export function tokenMatches(expected: string, sent: string | undefined): boolean {
  return sent !== undefined && timingSafeEqual(digest(expected), digest(sent));
}

/** Starts allowed at once; then one more every START_REFILL_MS (a token bucket). */
export const START_BURST = 5;
export const START_REFILL_MS = 10_000;
/** Open flows at most (each until its code expires, it ends, or the modal closes it). */
export const MAX_OPEN_FLOWS = 8;

/** A refusal: HTTP 429 with the time after which trying again makes sense. */
export interface Refusal {
  code: "rate_limited" | "too_many_flows";
  retryAfterMs: number;
}

export class Admission {
  private tokens = START_BURST;
  private refilledAt: number | undefined;
  /** Open flows by id: their code's expiry (host clock). */
  private readonly open = new Map<string, number>();
  /** Starts admitted whose device code request is still running. */
  private starting = 0;

  /** `forget(id)` drops an expired flow from the host's records (so it never counts twice). */
  constructor(private readonly forget: (flowId: string) => void) {}

  /** Admits one start at `now`, or says why not; an admitted start must be `settle`d. */
  admit(now: number): Refusal | undefined {
    for (const [id, expiresAt] of this.open) {
      if (now >= expiresAt) {
        this.open.delete(id);
        this.forget(id);
      }
    }
    if (this.open.size + this.starting >= MAX_OPEN_FLOWS) {
      const soonest = Math.min(...this.open.values());
      return { code: "too_many_flows", retryAfterMs: Number.isFinite(soonest) ? Math.max(0, soonest - now) : START_REFILL_MS };
    }
    this.refill(now);
    if (this.tokens < 1) {
      return { code: "rate_limited", retryAfterMs: Math.max(0, (this.refilledAt ?? now) + START_REFILL_MS - now) };
    }
    this.tokens -= 1;
    this.starting += 1;
    return undefined;
  }

  /** The admitted start ended: with the flow it opened, or without one (it failed). */
  settle(flow?: { flowId: string; expiresAt: number }): void {
    this.starting = Math.max(0, this.starting - 1);
    if (flow) this.open.set(flow.flowId, flow.expiresAt);
  }

  /** The flow was cancelled. */
  closed(flowId: string): void {
    this.open.delete(flowId);
  }

  private refill(now: number): void {
    if (this.refilledAt === undefined) {
      this.refilledAt = now;
      return;
    }
    const earned = Math.floor((now - this.refilledAt) / START_REFILL_MS);
    if (earned <= 0) return;
    this.tokens = Math.min(START_BURST, this.tokens + earned);
    this.refilledAt = this.tokens === START_BURST ? now : this.refilledAt + earned * START_REFILL_MS;
  }
}
