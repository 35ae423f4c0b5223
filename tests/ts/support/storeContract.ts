/**
 * The store contract, asserted directly against a real server (not a test file itself): the Redis
 * and PostgreSQL test files run `storeContractSuite` with a harness that opens stores on clients of
 * their own, as separate replicas would.
 *
 * What it pins: `load`/`replace` round trips keep only the fields of `OAuthTokens`; `save` is a
 * compare-and-swap (true over `previous` or over `next` itself, false over anything else, exactly
 * one winner among concurrent saves from the same `previous`); `lock` excludes every other
 * holder, passes `fn`'s outcome through, waits a bounded time and fails with a retryable
 * `storage_error` that names no secret.
 */
import assert from "node:assert/strict";
import { describe, test, type TestContext } from "node:test";
import type { OAuthTokens } from "../../../js/oauthDeviceFlow.ts";

export interface ContractStore {
  load(): Promise<OAuthTokens | null>;
  save(next: OAuthTokens, previous: OAuthTokens): Promise<boolean>;
  replace(tokens: OAuthTokens | null): Promise<void>;
  lock<T>(fn: () => Promise<T>): Promise<T>;
}

export interface StoreHarness {
  /** A store for `key` on a client of its own; `options` are passed to the factory. */
  open(key: string, options?: Record<string, unknown>): Promise<ContractStore>;
}

/** A hung test fails (and its `after` hooks clean up) instead of hanging the whole file. */
export const TEST_TIMEOUT = { timeout: 120_000 };

let counter = 0;
export const uniqueKey = (prefix: string): string => `${prefix}-${process.pid}-${Date.now().toString(36)}-${counter++}`;

export const A: OAuthTokens = { accessToken: "at-A", tokenType: "Bearer", refreshToken: "rt-A", idToken: "id-A", scope: "openid", expiresAt: 1_800_000_000_000 };
export const B: OAuthTokens = { accessToken: "at-B", tokenType: "Bearer", refreshToken: "rt-B", expiresAt: 1_800_000_600_000 };
export const C: OAuthTokens = { accessToken: "at-C", tokenType: "Bearer", refreshToken: "rt-C" };
export const S: OAuthTokens = { accessToken: "at-S", tokenType: "Bearer", refreshToken: "rt-S" };

const tick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Takes `store`'s lock and keeps it until `release()` (registered with `t.after` too, so a failing
 * test never leaves a lock held, and a heartbeat running, behind): resolves once it is held.
 */
async function holdLock(t: TestContext, store: ContractStore): Promise<{ release: () => Promise<void> }> {
  let release: () => void = () => undefined;
  let acquired: () => void = () => undefined;
  const isHeld = new Promise<void>((r) => (acquired = r));
  const done = store.lock(async () => {
    acquired();
    await new Promise<void>((r) => (release = r));
  });
  done.catch(() => undefined);
  await Promise.race([isHeld, done]);
  const end = async () => {
    release();
    await done;
  };
  t.after(() => end().catch(() => undefined));
  return { release: end };
}

