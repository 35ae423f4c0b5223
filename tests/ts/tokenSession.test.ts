/**
 * Token session, the happy paths at the wire: one refresh for many callers, save before hand-out,
 * adoption under the store's lock, invalidate() after a 401, the skew per kind, authHeaders().
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createMemoryStore, createTokenSession, type OAuthTokens } from "../../js/oauthDeviceFlow.ts";
import {
  FakeClock,
  FakeFetch,
  JSON_HEADERS,
  FORM_HEADERS,
  T0,
  assertWire,
  form,
  json,
  jwt,
  settle,
} from "./support/fakes.ts";
import {
  CODEX_TOKEN_URL,
  NEW,
  NEW_REPLY,
  OLD,
  RFC_TOKEN_URL,
  RecordingStore,
  codex,
  codexRefreshBody,
  deferred,
  rfc,
  valid,
} from "./support/tokenSessionFakes.ts";

describe("one refresh for many callers", () => {
  test("200 concurrent getAccessToken() on an expired token: exactly one refresh request, one save, all 200 equal", async (t) => {
    const fetchGate = deferred();
    const saveGate = deferred();
    const f = new FakeFetch(async () => {
      await fetchGate.promise;
      return NEW_REPLY;
    });
    const store = new RecordingStore(OLD);
    store.onSave = () => saveGate.promise;
    const session = createTokenSession({ provider: codex, fetch: f.fetch, clock: new FakeClock(T0).clock, store });

    const calls: Array<Promise<string>> = [];
    for (let i = 0; i < 100; i++) calls.push(session.getAccessToken()); // all at once
    await settle();
    assert.equal(f.calls.length, 1, "the refresh request is on the wire");
    for (let i = 0; i < 50; i++) calls.push(session.getAccessToken()); // while the refresh is in flight
    fetchGate.resolve();
    await settle();
    assert.equal(store.saves.length, 1, "the save has started");
    for (let i = 0; i < 50; i++) calls.push(session.getAccessToken()); // while the save is in flight
    saveGate.resolve();
    const tokens = await Promise.all(calls);

    t.diagnostic(`measured: ${calls.length} concurrent callers -> ${f.calls.length} refresh request(s), ${store.saves.length} save(s)`);
    assert.equal(f.calls.length, 1, "exactly one refresh request");
    assert.equal(store.saves.length, 1, "exactly one save");
    assert.deepEqual(tokens, Array.from({ length: 200 }, () => NEW.accessToken), "each of the 200 callers got the new token");
    assertWire(f.calls[0], { url: CODEX_TOKEN_URL, headers: JSON_HEADERS, body: codexRefreshBody(OLD.refreshToken!) });
    assert.deepEqual(store.saves[0], { next: NEW, previous: OLD });
    assert.deepEqual(await store.inner.load(), NEW);
  });

  test("later calls use the saved token from memory: no request and no store read", async () => {
    const f = new FakeFetch(NEW_REPLY);
    const store = new RecordingStore(OLD);
    const session = createTokenSession({ provider: codex, fetch: f.fetch, clock: new FakeClock(T0).clock, store });
    assert.equal(await session.getAccessToken(), NEW.accessToken);
    const loads = store.loads;
    for (let i = 0; i < 5; i++) assert.equal(await session.getAccessToken(), NEW.accessToken);
    assert.equal(f.calls.length, 1);
    assert.equal(store.loads, loads);
  });

  test("a valid stored token is handed out without any request", async () => {
    const f = new FakeFetch();
    const store = new RecordingStore(valid("at_ok", "rt_ok"));
    const session = createTokenSession({ provider: codex, fetch: f.fetch, clock: new FakeClock(T0).clock, store });
    assert.equal(await session.getAccessToken(), "at_ok");
    assert.equal(f.calls.length, 0);
    assert.equal(store.saves.length, 0);
  });

  test("two sessions sharing one locked store (two processes) refresh once: the second adopts the first's tokens", async () => {
    const fetchGate = deferred();
    const f = new FakeFetch(async () => {
      await fetchGate.promise;
      return NEW_REPLY;
    });
    const log: string[] = [];
    const shared = new RecordingStore(OLD, log, true);
    const clock = new FakeClock(T0).clock;
    const a = createTokenSession({ provider: codex, fetch: f.fetch, clock, store: shared });
    const b = createTokenSession({ provider: codex, fetch: f.fetch, clock, store: shared });
    const calls = [] as Array<Promise<string>>;
    for (let i = 0; i < 50; i++) calls.push(a.getAccessToken(), b.getAccessToken());
    await settle();
    fetchGate.resolve();
    const tokens = await Promise.all(calls);
    assert.equal(f.calls.length, 1, "one refresh request across both sessions");
    assert.equal(shared.saves.length, 1);
    assert.deepEqual(new Set(tokens), new Set([NEW.accessToken]));
    assert.equal(shared.locks, 2, "each session took the lock once");
  });

  test("under the lock the session re-reads the store and adopts tokens another holder refreshed: no request, no save", async () => {
    const f = new FakeFetch();
    const other = valid("at_other", "rt_other");
    const store = new RecordingStore(OLD, [], true);
    const lock = store.lock!;
    // Another holder refreshes while this session waits for the lock.
    store.lock = async <T>(fn: () => Promise<T>): Promise<T> => {
      await store.put(other);
      return lock(fn);
    };
    const session = createTokenSession({ provider: codex, fetch: f.fetch, clock: new FakeClock(T0).clock, store });
    assert.equal(await session.getAccessToken(), "at_other");
    assert.equal(f.calls.length, 0);
    assert.equal(store.saves.length, 0);
    assert.deepEqual(store.log, ["load", "lock", "load"], "read, lock, read again under the lock");
  });

  test("with a lock, the refresh and the save both happen inside it", async () => {
    const log: string[] = [];
    const store = new RecordingStore(OLD, log, true);
    const lock = store.lock!;
    store.lock = async <T>(fn: () => Promise<T>): Promise<T> => {
      const r = await lock(fn);
      log.push("unlock");
      return r;
    };
    const f = new FakeFetch(() => {
      log.push("fetch");
      return NEW_REPLY;
    });
    const session = createTokenSession({ provider: codex, fetch: f.fetch, clock: new FakeClock(T0).clock, store });
    assert.equal(await session.getAccessToken(), NEW.accessToken);
    assert.deepEqual(log, ["load", "lock", "load", "fetch", "save:start", "save:done", "unlock"]);
  });

  test("a store holding a refresh token the session already spent is stale: the session refreshes with its own newer one", async () => {
    const clock = new FakeClock(T0);
    const f = new FakeFetch(NEW_REPLY, json(200, { access_token: "at_3", refresh_token: "rt_3", expires_in: 3600 }));
    const store = new RecordingStore(OLD);
    store.onLoad = async () => ({ ...OLD }); // a replica that never sees the writes
    const session = createTokenSession({ provider: codex, fetch: f.fetch, clock: clock.clock, store });
    assert.equal(await session.getAccessToken(), NEW.accessToken);
    clock.advance(3_600_000);
    assert.equal(await session.getAccessToken(), "at_3");
    assert.equal(f.calls.length, 2);
    assert.equal(f.calls[1]!.body, codexRefreshBody(NEW.refreshToken!), "never spends the old refresh token twice");
  });
});

describe("save before hand-out", () => {
  test("the new access token is handed out only after save() resolved", async () => {
    const log: string[] = [];
    const saveGate = deferred();
    const store = new RecordingStore(OLD, log);
    store.onSave = () => saveGate.promise;
    const f = new FakeFetch(() => {
      log.push("fetch");
      return NEW_REPLY;
    });
    const session = createTokenSession({ provider: codex, fetch: f.fetch, clock: new FakeClock(T0).clock, store });
    const got = session.getAccessToken().then((t) => {
      log.push("handed out");
      return t;
    });
    await settle();
    assert.deepEqual(log, ["load", "fetch", "save:start"], "waiting for the save");
    saveGate.resolve();
    assert.equal(await got, NEW.accessToken);
    assert.deepEqual(log, ["load", "fetch", "save:start", "save:done", "handed out"]);
  });
});

describe("invalidate() after a 401", () => {
  test("the next call refreshes although exp says valid, and concurrent callers share that one refresh", async () => {
    const f = new FakeFetch(NEW_REPLY);
    const store = new RecordingStore(valid("at_1", "rt_1"));
    const session = createTokenSession({ provider: codex, fetch: f.fetch, clock: new FakeClock(T0).clock, store });
    assert.equal(await session.getAccessToken(), "at_1");
    assert.equal(f.calls.length, 0);
    session.invalidate(); // the API answered 401 for at_1
    const tokens = await Promise.all(Array.from({ length: 20 }, () => session.getAccessToken()));
    assert.deepEqual(new Set(tokens), new Set([NEW.accessToken]));
    assert.equal(f.calls.length, 1);
    assert.equal(f.calls[0]!.body, codexRefreshBody("rt_1"));
    assert.equal(store.saves.length, 1);
  });

  test("invalidate(token) for a token already replaced does not refresh again", async () => {
    const f = new FakeFetch(NEW_REPLY);
    const store = new RecordingStore(valid("at_1", "rt_1"));
    const session = createTokenSession({ provider: codex, fetch: f.fetch, clock: new FakeClock(T0).clock, store });
    await session.getAccessToken();
    session.invalidate("at_1");
    assert.equal(await session.getAccessToken(), NEW.accessToken);
    session.invalidate("at_1"); // a late 401 from a request that used the old token
    assert.equal(await session.getAccessToken(), NEW.accessToken);
    assert.equal(f.calls.length, 1);
  });

  test("after invalidate() the session adopts a token another holder already stored instead of refreshing", async () => {
    const f = new FakeFetch();
    const store = new RecordingStore(valid("at_1", "rt_1"));
    const session = createTokenSession({ provider: codex, fetch: f.fetch, clock: new FakeClock(T0).clock, store });
    await session.getAccessToken();
    await store.put(valid("at_2", "rt_2"));
    session.invalidate();
    assert.equal(await session.getAccessToken(), "at_2");
    assert.equal(f.calls.length, 0);
  });

  test("invalidate() while a refresh is in flight does not throw away the token that refresh brings", async () => {
    const gate = deferred();
    const f = new FakeFetch(async () => {
      await gate.promise;
      return NEW_REPLY;
    });
    const store = new RecordingStore(valid("at_1", "rt_1"));
    const session = createTokenSession({ provider: codex, fetch: f.fetch, clock: new FakeClock(T0).clock, store });
    await session.getAccessToken();
    session.invalidate();
    const first = session.getAccessToken();
    await settle();
    session.invalidate(); // a second 401 for at_1 arrives while the refresh runs
    const second = session.getAccessToken();
    gate.resolve();
    assert.deepEqual(await Promise.all([first, second]), [NEW.accessToken, NEW.accessToken]);
    assert.equal(f.calls.length, 1);
  });

  test("a token invalidated while the flight that adopted it is still finishing is refreshed before anyone gets it", async () => {
    const f = new FakeFetch(NEW_REPLY);
    const store = new RecordingStore(OLD, [], true);
    const lock = store.lock!;
    const release = deferred();
    const other = valid("at_other", "rt_other");
    // Another holder stores at_other while this session waits for the lock; releasing the lock
    // takes a while, and meanwhile the host learns that at_other was rejected.
    store.lock = async <T>(fn: () => Promise<T>): Promise<T> => {
      await store.put(other);
      const r = await lock(fn);
      await release.promise;
      return r;
    };
    const session = createTokenSession({ provider: codex, fetch: f.fetch, clock: new FakeClock(T0).clock, store });
    const got = session.getAccessToken();
    await settle();
    assert.equal(f.calls.length, 0, "adopted, no refresh yet");
    session.invalidate("at_other");
    release.resolve();
    assert.equal(await got, NEW.accessToken);
    assert.equal(f.calls.length, 1);
    assert.equal(f.calls[0]!.body, codexRefreshBody("rt_other"));
  });
});

describe("skew", () => {
  const at = (expiresAt: number): OAuthTokens => ({ ...valid("at_keep", "rt_keep"), expiresAt });
  async function refreshes(provider: typeof codex, expiresAt: number, skewMs?: number): Promise<boolean> {
    const f = new FakeFetch(NEW_REPLY);
    const store = new RecordingStore(at(expiresAt));
    const opts = { provider, fetch: f.fetch, clock: new FakeClock(T0).clock, store };
    const session = createTokenSession(skewMs === undefined ? opts : { ...opts, skewMs });
    await session.getAccessToken();
    return f.calls.length === 1;
  }

  test("openai-codex refreshes 5 minutes before expiry by default", async () => {
    assert.equal(await refreshes(codex, T0 + 300_000), true);
    assert.equal(await refreshes(codex, T0 + 300_001), false);
  });

  test("rfc8628 refreshes 60 s before expiry by default", async () => {
    assert.equal(await refreshes(rfc, T0 + 60_000), true);
    assert.equal(await refreshes(rfc, T0 + 60_001), false);
  });

  test("skewMs overrides the default", async () => {
    assert.equal(await refreshes(codex, T0 + 1000, 0), false);
    assert.equal(await refreshes(codex, T0, 0), true);
    assert.equal(await refreshes(rfc, T0 + 600_000, 600_000), true);
  });

  test("the rfc8628 refresh is the form request at the token endpoint", async () => {
    const f = new FakeFetch(NEW_REPLY);
    const store = new RecordingStore(OLD);
    const session = createTokenSession({ provider: rfc, fetch: f.fetch, clock: new FakeClock(T0).clock, store });
    assert.equal(await session.getAccessToken(), NEW.accessToken);
    assertWire(f.calls[0], {
      url: RFC_TOKEN_URL,
      headers: FORM_HEADERS,
      body: form([
        ["grant_type", "refresh_token"],
        ["refresh_token", OLD.refreshToken!],
        ["client_id", "cid"],
      ]),
    });
  });
});

describe("authHeaders()", () => {
  test("openai-codex: Authorization and ChatGPT-Account-ID from the id token", async () => {
    const idToken = jwt({ "https://api.openai.com/auth": { chatgpt_account_id: "acc-42" } });
    const store = new RecordingStore({ ...valid("at_h", "rt_h"), idToken });
    const session = createTokenSession({ provider: codex, fetch: new FakeFetch().fetch, clock: () => T0, store });
    assert.deepEqual(await session.authHeaders(), { Authorization: "Bearer at_h", "ChatGPT-Account-ID": "acc-42" });
  });

  test("openai-codex: the headers carry the refreshed token after a refresh", async () => {
    const idToken = jwt({ "https://api.openai.com/auth": { chatgpt_account_id: "acc-42" } });
    const store = new RecordingStore({ ...OLD, idToken });
    const f = new FakeFetch(NEW_REPLY);
    const session = createTokenSession({ provider: codex, fetch: f.fetch, clock: () => T0, store });
    assert.deepEqual(await session.authHeaders(), {
      Authorization: `Bearer ${NEW.accessToken}`,
      "ChatGPT-Account-ID": "acc-42",
    });
  });

  test("rfc8628: Authorization only", async () => {
    const store = new RecordingStore(valid("at_r", "rt_r"));
    const session = createTokenSession({ provider: rfc, fetch: new FakeFetch().fetch, clock: () => T0, store });
    assert.deepEqual(await session.authHeaders(), { Authorization: "Bearer at_r" });
  });

  test("authHeaders() also counts as handing the token out: invalidate() then refreshes it", async () => {
    const f = new FakeFetch(NEW_REPLY);
    const store = new RecordingStore(valid("at_r", "rt_r"));
    const session = createTokenSession({ provider: rfc, fetch: f.fetch, clock: () => T0, store });
    await session.authHeaders();
    session.invalidate();
    assert.deepEqual(await session.authHeaders(), { Authorization: `Bearer ${NEW.accessToken}` });
    assert.equal(f.calls.length, 1);
  });
});

describe("createMemoryStore", () => {
  test("load() gives a copy of the initial tokens or null; save() replaces them", async () => {
    assert.equal(await createMemoryStore().load(), null);
    const initial = valid("a", "r");
    const store = createMemoryStore(initial);
    const loaded = await store.load();
    assert.deepEqual(loaded, initial);
    assert.notEqual(loaded, initial, "a copy: mutating it does not change the store");
    loaded!.accessToken = "mutated";
    assert.equal((await store.load())!.accessToken, "a");
    await store.save(valid("b", "s"), initial);
    assert.deepEqual(await store.load(), valid("b", "s"));
  });

  test("lock() runs one function at a time, in order, and passes results and failures through", async () => {
    const store = createMemoryStore();
    const log: string[] = [];
    const gate = deferred();
    const first = store.lock(async () => {
      log.push("first:start");
      await gate.promise;
      log.push("first:end");
      return 1;
    });
    const second = store.lock(async () => {
      log.push("second");
      throw new Error("boom");
    });
    const third = store.lock(async () => 3);
    await settle();
    assert.deepEqual(log, ["first:start"]);
    gate.resolve();
    assert.equal(await first, 1);
    await assert.rejects(second, /boom/);
    assert.equal(await third, 3, "a failure does not wedge the lock");
    assert.deepEqual(log, ["first:start", "first:end", "second"]);
  });
});
