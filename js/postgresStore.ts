/**
 * A token store in PostgreSQL for a backend with several replicas (processes on several machines)
 * sharing one login: `import { createPostgresStore } from "oauth-device-flow-wasm/postgres"`.
 *
 * Why each part:
 * - the host passes its own `pg` Pool (or anything with `query` and `connect`): the package
 *   bundles no driver and uses the host's connection settings, TLS and credentials;
 * - one row per login in one table (`key`, `tokens jsonb`, `version`, `updated_at`), created when
 *   absent, so one deployment holds many logins;
 * - `save` is a compare-and-swap: it reads the row, compares the tokens' identity with `previous`
 *   (or finds `next` already there: a retried save), and writes with
 *   `UPDATE ... WHERE key = $1 AND version = $n`, autocommitted, so the rotated token is durable
 *   before the session hands it out. Rotating single-use refresh tokens make that identity the
 *   fence: only the holder whose refresh of `previous` succeeded holds a successor;
 * - `lock` holds `pg_advisory_xact_lock(hashtextextended(<table>:<key>))` in a transaction on a
 *   connection of its own. A dead holder's connection ends and the server drops the lock with it;
 *   a frozen holder (paused process, partitioned host) is cut off by the server after `leaseMs`
 *   idle in that transaction (`idle_in_transaction_session_timeout`, kept from firing by a
 *   heartbeat while `fn` runs): a lease, enforced by the server;
 * - a commit that is not durable is a rotated token lost in a crash: the first call checks that
 *   `fsync` and `synchronous_commit` are on (`persistence`).
 */
import { OAuthDeviceFlowError, invalidConfig, storageError } from "./errors.ts";
import { checkOptionNames, cleanTokens, failureCode, positiveMs, readTokens, tokenIdentity, withTimeout } from "./storedTokens.ts";
import type { OAuthTokens } from "./types.ts";

/** What the store reads from a query result (`pg`'s `QueryResult` has it). */
export interface PgResultLike {
  /** The rows, as objects by column name. */
  rows: unknown[];
  /** How many rows the statement touched, or `null` when the server did not say. */
  rowCount: number | null;
}

/** Something that runs a parameterised query: a `pg` Pool or Client. */
export interface PgQueryable {
  /** Runs `text` with `$1`, `$2`, ... bound to `values`. */
  query(text: string, values?: unknown[]): Promise<PgResultLike>;
}

/** A connection checked out of the pool (`pg`'s `PoolClient`). */
export interface PgPoolClientLike extends PgQueryable {
  /** Back to the pool; with an error (or `true`) the connection is destroyed instead. */
  release(err?: Error | boolean): void;
  /** `pg` clients emit "error" when the server ends the connection. */
  on?(event: "error", listener: (err: Error) => void): unknown;
  /** Removes a listener `on` added. */
  removeListener?(event: "error", listener: (err: Error) => void): unknown;
}

/** A `pg` Pool, or anything with `query` and `connect` of the same meaning. */
export interface PgPoolLike extends PgQueryable {
  /** Checks a connection out of the pool (the lock's transaction runs on it). */
  connect(): Promise<PgPoolClientLike>;
}

/** What {@link createPostgresStore} takes. */
export interface PostgresStoreOptions {
  /** The host's pool. It needs two free connections per login in use: the lock holds one. */
  pool: PgPoolLike;
  /** The login's key (the row's primary key), e.g. `alice`. One login per key. */
  key: string;
  /** The table, optionally schema-qualified (`auth.oauth_tokens`). Default `oauth_tokens`. */
  table?: string;
  /** Create the table when absent (first call). Default true. */
  createTable?: boolean;
  /** A lock holder idle this long inside its transaction is disconnected by the server. Default 15 000. */
  leaseMs?: number;
  /** How long `lock` waits for another holder before a retryable `storage_error`. Default 40 000. */
  lockTimeoutMs?: number;
  /** Bounds every other query. Default 5 000. */
  commandTimeoutMs?: number;
  /**
   * Whether the first call checks that commits are durable (`fsync` and `synchronous_commit` on):
   * `"require"` (default) refuses to work otherwise, `"warn"` warns once, `"off"` skips it.
   */
  persistence?: "require" | "warn" | "off";
  /** Where warnings go. Default `process.emitWarning`. */
  onWarning?: (message: string) => void;
}

