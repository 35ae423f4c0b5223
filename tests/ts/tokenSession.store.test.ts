/**
 * The token session against the store contract: sign-in and sign-out through `replace`, a save
 * the store drops (`false`) never reported as success, a store's non-retryable error kept
 * non-retryable, and store calls that never settle bounded by `storeTimeoutMs`.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  OAuthDeviceFlowError,
  createMemoryStore,
  createTokenSession,
  type OAuthTokens,
  type TokenSessionOptions,
  type TokenStore,
} from "../../js/oauthDeviceFlow.ts";
import { FakeClock, FakeFetch, T0, assertNoSecrets, json, rejectsWith, settle } from "./support/fakes.ts";
import { NEW, NEW_REPLY, OLD, RecordingStore, SECRETS, codex, codexRefreshBody, deferred, valid } from "./support/tokenSessionFakes.ts";

function sessionOver(store: TokenStore, f: FakeFetch, extra: Partial<TokenSessionOptions> = {}) {
  return createTokenSession({ provider: codex, fetch: f.fetch, clock: new FakeClock(T0).clock, store, ...extra });
}

const RELOGIN = valid("at_relogin", "rt_relogin");

describe("signIn and signOut replace the stored login", () => {
  test("signIn replaces the store and the session hands out the new tokens at once, also over a valid old one", async () => {
    const f = new FakeFetch();
    const store = new RecordingStore(valid("at_1", "rt_1"));
    const session = sessionOver(store, f);
    assert.equal(await session.getAccessToken(), "at_1");
    await session.signIn(RELOGIN);
    assert.deepEqual(store.replaces, [RELOGIN]);
    assert.deepEqual(await store.inner.load(), RELOGIN);
    assert.equal(await session.getAccessToken(), "at_relogin");
    assert.equal(f.calls.length, 0);
  });

  test("signIn clears the reauth_required latch: no request for the new valid tokens", async () => {
    const f = new FakeFetch(json(401, { error: { code: "refresh_token_reused" } }));
    const store = new RecordingStore(OLD);
    const session = sessionOver(store, f);
    await rejectsWith(session.getAccessToken(), { code: "reauth_required" });
    await session.signIn(RELOGIN);
    assert.equal(await session.getAccessToken(), "at_relogin");
    assert.equal(f.calls.length, 1);
  });

  test("signIn drops refreshed tokens whose save keeps failing: the new login wins, the old tokens are never written", async () => {
    const f = new FakeFetch(NEW_REPLY);
    const store = new RecordingStore(OLD);
    store.onSave = async () => {
      throw new Error("disk full");
    };
    const session = sessionOver(store, f);
    await rejectsWith(session.getAccessToken(), { code: "storage_error" });
    store.onSave = undefined;
    await session.signIn(RELOGIN);
    assert.equal(await session.getAccessToken(), "at_relogin");
    assert.equal(store.saves.length, 1, "the pending save is not retried after the sign-in");
    assert.deepEqual(await store.inner.load(), RELOGIN);
  });

  test("a refresh of the old login still running when signIn lands (store without lock): its save is dropped and its callers get the new login", async () => {
    const gate = deferred();
    const f = new FakeFetch(async () => {
      await gate.promise;
      return NEW_REPLY;
    });
    const store = new RecordingStore(OLD);
    const session = sessionOver(store, f);
    const before = session.getAccessToken();
    await settle();
    assert.equal(f.calls.length, 1);
    await session.signIn(RELOGIN);
    gate.resolve();
    assert.equal(await before, "at_relogin", "the dropped save re-reads the store and adopts the sign-in");
    assert.equal(await session.getAccessToken(), "at_relogin");
    assert.deepEqual(await store.inner.load(), RELOGIN);
    const dropped = store.log.indexOf("save:dropped");
    assert.ok(dropped > 0 && store.log[dropped + 1] === "load", store.log.join(" "));
  });

  test("with a lock, signIn waits for a refresh in flight, then replaces its result; the session hands out the new login", async () => {
    const gate = deferred();
    const f = new FakeFetch(async () => {
      await gate.promise;
      return NEW_REPLY;
    });
    const store = new RecordingStore(OLD, [], true);
    const session = sessionOver(store, f);
    const before = session.getAccessToken();
    await settle();
    const signIn = session.signIn(RELOGIN);
    gate.resolve();
    assert.equal(await before, NEW.accessToken, "callers from before the sign-in get the old login's refresh");
    await signIn;
    assert.equal(await session.getAccessToken(), "at_relogin");
    assert.deepEqual(await store.inner.load(), RELOGIN);
  });

  test("signOut empties the store and the session: reauth_required without a request", async () => {
    const f = new FakeFetch();
    const store = new RecordingStore(valid("at_1", "rt_1"));
    const session = sessionOver(store, f);
    assert.equal(await session.getAccessToken(), "at_1");
    await session.signOut();
    assert.deepEqual(store.replaces, [null]);
    const e = await rejectsWith(session.getAccessToken(), { code: "reauth_required", retryable: false });
    assert.match(e.message, /holds no tokens: sign in first/);
    assert.equal(f.calls.length, 0);
  });

  test("signIn with something that is not OAuthTokens is invalid_config and leaves the store alone", async () => {
    const store = new RecordingStore(OLD);
    const session = sessionOver(store, new FakeFetch());
    for (const bad of [null, undefined, { accessToken: 5 }, "tokens"]) {
      await rejectsWith(session.signIn(bad as unknown as OAuthTokens), { code: "invalid_config" });
    }
    assert.equal(store.replaces.length, 0);
  });

  test("a failing replace rejects signIn/signOut with storage_error (retryable) and leaves the session as it was", async () => {
    const store = new RecordingStore(valid("at_1", "rt_1"));
    store.onReplace = async (t) => {
      throw new Error(`disk full writing ${t?.refreshToken}`);
    };
    const session = sessionOver(store, new FakeFetch());
    assert.equal(await session.getAccessToken(), "at_1");
    const e = await rejectsWith(session.signIn(RELOGIN), { code: "storage_error", retryable: true });
    assertNoSecrets(e, ["rt_relogin"]);
    await rejectsWith(session.signOut(), { code: "storage_error", retryable: true });
    assert.equal(await session.getAccessToken(), "at_1");
  });

  test("a store without replace() is refused when the session is created", () => {
    const { load, save } = createMemoryStore(OLD);
    assert.throws(
      () => createTokenSession({ provider: codex, fetch: new FakeFetch().fetch, clock: () => T0, store: { load, save } as unknown as TokenStore }),
      (e: unknown) => e instanceof OAuthDeviceFlowError && e.code === "invalid_config" && /store\.replace must be a function/.test(e.message),
    );
  });
});

describe("a save the store drops is never reported as success", () => {
  test("signed out during the refresh: reauth_required, the refreshed tokens are discarded, the store stays empty", async () => {
    const store = new RecordingStore(OLD);
    const f = new FakeFetch(async () => {
      await store.put(null); // the host signs out while the refresh is on the wire
      return NEW_REPLY;
    });
    const session = sessionOver(store, f);
    const e = await rejectsWith(session.getAccessToken(), { code: "reauth_required", retryable: false });
    assert.match(e.message, /emptied \(signed out\) while the session refreshed/);
    assertNoSecrets(e, SECRETS);
    assert.equal(await store.inner.load(), null);
    await rejectsWith(session.getAccessToken(), { code: "reauth_required" });
    assert.equal(f.calls.length, 1);
    assert.equal(store.saves.length, 1, "the dropped save is not retried");
  });

  test("a newer sign-in during the refresh: the session adopts it, the refreshed old tokens are discarded", async () => {
    const store = new RecordingStore(OLD);
    const f = new FakeFetch(async () => {
      await store.put(RELOGIN);
      return NEW_REPLY;
    });
    const session = sessionOver(store, f);
    assert.equal(await session.getAccessToken(), "at_relogin");
    assert.equal(await session.getAccessToken(), "at_relogin");
    assert.deepEqual(await store.inner.load(), RELOGIN);
    assert.equal(f.calls.length, 1);
  });

  test("a newer sign-in that is itself due: adopted and refreshed with its own refresh token, never the old one", async () => {
    const store = new RecordingStore(OLD);
    const dueRelogin: OAuthTokens = { ...RELOGIN, expiresAt: T0 - 1 };
    const f = new FakeFetch(async () => {
      await store.put(dueRelogin);
      return NEW_REPLY;
    }, json(200, { access_token: "at_3", refresh_token: "rt_3", expires_in: 3600 }));
    const session = sessionOver(store, f);
    assert.equal(await session.getAccessToken(), "at_3");
    assert.equal(f.calls[1]?.body, codexRefreshBody("rt_relogin"));
    assert.equal((await store.inner.load())?.refreshToken, "rt_3");
  });

  test("a store that drops the save while still holding the spent tokens: storage_error, the new tokens kept and saved again", async () => {
    const store = new RecordingStore(OLD);
    store.onSave = async () => false;
    const f = new FakeFetch(NEW_REPLY);
    const session = sessionOver(store, f);
    const e = await rejectsWith(session.getAccessToken(), { code: "storage_error", retryable: true });
    assert.match(e.message, /reported the new tokens dropped although it still holds/);
    store.onSave = undefined;
    assert.equal(await session.getAccessToken(), NEW.accessToken);
    assert.equal(f.calls.length, 1, "the spent refresh token is not spent again");
    assert.deepEqual(await store.inner.load(), NEW);
  });

  test("an older store whose save resolves undefined counts as written", async () => {
    const inner = createMemoryStore(OLD);
    const store: TokenStore = {
      load: () => inner.load(),
      save: async (next, previous) => {
        await inner.save(next, previous);
        return undefined as unknown as boolean;
      },
      replace: (t) => inner.replace(t),
    };
    const f = new FakeFetch(NEW_REPLY);
    assert.equal(await sessionOver(store, f).getAccessToken(), NEW.accessToken);
    assert.deepEqual(await inner.load(), NEW);
  });

  test("the memory store's save is a compare-and-swap over previous, and replace is unconditional", async () => {
    const s = createMemoryStore(null);
    assert.equal(await s.save(NEW, OLD), false, "empty: a sign-out wins");
    await s.replace(OLD);
    assert.equal(await s.save(NEW, OLD), true);
    assert.equal(await s.save(NEW, OLD), true, "a retried save");
    assert.equal(await s.save(valid("at_x", "rt_x"), OLD), false, "another set wins");
    assert.deepEqual(await s.load(), NEW);
    await s.replace(null);
    assert.equal(await s.load(), null);
  });
});

describe("a store error that says retrying cannot help stays not retryable", () => {
  const unusable = () => new OAuthDeviceFlowError("storage_error", "The token file /x is not valid JSON", { retryable: false });

  test("load: storage_error with retryable false, no request", async () => {
    const store = new RecordingStore(OLD);
    store.onLoad = async () => {
      throw unusable();
    };
    const f = new FakeFetch(NEW_REPLY);
    const e = await rejectsWith(sessionOver(store, f).getAccessToken(), { code: "storage_error", retryable: false });
    assert.equal(e.cause, undefined, "the store's error is not attached");
    assert.ok(!e.message.includes("/x"), "nor quoted");
    assert.equal(f.calls.length, 0);
  });

  test("save: storage_error with retryable false; the new tokens are kept and saved once the store is fixed", async () => {
    const store = new RecordingStore(OLD);
    store.onSave = async () => {
      throw unusable();
    };
    const f = new FakeFetch(NEW_REPLY);
    const session = sessionOver(store, f);
    await rejectsWith(session.getAccessToken(), { code: "storage_error", retryable: false });
    store.onSave = undefined;
    assert.equal(await session.getAccessToken(), NEW.accessToken);
    assert.equal(f.calls.length, 1);
  });

  test("a plain rejection (unreachable store) stays retryable", async () => {
    const store = new RecordingStore(OLD);
    store.onLoad = async () => {
      throw new Error("ECONNRESET");
    };
    await rejectsWith(sessionOver(store, new FakeFetch()).getAccessToken(), { code: "storage_error", retryable: true });
  });
});

describe("store calls that never settle are bounded by storeTimeoutMs", () => {
  const BOUND = 60_000; // the default

  test("load: storage_error (retryable) after the default 60 s; the next caller is not blocked", async (t) => {
    t.mock.timers.enable({ apis: ["setTimeout"] });
    const store = new RecordingStore(valid("at_1", "rt_1"));
    const called = deferred();
    store.onLoad = () => {
      called.resolve();
      return new Promise(() => {});
    };
    const session = sessionOver(store, new FakeFetch());
    const first = session.getAccessToken();
    await called.promise;
    t.mock.timers.tick(BOUND - 1);
    await settle();
    let done = false;
    void first.then(
      () => (done = true),
      () => (done = true),
    );
    await settle();
    assert.equal(done, false, "still waiting 1 ms before the bound");
    t.mock.timers.tick(1);
    const e = await rejectsWith(first, { code: "storage_error", retryable: true });
    assert.match(e.message, /load\(\) did not settle within 60000 ms \(storeTimeoutMs\)/);
    store.onLoad = undefined;
    assert.equal(await session.getAccessToken(), "at_1");
  });

  test("save: storage_error after storeTimeoutMs; the next caller saves the same tokens again, without a second refresh", async (t) => {
    t.mock.timers.enable({ apis: ["setTimeout"] });
    const store = new RecordingStore(OLD);
    const called = deferred();
    store.onSave = () => {
      called.resolve();
      return new Promise(() => {});
    };
    const f = new FakeFetch(NEW_REPLY);
    const session = sessionOver(store, f, { storeTimeoutMs: 500 });
    const first = session.getAccessToken();
    await called.promise;
    t.mock.timers.tick(500);
    const e = await rejectsWith(first, { code: "storage_error", retryable: true });
    assert.match(e.message, /save\(\) did not settle within 500 ms/);
    assert.match(e.message, /kept in memory/);
    store.onSave = undefined;
    assert.equal(await session.getAccessToken(), NEW.accessToken);
    assert.equal(f.calls.length, 1);
    assert.equal(store.saves.length, 2);
  });

  test("lock that never runs the session's function: storage_error, no request, and running it later does nothing", async (t) => {
    t.mock.timers.enable({ apis: ["setTimeout"] });
    const store = new RecordingStore(OLD, [], true);
    let late: (() => Promise<unknown>) | undefined;
    const called = deferred();
    store.lock = <T>(fn: () => Promise<T>): Promise<T> => {
      late = fn;
      called.resolve();
      return new Promise<T>(() => {});
    };
    const f = new FakeFetch(NEW_REPLY);
    const session = sessionOver(store, f, { storeTimeoutMs: 500 });
    const first = session.getAccessToken();
    await called.promise;
    t.mock.timers.tick(500);
    const e = await rejectsWith(first, { code: "storage_error", retryable: true });
    assert.match(e.message, /lock\(\) did not settle within 500 ms/);
    await assert.rejects(late!(), (err: unknown) => err instanceof OAuthDeviceFlowError && err.code === "storage_error");
    assert.equal(f.calls.length, 0);
  });

  test("lock that ran the session's function but never settles: the caller gets the function's outcome after storeTimeoutMs", async (t) => {
    t.mock.timers.enable({ apis: ["setTimeout"] });
    const store = new RecordingStore(OLD, [], true);
    const ran = deferred();
    store.lock = <T>(fn: () => Promise<T>): Promise<T> => {
      void fn().finally(() => ran.resolve());
      return new Promise<T>(() => {});
    };
    const f = new FakeFetch(NEW_REPLY);
    const session = sessionOver(store, f, { storeTimeoutMs: 500 });
    const first = session.getAccessToken();
    await ran.promise;
    await settle();
    t.mock.timers.tick(500);
    assert.equal(await first, NEW.accessToken);
    assert.deepEqual(await store.inner.load(), NEW);
  });

  test("replace: signIn rejects storage_error after storeTimeoutMs", async (t) => {
    t.mock.timers.enable({ apis: ["setTimeout"] });
    const store = new RecordingStore(OLD);
    const called = deferred();
    store.onReplace = () => {
      called.resolve();
      return new Promise(() => {});
    };
    const session = sessionOver(store, new FakeFetch(), { storeTimeoutMs: 500 });
    const p = session.signIn(RELOGIN);
    await called.promise;
    t.mock.timers.tick(500);
    await rejectsWith(p, { code: "storage_error", retryable: true });
  });

  test("storeTimeoutMs must be a positive number of milliseconds", () => {
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, "5"]) {
      assert.throws(
        () => sessionOver(new RecordingStore(OLD), new FakeFetch(), { storeTimeoutMs: bad as number }),
        (e: unknown) => e instanceof OAuthDeviceFlowError && e.code === "invalid_config",
      );
    }
  });
});
