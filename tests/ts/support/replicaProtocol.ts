/**
 * The messages between tests/ts/support/replicaSuite.ts and its replicas (tests/ts/support/replicaWorker.ts), and
 * what both read from a token request (not a test file itself; no side effects on import).
 */

export type ClientKind = "node-redis" | "ioredis" | "pg";

export interface ReplicaConfig {
  client: ClientKind;
  url: string;
  key: string;
  table?: string;
  issuer: string;
  skewMs: number;
  leaseMs: number;
  lockTimeoutMs: number;
  commandTimeoutMs: number;
}

export type CallResult =
  | { ok: true; accessToken: string }
  | { ok: false; code: string; retryable: boolean; cause?: string; message: string };

export type ToReplica =
  | { type: "open"; config: ReplicaConfig }
  | { type: "calls"; id: number; n: number; now: number }
  | { type: "stall"; when: "before-refresh" | "after-refresh" }
  | { type: "resume" }
  | { type: "close" };

export type FromReplica =
  | { type: "ready"; pid: number }
  | { type: "opened" }
  | { type: "done"; id: number; results: CallResult[] }
  | { type: "stalled"; when: "before-refresh" | "after-refresh" }
  | { type: "saved"; result: boolean | "error"; accessToken: string }
  | { type: "closed" }
  | { type: "failed"; message: string };

