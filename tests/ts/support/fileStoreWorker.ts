/**
 * A child process for the file store's multi-process tests (not a test file itself): started with
 * `fork` by tests/ts/fileStore.multiprocess.test.ts, it talks to its parent over IPC only.
 *
 * Roles (argv[2]):
 * - `session`: a token session over a shared file store against the mock; on "go" it calls
 *   `getAccessToken()` in a loop until it has seen `generations` different access tokens, then
 *   reports every call, every refresh request it sent and every save it made;
 * - `pause-save`: saves `next` and stops for good between the synced temp file and the rename
 *   (it reports "paused" and waits to be killed);
 * - `pause-refresh`: one `getAccessToken()` whose save stops the same way, after the refresh;
 * - `save-loop`: saves generation after generation until it is killed.
 */
import {
  createFileStore,
  createTokenSession,
  openaiCodexProvider,
  type FetchLike,
  type OAuthTokens,
} from "../../../js/oauthDeviceFlow.ts";
import { refreshBody } from "./refreshRequests.ts";

export interface CallRecord {
  start: number;
  end: number;
  accessToken: string;
}
export interface RefreshRecord {
  sentAt: number;
  refreshToken: string;
}
export interface SaveRecord {
  at: number;
  tokens: OAuthTokens;
}
export interface SessionReport {
  type: "report";
  pid: number;
  calls: CallRecord[];
  refreshes: RefreshRecord[];
  saves: SaveRecord[];
  errors: string[];
}
export interface GoMessage {
  type: "go";
  issuer: string;
  storePath: string;
  skewMs: number;
  generations: number;
  hardStopAt: number;
}
export type WorkerMessage =
  | { type: "ready"; pid: number }
  | { type: "paused"; tempPath: string }
  | SessionReport
  | { type: "failed"; code: string; message: string };


/**
 * Sends `m` to the parent and resolves once it has been written to the IPC channel. A worker must
 * await this before it disconnects or exits: `process.disconnect()` right after `process.send()`
 * drops a large message still being written (the parent then sees an exit without the report).
 */
const send = (m: WorkerMessage): Promise<void> =>
  new Promise((resolve) => {
    if (process.send === undefined) return resolve();
    process.send(m, undefined, {}, () => resolve());
  });
const forever = (): Promise<void> => new Promise(() => setInterval(() => undefined, 60_000));
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function fail(e: unknown): Promise<void> {
  const err = e as { code?: unknown; message?: unknown };
  return send({ type: "failed", code: String(err?.code ?? "unknown"), message: String(err?.message ?? e) });
}

async function session(go: GoMessage): Promise<void> {
  const calls: CallRecord[] = [];
  const refreshes: RefreshRecord[] = [];
  const saves: SaveRecord[] = [];
  const errors: string[] = [];
  const file = createFileStore({ path: go.storePath, lockTimeoutMs: 10_000 });
  const store = {
    load: () => file.load(),
    save: async (next: OAuthTokens, previous: OAuthTokens) => {
      const saved = await file.save(next, previous);
      saves.push({ at: Date.now(), tokens: next });
      return saved;
    },
    replace: (tokens: OAuthTokens | null) => file.replace(tokens),
    lock: <T>(fn: () => Promise<T>) => file.lock(fn),
  };
  const recordingFetch: FetchLike = async (url, init) => {
    const spent = refreshBody(init.body);
    if (spent !== undefined) refreshes.push({ sentAt: Date.now(), refreshToken: spent });
    return (fetch as unknown as FetchLike)(url, init);
  };
  const s = createTokenSession({
    provider: openaiCodexProvider({ issuer: go.issuer }),
    fetch: recordingFetch,
    clock: Date.now,
    store,
    skewMs: go.skewMs,
    timeoutMs: 5_000,
  });
  const seen = new Set<string>();
  while (seen.size < go.generations && Date.now() < go.hardStopAt) {
    const start = Date.now();
    try {
      const accessToken = await s.getAccessToken();
      calls.push({ start, end: Date.now(), accessToken });
      seen.add(accessToken);
    } catch (e) {
      errors.push(String((e as { code?: unknown }).code ?? e));
    }
    await sleep(5 + Math.floor(Math.random() * 15));
  }
  await send({ type: "report", pid: process.pid, calls, refreshes, saves, errors });
}

async function main(): Promise<void> {
  const role = process.argv[2];
  const storePath = process.argv[3] ?? "";
  const pause = async (tempPath: string) => {
    await send({ type: "paused", tempPath });
    await forever();
  };
  if (role === "session") {
    process.once("message", (m: GoMessage) => {
      session(m)
        .catch((e: unknown) => fail(e))
        .finally(() => process.disconnect());
    });
    void send({ type: "ready", pid: process.pid });
    return;
  }
  if (role === "pause-save") {
    const [next, previous] = JSON.parse(process.argv[4] ?? "[]") as [OAuthTokens, OAuthTokens];
    await createFileStore({ path: storePath, beforeRename: pause }).save(next, previous);
    return;
  }
  if (role === "pause-refresh") {
    const [issuer, skewMs] = JSON.parse(process.argv[4] ?? "[]") as [string, number];
    const s = createTokenSession({
      provider: openaiCodexProvider({ issuer }),
      fetch: fetch as unknown as FetchLike,
      clock: Date.now,
      store: createFileStore({ path: storePath, beforeRename: pause }),
      skewMs,
      timeoutMs: 5_000,
    });
    await s.getAccessToken();
    return;
  }
  if (role === "save-loop") {
    const store = createFileStore({ path: storePath });
    let previous: OAuthTokens = { accessToken: "gen-0", tokenType: "Bearer", refreshToken: "rt-0" };
    void send({ type: "ready", pid: process.pid });
    for (let i = 1; ; i++) {
      // A large body, so that a kill often lands in the middle of writing it.
      const next: OAuthTokens = { accessToken: `gen-${i}`, tokenType: "Bearer", refreshToken: `rt-${i}`, idToken: "x".repeat(200_000) };
      await store.save(next, previous);
      previous = next;
    }
  }
  throw new Error(`unknown role ${role ?? ""}`);
}

main().catch((e: unknown) => fail(e));
