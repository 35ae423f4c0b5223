/**
 * Token session: hands out a valid access token to any number of callers while spending each
 * single-use refresh token exactly once and saving its successor before anyone uses it.
 *
 * Why: with OpenAI's rotating refresh tokens, two refreshes at once (in one process or across
 * processes sharing a credential) make the loser's refresh fail with `refresh_token_reused`, and a
 * rotated refresh token lost before it is saved logs the user out for good. So:
 * - one refresh for all callers: the first caller that finds the token due starts the one shared
 *   "flight" (store read, refresh, save); every caller arriving meanwhile awaits that same flight;
 * - before spending a refresh token the session re-reads the store (under `store.lock` when the
 *   store has one) and adopts tokens another holder already refreshed;
 * - `store.save` completes before the new access token is handed out; if it fails, the new
 *   tokens stay in memory and the next call saves them again instead of refreshing again;
 * - a dead refresh token latches the session into `reauth_required` with no further request
 *   until the store holds different tokens.
 *
 * This file holds only that state and the shared promise. Every decision with a protocol answer
 * (skew per provider kind, use/adopt/refresh, which failures mean "sign in again", the request
 * headers, the error messages) comes from the WebAssembly module (`src/session.rs`).
 */
import * as wasm from "../pkg/oauth_device_flow.js";
import {
  OAuthDeviceFlowError,
  isAccessTokenExpired,
  refreshAccessToken,
  type Clock,
  type FetchLike,
  type OAuthErrorCode,
  type OAuthProvider,
  type OAuthTokens,
} from "./oauthDeviceFlow.ts";

/** Where the session keeps the tokens between calls and processes. Every method is async. */
export interface TokenStore {
  /** The current tokens, or `null` when nobody is signed in. */
  load(): Promise<OAuthTokens | null>;
  /** Persists `next`, the refresh of `previous` (the set whose refresh token was just spent). */
  save(next: OAuthTokens, previous: OAuthTokens): Promise<void>;
  /**
   * Optional mutual exclusion across every holder of these tokens (processes, hosts): runs `fn`
   * alone and resolves or rejects with its outcome. The session refreshes only inside it.
   */
  lock?<T>(fn: () => Promise<T>): Promise<T>;
}

export interface TokenSessionOptions {
  provider: OAuthProvider;
  fetch: FetchLike;
  clock: Clock;
  store: TokenStore;
  /** Refresh this long before expiry. Default: 300 000 for openai-codex, 60 000 otherwise. */
  skewMs?: number;
  /** Bounds each refresh request. Default 30 000. */
  timeoutMs?: number;
}

export interface TokenSession {
  /** A valid access token; refreshes (once for all concurrent callers) when it is due. */
  getAccessToken(): Promise<string>;
  /** openai-codex: `Authorization` and `ChatGPT-Account-ID`; rfc8628: `Authorization`. */
  authHeaders(): Promise<Record<string, string>>;
  /**
   * The API answered 401: the next call refreshes even if `exp` says the token is valid.
   * Without an argument it marks the access token the session last handed out; pass the token
   * the API rejected to be exact when other callers may already hold a newer one.
   */
  invalidate(accessToken?: string): void;
}

interface Decision {
  step: "use" | "refresh" | "latched";
  source?: "stored" | "held";
}

interface Failure {
  code: OAuthErrorCode;
  message: string;
}

type StoreStep = "load" | "save" | "lock" | "lock_skipped";

const OPTION_NAMES: readonly string[] = ["provider", "fetch", "clock", "store", "skewMs", "timeoutMs"];

function invalidConfig(message: string): OAuthDeviceFlowError {
  return new OAuthDeviceFlowError("invalid_config", message);
}

/** Anything that is not our error (a bug, never expected) still surfaces as one, without detail. */
function asOAuthError(e: unknown): OAuthDeviceFlowError {
  if (e instanceof OAuthDeviceFlowError) return e;
  return invalidConfig("Unexpected internal failure in the OAuth module.");
}

function storageError(step: StoreStep): OAuthDeviceFlowError {
  const f: Failure | undefined = wasm.sessionFailure(step, undefined);
  return f === undefined ? asOAuthError(undefined) : new OAuthDeviceFlowError(f.code, f.message);
}

function checkOptions(options: unknown): asserts options is TokenSessionOptions {
  if (typeof options !== "object" || options === null) {
    throw invalidConfig("createTokenSession needs { provider, fetch, clock, store }");
  }
  const unknown = Object.keys(options).find((k) => !OPTION_NAMES.includes(k));
  if (unknown !== undefined) {
    const name = [...unknown].filter((c) => c >= " " && c !== "\x7f").slice(0, 64).join("");
    throw invalidConfig(`createTokenSession does not take the option "${name}" (it takes: ${OPTION_NAMES.join(", ")})`);
  }
  const o = options as Record<string, unknown>;
  if (typeof o["fetch"] !== "function") throw invalidConfig("fetch must be a function");
  if (typeof o["clock"] !== "function") throw invalidConfig("clock must be a function");
  const store = o["store"] as Record<string, unknown> | null | undefined;
  if (typeof store !== "object" || store === null) {
    throw invalidConfig("store must be an object with load() and save()");
  }
  if (typeof store["load"] !== "function") throw invalidConfig("store.load must be a function");
  if (typeof store["save"] !== "function") throw invalidConfig("store.save must be a function");
  if (store["lock"] !== undefined && typeof store["lock"] !== "function") {
    throw invalidConfig("store.lock must be a function when set");
  }
}

