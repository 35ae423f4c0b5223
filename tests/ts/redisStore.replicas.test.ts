/**
 * Several replicas, one login, on Redis: 4 Node processes (two on node-redis, two on ioredis)
 * share one login in a private redis-server (AOF, `appendfsync always`), against the mock's
 * single-use rotating refresh tokens, across 6 expiries, then the faults (tests/ts/support/replicaSuite.ts).
 */
import { createClient } from "redis";
import { createRedisStore } from "../../js/redisStore.ts";
import { replicaSuite } from "./support/replicaSuite.ts";
import { startRedis } from "./support/storeServers.ts";

const clients: Array<{ destroy(): void }> = [];

replicaSuite({
  name: "Redis",
  clients: ["node-redis", "ioredis", "node-redis", "ioredis"],
  start: () => startRedis(),
  urlAt: (port) => `redis://127.0.0.1:${port}`,
  open: async (url, key, options = {}) => {
    const c = createClient({ url, disableOfflineQueue: true, socket: { reconnectStrategy: (n: number) => Math.min(20 * (n + 1), 200) } });
    c.on("error", () => undefined);
    await c.connect();
    clients.push(c);
    return createRedisStore({ client: c, key, ...options });
  },
  saveMarker: "oauth-device-flow: save",
  crash: "SIGKILL, AOF replayed on start",
  closeAll: async () => clients.splice(0).forEach((c) => c.destroy()),
});