/** The PostgreSQL store: the `TokenStore` contract, with `lock` and `replace` always present. */
export interface PostgresTokenStore {
  /** The login's key, as given. */
  readonly key: string;
  /** The table, as given (or the default `oauth_tokens`). */
  readonly table: string;
  /** The current tokens, or `null` when nobody is signed in. */
  load(): Promise<OAuthTokens | null>;
  /**
   * Compare-and-swap after a refresh: writes `next` only when the row still holds `previous`, or
   * finds `next` already there (a retried save). `true` when `next` is stored, `false` when
   * dropped because the row holds something else (a sign-out or a newer sign-in wins).
   */
  save(next: OAuthTokens, previous: OAuthTokens): Promise<boolean>;
  /** Sign-in (`tokens`) and sign-out (`null`), unconditionally, under the lock. Not inside `lock`. */
  replace(tokens: OAuthTokens | null): Promise<void>;
  /** Runs `fn` alone across every replica using this key (a transaction-scoped advisory lock). */
  lock<T>(fn: () => Promise<T>): Promise<T>;
}

const OPTION_NAMES: readonly string[] = [
  "pool",
  "key",
  "table",
  "createTable",
  "leaseMs",
  "lockTimeoutMs",
  "commandTimeoutMs",
  "persistence",
  "onWarning",
];
const FACTORY = "createPostgresStore";
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** `name` or `schema.name`, each part quoted. */
function quoteTable(table: string): string | undefined {
  const parts = table.split(".");
  if (parts.length > 2 || !parts.every((p) => IDENTIFIER.test(p))) return undefined;
  return parts.map((p) => `"${p}"`).join(".");
}

/**
 * A PostgreSQL store for the login at `options.key`. Throws `invalid_config` synchronously for
 * bad options; every method rejects with `OAuthDeviceFlowError` (`storage_error` when the database
 * cannot be reached or refuses, retryable unless the stored value or the server's set-up is wrong).
 */
