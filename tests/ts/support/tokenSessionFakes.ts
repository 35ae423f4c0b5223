/**
 * Test doubles for the token session: providers, token fixtures, a recording store around the
 * shipped memory store, and a deferred to hold a fetch or a save open. No real timers.
 */
import {
  createMemoryStore,
  openaiCodexProvider,
  rfc8628Provider,
  type MemoryTokenStore,
  type OAuthTokens,
  type TokenStore,
} from "../../../js/oauthDeviceFlow.ts";
import { ISSUER, T0, json, type Reply } from "./fakes.ts";

export const codex = openaiCodexProvider({ issuer: ISSUER });
export const CODEX_TOKEN_URL = `${ISSUER}/oauth/token`;
export const CODEX_CLIENT = "app_EMoamEEZ73f0CkXaXp7hrann";

export const rfc = rfc8628Provider({
  clientId: "cid",
  deviceAuthorizationEndpoint: "https://idp.example.com/device/code",
  tokenEndpoint: "https://idp.example.com/token",
});
export const RFC_TOKEN_URL = "https://idp.example.com/token";

/** Old tokens, expired at T0; the canaries must never appear in an error. */
export const OLD: OAuthTokens = Object.freeze({
  accessToken: "at_old_CANARY_0a1b2c",
  tokenType: "Bearer",
  refreshToken: "rt_old_CANARY_3d4e5f",
  expiresAt: T0 - 1,
});
export const SECRETS = [OLD.accessToken, OLD.refreshToken!, "at_new_CANARY_9z8y", "rt_new_CANARY_7x6w"];

/** Tokens valid for an hour from T0. */
export function valid(access: string, refresh: string): OAuthTokens {
  return { accessToken: access, tokenType: "Bearer", refreshToken: refresh, expiresAt: T0 + 3_600_000 };
}

/** The refresh reply handing out `at_new_...`/`rt_new_...` for one hour. */
export const NEW_REPLY: Reply = json(200, {
  access_token: "at_new_CANARY_9z8y",
  refresh_token: "rt_new_CANARY_7x6w",
  expires_in: 3600,
});
/** What the session hands back after NEW_REPLY (refreshed at T0). */
export const NEW: OAuthTokens = {
  accessToken: "at_new_CANARY_9z8y",
  tokenType: "Bearer",
  refreshToken: "rt_new_CANARY_7x6w",
  expiresAt: T0 + 3_600_000,
};

export const codexRefreshBody = (rt: string): string =>
  `{"client_id":"${CODEX_CLIENT}","grant_type":"refresh_token","refresh_token":"${rt}"}`;

export interface Deferred<T> {
  promise: Promise<T>;
  resolve: (v: T) => void;
  reject: (e: unknown) => void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/**
 * The memory store with every call recorded, in one ordered `log` shared with the test.
 * `onSave`/`onLoad` replace the behaviour of the next calls when set.
 */
export class RecordingStore implements TokenStore {
  readonly inner: MemoryTokenStore;
  loads = 0;
  readonly saves: Array<{ next: OAuthTokens; previous: OAuthTokens }> = [];
  readonly replaces: Array<OAuthTokens | null> = [];
  locks = 0;
  /** Runs before the inner save; resolving `false` (or anything but undefined) is the save's answer instead. */
  onSave: ((next: OAuthTokens, previous: OAuthTokens) => Promise<void | boolean>) | undefined;
  onReplace: ((tokens: OAuthTokens | null) => Promise<void>) | undefined;
  onLoad: (() => Promise<OAuthTokens | null>) | undefined;
  lock: (<T>(fn: () => Promise<T>) => Promise<T>) | undefined;

  constructor(
    initial: OAuthTokens | null,
    readonly log: string[] = [],
    withLock = false,
  ) {
    this.inner = createMemoryStore(initial);
    if (withLock) {
      this.lock = <T>(fn: () => Promise<T>): Promise<T> => {
        this.locks++;
        this.log.push("lock");
        return this.inner.lock(fn);
      };
    }
  }

  async load(): Promise<OAuthTokens | null> {
    this.loads++;
    this.log.push("load");
    return this.onLoad ? this.onLoad() : this.inner.load();
  }

  async save(next: OAuthTokens, previous: OAuthTokens): Promise<boolean> {
    this.saves.push({ next, previous });
    this.log.push("save:start");
    const answer = this.onSave ? await this.onSave(next, previous) : undefined;
    const saved = typeof answer === "boolean" ? answer : await this.inner.save(next, previous);
    this.log.push(saved ? "save:done" : "save:dropped");
    return saved;
  }

  async replace(tokens: OAuthTokens | null): Promise<void> {
    this.replaces.push(tokens);
    this.log.push("replace");
    if (this.onReplace) await this.onReplace(tokens);
    await this.inner.replace(tokens);
  }

  /** Puts tokens in the store as another holder (or a new sign-in) would. */
  put(t: OAuthTokens | null): Promise<void> {
    return this.inner.replace(t);
  }
}
