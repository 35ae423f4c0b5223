/**
 * The PostgreSQL store against a real PostgreSQL 15 (Debian's, a private cluster started here on a
 * free loopback port, or DATABASE_URL when set), through `pg` Pools as hosts create them.
 *
 * Beyond the contract: the table and its version column, a dead holder's lock released by the
 * server when its connection ends, replicas creating the table at once, malformed rows, an
 * unreachable server (errors name no password or token), and the start-up durability check.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import { createPostgresStore } from "../../js/postgresStore.ts";
import { A, B, TEST_TIMEOUT, storeContractSuite, uniqueKey, type StoreHarness } from "./support/storeContract.ts";
import { freePort, startPostgres, type PostgresServer } from "./support/storeServers.ts";

let server: PostgresServer | undefined;
let url = process.env["DATABASE_URL"] ?? "";
/** The default table on a private server; a table of this run's own on a shared one. */
let table: string | undefined;
const pools: pg.Pool[] = [];

before(async () => {
  if (url === "") {
    server = await startPostgres();
    url = server.url;
  } else {
    table = `oauth_tokens_test_${process.pid}`;
  }
});
after(async () => {
  if (table !== undefined) await newPool().query(`DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
  await Promise.all(pools.splice(0).map((p) => p.end().catch(() => undefined)));
  await server?.stop();
});

function newPool(config: pg.PoolConfig = {}): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max: 4, ...config });
  pool.on("error", () => undefined); // a server-ended idle connection: the pool drops it
  pools.push(pool);
  return pool;
}

const withTable = (options: Record<string, unknown>) => (table === undefined ? options : { table, ...options });
const harness = (): StoreHarness => ({
  open: async (key, options = {}) => createPostgresStore({ pool: newPool(), key, ...withTable(options) }),
});

storeContractSuite("PostgreSQL", harness);

describe("PostgreSQL store: table, lock, errors, durability", () => {
  test("layout: the table is created when absent (key, tokens jsonb, version, updated_at); every write bumps version; a sign-out keeps the row with tokens NULL", TEST_TIMEOUT, async () => {
    const pool = newPool();
    const name = `oauth_layout_${process.pid}`;
    const key = uniqueKey("alice");
    const store = createPostgresStore({ pool, key, table: name });
    await store.replace(A);
    const columns = await pool.query("SELECT column_name, data_type, is_nullable FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position", [name]);
    assert.deepEqual(
      columns.rows.map((r: { column_name: string; data_type: string; is_nullable: string }) => [r.column_name, r.data_type, r.is_nullable]),
      [
        ["key", "text", "NO"],
        ["tokens", "jsonb", "YES"],
        ["version", "bigint", "NO"],
        ["updated_at", "timestamp with time zone", "NO"],
      ],
    );
    const row = async () => (await pool.query(`SELECT tokens, version::int AS version FROM ${name} WHERE key = $1`, [key])).rows[0] as { tokens: unknown; version: number };
    assert.deepEqual(await row(), { tokens: A, version: 1 });
    assert.equal(await store.save(B, A), true);
    assert.deepEqual(await row(), { tokens: B, version: 2 });
    await store.replace(null);
    assert.deepEqual(await row(), { tokens: null, version: 3 });
    await pool.query(`DROP TABLE ${name}`);
  });

  test("replicas starting together create the table once, without an error; a schema-qualified table works; a bad table name is invalid_config", TEST_TIMEOUT, async () => {
    // Unserialized, 8 replicas on a fresh table lost this race in most rounds (42710, 23505 or
    // 42P07 from the catalog); five rounds make a regression show.
    const pool = newPool();
    for (let round = 0; round < 5; round++) {
      const name = `oauth_race_${process.pid}_${round}`;
      const replicas = Array.from({ length: 8 }, () => new pg.Pool({ connectionString: url, max: 1 }));
      try {
        const stores = replicas.map((p) => createPostgresStore({ pool: p, key: "k", table: name }));
        assert.deepEqual(await Promise.all(stores.map((s) => s.load())), Array(8).fill(null), `round ${round}`);
      } finally {
        await Promise.all(replicas.map((p) => p.end()));
      }
      await pool.query(`DROP TABLE ${name}`);
    }
    await pool.query("CREATE SCHEMA IF NOT EXISTS auth");
    const qualified = createPostgresStore({ pool, key: "k", table: "auth.oauth_tokens" });
    await qualified.replace(A);
    assert.deepEqual(await qualified.load(), A);
    await pool.query("DROP SCHEMA auth CASCADE");
    assert.throws(() => createPostgresStore({ pool, key: "k", table: "x; DROP TABLE y" }), { code: "invalid_config" });
    assert.throws(() => createPostgresStore({ pool, key: "k", table: "a.b.c" }), { code: "invalid_config" });
  });

  test("a database user without CREATE rights: works when the table exists (no DDL attempted); a retryable storage_error naming the SQLSTATE when it does not", TEST_TIMEOUT, async () => {
    if (server === undefined) return; // needs a private server: it creates a role
    const admin = newPool();
    const name = `oauth_rights_${process.pid}`;
    await createPostgresStore({ pool: admin, key: "k", table: name }).load(); // creates it
    const role = `limited_${process.pid}`;
    await admin.query(`CREATE ROLE ${role} LOGIN`);
    await admin.query(`GRANT SELECT, INSERT, UPDATE ON ${name} TO ${role}`);
    const limited = newPool({ connectionString: url.replace("postgres@", `${role}@`) });
    const store = createPostgresStore({ pool: limited, key: uniqueKey("rights"), table: name });
    await store.replace(A);
    assert.equal(await store.save(B, A), true);
    assert.deepEqual(await store.load(), B);
    await assert.rejects(createPostgresStore({ pool: limited, key: "k", table: `${name}_absent` }).load(), { code: "storage_error", message: /42501/ });
    await limited.end();
    await admin.query(`DROP TABLE ${name}`);
    await admin.query(`DROP ROLE ${role}`);
  });

  test("a dead holder: the server drops its advisory lock with its connection, and the waiter proceeds at once", TEST_TIMEOUT, async (t) => {
    const key = uniqueKey("dead");
    const holderPool = newPool();
    const holder = await holderPool.connect();
    holder.on("error", () => undefined);
    let released = false;
    t.after(() => {
      if (!released) holder.release(true);
    });
    await holder.query("BEGIN");
    await holder.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", [`oauth-device-flow:${table ?? "oauth_tokens"}:${key}`]);
    const pid = ((await holder.query("SELECT pg_backend_pid() AS pid")).rows[0] as { pid: number }).pid;
    const store = createPostgresStore({ pool: newPool(), key, ...withTable({}) });
    let entered = 0;
    const waiting = store.lock(async () => (entered = Date.now()));
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(entered, 0, "the live holder excludes the waiter");
    const killed = Date.now();
    await newPool().query("SELECT pg_terminate_backend($1)", [pid]);
    await waiting;
    holder.release(true);
    released = true;
    assert.ok(entered - killed < 5_000, `the waiter got the lock ${entered - killed} ms after the holder's connection died, not after lockTimeoutMs (40 s)`);
  });

  test("an exhausted pool: lock gives up after commandTimeoutMs with a retryable storage_error, and the connection that comes later goes back to the pool", TEST_TIMEOUT, async (t) => {
    const pool = newPool({ max: 1 });
    const store = createPostgresStore({ pool, key: uniqueKey("busy-pool"), commandTimeoutMs: 300, ...withTable({}) });
    await store.load(); // table and checks done
    const taken = await pool.connect();
    let returned = false;
    const giveBack = () => {
      if (!returned) taken.release();
      returned = true;
    };
    t.after(giveBack); // a checked-out client would keep pool.end() waiting
    await assert.rejects(store.lock(async () => "in"), { code: "storage_error", retryable: true, message: /no connection within 300 ms/ });
    giveBack();
    assert.equal(await store.lock(async () => "in"), "in", "not leaked: the pool's one connection is free again");
    assert.equal(await store.load(), null);
  });

  test("malformed rows: a non-retryable storage_error naming the key, never quoting the value", TEST_TIMEOUT, async () => {
    const pool = newPool();
    const key = uniqueKey("bad");
    const store = createPostgresStore({ pool, key, ...withTable({}) });
    await store.replace(A);
    await pool.query(`UPDATE ${table ?? "oauth_tokens"} SET tokens = $2::jsonb WHERE key = $1`, [key, JSON.stringify({ accessToken: "secret-garbage" })]);
    await assert.rejects(store.load(), (e: { code: string; retryable: boolean; message: string }) => {
      assert.equal(e.code, "storage_error");
      assert.equal(e.retryable, false);
      assert.match(e.message, new RegExp(key));
      assert.doesNotMatch(e.message, /secret-garbage/);
      return true;
    });
  });

  test("PostgreSQL unreachable (a password in the connection string): every call rejects with a retryable storage_error naming neither the password nor a token", TEST_TIMEOUT, async () => {
    const port = await freePort();
    const pool = newPool({ connectionString: `postgres://app:s3cret-pw@127.0.0.1:${port}/app`, connectionTimeoutMillis: 1_000 });
    const store = createPostgresStore({ pool, key: uniqueKey("down") });
    for (const call of [() => store.load(), () => store.save(B, A), () => store.replace(A), () => store.lock(async () => 1)]) {
      await assert.rejects(call(), (e: { code: string; retryable: boolean; message: string }) => {
        assert.equal(e.code, "storage_error");
        assert.equal(e.retryable, true);
        assert.match(e.message, /ECONNREFUSED/);
        assert.doesNotMatch(e.message, /s3cret|at-A|rt-A|at-B|rt-B|postgres:\/\//);
        return true;
      });
    }
  });

  test("durability: with synchronous_commit off the store refuses (default) or warns once (persistence: \"warn\")", TEST_TIMEOUT, async () => {
    const lax = () => newPool({ options: "-c synchronous_commit=off" });
    const refused = createPostgresStore({ pool: lax(), key: uniqueKey("sync"), ...withTable({}) });
    await assert.rejects(refused.load(), (e: { code: string; retryable: boolean; message: string }) => {
      assert.equal(e.code, "storage_error");
      assert.equal(e.retryable, false);
      assert.match(e.message, /synchronous_commit off/);
      return true;
    });
    const warnings: string[] = [];
    const warned = createPostgresStore({ pool: lax(), key: uniqueKey("sync"), persistence: "warn", onWarning: (m) => warnings.push(m), ...withTable({}) });
    await warned.replace(A);
    assert.deepEqual(await warned.load(), A);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0] ?? "", /synchronous_commit off/);
  });
});
