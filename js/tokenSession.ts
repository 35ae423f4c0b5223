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
 *   until the store holds different tokens;
 * - a sign-in or sign-out is a `store.replace` (`signIn`/`signOut`), never a compare-and-swap
 *   save, and a save the store drops (`false`) is never reported as success: the store is read
 *   again and what it holds wins;
 * - a refresh request that got no answer may have rotated the token at the server: its refresh
 *   token is held back briefly while the store is re-read, and every store call is bounded
 *   (`storeTimeoutMs`) so a hung store blocks no caller for good.
 *
 * This file holds only that state and the shared promise. Every decision with a protocol answer
 * (skew per provider kind, use/adopt/refresh, which failures mean "sign in again", the request
 * headers, the error messages) comes from the WebAssembly module (`src/session.rs`).
 */
import * as wasm from "./wasm.ts";
import { isAccessTokenExpired, refreshAccessToken } from "./deviceFlow.ts";
import { OAuthDeviceFlowError, asOAuthError, errorFromFields, internalFailure, invalidConfig } from "./errors.ts";
import type { Clock, FetchLike, OAuthProvider, OAuthTokens } from "./types.ts";

/**
 * Where the session keeps the tokens between calls and processes. Every method is async; the
 * session bounds each call by `storeTimeoutMs`.
 */
export interface TokenStore {
  /** The current tokens, or `null` when nobody is signed in. */
  load(): Promise<OAuthTokens | null>;
  /**
   * Compare-and-swap after a refresh: stores `next` only when the store still holds `previous`
   * (same `accessToken` and `refreshToken`) or already holds `next`. Resolves `true` when `next`
   * is stored, `false` when the save was dropped because the store holds something else (a
   * sign-out or a newer sign-in wins). Rejects with a retryable `storage_error` when the store
   * cannot be reached. The session treats exactly `false` as dropped (an older store resolving
   * `undefined` counts as written).
   */
  save(next: OAuthTokens, previous: OAuthTokens): Promise<boolean>;
  /**
   * Sign-in (`tokens`) and sign-out (`null`): replaces whatever is stored, unconditionally, under
   * the store's own lock when it has one; resolves only once durably written.
   */
  replace(tokens: OAuthTokens | null): Promise<void>;
  /**
   * Optional mutual exclusion across every holder of these tokens (processes, hosts): runs `fn`
   * alone and resolves or rejects with its outcome. The session refreshes only inside it.
   */
  lock?<T>(fn: () => Promise<T>): Promise<T>;
}

/** What {@link createTokenSession} takes. */
export interface TokenSessionOptions {
  /** The provider the tokens belong to (refreshes go to its token endpoint). */
  provider: OAuthProvider;
  /** Sends the refresh requests (the global `fetch` fits). */
  fetch: FetchLike;
  /** The current time (epoch ms): expiry is judged by it. */
  clock: Clock;
  /** Where the tokens live between calls and processes. */
  store: TokenStore;
  /** Refresh this long before expiry. Default: 300 000 for openai-codex, 60 000 otherwise. */
  skewMs?: number;
  /** Bounds each refresh request. Default 30 000. */
  timeoutMs?: number;
  /**
   * Bounds each store call (`load`, `save`, `replace`, and `lock`'s wait before and after the
   * session's function): a call that has not settled by then is a retryable `storage_error`.
   * Default 60 000 (longer than the file store's lock wait).
   */
  storeTimeoutMs?: number;
}

/**
 * A valid access token for any number of callers, refreshed once when due, its rotated refresh
 * token saved before use. Made by {@link createTokenSession}.
 */
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
  /**
   * A new sign-in: `store.replace(tokens)`, then the session uses them (a `reauth_required`
   * latch, refreshed tokens not yet saved and a pending `invalidate` are dropped). A refresh of
   * the old login still running cannot overwrite them: its save is dropped by the store.
   */
  signIn(tokens: OAuthTokens): Promise<void>;
  /** `store.replace(null)`, then the session forgets its tokens: later calls are `reauth_required`. */
  signOut(): Promise<void>;
}

/** Which store call failed (`lock_skipped`: the store's lock resolved without running the function). */
type StoreCall = "load" | "save" | "lock" | "lock_skipped" | "replace";
/** How it failed: rejected, rejected with a non-retryable error, or never settled. */
type StoreFault = "failed" | "unusable" | "timeout";

const OPTION_NAMES: readonly string[] = ["provider", "fetch", "clock", "store", "skewMs", "timeoutMs", "storeTimeoutMs"];

/** A bounded wait that ran out. */
const TIMED_OUT: unique symbol = Symbol("timed out");