export function storeContractSuite(engine: string, harness: () => StoreHarness): void {
  describe(`${engine} store: the contract`, () => {
    test("load is null before any write; replace writes exactly the OAuthTokens fields; replace(null) signs out", TEST_TIMEOUT, async () => {
      const s = await harness().open(uniqueKey("rt"));
      assert.equal(await s.load(), null);
      await s.replace({ ...A, extra: "not persisted" } as OAuthTokens);
      assert.deepEqual(await s.load(), A);
      await s.replace(B);
      assert.deepEqual(await s.load(), B);
      await s.replace(null);
      assert.equal(await s.load(), null);
      await assert.rejects(s.replace({ accessToken: 5 } as unknown as OAuthTokens), { code: "invalid_config" });
    });

    test("save is a compare-and-swap: true over previous or over next itself, false (nothing written) over anything else, a sign-out or a newer sign-in", TEST_TIMEOUT, async () => {
      const s = await harness().open(uniqueKey("cas"));
      assert.equal(await s.save(B, A), false, "nobody signed in: dropped");
      assert.equal(await s.load(), null);
      await s.replace(A);
      assert.equal(await s.save(B, A), true);
      assert.deepEqual(await s.load(), B);
      assert.equal(await s.save(B, A), true, "a retried save finds next already there");
      assert.deepEqual(await s.load(), B);
      assert.equal(await s.save(C, A), false, "a stale holder's successor of A never overwrites B");
      assert.deepEqual(await s.load(), B);
      // Identity is access token AND refresh token.
      assert.equal(await s.save(C, { ...B, refreshToken: "rt-other" }), false);
      assert.equal(await s.save(C, { ...B, accessToken: "at-other" }), false);
      assert.equal(await s.save(C, { ...B, expiresAt: 1 }), true, "other fields are not the identity");
      await s.replace(null);
      assert.equal(await s.save(S, C), false, "a sign-out wins over a late save");
      assert.equal(await s.load(), null);
      await s.replace(S);
      assert.equal(await s.save(B, C), false, "a newer sign-in wins over a late save");
      assert.deepEqual(await s.load(), S);
    });

    test("16 concurrent saves from the same previous on 4 clients: exactly one wins, the store holds the winner", TEST_TIMEOUT, async () => {
      const key = uniqueKey("race");
      const stores = await Promise.all([0, 1, 2, 3].map(() => harness().open(key)));
      await stores[0]!.replace(A);
      const nexts = Array.from({ length: 16 }, (_, i) => ({ accessToken: `at-${i}`, tokenType: "Bearer", refreshToken: `rt-${i}` }));
      const results = await Promise.all(nexts.map((n, i) => stores[i % 4]!.save(n, A)));
      assert.equal(results.filter(Boolean).length, 1, `one winner (${results.join(",")})`);
      assert.deepEqual(await stores[1]!.load(), nexts[results.indexOf(true)]);
    });

    test("lock excludes every holder across clients, passes fn's value and rejection through, and is free again after a rejection", TEST_TIMEOUT, async () => {
      const key = uniqueKey("lock");
      const [s1, s2] = await Promise.all([harness().open(key), harness().open(key)]);
      let inside = 0;
      let most = 0;
      const order: number[] = [];
      const run = (s: ContractStore, i: number) =>
        s.lock(async () => {
          inside++;
          most = Math.max(most, inside);
          await tick(2);
          order.push(i);
          inside--;
          return i;
        });
      const values = await Promise.all(Array.from({ length: 12 }, (_, i) => run(i % 2 === 0 ? s1! : s2!, i)));
      assert.deepEqual(values, Array.from({ length: 12 }, (_, i) => i));
      assert.equal(most, 1, "never two holders at once");
      assert.equal(order.length, 12);
      const boom = new Error("fn failed");
      await assert.rejects(s1!.lock(() => Promise.reject(boom)), (e) => e === boom);
      const started = Date.now();
      assert.equal(await s2!.lock(async () => "free"), "free");
      assert.ok(Date.now() - started < 5_000, "released after fn rejected (not left to a 15 s lease)");
    });

    test("a busy lock: the waiter gives up after lockTimeoutMs with a retryable storage_error naming no secret, without calling fn", TEST_TIMEOUT, async (t) => {
      const key = uniqueKey("busy");
      const holder = await harness().open(key);
      const waiter = await harness().open(key, { lockTimeoutMs: 300 });
      const held = await holdLock(t, holder);
      let called = false;
      const started = Date.now();
      const e = await waiter.lock(async () => (called = true)).then(
        () => assert.fail("expected storage_error"),
        (err: unknown) => err as { code: string; retryable: boolean; message: string },
      );
      assert.equal(e.code, "storage_error");
      assert.equal(e.retryable, true);
      assert.ok(Date.now() - started >= 250, "waited about lockTimeoutMs");
      assert.equal(called, false);
      assert.doesNotMatch(e.message, /at-|rt-|password|postgres:\/\/|redis:\/\//);
      await held.release();
      assert.equal(await waiter.lock(async () => "after"), "after");
    });

    test("a lease shorter than fn: extended while fn runs, so nobody else gets in (lease 500 ms, fn holds on until a waiter gave up after 1 100 ms)", TEST_TIMEOUT, async () => {
      const key = uniqueKey("lease");
      const holder = await harness().open(key, { leaseMs: 500 });
      const waiter = await harness().open(key, { lockTimeoutMs: 1_100 });
      let started: () => void = () => undefined;
      const running = new Promise<void>((r) => (started = r));
      let waiterDone: () => void = () => undefined;
      const gaveUp = new Promise<void>((r) => (waiterDone = r));
      const held = holder.lock(async () => {
        started();
        await gaveUp; // without extensions the lease ran out twice meanwhile and the waiter got in
        return "done";
      });
      await running;
      await assert.rejects(waiter.lock(async () => "in").finally(waiterDone), { code: "storage_error" });
      assert.equal(await held, "done");
      assert.equal(await waiter.lock(async () => "in"), "in");
    });

    test("bad options are invalid_config, thrown at once", TEST_TIMEOUT, async () => {
      const h = harness();
      await assert.rejects(h.open(uniqueKey("opt"), { colour: "blue" }), { code: "invalid_config", message: /does not take the option "colour"/ });
      await assert.rejects(h.open(uniqueKey("opt"), { leaseMs: -1 }), { code: "invalid_config" });
      await assert.rejects(h.open("", {}), { code: "invalid_config" });
      await assert.rejects(h.open(uniqueKey("opt"), { persistence: "maybe" }), { code: "invalid_config" });
    });

    test("one login per key: a held lock and the tokens of one key do not touch another key", TEST_TIMEOUT, async (t) => {
      const h = harness();
      const a = await h.open(uniqueKey("k1"));
      const b = await h.open(uniqueKey("k2"));
      const held = await holdLock(t, a);
      assert.equal(await b.lock(async () => "other key"), "other key");
      await b.replace(A);
      assert.equal(await a.load(), null, "keys do not share tokens");
      await held.release();
    });
  });
}
