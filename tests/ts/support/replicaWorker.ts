/**
 * One replica of a backend for the Redis and PostgreSQL replica tests (not a test file itself):
 * forked by tests/ts/support/replicaSuite.ts, it talks to its parent over IPC only, and every message it
 * sends is awaited (`process.send`'s callback) before it goes on, disconnects or exits.
 *
 * On "open" it connects a client of its own (node-redis, ioredis or a pg Pool), creates the store
 * and a token session against the mock, with a clock the parent drives ("calls" carries the time).
 * "calls" runs that many `getAccessToken()` at once and reports each outcome. "stall" makes its
 * next refresh request wait for "resume", before it is sent or after its reply arrived, so the
 * parent can kill or pause the replica at that exact point (holding the lock).
 */
import { createTokenSession, openaiCodexProvider, type FetchLike, type OAuthTokens, type TokenSession } from "../../../js/oauthDeviceFlow.ts";
import { createPostgresStore } from "../../../js/postgresStore.ts";
import { createRedisStore } from "../../../js/redisStore.ts";
import { type CallResult, type FromReplica, type ReplicaConfig, type ToReplica } from "./replicaProtocol.ts";
import { refreshBody } from "./refreshRequests.ts";

const send = (m: FromReplica): Promise<void> =>
  new Promise((resolve, reject) => {
    if (process.send === undefined) return reject(new Error("no IPC channel"));
    process.send(m, undefined, undefined, (e: Error | null) => (e ? reject(e) : resolve()));
  });

let now = 0;
let session: TokenSession | undefined;
let closeClient: () => Promise<void> = async () => undefined;
let stall: "before-refresh" | "after-refresh" | undefined;
let resumeWaiter: (() => void) | undefined;
let resumedEarly = false;

function resumed(): Promise<void> {
  if (resumedEarly) {
    resumedEarly = false;
    return Promise.resolve();
  }
  return new Promise((resolve) => (resumeWaiter = resolve));
}

/** Only the driver this replica uses is imported (each costs start-up time), named by argv[2] at start. */
const drivers = {
  "node-redis": () => import("redis"),
  ioredis: () => import("ioredis"),
  pg: () => import("pg"),
};

async function connect(config: ReplicaConfig) {
  if (config.client === "node-redis") {
    const { createClient } = await drivers["node-redis"]();
    const c = createClient({ url: config.url, disableOfflineQueue: true, socket: { reconnectStrategy: (n: number) => Math.min(20 * (n + 1), 200) } });
    c.on("error", () => undefined);
    await c.connect();
    closeClient = async () => c.destroy();
    return createRedisStore({ client: c, key: config.key, leaseMs: config.leaseMs, lockTimeoutMs: config.lockTimeoutMs, commandTimeoutMs: config.commandTimeoutMs });
  }
  if (config.client === "ioredis") {
    const { Redis } = await drivers.ioredis();
    const c = new Redis(config.url, { enableOfflineQueue: false, lazyConnect: true, retryStrategy: (n: number) => Math.min(20 * n, 200) });
    c.on("error", () => undefined);
    await c.connect();
    closeClient = async () => c.disconnect();
    return createRedisStore({ client: c, key: config.key, leaseMs: config.leaseMs, lockTimeoutMs: config.lockTimeoutMs, commandTimeoutMs: config.commandTimeoutMs });
  }
  const { default: pg } = await drivers.pg();
  const pool = new pg.Pool({ connectionString: config.url, max: 4, connectionTimeoutMillis: config.commandTimeoutMs });
  pool.on("error", () => undefined);
  closeClient = () => pool.end();
  return createPostgresStore({
    pool,
    key: config.key,
    ...(config.table === undefined ? {} : { table: config.table }),
    leaseMs: config.leaseMs,
    lockTimeoutMs: config.lockTimeoutMs,
    commandTimeoutMs: config.commandTimeoutMs,
  });
}

async function open(config: ReplicaConfig): Promise<void> {
  await closeClient();
  const store = await connect(config);
  // The store as the session sees it, with every save's outcome reported to the parent.
  const observed = {
    load: () => store.load(),
    save: async (next: OAuthTokens, previous: OAuthTokens) => {
      let result: boolean;
      try {
        result = await store.save(next, previous);
      } catch (e) {
        await send({ type: "saved", result: "error", accessToken: next.accessToken });
        throw e;
      }
      await send({ type: "saved", result, accessToken: next.accessToken });
      return result;
    },
    replace: (tokens: OAuthTokens | null) => store.replace(tokens),
    lock: <T>(fn: () => Promise<T>) => store.lock(fn),
  };
  const stallingFetch: FetchLike = async (url, init) => {
    const refresh = refreshBody(init.body) !== undefined;
    if (refresh && stall === "before-refresh") {
      stall = undefined;
      await send({ type: "stalled", when: "before-refresh" });
      await resumed();
    }
    const res = await (fetch as unknown as FetchLike)(url, init);
    if (!(refresh && stall === "after-refresh")) return res;
    stall = undefined;
    const body = await res.text(); // the server has answered: the old refresh token is spent
    await send({ type: "stalled", when: "after-refresh" });
    await resumed();
    return { status: res.status, headers: res.headers, text: async () => body };
  };
  session = createTokenSession({
    provider: openaiCodexProvider({ issuer: config.issuer }),
    fetch: stallingFetch,
    clock: () => now,
    store: observed,
    skewMs: config.skewMs,
    timeoutMs: 30_000,
  });
}

async function calls(n: number): Promise<CallResult[]> {
  const s = session;
  if (s === undefined) throw new Error("calls before open");
  return Promise.all(
    Array.from({ length: n }, async (_, i): Promise<CallResult> => {
      // Spread over a few milliseconds, so some calls arrive while another replica holds the lock.
      await new Promise((resolve) => setTimeout(resolve, (i * 7) % 5));
      try {
        return { ok: true, accessToken: await s.getAccessToken() };
      } catch (e) {
        const err = e as { code?: unknown; retryable?: unknown; cause?: { code?: unknown }; message?: unknown };
        return {
          ok: false,
          code: String(err.code ?? "unknown"),
          retryable: err.retryable === true,
          ...(err.cause?.code === undefined ? {} : { cause: String(err.cause.code) }),
          message: String(err.message ?? e),
        };
      }
    }),
  );
}

process.on("message", (m: ToReplica) => {
  const handle = async (): Promise<void> => {
    if (m.type === "open") {
      await open(m.config);
      return send({ type: "opened" });
    }
    if (m.type === "calls") {
      now = m.now;
      return send({ type: "done", id: m.id, results: await calls(m.n) });
    }
    if (m.type === "stall") {
      stall = m.when;
      return;
    }
    if (m.type === "resume") {
      if (resumeWaiter === undefined) resumedEarly = true;
      resumeWaiter?.();
      resumeWaiter = undefined;
      return;
    }
    if (m.type === "close") {
      await closeClient();
      await send({ type: "closed" });
      process.disconnect();
    }
  };
  handle().catch((e: unknown) => send({ type: "failed", message: String((e as Error)?.stack ?? e) }).catch(() => undefined));
});

const preload = process.argv[2];
if (preload === "node-redis" || preload === "ioredis" || preload === "pg") await drivers[preload]();
await send({ type: "ready", pid: process.pid });
