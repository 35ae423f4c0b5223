/**
 * A token store in Redis for a backend with several replicas (processes on several machines)
 * sharing one login: `import { createRedisStore } from "oauth-device-flow-wasm/redis"`.
 *
 * Why each part:
 * - the host passes its own client (node-redis v4+ or ioredis v5+): the package bundles no driver
 *   and takes whatever connection settings, TLS and authentication the host already runs;
 * - one hash per login (`<key>`: `tokens`, `id`, `rev`, `schema`), so one deployment holds many
 *   logins, and every write is one server-side script: a reader sees the old set or the new one;
 * - `save` is a compare-and-swap script on the tokens' identity: it writes only over `previous`
 *   (or finds `next` already there). Rotating single-use refresh tokens make that the fence: only
 *   the one holder whose refresh of `previous` succeeded can hold a successor, so a holder whose
 *   lease expired can still land the one live successor, and can never overwrite a newer sign-in,
 *   a sign-out, or a later refresh;
 * - `lock` is a lease (`SET <key>:lock <random owner> NX PX <leaseMs>`), extended while `fn` runs
 *   and released by a compare-and-delete script, so a crashed holder blocks the others for at most
 *   one lease and nobody ever deletes another holder's lease;
 * - scripts are sent with EVAL every time, not EVALSHA: they are a few hundred bytes, and a
 *   restarted server's empty script cache can then never fail a save;
 * - every command is bounded (`commandTimeoutMs`): a client that queues commands while Redis is
 *   away would otherwise hang the session; failures are retryable `storage_error`s;
 * - Redis loses acknowledged writes on a restart without AOF, and a lost rotated refresh token is
 *   a lost login: the first call checks `appendonly` (`persistence`).
 */
import { OAuthDeviceFlowError, invalidConfig, storageError } from "./errors.ts";
import {
  STORED_TOKENS_SCHEMA,
  checkOptionNames,
  cleanTokens,
  failureCode,
  positiveMs,
  randomOwner,
  readTokens,
  tokenIdentity,
  withTimeout,
} from "./storedTokens.ts";
import type { OAuthTokens } from "./types.ts";

/** A node-redis (v4+) client: `createClient()`; commands go through `sendCommand`. */
export interface NodeRedisLike {
  /** Sends one command, its name first. */
  sendCommand(args: string[]): Promise<unknown>;
}

/** An ioredis (v5+) client: `new Redis()`; commands go through `call`. */
export interface IORedisLike {
  /** Sends one command. */
  call(command: string, ...args: string[]): Promise<unknown>;
}

/** Either client, as the host created and connected it. */
export type RedisClientLike = NodeRedisLike | IORedisLike;

/** What {@link createRedisStore} takes. */
export interface RedisStoreOptions {
  /** The host's connected client (node-redis or ioredis), talking to the primary. */
  client: RedisClientLike;
  /** The login's key, e.g. `oauth:tokens:alice`; the lease is `<key>:lock` (so no key ends in `:lock`). One login per key. */
  key: string;
  /** The lock's lease, extended every third of it while `fn` runs. Default 15 000. */
  leaseMs?: number;
  /** How long `lock` waits for another holder before a retryable `storage_error`. Default 40 000. */
  lockTimeoutMs?: number;
  /** Bounds every Redis command. Default 5 000. */
  commandTimeoutMs?: number;
  /**
   * Whether the first call checks that Redis persists every write (`CONFIG GET appendonly`):
   * `"require"` (default) refuses to work without AOF, `"warn"` warns once, `"off"` skips it.
   * Where `CONFIG` is not allowed (managed services) it warns once that it could not check.
   */
  persistence?: "require" | "warn" | "off";
  /** Where warnings go. Default `process.emitWarning`. */
  onWarning?: (message: string) => void;
}