/** A store error that says retrying cannot help (the file store's damaged file, for one). */
function faultOf(e: unknown): StoreFault {
  if (e === TIMED_OUT) return "timeout";
  return e instanceof OAuthDeviceFlowError && !e.retryable ? "unusable" : "failed";
}

/** Node's transport error code (`ECONNREFUSED`, ...) from a rejected fetch, if any. */
function transportCode(e: unknown): string | undefined {
  const cause = (e as { cause?: unknown } | null)?.cause as { code?: unknown; errors?: Array<{ code?: unknown }> } | undefined;
  const code = cause?.code ?? cause?.errors?.[0]?.code ?? (e as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

/** `p`, or TIMED_OUT once `ms` passed (a real timer, cleared when `p` settles first). */
function within<T>(p: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const bound = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), ms);
  });
  return Promise.race([p, bound]).finally(() => clearTimeout(timer));
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
    throw invalidConfig("store must be an object with load(), save() and replace()");
  }
  if (typeof store["load"] !== "function") throw invalidConfig("store.load must be a function");
  if (typeof store["save"] !== "function") throw invalidConfig("store.save must be a function");
  if (typeof store["replace"] !== "function") {
    throw invalidConfig("store.replace must be a function (sign-in and sign-out replace the stored tokens)");
  }
  if (store["lock"] !== undefined && typeof store["lock"] !== "function") {
    throw invalidConfig("store.lock must be a function when set");
  }
}

/**
 * A session over `store`. Throws `invalid_config` (or `insecure_endpoint`) synchronously for bad
 * options; every later failure is a rejection of the call that met it.
 */
export function createTokenSession(options: TokenSessionOptions): TokenSession {
  let config: wasm.SessionConfig;
  try {
    checkOptions(options);
    config = wasm.sessionConfig(options.provider, options.skewMs, options.timeoutMs, options.storeTimeoutMs);
  } catch (e) {
    throw asOAuthError(e);
  }
  const session = new Session(options, config.kind, config.skewMs, config.timeoutMs, config.storeTimeoutMs);
  return {
    getAccessToken: () => session.accessToken(),
    authHeaders: () => session.authHeaders(),
    invalidate: (accessToken?: string) => session.invalidate(accessToken),
    signIn: (tokens: OAuthTokens) => session.signIn(tokens),
    signOut: () => session.signOut(),
  };
}