/**
 * A session over `store`. Throws `invalid_config` (or `insecure_endpoint`) synchronously for bad
 * options; every later failure is a rejection of the call that met it.
 */
export function createTokenSession(options: TokenSessionOptions): TokenSession {
  let config: { kind: OAuthProvider["kind"]; skewMs: number; timeoutMs: number };
  try {
    checkOptions(options);
    config = wasm.sessionConfig(options.provider, options.skewMs, options.timeoutMs);
  } catch (e) {
    throw asOAuthError(e);
  }
  const session = new Session(options, config.kind, config.skewMs, config.timeoutMs);
  return {
    getAccessToken: () => session.accessToken(),
    authHeaders: () => session.authHeaders(),
    invalidate: (accessToken?: string) => session.invalidate(accessToken),
  };
}

class Session {
  private readonly provider: OAuthProvider;
  private readonly fetch: FetchLike;
  private readonly clock: Clock;
  private readonly store: TokenStore;

  /** The tokens in memory (possibly not yet saved: see `pending`). */
  private held: OAuthTokens | null = null;
  /** Refreshed tokens whose save has not succeeded yet: saved again before anything else. */
  private pending: { next: OAuthTokens; previous: OAuthTokens } | null = null;
  /** The reauth latch: the tokens whose refresh token died, and the error every call gets. */
  private latch: { tokens: OAuthTokens; error: OAuthDeviceFlowError } | null = null;
  /** An access token the API rejected (401). */
  private invalidated: string | null = null;
  /** The access token last handed out (what a bare `invalidate()` marks). */
  private handedOut: string | null = null;
  /** The refresh token this session last spent successfully: never spent again. */
  private spent: string | null = null;
  /** The one shared store read / refresh / save in progress. */
  private flight: Promise<OAuthTokens> | null = null;

  constructor(
    options: TokenSessionOptions,
    private readonly kind: OAuthProvider["kind"],
    private readonly skewMs: number,
    private readonly timeoutMs: number,
  ) {
    this.provider = options.provider;
    this.fetch = options.fetch;
    this.clock = options.clock;
    this.store = options.store;
  }

  async accessToken(): Promise<string> {
    try {
      const t = await this.tokens();
      this.handedOut = t.accessToken;
      return t.accessToken;
    } catch (e) {
      throw asOAuthError(e);
    }
  }

  async authHeaders(): Promise<Record<string, string>> {
    try {
      const t = await this.tokens();
      const headers = wasm.sessionAuthHeaders(this.kind, t);
      this.handedOut = t.accessToken;
      return headers;
    } catch (e) {
      throw asOAuthError(e);
    }
  }

  invalidate(accessToken?: string): void {
    const token = typeof accessToken === "string" && accessToken !== "" ? accessToken : this.handedOut;
    if (token !== null) this.invalidated = token;
  }

  /** Tokens ready to hand out: from memory when nothing is due, else from the shared flight. */
  private async tokens(): Promise<OAuthTokens> {
    // A flight that decided before an invalidate() may hand back the rejected token: one more
    // round then refreshes (a refresh clears the mark, so this ends).
    let t: OAuthTokens | undefined;
    for (let round = 0; round < 3; round++) {
      t = this.flight !== null ? await this.flight : (this.usableHeld() ?? (await this.startFlight()));
      if (t.accessToken !== this.invalidated) return t;
    }
    return t as OAuthTokens;
  }

  /** The held tokens when no work is pending and they are neither due nor rejected. */
  private usableHeld(): OAuthTokens | null {
    const held = this.held;
    if (held === null || this.pending !== null || this.latch !== null) return null;
    if (held.accessToken === this.invalidated) return null;
    return isAccessTokenExpired(held, this.clock, this.skewMs) ? null : held;
  }

  private startFlight(): Promise<OAuthTokens> {
    const flight: Promise<OAuthTokens> = this.fly().finally(() => {
      if (this.flight === flight) this.flight = null;
    });
    this.flight = flight;
    return flight;
  }

  private async fly(): Promise<OAuthTokens> {
    const pending = this.pending;
    if (pending !== null) {
      await this.underLock(() => this.persist(pending));
      const ready = this.usableHeld();
      if (ready !== null) return ready;
    }
    const stored = await this.load();
    const first = this.decide(stored);
    if (first.step !== "refresh") return this.settle(first, stored);
    return this.underLock(() => this.refreshFlow(first, stored));
  }