/** The Redis store: the `TokenStore` contract, with `lock` and `replace` always present. */
export interface RedisTokenStore {
  /** The login's key, as given. */
  readonly key: string;
  /** The current tokens, or `null` when nobody is signed in. */
  load(): Promise<OAuthTokens | null>;
  /**
   * Compare-and-swap after a refresh: writes `next` only when Redis still holds `previous`, or
   * finds `next` already there (a retried save). `true` when `next` is stored, `false` when
   * dropped because Redis holds something else (a sign-out or a newer sign-in wins).
   */
  save(next: OAuthTokens, previous: OAuthTokens): Promise<boolean>;
  /** Sign-in (`tokens`) and sign-out (`null`), unconditionally, under the lock. Not inside `lock`. */
  replace(tokens: OAuthTokens | null): Promise<void>;
  /** Runs `fn` alone across every replica using this key (a lease, extended while `fn` runs). */
  lock<T>(fn: () => Promise<T>): Promise<T>;
}

const OPTION_NAMES: readonly string[] = ["client", "key", "leaseMs", "lockTimeoutMs", "commandTimeoutMs", "persistence", "onWarning"];
const FACTORY = "createRedisStore";

// The scripts carry a comment naming them: it identifies them in MONITOR and SLOWLOG.
/** KEYS[1] tokens hash; ARGV previous id, next id, next JSON. 1 written, 2 already there, 0 dropped. */
const CAS_SAVE = `-- oauth-device-flow: save
local cur = redis.call("HGET", KEYS[1], "id")
if cur == ARGV[2] then return 2 end
if cur ~= ARGV[1] then return 0 end
redis.call("HSET", KEYS[1], "schema", "${STORED_TOKENS_SCHEMA}", "tokens", ARGV[3], "id", ARGV[2])
redis.call("HINCRBY", KEYS[1], "rev", 1)
return 1`;
/** KEYS[1] tokens hash; ARGV JSON (empty: signed out), id (empty: signed out). */
const REPLACE = `-- oauth-device-flow: replace
redis.call("HSET", KEYS[1], "schema", "${STORED_TOKENS_SCHEMA}", "tokens", ARGV[1], "id", ARGV[2])
redis.call("HINCRBY", KEYS[1], "rev", 1)
return 1`;
/** KEYS[1] lease; ARGV owner, lease ms. 1 extended, 0 not ours any more. */
const EXTEND = `-- oauth-device-flow: extend
if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("PEXPIRE", KEYS[1], ARGV[2]) end
return 0`;
/** KEYS[1] lease; ARGV owner. 1 released, 0 not ours (expired, maybe taken by another). */
const RELEASE = `-- oauth-device-flow: release
if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end
return 0`;

function text(v: unknown): string | null {
  if (typeof v === "string") return v;
  if (v instanceof Uint8Array) return Buffer.from(v).toString("utf8");
  if (typeof v === "number") return String(v);
  return null;
}

/** `CONFIG GET name` replies `[name, value]` (RESP2), a Map or an object (RESP3 clients). */
function configValue(reply: unknown, name: string): string | null {
  if (Array.isArray(reply)) return reply.length >= 2 ? text(reply[1]) : null;
  if (reply instanceof Map) return text(reply.get(name));
  if (typeof reply === "object" && reply !== null) return text((reply as Record<string, unknown>)[name]);
  return null;
}

/**
 * A Redis store for the login at `options.key`. Throws `invalid_config` synchronously for bad
 * options; every method rejects with `OAuthDeviceFlowError` (`storage_error` when Redis cannot be
 * reached or refuses, retryable unless the stored value or the server's set-up is wrong).
 */