type Refreshed = { ok: OAuthTokens } | { adopt: true } | { dead: OAuthDeviceFlowError };

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
  /** A refresh token whose last request got no answer: not sent again before `retryAt`. */
  private heldBack: { refreshToken: string; retryAt: number } | null = null;
  /** The one shared store read / refresh / save in progress. */
  private flight: Promise<OAuthTokens> | null = null;
  /**
   * Counts sign-ins and sign-outs: a flight that began before one still answers its own callers
   * but no longer changes the session's state.
   */
  private generation = 0;

  constructor(
    options: TokenSessionOptions,
    private readonly kind: OAuthProvider["kind"],
    private readonly skewMs: number,
    private readonly timeoutMs: number,
    private readonly storeTimeoutMs: number,
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

  async signIn(tokens: OAuthTokens): Promise<void> {
    try {
      wasm.sessionCheckTokens(tokens);
      const copy = { ...tokens };
      await this.storeCall("replace", () => this.store.replace({ ...copy }));
      this.restart(copy);
    } catch (e) {
      throw asOAuthError(e);
    }
  }

  async signOut(): Promise<void> {
    try {
      await this.storeCall("replace", () => this.store.replace(null));
      this.restart(null);
    } catch (e) {
      throw asOAuthError(e);
    }
  }

  /** After a sign-in or sign-out: only `held` survives; flights still running stop writing. */
  private restart(held: OAuthTokens | null): void {
    this.generation++;
    this.flight = null;
    this.held = held;
    this.pending = null;
    this.latch = null;
    this.invalidated = null;
    this.handedOut = null;
    this.heldBack = null;
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
    const flight: Promise<OAuthTokens> = this.fly(this.generation).finally(() => {
      if (this.flight === flight) this.flight = null;
    });
    this.flight = flight;
    return flight;
  }

  private async fly(gen: number): Promise<OAuthTokens> {
    const pending = this.pending;
    if (pending !== null) {
      const saved = await this.underLock(() => this.persist(pending, gen));
      const ready = saved === "written" ? this.usableHeld() : null;
      if (ready !== null) return ready;
    }
    const stored = await this.load();
    const first = this.decide(stored, gen);
    if (first.step !== "refresh") return this.settle(first, stored, gen);
    return this.underLock(() => this.refreshFlow(first, stored, gen));
  }

  /**
   * Inside the lock (when there is one): re-read the store, then refresh. After a dead refresh
   * token or a dropped save the store is read once more: another holder may have refreshed, or
   * the host signed in or out, meanwhile.
   */
  private async refreshFlow(first: wasm.SessionDecision, firstStored: OAuthTokens | null, gen: number): Promise<OAuthTokens> {
    let decision = first;
    let stored = firstStored;
    let reread = this.store.lock !== undefined;
    let dead: { error: OAuthDeviceFlowError; refreshToken: string | undefined } | null = null;
    for (let round = 0; round < 4; round++) {
      if (reread) {
        try {
          stored = await this.load();
        } catch (e) {
          if (dead !== null) throw dead.error;
          throw e;
        }
        decision = this.decide(stored, gen);
        if (decision.step !== "refresh") return this.settle(decision, stored, gen);
      }
      reread = true;
      const previous = decision.source === "held" ? this.held : stored;
      if (previous === null) throw internalFailure();
      // A refresh token the server just called dead is never sent again in this flight.
      if (dead !== null && dead.refreshToken === previous.refreshToken) throw dead.error;
      const r = await this.refresh(previous, gen);
      if ("ok" in r) return r.ok;
      if ("dead" in r) {
        if (dead !== null) throw r.dead;
        dead = { error: r.dead, refreshToken: previous.refreshToken };
      }
    }
    throw this.storeError("save", "failed");
  }

  private async refresh(previous: OAuthTokens, gen: number): Promise<Refreshed> {
    const fate: { called: boolean; transportCode?: string } = { called: false };
    const host = this.fetch;
    const fetch: FetchLike = (url, init) => {
      fate.called = true;
      try {
        return Promise.resolve(host.call(undefined, url, init)).catch((e: unknown) => {
          fate.transportCode = transportCode(e);
          throw e;
        });
      } catch (e) {
        fate.transportCode = transportCode(e);
        throw e;
      }
    };
    const resent = this.heldBack !== null && this.heldBack.refreshToken === previous.refreshToken;
    let next: OAuthTokens;
    try {
      next = await refreshAccessToken(this.provider, previous, { fetch, clock: this.clock, timeoutMs: this.timeoutMs });
    } catch (e) {
      const cause = asOAuthError(e);
      let after: wasm.AfterRefreshFailure;
      try {
        const facts = { code: cause.code, status: cause.status, fate: fate.called ? "sent" : "not_sent", transportCode: fate.transportCode, resent };
        after = wasm.sessionRefreshFailed(facts, this.clock, this.timeoutMs);
      } catch {
        throw cause;
      }
      if (after.step === "latch") {
        const error = errorFromFields(after.error, cause);
        if (gen === this.generation) this.latch = { tokens: previous, error };
        return { dead: error };
      }
      if (after.step === "answer_lost" && previous.refreshToken !== undefined && gen === this.generation) {
        this.heldBack = { refreshToken: previous.refreshToken, retryAt: after.retryAt };
      }
      throw cause;
    }
    this.spent = previous.refreshToken ?? null;
    const pending = { next, previous };
    if (gen === this.generation) {
      if (resent) this.heldBack = null;
      this.held = next;
      this.invalidated = null;
      this.pending = pending;
    }
    const saved = await this.persist(pending, gen);
    return saved === "written" ? { ok: next } : { adopt: true };
  }

  /**
   * Saves refreshed tokens. A save the store dropped (`false`) is never reported as success: the
   * store is read again and what it holds decides (see `src/session_store.rs`).
   */
  private async persist(p: { next: OAuthTokens; previous: OAuthTokens }, gen: number): Promise<"written" | "adopt"> {
    const saved = await this.storeCall("save", () => this.store.save(p.next, p.previous));
    const done = () => {
      if (this.pending === p) this.pending = null;
    };
    if (saved !== false) {
      done();
      return "written";
    }
    const stored = await this.load();
    const after = wasm.sessionDroppedSave(stored, p.next, p.previous);
    if (after.step === "written") {
      done();
      return "written";
    }
    if (after.step === "keep") throw errorFromFields(after.error);
    done();
    if (gen === this.generation && this.held === p.next) this.held = null;
    if (after.step === "signed_out") throw errorFromFields(after.error);
    return "adopt";
  }

  private load(): Promise<OAuthTokens | null> {
    return this.storeCall("load", () => this.store.load());
  }

  /** One store call, bounded by `storeTimeoutMs`; any failure becomes the session's own error. */
  private async storeCall<T>(call: StoreCall, run: () => Promise<T>): Promise<T> {
    let result: T | typeof TIMED_OUT;
    try {
      result = await within(Promise.resolve().then(run), this.storeTimeoutMs);
    } catch (e) {
      throw this.storeError(call, faultOf(e));
    }
    if (result === TIMED_OUT) throw this.storeError(call, "timeout");
    return result;
  }

  private storeError(call: StoreCall, fault: StoreFault): OAuthDeviceFlowError {
    const f = wasm.sessionStoreFailure(call, fault, this.storeTimeoutMs);
    // Every call and fault the session passes has its fields; anything else is a bug.
    return f === undefined ? internalFailure() : errorFromFields(f);
  }

  private decide(stored: OAuthTokens | null, gen: number): wasm.SessionDecision {
    const view = {
      stored,
      held: this.held,
      latched: this.latch?.tokens ?? null,
      invalidated: this.invalidated,
      spent: this.spent,
      heldBack: this.heldBack,
    };
    const d: wasm.SessionDecision = wasm.sessionDecide(view, this.clock, this.skewMs);
    // The store holds different tokens now.
    if (d.step !== "latched" && gen === this.generation) this.latch = null;
    return d;
  }

  /** Acts on a decision that needs no refresh. */
  private settle(d: wasm.SessionDecision, stored: OAuthTokens | null, gen: number): OAuthTokens {
    if (d.step === "latched" && this.latch !== null) throw this.latch.error;
    const t = d.source === "stored" ? stored : this.held;
    if (t === null) throw internalFailure();
    if (d.source === "stored" && gen === this.generation) this.held = t;
    return t;
  }

  /**
   * Runs `fn` under `store.lock` when there is one; the outcome is `fn`'s own. The wait for
   * `lock` to run `fn`, and for it to settle after `fn` ended, are each bounded by
   * `storeTimeoutMs`.
   */
  private async underLock<T>(fn: () => Promise<T>): Promise<T> {
    const lock = this.store.lock;
    if (lock === undefined) return fn();
    let run: Promise<T> | undefined;
    let gaveUp: OAuthDeviceFlowError | undefined;
    let started!: () => void;
    const start = new Promise<"started">((resolve) => {
      started = () => resolve("started");
    });
    const body = (): Promise<T> => {
      if (run === undefined && gaveUp !== undefined) {
        // Too late: the caller already has its error. Never refresh outside the caller's view.
        const late = Promise.reject(gaveUp);
        late.catch(() => undefined);
        return late;
      }
      if (run === undefined) {
        run = fn();
        started();
      }
      return run;
    };
    let lockFault: StoreFault | undefined;
    const settled = Promise.resolve()
      .then(() => lock.call(this.store, body))
      .then(
        () => "settled" as const,
        (e: unknown) => {
          lockFault = faultOf(e);
          return "settled" as const;
        },
      );
    const first = await within(Promise.race([start, settled]), this.storeTimeoutMs);
    if (run === undefined) {
      if (first === TIMED_OUT) throw (gaveUp = this.storeError("lock", "timeout"));
      throw (gaveUp = lockFault === undefined ? this.storeError("lock_skipped", "failed") : this.storeError("lock", lockFault));
    }
    const ran = run;
    // fn's outcome stands whatever lock does afterwards; its release is waited for, boundedly.
    await ran.then(
      () => within(settled, this.storeTimeoutMs),
      () => within(settled, this.storeTimeoutMs),
    );
    return ran;
  }
}

