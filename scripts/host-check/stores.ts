/**
 * The subpath entries `oauth-device-flow-wasm/redis` and `/postgres` from the installed package
 * (run by tsx, type-checked by tsc): they resolve, carry their types, and raise the package's own
 * error class. No driver is installed here: the stores take the host's client, so a minimal object
 * of the documented shape stands in for it (the real clients are tested in the repository).
 */
import assert from "node:assert/strict";
import { OAuthDeviceFlowError } from "oauth-device-flow-wasm";
import { createPostgresStore, type PgPoolLike } from "oauth-device-flow-wasm/postgres";
import { createRedisStore, type NodeRedisLike } from "oauth-device-flow-wasm/redis";

const client: NodeRedisLike = { sendCommand: async () => null };
const redis = createRedisStore({ client, key: "oauth:tokens:smoke", persistence: "off" });
assert.equal(await redis.load(), null);
assert.throws(() => createRedisStore({ client, key: "" }), (e: unknown) => e instanceof OAuthDeviceFlowError && e.code === "invalid_config");

const pool: PgPoolLike = {
  query: async () => ({ rows: [], rowCount: 0 }),
  connect: async () => ({ query: async () => ({ rows: [], rowCount: 0 }), release: () => undefined }),
};
const postgres = createPostgresStore({ pool, key: "smoke", persistence: "off" });
assert.equal(await postgres.load(), null);
assert.throws(() => createPostgresStore({ pool, key: "k", table: "a;b" }), (e: unknown) => e instanceof OAuthDeviceFlowError && e.code === "invalid_config");
console.log("stores.ts: ok");
