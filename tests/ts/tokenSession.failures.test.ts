/**
 * Token session failures: a dead refresh token (reauth_required and its latch), transient and
 * configuration failures that leave the session usable, store failures (storage_error, the save
 * retried without a second refresh), and the options createTokenSession refuses.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  OAuthDeviceFlowError,
  createTokenSession,
  type OAuthErrorCode,
  type OAuthTokens,
  type TokenSessionOptions,
} from "../../js/oauthDeviceFlow.ts";
import {
  FakeClock,
  FakeFetch,
  T0,
  assertNoSecrets,
  html,
  json,
  rejectsWith,
  throwsWith,
  type Reply,
  type Script,
} from "./support/fakes.ts";
import {
  NEW,
  NEW_REPLY,
  OLD,
  RecordingStore,
  SECRETS,
  codex,
  codexRefreshBody,
  deferred,
  rfc,
  valid,
} from "./support/tokenSessionFakes.ts";

function sessionOver(store: RecordingStore, f: FakeFetch, extra: Partial<TokenSessionOptions> = {}) {
  return createTokenSession({ provider: codex, fetch: f.fetch, clock: new FakeClock(T0).clock, store, ...extra });
}

const codeBody = (status: number, code: string): Reply =>
  json(status, { error: { message: "Your refresh token has already been used.", type: "invalid_request_error", code } });

const DEAD: Array<{ name: string; reply: Reply; cause: OAuthErrorCode }> = [
  { name: "invalid_grant", reply: json(400, { error: "invalid_grant" }), cause: "invalid_grant" },
  { name: "a bare 401", reply: { status: 401 }, cause: "invalid_grant" },
  { name: "refresh_token_expired", reply: codeBody(401, "refresh_token_expired"), cause: "refresh_token_expired" },
  { name: "refresh_token_reused", reply: codeBody(401, "refresh_token_reused"), cause: "refresh_token_reused" },
  { name: "refresh_token_invalidated", reply: codeBody(400, "refresh_token_invalidated"), cause: "refresh_token_invalidated" },
  { name: "oauth_error (invalid_client)", reply: json(400, { error: "invalid_client" }), cause: "oauth_error" },
  { name: "access_denied", reply: json(400, { error: "access_denied" }), cause: "access_denied" },
];

describe("a dead refresh token: reauth_required and the latch", () => {
  for (const { name, reply, cause } of DEAD) {
    test(`${name} rejects reauth_required with the refresh error as cause, then no request until the store changes`, async () => {
      const f = new FakeFetch(reply);
      const store = new RecordingStore(OLD);
      const session = sessionOver(store, f);
      const e = await rejectsWith(session.getAccessToken(), { code: "reauth_required", retryable: false });
      assert.ok(e.cause instanceof OAuthDeviceFlowError, "cause is the refresh error");
      assert.equal(e.cause.code, cause);
      assertNoSecrets(e, SECRETS);
      assertNoSecrets(e.cause, SECRETS);
      // After a dead token the store is read once more (someone may have refreshed meanwhile).
      assert.equal(store.loads, 2);
      for (let i = 0; i < 3; i++) {
        const again = await rejectsWith(session.getAccessToken(), { code: "reauth_required" });
        assert.equal(again.cause, e.cause, "the same cause every time");
      }
      await rejectsWith(session.authHeaders(), { code: "reauth_required" });
      assert.equal(f.calls.length, 1, "no further request while latched");
      assert.equal(store.loads, 6, "the store is re-read on each call while latched");
      assert.equal(store.saves.length, 0);
    });
  }

  test("the latch releases when the store holds different tokens: valid ones are used without a request", async () => {
    const f = new FakeFetch(codeBody(401, "refresh_token_reused"));
    const store = new RecordingStore(OLD);
    const session = sessionOver(store, f);
    await rejectsWith(session.getAccessToken(), { code: "reauth_required" });
    await store.put(valid("at_relogin", "rt_relogin")); // the user signed in again
    assert.equal(await session.getAccessToken(), "at_relogin");
    assert.equal(f.calls.length, 1);
  });

  test("the latch releases on a new refresh token: the next refresh spends the new one", async () => {
    const f = new FakeFetch(json(400, { error: "invalid_grant" }), NEW_REPLY);
    const store = new RecordingStore(OLD);
    const session = sessionOver(store, f);
    await rejectsWith(session.getAccessToken(), { code: "reauth_required" });
    await store.put({ ...OLD, refreshToken: "rt_relogin" });
    assert.equal(await session.getAccessToken(), NEW.accessToken);
    assert.equal(f.calls.length, 2);
    assert.equal(f.calls[1]!.body, codexRefreshBody("rt_relogin"));
  });

  test("concurrent callers on a dead token share one request and all get reauth_required", async () => {
    const f = new FakeFetch(codeBody(401, "refresh_token_reused"));
    const session = sessionOver(new RecordingStore(OLD), f);
    const results = await Promise.allSettled(Array.from({ length: 50 }, () => session.getAccessToken()));
    assert.equal(f.calls.length, 1);
    for (const r of results) {
      assert.equal(r.status, "rejected");
      assert.equal((r as PromiseRejectedResult).reason.code, "reauth_required");
    }
  });

  test("without a lock, a refresh_token_reused loser re-reads the store and adopts the winner's tokens", async () => {
    const f = new FakeFetch(codeBody(401, "refresh_token_reused"));
    const store = new RecordingStore(OLD);
    let loads = 0;
    store.onLoad = async () => (++loads === 1 ? { ...OLD } : valid("at_winner", "rt_winner"));
    const session = sessionOver(store, f);
    assert.equal(await session.getAccessToken(), "at_winner");
    assert.equal(f.calls.length, 1);
    assert.equal(store.saves.length, 0);
  });

  test("an empty store rejects reauth_required without a cause or a request, until tokens arrive", async () => {
    const f = new FakeFetch();
    const store = new RecordingStore(null);
    const session = sessionOver(store, f);
    const e = await rejectsWith(session.getAccessToken(), { code: "reauth_required" });
    assert.equal(e.cause, undefined);
    await rejectsWith(session.getAccessToken(), { code: "reauth_required" });
    await store.put(valid("at_first", "rt_first"));
    assert.equal(await session.getAccessToken(), "at_first");
    assert.equal(f.calls.length, 0);
  });

  test("expired tokens without a refresh token reject reauth_required without a request", async () => {
    const f = new FakeFetch();
    const noRefresh: OAuthTokens = { accessToken: "at_x", tokenType: "Bearer", expiresAt: T0 };
    const e = await rejectsWith(sessionOver(new RecordingStore(noRefresh), f).getAccessToken(), {
      code: "reauth_required",
    });
    assert.equal(e.cause, undefined);
    assert.equal(f.calls.length, 0);
  });
});

describe("other failures reject as they are and leave the session usable", () => {
  // `lost`: the request left and no usable answer came back, so the server may have carried the
  // refresh out: the same refresh token is held back for min(timeoutMs, 5 s) (item 9 of issue 15).
  const refused = Object.assign(new TypeError("fetch failed"), { cause: Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }) });
  const TRANSIENT: Array<{ name: string; script: Script; code: OAuthErrorCode; status?: number; lost?: boolean }> = [
    { name: "503", script: json(503, { error: "temporarily_unavailable" }), code: "server_error", status: 503 },
    { name: "429", script: { status: 429, headers: { "Retry-After": "7" } }, code: "server_error", status: 429 },
    { name: "fetch rejects", script: { kind: "reject" }, code: "network_error", lost: true },
    { name: "fetch rejects with ECONNREFUSED (never left)", script: { kind: "reject", error: refused }, code: "network_error" },
    { name: "302", script: { status: 302, headers: { Location: "https://portal.example" } }, code: "redirect", status: 302 },
    { name: "an HTML page", script: html(200), code: "invalid_response", status: 200, lost: true },
    { name: "a gateway timeout (504)", script: json(504, {}), code: "server_error", status: 504, lost: true },
    { name: "fetch resolves to a non-response", script: { kind: "resolve", value: 42 }, code: "invalid_config" },
  ];
  for (const { name, script, code, status, lost } of TRANSIENT) {
    const then = lost ? "the same refresh token is held back 5 s, then sent again" : "the next call refreshes with the same refresh token";
    test(`${name}: ${code}, no save, and ${then}`, async () => {
      const f = new FakeFetch(script, NEW_REPLY);
      const store = new RecordingStore(OLD);
      const clock = new FakeClock(T0);
      const session = sessionOver(store, f, { clock: clock.clock });
      const e = await rejectsWith(session.getAccessToken(), { code, status });
      assert.equal(e.cause, undefined);
      assertNoSecrets(e, SECRETS);
      assert.equal(store.saves.length, 0);
      if (lost) {
        const held = await rejectsWith(session.getAccessToken(), { code: "network_error", retryable: true });
        assert.equal(held.retryAfterMs, 5_000);
        assert.match(held.message, /got no answer and may have been carried out by the server/);
        assert.equal(f.calls.length, 1, "no request while held back");
        assert.equal(store.loads, 2, "the store is read again (another holder may have saved newer tokens)");
        clock.advance(4_999);
        assert.equal((await rejectsWith(session.getAccessToken(), { code: "network_error" })).retryAfterMs, 1);
        clock.advance(1);
      }
      assert.equal(await session.getAccessToken(), NEW.accessToken);
      assert.equal(f.calls.length, 2);
      assert.equal(f.calls[1]!.body, codexRefreshBody(OLD.refreshToken!));
    });
  }

  test("timeoutMs bounds the refresh: a hung token endpoint rejects network_error for every waiting caller", async () => {
    const f = new FakeFetch({ kind: "never" }, NEW_REPLY);
    const clock = new FakeClock(T0);
    const session = sessionOver(new RecordingStore(OLD), f, { timeoutMs: 20, clock: clock.clock });
    const waiting = Array.from({ length: 10 }, () => session.getAccessToken());
    for (const p of waiting) await rejectsWith(p, { code: "network_error" });
    assert.equal(f.calls.length, 1);
    // Sent without an answer: held back for min(timeoutMs, 5 s) = 20 ms.
    assert.equal((await rejectsWith(session.getAccessToken(), { code: "network_error" })).retryAfterMs, 20);
    clock.advance(20);
    assert.equal(await session.getAccessToken(), NEW.accessToken);
  });

  test("without timeoutMs the refresh still runs under a timeout (the 30 s default): fetch gets a signal", async () => {
    const f = new FakeFetch(NEW_REPLY);
    await sessionOver(new RecordingStore(OLD), f).getAccessToken();
    assert.equal(f.calls[0]!.hasSignal, true);
  });

  test("a bad clock reading is invalid_config with no request; a good one later works", async () => {
    const clock = new FakeClock(Number.NaN);
    const f = new FakeFetch(NEW_REPLY);
    const session = sessionOver(new RecordingStore(OLD), f, { clock: clock.clock });
    await rejectsWith(session.getAccessToken(), { code: "invalid_config" });
    assert.equal(f.calls.length, 0);
    clock.now = T0;
    assert.equal(await session.getAccessToken(), NEW.accessToken);
  });

  test("a transient failure after invalidate() keeps the invalidation: the next call refreshes again", async () => {
    const f = new FakeFetch(json(503, {}), NEW_REPLY);
    const session = sessionOver(new RecordingStore(valid("at_1", "rt_1")), f);
    await session.getAccessToken();
    session.invalidate();
    await rejectsWith(session.getAccessToken(), { code: "server_error", status: 503 });
    assert.equal(await session.getAccessToken(), NEW.accessToken);
    assert.equal(f.calls.length, 2);
  });
});

describe("store failures: storage_error", () => {
  test("a failed save rejects storage_error; the next call saves the same tokens again without a second refresh", async () => {
    const f = new FakeFetch(NEW_REPLY);
    const store = new RecordingStore(OLD);
    store.onSave = async (next) => {
      throw new Error(`disk full while writing ${next.refreshToken}`);
    };
    const session = sessionOver(store, f);
    const callers = Array.from({ length: 5 }, () => session.getAccessToken());
    for (const p of callers) {
      const e = await rejectsWith(p, { code: "storage_error", retryable: true });
      assertNoSecrets(e, SECRETS);
      assert.equal(e.cause, undefined, "the store's error (which may quote a token) is not attached");
    }
    await rejectsWith(session.getAccessToken(), { code: "storage_error" }); // still failing: still no refresh
    store.onSave = undefined;
    assert.equal(await session.getAccessToken(), NEW.accessToken);
    assert.equal(f.calls.length, 1, "the spent refresh token is not spent again");
    assert.equal(store.saves.length, 3);
    for (const s of store.saves) assert.deepEqual(s, { next: NEW, previous: OLD });
    assert.deepEqual(await store.inner.load(), NEW);
  });

  test("a failed load rejects storage_error with no request; the session stays usable", async () => {
    const f = new FakeFetch(NEW_REPLY);
    const store = new RecordingStore(OLD);
    store.onLoad = async () => {
      throw new Error(`cannot read ${OLD.refreshToken}`);
    };
    const session = sessionOver(store, f);
    const e = await rejectsWith(session.getAccessToken(), { code: "storage_error" });
    assertNoSecrets(e, SECRETS);
    assert.equal(f.calls.length, 0);
    store.onLoad = undefined;
    assert.equal(await session.getAccessToken(), NEW.accessToken);
  });

  test("a lock that rejects before running the session is storage_error, with no request", async () => {
    const f = new FakeFetch(NEW_REPLY);
    const store = new RecordingStore(OLD, [], true);
    store.lock = async () => {
      throw new Error("lock server down");
    };
    await rejectsWith(sessionOver(store, f).getAccessToken(), { code: "storage_error" });
    assert.equal(f.calls.length, 0);
  });

  test("a lock that settles without running the session is storage_error", async () => {
    const f = new FakeFetch(NEW_REPLY);
    const store = new RecordingStore(OLD, [], true);
    store.lock = async <T>() => undefined as T;
    await rejectsWith(sessionOver(store, f).getAccessToken(), { code: "storage_error" });
    assert.equal(f.calls.length, 0);
  });

  test("a lock that gives up but runs the session's function later does not refresh behind the caller's back", async () => {
    const f = new FakeFetch(NEW_REPLY);
    const store = new RecordingStore(OLD, [], true);
    let late: (() => Promise<unknown>) | undefined;
    store.lock = async <T>(fn: () => Promise<T>): Promise<T> => {
      late = fn;
      throw new Error("lock timed out");
    };
    await rejectsWith(sessionOver(store, f).getAccessToken(), { code: "storage_error" });
    await assert.rejects(late!(), (e: unknown) => e instanceof OAuthDeviceFlowError && e.code === "storage_error");
    await new Promise((r) => setImmediate(r));
    assert.equal(f.calls.length, 0);
    assert.equal(store.saves.length, 0);
  });

  test("a lock that rewraps the session's failure still gives the session's own error", async () => {
    const f = new FakeFetch(json(503, {}));
    const store = new RecordingStore(OLD, [], true);
    const inner = store.lock!;
    store.lock = async <T>(fn: () => Promise<T>): Promise<T> => {
      try {
        return await inner(fn);
      } catch {
        throw new Error("wrapped by the lock");
      }
    };
    await rejectsWith(sessionOver(store, f).getAccessToken(), { code: "server_error", status: 503 });
  });

  test("a save still pending when a second caller arrives: the second caller waits for the same save", async () => {
    const gate = deferred();
    const f = new FakeFetch(NEW_REPLY);
    const store = new RecordingStore(OLD);
    store.onSave = () => gate.promise;
    const session = sessionOver(store, f);
    const a = session.getAccessToken();
    await new Promise((r) => setImmediate(r));
    const b = session.getAccessToken();
    gate.reject(new Error("write failed"));
    await rejectsWith(a, { code: "storage_error" });
    await rejectsWith(b, { code: "storage_error" });
    assert.equal(store.saves.length, 1);
  });

  test("load() resolving undefined or malformed tokens is invalid_config, with no request", async () => {
    for (const bad of [undefined, { accessToken: 5 }, "tokens", { tokenType: "Bearer" }]) {
      const f = new FakeFetch();
      const store = new RecordingStore(null);
      store.onLoad = async () => bad as unknown as OAuthTokens;
      await rejectsWith(sessionOver(store, f).getAccessToken(), { code: "invalid_config" });
      assert.equal(f.calls.length, 0);
    }
  });
});

describe("createTokenSession options", () => {
  const store = () => new RecordingStore(OLD);
  const base = (): TokenSessionOptions => ({ provider: codex, fetch: new FakeFetch().fetch, clock: () => T0, store: store() });
  const cases: Array<[string, () => unknown, OAuthErrorCode]> = [
    ["no options", () => (createTokenSession as (o?: unknown) => unknown)(), "invalid_config"],
    ["no store", () => createTokenSession({ ...base(), store: undefined as never }), "invalid_config"],
    ["a store without save", () => createTokenSession({ ...base(), store: { load: async () => null } as never }), "invalid_config"],
    ["a lock that is not a function", () => createTokenSession({ ...base(), store: { ...store(), load: async () => null, save: async () => {}, lock: 1 } as never }), "invalid_config"],
    ["no fetch", () => createTokenSession({ ...base(), fetch: undefined as never }), "invalid_config"],
    ["no clock", () => createTokenSession({ ...base(), clock: 5 as never }), "invalid_config"],
    ["an unknown option", () => createTokenSession({ ...base(), skew: 1 } as never), "invalid_config"],
    ["a negative skewMs", () => createTokenSession({ ...base(), skewMs: -1 }), "invalid_config"],
    ["a NaN skewMs", () => createTokenSession({ ...base(), skewMs: Number.NaN }), "invalid_config"],
    ["a zero timeoutMs", () => createTokenSession({ ...base(), timeoutMs: 0 }), "invalid_config"],
    ["a string timeoutMs", () => createTokenSession({ ...base(), timeoutMs: "5" as never }), "invalid_config"],
    ["no provider", () => createTokenSession({ ...base(), provider: undefined as never }), "invalid_config"],
    [
      "an http token endpoint off loopback",
      () => createTokenSession({ ...base(), provider: { ...rfc, tokenEndpoint: "http://idp.example.com/token" } }),
      "insecure_endpoint",
    ],
  ];
  for (const [name, call, code] of cases) {
    test(`${name} throws ${code} synchronously`, () => {
      throwsWith(call, { code });
    });
  }

  test("the unknown option's name is shown without control characters", () => {
    const e = throwsWith(() => createTokenSession({ ...base(), "sk\new": 1 } as never), { code: "invalid_config" });
    assert.ok(e.message.includes('"skew"'), e.message);
  });
});
