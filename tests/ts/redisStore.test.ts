/**
 * The Redis store against a real redis-server (Debian's, started here on a free loopback port with
 * AOF on, or REDIS_URL when set), through both clients hosts use: node-redis and ioredis (the
 * contract suite alternates them, so the cross-client tests mix both).
 *
 * Beyond the contract: the key layout, a lease released only by its owner, a dead holder's lease
 * running out, malformed stored values, unreachable servers (errors name no password or token), and
 * the start-up check of Redis's persistence (AOF).
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Redis } from "ioredis";
import { createClient } from "redis";
import { createRedisStore, type RedisClientLike } from "../../js/redisStore.ts";
import { A, B, TEST_TIMEOUT, storeContractSuite, uniqueKey, type StoreHarness } from "./support/storeContract.ts";
import { freePort, startRedis, type RedisServer } from "./support/storeServers.ts";

let server: RedisServer | undefined;
let url = process.env["REDIS_URL"] ?? "";
const closers: Array<() => Promise<unknown>> = [];

before(async () => {
  if (url === "") {
    server = await startRedis();
    url = server.url;
  }
});
after(async () => {
  await Promise.all(closers.splice(0).map((c) => c().catch(() => undefined)));
  await server?.stop();
});

let flip = 0;
async function client(kind: "node-redis" | "ioredis" = flip++ % 2 === 0 ? "node-redis" : "ioredis", at = url): Promise<RedisClientLike & { raw: (args: string[]) => Promise<unknown> }> {
  if (kind === "node-redis") {
    const c = createClient({ url: at, disableOfflineQueue: true });
    c.on("error", () => undefined);
    await c.connect();
    closers.push(async () => c.destroy());
    return Object.assign(c, { raw: (args: string[]) => c.sendCommand(args) });
  }
  const c = new Redis(at, { enableOfflineQueue: false, lazyConnect: true });
  c.on("error", () => undefined);
  await c.connect();
  closers.push(async () => c.disconnect());
  return Object.assign(c, { raw: (args: string[]) => c.call(args[0]!, ...args.slice(1)) });
}

const harness = (): StoreHarness => ({
  open: async (key, options = {}) => createRedisStore({ client: await client(), key, ...options }),
});

storeContractSuite("Redis", harness);

describe("Redis store: key layout, leases, errors, persistence", () => {
  test("layout: one hash per login (schema, tokens, id, rev) and a lease <key>:lock with a random owner while lock runs", TEST_TIMEOUT, async () => {
    const c = await client("node-redis");
    const key = uniqueKey("oauth:tokens");
    const store = createRedisStore({ client: c, key, leaseMs: 5_000 });
    await store.replace(A);
    const hash = (await c.raw(["HGETALL", key])) as Record<string, string>;
    assert.deepEqual(Object.keys(hash).sort(), ["id", "rev", "schema", "tokens"]);
    assert.equal(hash["schema"], "1");
    assert.equal(hash["rev"], "1");
    assert.match(hash["id"] ?? "", /^[0-9a-f]{64}$/);
    assert.deepEqual(JSON.parse(hash["tokens"] ?? ""), A);
    assert.equal(await store.save(B, A), true);
    assert.equal(((await c.raw(["HGETALL", key])) as Record<string, string>)["rev"], "2");
    await store.lock(async () => {
      assert.match(String(await c.raw(["GET", `${key}:lock`])), /^[0-9a-f]{32}$/);
      const ttl = Number(await c.raw(["PTTL", `${key}:lock`]));
      assert.ok(ttl > 0 && ttl <= 5_000, `a lease (${ttl} ms)`);
    });
    assert.equal(await c.raw(["EXISTS", `${key}:lock`]), 0, "released");
    await store.replace(null);
    const out = (await c.raw(["HGETALL", key])) as Record<string, string>;
    assert.deepEqual([out["tokens"], out["id"], out["rev"]], ["", "", "3"], "signed out: empty tokens, the counter goes on");
    assert.throws(() => createRedisStore({ client: c, key: `${key}:lock` }), { code: "invalid_config", message: /:lock/ }, "a key cannot be another key's lease");
  });

  test("release deletes only its own lease: a lease taken over by another owner (ours expired) survives our release", TEST_TIMEOUT, async () => {
    const c = await client("ioredis");
    const key = uniqueKey("owner");
    const store = createRedisStore({ client: c, key });
    await store.lock(async () => {
      await c.raw(["SET", `${key}:lock`, "another-holder", "PX", "5000"]);
    });
    assert.equal(await c.raw(["GET", `${key}:lock`]), "another-holder");
    await c.raw(["DEL", `${key}:lock`]);
  });

  test("a dead holder's lease (never released) blocks the others only until it runs out", TEST_TIMEOUT, async () => {
    const c = await client("node-redis");
    const key = uniqueKey("dead");
    await c.raw(["SET", `${key}:lock`, "dead-holder", "NX", "PX", "400"]);
    const started = Date.now();
    assert.equal(await createRedisStore({ client: c, key }).lock(async () => "mine"), "mine");
    const waited = Date.now() - started;
    assert.ok(waited >= 300 && waited < 10_000, `waited for the lease (${waited} ms), not for lockTimeoutMs (40 s)`);
  });

  test("malformed stored values: a non-retryable storage_error naming the key, never quoting the value", TEST_TIMEOUT, async () => {
    const c = await client("ioredis");
    const key = uniqueKey("bad");
    const store = createRedisStore({ client: c, key });
    await c.raw(["HSET", key, "schema", "1", "tokens", "{secret-garbage", "id", "x"]);
    await assert.rejects(store.load(), (e: { code: string; retryable: boolean; message: string }) => {
      assert.equal(e.code, "storage_error");
      assert.equal(e.retryable, false);
      assert.match(e.message, new RegExp(key));
      assert.doesNotMatch(e.message, /secret-garbage/);
      return true;
    });
    await c.raw(["HSET", key, "tokens", JSON.stringify({ accessToken: 5 })]);
    await assert.rejects(store.load(), { code: "storage_error", retryable: false });
    await c.raw(["HSET", key, "schema", "2"]);
    await assert.rejects(store.load(), { code: "storage_error", retryable: false, message: /schema 2/ });
  });

  test("Redis unreachable (client with a password in its URL): every call rejects with a retryable storage_error naming neither the password nor a token", TEST_TIMEOUT, async () => {
    const port = await freePort();
    const dead = `redis://:s3cret-pw@127.0.0.1:${port}`;
    const n = createClient({ url: dead, disableOfflineQueue: true });
    n.on("error", () => undefined);
    const io = new Redis(dead, { enableOfflineQueue: false, lazyConnect: true, retryStrategy: () => null });
    io.on("error", () => undefined);
    await io.connect().catch(() => undefined);
    for (const c of [n, io]) {
      const store = createRedisStore({ client: c, key: uniqueKey("down"), commandTimeoutMs: 500 });
      for (const call of [() => store.load(), () => store.save(B, A), () => store.replace(A), () => store.lock(async () => 1)]) {
        await assert.rejects(call(), (e: { code: string; retryable: boolean; message: string }) => {
          assert.equal(e.code, "storage_error");
          assert.equal(e.retryable, true);
          assert.doesNotMatch(e.message, /s3cret|at-A|rt-A|at-B|rt-B|redis:\/\//);
          return true;
        });
      }
    }
    io.disconnect();
  });

  test("persistence: without AOF the store refuses (default), warns once (persistence: \"warn\"), or says nothing (\"off\"); a client without CONFIG rights gets one warning", TEST_TIMEOUT, async () => {
    const plain = await startRedis({ appendonly: false });
    try {
      const c = await client("node-redis", plain.url);
      const refused = createRedisStore({ client: c, key: uniqueKey("aof") });
      await assert.rejects(refused.load(), (e: { code: string; retryable: boolean; message: string }) => {
        assert.equal(e.code, "storage_error");
        assert.equal(e.retryable, false);
        assert.match(e.message, /appendonly no/);
        assert.match(e.message, /appendonly yes/);
        return true;
      });
      await assert.rejects(refused.replace(A), { code: "storage_error", retryable: false });
      const warnings: string[] = [];
      const warned = createRedisStore({ client: await client("ioredis", plain.url), key: uniqueKey("aof"), persistence: "warn", onWarning: (m) => warnings.push(m) });
      await warned.replace(A);
      assert.deepEqual(await warned.load(), A);
      assert.equal(warnings.length, 1);
      assert.match(warnings[0] ?? "", /appendonly no.*appendonly yes/);
      const quiet: string[] = [];
      const off = createRedisStore({ client: c, key: uniqueKey("aof"), persistence: "off", onWarning: (m) => quiet.push(m) });
      assert.equal(await off.load(), null);
      assert.deepEqual(quiet, []);
    } finally {
      await plain.stop();
    }
    // A user that may not run CONFIG (as on managed services): the check cannot tell, says so once, and the store works.
    const admin = await client("node-redis");
    const user = `limited${process.pid}`;
    await admin.raw(["ACL", "SETUSER", user, "on", ">limited-pw", "~*", "+@all", "-config"]);
    try {
      const limitedUrl = url.replace("redis://", `redis://${user}:limited-pw@`);
      const notes: string[] = [];
      const store = createRedisStore({ client: await client("ioredis", limitedUrl), key: uniqueKey("acl"), onWarning: (m) => notes.push(m) });
      await store.replace(A);
      assert.deepEqual(await store.load(), A);
      assert.equal(notes.length, 1);
      assert.match(notes[0] ?? "", /could not check.*NOPERM.*appendonly yes/);
      assert.doesNotMatch(notes[0] ?? "", /limited-pw/);
    } finally {
      await admin.raw(["ACL", "DELUSER", user]);
    }
  });
});