/** An in-memory store, with the memory store's own `lock`. */
export interface MemoryTokenStore extends TokenStore {
  /** Runs `fn` alone among the users of this store in this process (one function at a time). */
  lock<T>(fn: () => Promise<T>): Promise<T>;
}

const sameTokens = (a: OAuthTokens, b: OAuthTokens): boolean =>
  a.accessToken === b.accessToken && a.refreshToken === b.refreshToken;

/**
 * A store in this process's memory (tests, single-process hosts, or a cache in front of your
 * own persistence): `load` and `save` copy the token set, `save` is a compare-and-swap over
 * `previous`, `replace` runs under `lock`, and `lock` runs one function at a time.
 */
export function createMemoryStore(initial: OAuthTokens | null = null): MemoryTokenStore {
  let current: OAuthTokens | null = initial === null ? null : { ...initial };
  let tail: Promise<unknown> = Promise.resolve();
  function lock<T>(fn: () => Promise<T>): Promise<T> {
    const run = tail.then(() => fn());
    tail = run.catch(() => undefined);
    return run;
  }
  return {
    load: async () => (current === null ? null : { ...current }),
    save: async (next: OAuthTokens, previous: OAuthTokens) => {
      if (current === null || (!sameTokens(current, previous) && !sameTokens(current, next))) return false;
      current = { ...next };
      return true;
    },
    replace: (tokens: OAuthTokens | null) =>
      lock(async () => {
        current = tokens === null ? null : { ...tokens };
      }),
    lock,
  };
}
