/**
 * Compiled by `tsc -p tsconfig.json --noEmit` (never run): the Redis and PostgreSQL stores accept
 * the real clients as hosts create them, without a cast, and fit where a `TokenStore` goes.
 */
import { Redis } from "ioredis";
import pg from "pg";
import { createClient } from "redis";
import type { OAuthTokens } from "../../js/oauthDeviceFlow.ts";
import { createPostgresStore, type PostgresTokenStore } from "../../js/postgresStore.ts";
import { createRedisStore, type RedisTokenStore } from "../../js/redisStore.ts";

export function nodeRedis(): RedisTokenStore {
  const client = createClient({ url: "redis://127.0.0.1:6379", disableOfflineQueue: true });
  return createRedisStore({ client, key: "oauth:tokens:alice" });
}

export function nodeRedisRespThree(): RedisTokenStore {
  return createRedisStore({ client: createClient({ RESP: 3 }), key: "k" });
}

export function ioredis(): RedisTokenStore {
  return createRedisStore({ client: new Redis("redis://127.0.0.1:6379", { enableOfflineQueue: false }), key: "oauth:tokens:alice" });
}

export function pgPool(): PostgresTokenStore {
  const pool = new pg.Pool({ connectionString: "postgres://app@127.0.0.1/app" });
  return createPostgresStore({ pool, key: "alice" });
}

export function pgClient(client: pg.PoolClient): Promise<pg.QueryResult> {
  // A checked-out client also runs the store's queries (what `lock` does with it).
  return client.query("SELECT 1", []);
}

/** The store contract agreed for the session (`save` resolves whether `next` was stored; `replace`). */
interface ContractTokenStore {
  load(): Promise<OAuthTokens | null>;
  save(next: OAuthTokens, previous: OAuthTokens): Promise<boolean>;
  replace(tokens: OAuthTokens | null): Promise<void>;
  lock?<T>(fn: () => Promise<T>): Promise<T>;
}

export function fitContract(): ContractTokenStore[] {
  return [nodeRedis(), ioredis(), pgPool()];
}
