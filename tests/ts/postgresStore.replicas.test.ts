/**
 * Several replicas, one login, on PostgreSQL: 4 Node processes, each with its own `pg` Pool, share
 * one login in a private PostgreSQL 15 cluster, against the mock's single-use rotating refresh
 * tokens, across 6 expiries, then the faults (tests/ts/support/replicaSuite.ts).
 */
import pg from "pg";
import { createPostgresStore } from "../../js/postgresStore.ts";
import { replicaSuite } from "./support/replicaSuite.ts";
import { startPostgres } from "./support/storeServers.ts";

const pools: pg.Pool[] = [];

replicaSuite({
  name: "PostgreSQL",
  clients: ["pg"],
  start: () => startPostgres(),
  urlAt: (port) => `postgres://postgres@127.0.0.1:${port}/postgres`,
  open: async (url, key, options = {}) => {
    const pool = new pg.Pool({ connectionString: url, max: 4, connectionTimeoutMillis: 1_000 });
    pool.on("error", () => undefined);
    pools.push(pool);
    return createPostgresStore({ pool, key, ...options });
  },
  saveMarker: "oauth-device-flow save",
  crash: "immediate shutdown, crash recovery on start",
  closeAll: async () => {
    await Promise.all(pools.splice(0).map((p) => p.end().catch(() => undefined)));
  },
});