  /**
   * Inside the lock (when there is one): re-read the store, then refresh. After a dead refresh
   * token the store is read once more: another holder may have refreshed meanwhile.
   */
  private async refreshFlow(first: Decision, firstStored: OAuthTokens | null): Promise<OAuthTokens> {
    let decision = first;
    let stored = firstStored;
    for (let attempt = 0; ; attempt++) {
      if (attempt > 0 || this.store.lock !== undefined) {
        try {
          stored = await this.load();
        } catch (e) {
          if (attempt > 0 && this.latch !== null) throw this.latch.error;
          throw e;
        }
        decision = this.decide(stored);
        if (decision.step !== "refresh") return this.settle(decision, stored);
      }
      const previous = decision.source === "held" ? this.held : stored;
      if (previous === null) throw invalidConfig("Unexpected internal failure in the OAuth module.");
      try {
        return await this.refresh(previous);
      } catch (e) {
        const dead = this.latch !== null && e === this.latch.error;
        if (!dead || attempt > 0) throw e;
      }
    }
  }

  private async refresh(previous: OAuthTokens): Promise<OAuthTokens> {
    let next: OAuthTokens;
    try {
      next = await refreshAccessToken(this.provider, previous, {
        fetch: this.fetch,
        clock: this.clock,
        timeoutMs: this.timeoutMs,
      });
    } catch (e) {
      const cause = asOAuthError(e);
      const f: Failure | undefined = wasm.sessionFailure("refresh", cause.code);
      if (f === undefined) throw cause;
      const error = new OAuthDeviceFlowError(f.code, f.message, { cause });
      this.latch = { tokens: previous, error };
      throw error;
    }
    this.spent = previous.refreshToken ?? null;
    this.held = next;
    this.invalidated = null;
    const pending = { next, previous };
    this.pending = pending;
    await this.persist(pending);
    return next;
  }

  private async persist(p: { next: OAuthTokens; previous: OAuthTokens }): Promise<void> {
    try {
      await this.store.save(p.next, p.previous);
    } catch {
      throw storageError("save");
    }
    if (this.pending === p) this.pending = null;
  }

  private async load(): Promise<OAuthTokens | null> {
    try {
      return await this.store.load();
    } catch {
      throw storageError("load");
    }
  }

  private decide(stored: OAuthTokens | null): Decision {
    const view = {
      stored,
      held: this.held,
      latched: this.latch?.tokens ?? null,
      invalidated: this.invalidated,
      spent: this.spent,
    };
    const d: Decision = wasm.sessionDecide(view, this.clock, this.skewMs);
    if (d.step !== "latched") this.latch = null; // the store holds different tokens now
    return d;
  }

  /** Acts on a decision that needs no refresh. */
  private settle(d: Decision, stored: OAuthTokens | null): OAuthTokens {
    if (d.step === "latched" && this.latch !== null) throw this.latch.error;
    if (d.source === "stored" && stored !== null) this.held = stored;
    if (this.held === null) throw invalidConfig("Unexpected internal failure in the OAuth module.");
    return this.held;
  }

  /** Runs `fn` under `store.lock` when there is one; the outcome is `fn`'s own. */
  private async underLock<T>(fn: () => Promise<T>): Promise<T> {
    const lock = this.store.lock;
    if (lock === undefined) return fn();
    let run: Promise<T> | undefined;
    let gaveUp: OAuthDeviceFlowError | undefined;
    const body = (): Promise<T> => {
      if (run === undefined && gaveUp !== undefined) {
        // Too late: the caller already has its error. Never refresh outside the caller's view.
        const late = Promise.reject(gaveUp);
        late.catch(() => undefined);
        return late;
      }
      return (run ??= fn());
    };
    try {
      await lock.call(this.store, body);
    } catch {
      if (run === undefined) throw (gaveUp = storageError("lock"));
    }
    if (run === undefined) throw (gaveUp = storageError("lock_skipped"));
    return run;
  }
}

/** An in-memory store, with the memory store's own `lock`. */
export interface MemoryTokenStore extends TokenStore {
  lock<T>(fn: () => Promise<T>): Promise<T>;
}

/**
 * A store in this process's memory (tests, single-process hosts, or a cache in front of your
 * own persistence): `load` and `save` copy the token set, `lock` runs one function at a time.
 */
export function createMemoryStore(initial: OAuthTokens | null = null): MemoryTokenStore {
  let current: OAuthTokens | null = initial === null ? null : { ...initial };
  let tail: Promise<unknown> = Promise.resolve();
  return {
    load: async () => (current === null ? null : { ...current }),
    save: async (next: OAuthTokens) => {
      current = { ...next };
    },
    lock<T>(fn: () => Promise<T>): Promise<T> {
      const run = tail.then(() => fn());
      tail = run.catch(() => undefined);
      return run;
    },
  };
}