export function createRedisStore(options: RedisStoreOptions): RedisTokenStore {
  const o = checkOptionNames(options, FACTORY, OPTION_NAMES, "client, key");
  const client = o["client"] as Record<string, unknown> | null | undefined;
  if (typeof client !== "object" || client === null || (typeof client["call"] !== "function" && typeof client["sendCommand"] !== "function")) {
    throw invalidConfig(`${FACTORY}: client must be a node-redis or ioredis client`);
  }
  const rawKey = o["key"];
  if (typeof rawKey !== "string" || rawKey === "" || rawKey.length > 512 || rawKey.endsWith(":lock")) {
    throw invalidConfig(`${FACTORY}: key must be a non-empty string of at most 512 characters, not ending in ":lock" (the lease's suffix)`);
  }
  const key: string = rawKey;
  const leaseMs = positiveMs(o, "leaseMs", 15_000, FACTORY);
  const lockTimeoutMs = positiveMs(o, "lockTimeoutMs", 40_000, FACTORY);
  const commandTimeoutMs = positiveMs(o, "commandTimeoutMs", 5_000, FACTORY);
  const persistence = o["persistence"] ?? "require";
  if (persistence !== "require" && persistence !== "warn" && persistence !== "off") {
    throw invalidConfig(`${FACTORY}: persistence must be "require", "warn" or "off"`);
  }
  if (o["onWarning"] !== undefined && typeof o["onWarning"] !== "function") throw invalidConfig(`${FACTORY}: onWarning must be a function`);
  const warn = (o["onWarning"] as ((m: string) => void) | undefined) ?? ((m: string) => process.emitWarning(m, "OAuthDeviceFlowWarning"));
  const lockKey = `${key}:lock`;
  const store = "Redis token store";

  // ioredis also has a `sendCommand`, taking its own Command objects: `call` identifies it.
  const send: (args: string[]) => Promise<unknown> =
    typeof client["call"] === "function"
      ? (args) => (client as unknown as IORedisLike).call(args[0] ?? "", ...args.slice(1))
      : (args) => (client as unknown as NodeRedisLike).sendCommand(args);

  /** One command, bounded; any failure becomes a retryable `storage_error` naming `what`. */
  async function command(what: string, args: string[]): Promise<unknown> {
    try {
      return await withTimeout(Promise.resolve().then(() => send(args)), commandTimeoutMs, () =>
        storageError(`The ${store} could not ${what}: Redis did not answer within ${commandTimeoutMs} ms; try again.`),
      );
    } catch (e) {
      if (e instanceof OAuthDeviceFlowError) throw e;
      throw storageError(`The ${store} could not ${what} (${failureCode(e)}); try again.`);
    }
  }

  const script = (what: string, body: string, keys: string[], args: string[]) =>
    command(what, ["EVAL", body, String(keys.length), ...keys, ...args]);

  let checked: Promise<void> | undefined;
  /** The persistence check, once (again after a failure to reach Redis). */
  function ready(): Promise<void> {
    if (persistence === "off") return Promise.resolve();
    checked ??= checkPersistence().catch((e: unknown) => {
      if ((e as { retryable?: unknown }).retryable === true) checked = undefined;
      throw e;
    });
    return checked;
  }

  async function checkPersistence(): Promise<void> {
    let reply: unknown;
    try {
      reply = await withTimeout(Promise.resolve().then(() => send(["CONFIG", "GET", "appendonly"])), commandTimeoutMs, () =>
        storageError(`The ${store} could not check Redis's persistence: Redis did not answer within ${commandTimeoutMs} ms; try again.`),
      );
    } catch (e) {
      if (e instanceof OAuthDeviceFlowError) throw e;
      const code = failureCode(e);
      const message = typeof (e as { message?: unknown })?.message === "string" ? (e as { message: string }).message : "";
      if (!/^(NOPERM|ERR)\b/.test(message)) throw storageError(`The ${store} could not check Redis's persistence (${code}); try again.`);
      // CONFIG renamed or forbidden (managed services, ACLs): nothing to learn here.
      warn(`${store}: could not check that Redis persists writes (CONFIG GET appendonly: ${code}). Make sure it runs with appendonly yes, or a restart can lose the rotated refresh token and sign the user out.`);
      return;
    }
    const aof = configValue(reply, "appendonly");
    if (aof === "yes") return;
    const message = `Redis runs without AOF (appendonly ${aof ?? "unknown"}): a restart can lose the rotated refresh token and sign the user out. Set "appendonly yes" (and "appendfsync always" or "everysec") in redis.conf, or pass persistence: "warn" to accept that.`;
    if (persistence === "warn") return warn(`${store}: ${message}`);
    throw storageError(`The ${store} refuses to work: ${message}`, false);
  }

  async function load(): Promise<OAuthTokens | null> {
    await ready();
    const reply = await command("read the tokens", ["HMGET", key, "schema", "tokens"]);
    const [schema, raw] = Array.isArray(reply) ? reply.map(text) : [null, null];
    if (schema === null || schema === undefined) return null; // never written: nobody signed in
    if (schema !== String(STORED_TOKENS_SCHEMA)) {
      throw storageError(`The ${store} key ${key} holds schema ${schema.slice(0, 8)}, not ${STORED_TOKENS_SCHEMA}; upgrade this program or sign in again.`, false);
    }
    if (raw === null || raw === undefined || raw === "") return null; // signed out
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      // JSON.parse's message quotes the text: never attach or repeat it.
      parsed = undefined;
    }
    const tokens = readTokens(parsed);
    if (tokens === undefined) throw storageError(`The ${store} key ${key} holds malformed tokens; sign in again.`, false);
    return tokens;
  }

  async function save(next: OAuthTokens, previous: OAuthTokens): Promise<boolean> {
    const clean = cleanTokens(next, store);
    const previousId = tokenIdentity(cleanTokens(previous, store));
    await ready();
    const reply = await script("save the refreshed tokens", CAS_SAVE, [key], [previousId, tokenIdentity(clean), JSON.stringify(clean)]);
    return Number(reply) > 0;
  }

  async function replace(tokens: OAuthTokens | null): Promise<void> {
    const clean = tokens === null ? null : cleanTokens(tokens, store);
    await lock(async () => {
      await script(clean === null ? "sign out" : "store the signed-in tokens", REPLACE, [key], clean === null ? ["", ""] : [JSON.stringify(clean), tokenIdentity(clean)]);
    });
  }

  async function acquire(owner: string): Promise<void> {
    const deadline = Date.now() + lockTimeoutMs;
    for (let attempt = 0; ; attempt++) {
      let reply: unknown;
      try {
        reply = await command("take the lock", ["SET", lockKey, owner, "NX", "PX", String(leaseMs)]);
      } catch (e) {
        // The SET may have landed with its reply lost: free it if so (best effort).
        script("release the lock", RELEASE, [lockKey], [owner]).catch(() => undefined);
        throw e;
      }
      if (text(reply) === "OK") return;
      const left = deadline - Date.now();
      if (left <= 0) {
        throw storageError(`Another replica has held the ${store}'s lock ${lockKey} for over ${lockTimeoutMs} ms; try again.`);
      }
      // Redis has no wait-for-key-deletion primitive: poll, soon at first, then every 10-40 ms.
      const pause = Math.min(left, attempt < 3 ? 5 : 10 + Math.floor(Math.random() * 30));
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }

  async function lock<T>(fn: () => Promise<T>): Promise<T> {
    await ready();
    const owner = randomOwner();
    await acquire(owner);
    let extending: Promise<unknown> = Promise.resolve();
    const heartbeat = setInterval(() => {
      // One extension at a time; a failed or refused one is not fatal: the save is fenced.
      extending = extending.then(() => script("extend the lock", EXTEND, [lockKey], [owner, String(leaseMs)]).catch(() => undefined));
    }, Math.max(10, Math.floor(leaseMs / 3)));
    try {
      return await fn();
    } finally {
      clearInterval(heartbeat);
      await extending;
      await script("release the lock", RELEASE, [lockKey], [owner]).catch(() => undefined);
    }
  }

  return {
    key,
    load: () => load(),
    save: (next: OAuthTokens, previous: OAuthTokens) => save(next, previous),
    replace: (tokens: OAuthTokens | null) => replace(tokens),
    lock,
  };
}