export function createPostgresStore(options: PostgresStoreOptions): PostgresTokenStore {
  const o = checkOptionNames(options, FACTORY, OPTION_NAMES, "pool, key");
  const pool = o["pool"] as Record<string, unknown> | null | undefined;
  if (typeof pool !== "object" || pool === null || typeof pool["query"] !== "function" || typeof pool["connect"] !== "function") {
    throw invalidConfig(`${FACTORY}: pool must be a pg Pool (query and connect)`);
  }
  const db = pool as unknown as PgPoolLike;
  const rawKey = o["key"];
  if (typeof rawKey !== "string" || rawKey === "" || rawKey.length > 512) {
    throw invalidConfig(`${FACTORY}: key must be a non-empty string of at most 512 characters`);
  }
  const key: string = rawKey;
  const table = o["table"] ?? "oauth_tokens";
  const quoted = typeof table === "string" ? quoteTable(table) : undefined;
  if (typeof table !== "string" || quoted === undefined) {
    throw invalidConfig(`${FACTORY}: table must be a name or schema.name of letters, digits and underscores`);
  }
  const createTable = o["createTable"] ?? true;
  if (typeof createTable !== "boolean") throw invalidConfig(`${FACTORY}: createTable must be a boolean`);
  const leaseMs = positiveMs(o, "leaseMs", 15_000, FACTORY);
  const lockTimeoutMs = positiveMs(o, "lockTimeoutMs", 40_000, FACTORY);
  const commandTimeoutMs = positiveMs(o, "commandTimeoutMs", 5_000, FACTORY);
  const persistence = o["persistence"] ?? "require";
  if (persistence !== "require" && persistence !== "warn" && persistence !== "off") {
    throw invalidConfig(`${FACTORY}: persistence must be "require", "warn" or "off"`);
  }
  if (o["onWarning"] !== undefined && typeof o["onWarning"] !== "function") throw invalidConfig(`${FACTORY}: onWarning must be a function`);
  const warn = (o["onWarning"] as ((m: string) => void) | undefined) ?? ((m: string) => process.emitWarning(m, "OAuthDeviceFlowWarning"));
  const store = "PostgreSQL token store";
  const lockName = `oauth-device-flow:${table}:${key}`;

  function failure(what: string, e: unknown): OAuthDeviceFlowError {
    if (e instanceof OAuthDeviceFlowError) return e;
    return storageError(`The ${store} could not ${what} (${failureCode(e)}); try again.`);
  }

  /** One query, bounded; any failure becomes a retryable `storage_error` naming `what`. */
  async function query(what: string, on: PgQueryable, text: string, values: unknown[] = [], ms = commandTimeoutMs): Promise<PgResultLike> {
    try {
      return await withTimeout(Promise.resolve().then(() => on.query(text, values)), ms, () =>
        storageError(`The ${store} could not ${what}: PostgreSQL did not answer within ${ms} ms; try again.`),
      );
    } catch (e) {
      throw failure(what, e);
    }
  }

  let prepared: Promise<void> | undefined;
  /** The table and the persistence check, once (again after a failure to reach the database). */
  function ready(): Promise<void> {
    prepared ??= prepare().catch((e: unknown) => {
      if ((e as { retryable?: unknown }).retryable === true) prepared = undefined;
      throw e;
    });
    return prepared;
  }

  async function prepare(): Promise<void> {
    if (persistence !== "off") {
      const r = await query("check the server's durability settings", db, "SELECT current_setting('fsync') AS fsync, current_setting('synchronous_commit') AS sync");
      const row = (r.rows[0] ?? {}) as { fsync?: unknown; sync?: unknown };
      const off = [row.fsync === "off" ? "fsync" : "", row.sync === "off" ? "synchronous_commit" : ""].filter((s) => s !== "");
      if (off.length > 0) {
        const message = `PostgreSQL runs with ${off.join(" and ")} off: a crash can lose the rotated refresh token and sign the user out. Turn ${off.join(" and ")} on, or pass persistence: "warn" to accept that.`;
        if (persistence === "require") throw storageError(`The ${store} refuses to work: ${message}`, false);
        warn(`${store}: ${message}`);
      }
    }
    if (!createTable) return;
    // Checked first: CREATE ... IF NOT EXISTS needs the CREATE privilege even when the table exists.
    const found = await query("look for its table", db, "SELECT to_regclass($1) IS NOT NULL AS found", [quoted]);
    if ((found.rows[0] as { found?: unknown } | undefined)?.found === true) return;
    // One string, so PostgreSQL runs it as one implicit transaction: the transaction-scoped lock
    // makes replicas starting together create the table one after the other, and IF NOT EXISTS
    // then sees the committed table (without the lock they race inside the catalog: 23505,
    // 42P07 or 42710). `quoted` holds only [A-Za-z0-9_."], so it is safe inside the literal.
    const ddl = `SELECT pg_advisory_xact_lock(hashtextextended('oauth-device-flow:create-table:${quoted}', 0));
CREATE TABLE IF NOT EXISTS ${quoted} (
  key        text PRIMARY KEY,
  tokens     jsonb,
  version    bigint NOT NULL DEFAULT 0,
  updated_at timestamptz NOT NULL DEFAULT now()
)`;
    try {
      await query("create its table", db, ddl);
    } catch (e) {
      // A table made meanwhile by a writer that does not take the lock (a migration tool) is all
      // we need; anything else is the error.
      const now = await query("look for its table", db, "SELECT to_regclass($1) IS NOT NULL AS found", [quoted]);
      if ((now.rows[0] as { found?: unknown } | undefined)?.found !== true) throw e;
    }
  }

  async function readRow(what: string): Promise<{ tokens: OAuthTokens | null; version: string } | undefined> {
    const r = await query(what, db, `SELECT tokens, version::text AS version FROM ${quoted} WHERE key = $1`, [key]);
    const row = r.rows[0] as { tokens?: unknown; version?: unknown } | undefined;
    if (row === undefined) return undefined;
    const version = String(row.version);
    if (row.tokens === null || row.tokens === undefined) return { tokens: null, version };
    const tokens = readTokens(row.tokens);
    if (tokens === undefined) throw storageError(`The ${store} row ${key} in ${table} holds malformed tokens; sign in again.`, false);
    return { tokens, version };
  }

  async function load(): Promise<OAuthTokens | null> {
    await ready();
    return (await readRow("read the tokens"))?.tokens ?? null;
  }

  async function save(next: OAuthTokens, previous: OAuthTokens): Promise<boolean> {
    const clean = cleanTokens(next, store);
    const previousId = tokenIdentity(cleanTokens(previous, store));
    const nextId = tokenIdentity(clean);
    await ready();
    // The version makes read-compare-write one compare-and-swap; a concurrent write retries it.
    for (let attempt = 0; attempt < 5; attempt++) {
      const row = await readRow("read the tokens before saving");
      if (row === undefined || row.tokens === null) return false; // signed out meanwhile: it wins
      const current = tokenIdentity(row.tokens);
      if (current === nextId) return true;
      if (current !== previousId) return false;
      const r = await query(
        "save the refreshed tokens",
        db,
        `UPDATE ${quoted} SET tokens = $2::jsonb, version = version + 1, updated_at = now() WHERE key = $1 AND version = $3::bigint /* oauth-device-flow save */`,
        [key, JSON.stringify(clean), row.version],
      );
      if (r.rowCount === 1) return true;
    }
    throw storageError(`The ${store} row ${key} in ${table} kept changing during a save; try again.`);
  }

  async function replace(tokens: OAuthTokens | null): Promise<void> {
    const clean = tokens === null ? null : cleanTokens(tokens, store);
    await lock(async () => {
      await query(
        clean === null ? "sign out" : "store the signed-in tokens",
        db,
        `INSERT INTO ${quoted} AS t (key, tokens, version) VALUES ($1, $2::jsonb, 1)
         ON CONFLICT (key) DO UPDATE SET tokens = EXCLUDED.tokens, version = t.version + 1, updated_at = now()`,
        [key, clean === null ? null : JSON.stringify(clean)],
      );
    });
  }

  async function lock<T>(fn: () => Promise<T>): Promise<T> {
    await ready();
    let client: PgPoolClientLike;
    const connecting = Promise.resolve().then(() => db.connect());
    try {
      client = await withTimeout(connecting, commandTimeoutMs, () =>
        storageError(`The ${store} could not take the lock: no connection within ${commandTimeoutMs} ms; try again.`),
      );
    } catch (e) {
      // A connection that arrives after we gave up goes back to the pool, not nowhere.
      connecting.then((late) => late.release(), () => undefined);
      throw failure("take the lock", e);
    }
    // The server ends this connection when the lease runs out or on a restart: not fatal here.
    const onError = (): void => undefined;
    client.on?.("error", onError);
    const done = (destroy: boolean): void => {
      client.removeListener?.("error", onError);
      client.release(destroy ? true : undefined);
    };
    try {
      await query("take the lock", client, "BEGIN");
      await query("take the lock", client, "SELECT set_config('lock_timeout', $1, true), set_config('idle_in_transaction_session_timeout', $2, true)", [
        `${Math.ceil(lockTimeoutMs)}ms`,
        `${Math.ceil(leaseMs)}ms`,
      ]);
      await query("take the lock", client, "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", [lockName], lockTimeoutMs + commandTimeoutMs);
    } catch (e) {
      done(true);
      if (e instanceof OAuthDeviceFlowError && e.message.includes("(55P03)")) {
        throw storageError(`Another replica has held the ${store}'s lock for ${key} for over ${lockTimeoutMs} ms; try again.`);
      }
      throw e;
    }
    let beating: Promise<unknown> = Promise.resolve();
    const heartbeat = setInterval(() => {
      beating = beating.then(() => query("extend the lock", client, "SELECT 1").catch(() => undefined));
    }, Math.max(10, Math.floor(leaseMs / 3)));
    let broken = false;
    try {
      return await fn();
    } finally {
      clearInterval(heartbeat);
      await beating;
      // Nothing was written in this transaction: ending it only releases the lock.
      await query("release the lock", client, "ROLLBACK").catch(() => {
        broken = true;
      });
      done(broken);
    }
  }

  return {
    key,
    table,
    load: () => load(),
    save: (next: OAuthTokens, previous: OAuthTokens) => save(next, previous),
    replace: (tokens: OAuthTokens | null) => replace(tokens),
    lock,
  };
}
