/**
 * The file store shared by real Node processes against the embedded mock, whose refresh tokens are
 * single-use and rotate (a reuse is `401 refresh_token_reused`), with real short token lifetimes:
 * - 4 processes each call `getAccessToken()` in a loop across several expiries: exactly one refresh
 *   per expiry, none early, zero reuse, every token handed out still valid (counted from the mock's
 *   request log and the workers' own records);
 * - a process killed (SIGKILL) inside `save` leaves the old file or the new one, never a torn one;
 * - a process killed after its refresh but before its save completes loses the rotated token:
 *   the next holder gets `reauth_required` (cause `refresh_token_reused`), not a silent wrong state.
 * The child processes run tests/ts/support/fileStoreWorker.ts.
 */
import assert from "node:assert/strict";
import { fork, type ChildProcess } from "node:child_process";
import { promises as fs } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test, type TestContext } from "node:test";
import { fileURLToPath } from "node:url";
import {
  createFileStore,
  createTokenSession,
  openaiCodexProvider,
  pollDeviceToken,
  requestDeviceCode,
  OAuthDeviceFlowError,
  type FetchLike,
  type OAuthProvider,
  type OAuthTokens,
} from "../../js/oauthDeviceFlow.ts";
import { startMockServer, type MockServer } from "../../demo/mockServer.ts";
import type { GoMessage, SessionReport, WorkerMessage } from "./support/fileStoreWorker.ts";
import { refreshBody } from "./support/refreshRequests.ts";

const WORKER = fileURLToPath(new URL("./support/fileStoreWorker.ts", import.meta.url));
const PROCESSES = 4;
/** The mock's access token lifetime (s) and the sessions' skew (ms): a token is due 1 s after it is issued. */
const LIFETIME_SEC = 2;
const SKEW_MS = 1_000;
/** Each worker stops once it has been handed this many different access tokens (4 expiries). */
const GENERATIONS = 5;

interface Worker {
  child: ChildProcess;
  next(type: WorkerMessage["type"]): Promise<WorkerMessage>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startWorker(t: TestContext, args: string[]): Worker {
  const child = fork(WORKER, args, { execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const inbox: WorkerMessage[] = [];
  const waiters: Array<() => void> = [];
  child.on("message", (m: WorkerMessage) => {
    inbox.push(m);
    waiters.splice(0).forEach((w) => w());
  });
  // "exit" can come before the last IPC messages are delivered: the worker is gone only once it has
  // exited and its IPC channel is closed (every message it sent has arrived by then).
  const disconnected = new Promise<void>((resolve) => child.once("disconnect", () => resolve()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => {
      const status = { code, signal };
      if (!child.connected) resolve(status);
      else void disconnected.then(() => resolve(status));
    }),
  );
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  });
  const next = async (type: WorkerMessage["type"]): Promise<WorkerMessage> => {
    for (;;) {
      const failed = inbox.find((m) => m.type === "failed");
      if (failed && type !== "failed") assert.fail(`worker failed: ${JSON.stringify(failed)}`);
      const i = inbox.findIndex((m) => m.type === type);
      if (i >= 0) return inbox.splice(i, 1)[0]!;
      const gone = await Promise.race([new Promise<false>((resolve) => waiters.push(() => resolve(false))), exited.then(() => true)]);
      if (gone && !inbox.some((m) => m.type === type || m.type === "failed")) assert.fail(`worker exited before "${type}"`);
    }
  };
  return { child, next, exited };
}

async function tempPath(t: TestContext): Promise<string> {
  const dir = await fs.mkdtemp(join(tmpdir(), "file-store-mp-"));
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  return join(dir, "tokens.json");
}

async function withMock(t: TestContext, lifetimeSec: number): Promise<MockServer> {
  const mock = await startMockServer({ tokenLifetimeSec: lifetimeSec, intervalSec: 1 });
  t.after(() => mock.stop());
  return mock;
}

/** A device sign-in on the real clock (approved on the page at once): a fresh token set. */
async function signIn(mock: MockServer, provider: OAuthProvider): Promise<OAuthTokens> {
  const deps = { fetch: fetch as unknown as FetchLike, clock: Date.now, timeoutMs: 5_000 };
  const code = await requestDeviceCode(provider, deps);
  assert.equal(mock.approve(code.userCode), true);
  const result = await pollDeviceToken(provider, code, deps);
  assert.equal(result.status, "success");
  if (result.status !== "success") throw new Error("unreachable");
  return result.tokens;
}

/** Refresh requests in the mock's log, in order: the refresh token spent, the reply's status and tokens. */
function refreshLog(mock: MockServer) {
  return mock.log
    .map((e) => ({ e, body: refreshBody(e.body) }))
    .filter(({ e, body }) => e.path === "/oauth/token" && body !== undefined)
    .map(({ e, body }) => {
      const reply = JSON.parse(e.reply || "{}") as { access_token?: string; refresh_token?: string };
      return { spent: body ?? "", status: e.status, accessToken: reply.access_token, refreshToken: reply.refresh_token };
    });
}

const reuseErrors = (mock: MockServer) => mock.log.filter((e) => e.reply.includes("refresh_token_reused")).length;

describe("several processes on one file store", () => {
  test(`${PROCESSES} processes calling getAccessToken() in a loop across ${GENERATIONS - 1} expiries: exactly one refresh per expiry, none early, zero refresh_token_reused`, async (t) => {
    const mock = await withMock(t, LIFETIME_SEC);
    const provider = openaiCodexProvider({ issuer: mock.url });
    const path = await tempPath(t);
    const workers = Array.from({ length: PROCESSES }, () => startWorker(t, ["session"]));
    await Promise.all(workers.map((w) => w.next("ready")));

    // Sign in only now, so the first token's lifetime is not spent waiting for the workers to start.
    const first = await signIn(mock, provider);
    await createFileStore({ path }).replace(first);
    const go: GoMessage = { type: "go", issuer: mock.url, storePath: path, skewMs: SKEW_MS, generations: GENERATIONS, hardStopAt: Date.now() + 20_000 };
    workers.forEach((w) => w.child.send(go));
    const reports = (await Promise.all(workers.map((w) => w.next("report")))) as SessionReport[];
    const exits = await Promise.all(workers.map((w) => w.exited));
    assert.deepEqual(exits, workers.map(() => ({ code: 0, signal: null })));
    assert.deepEqual(reports.map((r) => r.errors), workers.map(() => []), "no call failed");

    // The chain of refreshes from the mock's log: each spends the refresh token the previous one issued.
    const log = refreshLog(mock);
    const generations: Array<{ accessToken: string; refreshToken: string }> = [{ accessToken: first.accessToken, refreshToken: first.refreshToken ?? "" }];
    for (const r of log) {
      assert.equal(r.status, 200, "every refresh succeeded");
      assert.equal(r.spent, generations.at(-1)!.refreshToken, "each refresh spends the newest refresh token, once");
      generations.push({ accessToken: r.accessToken ?? "", refreshToken: r.refreshToken ?? "" });
    }
    assert.equal(reuseErrors(mock), 0, "zero refresh_token_reused");

    // Expiry times as the sessions saw them: the first set's, then each saved set's.
    const saves = reports.flatMap((r) => r.saves);
    assert.equal(saves.length, log.length, "one save per refresh");
    const expiresAt = new Map<string, number>([[first.accessToken, first.expiresAt ?? Number.NaN]]);
    for (const s of saves) expiresAt.set(s.tokens.accessToken, s.tokens.expiresAt ?? Number.NaN);
    const due = generations.map((g) => {
      const exp = expiresAt.get(g.accessToken);
      assert.ok(exp !== undefined && Number.isFinite(exp), "every generation was saved with its expiry");
      return exp - SKEW_MS;
    });

    // An expiry is a generation some process asked for a token after it was due.
    const calls = reports.flatMap((r) => r.calls);
    const expiries = due.filter((d) => calls.some((c) => c.start >= d)).length;
    assert.ok(expiries >= 3, `at least 3 expiries (${expiries})`);
    assert.equal(log.length, expiries, "exactly one refresh per expiry");

    // None early: the process that refreshed a generation sent the request once it was due.
    const sent = reports.flatMap((r) => r.refreshes);
    assert.equal(sent.length, log.length, "every refresh request came from one of the workers");
    for (const s of sent) {
      const g = generations.findIndex((x) => x.refreshToken === s.refreshToken);
      assert.ok(g >= 0 && s.sentAt >= due[g]!, `generation ${g} refreshed at or after it was due`);
    }
    // Every token handed out was still valid when the call returned.
    for (const c of calls) {
      const exp = expiresAt.get(c.accessToken);
      assert.ok(exp !== undefined && c.end < exp, "a handed-out access token was valid");
    }
    // Every process ran across at least 3 expiries.
    for (const r of reports) {
      const crossed = due.filter((d) => r.calls.some((c) => c.start < d) && r.calls.some((c) => c.start >= d)).length;
      assert.ok(crossed >= 3, `process ${r.pid} crossed ${crossed} expiries`);
    }
    const perProcess = reports.map((r) => r.refreshes.length);
    t.diagnostic(
      `measured: processes=${PROCESSES} expiries=${expiries} refreshes=${log.length} (per expiry ${log.length / expiries}) ` +
        `refresh_token_reused=${reuseErrors(mock)} calls=${calls.length} refreshes by process=${perProcess.join("/")}`,
    );
  });
});

describe("crash semantics", () => {
  const A: OAuthTokens = { accessToken: "at-A", tokenType: "Bearer", refreshToken: "rt-A", expiresAt: 1 };
  const B: OAuthTokens = { accessToken: "at-B", tokenType: "Bearer", refreshToken: "rt-B", idToken: "id-B", expiresAt: 2 };

  test("SIGKILL between the synced temp file and the rename: the file still holds the old tokens; a save removes the dead writer's temp file once it is older than staleLockMs", async (t) => {
    const path = await tempPath(t);
    const store = createFileStore({ path });
    await store.replace(A);
    const w = startWorker(t, ["pause-save", path, JSON.stringify([B, A])]);
    const paused = (await w.next("paused")) as { type: "paused"; tempPath: string };
    assert.deepEqual(JSON.parse(await fs.readFile(paused.tempPath, "utf8")), { version: 1, tokens: B }, "the new file is complete before the rename");
    w.child.kill("SIGKILL");
    assert.deepEqual(await w.exited, { code: null, signal: "SIGKILL" });
    assert.deepEqual(await store.load(), A, "the old file, whole");
    await store.save(B, A);
    assert.deepEqual(await store.load(), B);
    await fs.access(paused.tempPath); // a pid proves nothing (another PID namespace): only age does
    const old = new Date(Date.now() - 20_001); // older than the default staleLockMs
    await fs.utimes(paused.tempPath, old, old);
    await store.save(B, A);
    await assert.rejects(fs.stat(paused.tempPath), { code: "ENOENT" });
  });

  test("SIGKILL at random moments of a save loop (200 KB files): every time the file loads as one whole generation, never a torn one", async (t) => {
    const path = await tempPath(t);
    const store = createFileStore({ path });
    await store.replace({ accessToken: "gen-0", tokenType: "Bearer", refreshToken: "rt-0" });
    const seen: number[] = [];
    for (let round = 0; round < 4; round++) {
      const w = startWorker(t, ["save-loop", path]);
      await w.next("ready");
      await new Promise((resolve) => setTimeout(resolve, 20 + Math.floor(Math.random() * 150)));
      w.child.kill("SIGKILL");
      assert.equal((await w.exited).signal, "SIGKILL");
      const tokens = await store.load();
      assert.ok(tokens !== null);
      const gen = Number(tokens.accessToken.slice("gen-".length));
      assert.equal(tokens.refreshToken, `rt-${gen}`);
      assert.equal(tokens.idToken, gen === 0 ? undefined : "x".repeat(200_000));
      seen.push(gen);
      // The next round starts from this generation: rewind so gen-0 is the floor again.
      await store.replace({ accessToken: "gen-0", tokenType: "Bearer", refreshToken: "rt-0" });
    }
    t.diagnostic(`generations found after each kill: ${seen.join(", ")}`);
    assert.ok(seen.some((g) => g > 0), "some kills landed after a completed save (the new file)");
  });

  test("SIGKILL after the refresh but before its save completes: the rotated token is lost; the next holder breaks the dead lock once its heartbeat is staleLockMs old and gets reauth_required (cause refresh_token_reused), then nothing until a new sign-in", async (t) => {
    const mock = await withMock(t, 3600);
    const provider = openaiCodexProvider({ issuer: mock.url });
    const path = await tempPath(t);
    const store = createFileStore({ path });
    const first = await signIn(mock, provider);
    await store.replace(first);
    // A skew above the lifetime: every session finds the token due and refreshes.
    const skewMs = 2 * 3_600_000;
    const w = startWorker(t, ["pause-refresh", path, JSON.stringify([mock.url, skewMs])]);
    await w.next("paused");
    assert.deepEqual(refreshLog(mock).map((r) => [r.spent, r.status]), [[first.refreshToken, 200]], "the worker refreshed");
    const lockOwner = JSON.parse(await fs.readFile(`${path}.lock`, "utf8")) as { pid: number };
    assert.equal(lockOwner.pid, w.child.pid, "and holds the lock while saving");
    w.child.kill("SIGKILL");
    await w.exited;
    assert.deepEqual(await store.load(), first, "the file still holds the spent set");

    const staleLockMs = 1_000;
    const next = createFileStore({ path, staleLockMs });
    const session = createTokenSession({ provider, fetch: fetch as unknown as FetchLike, clock: Date.now, store: next, skewMs, timeoutMs: 5_000 });
    const started = Date.now();
    const e = await session.getAccessToken().then(
      () => assert.fail("expected reauth_required"),
      (err: unknown) => err,
    );
    assert.ok(e instanceof OAuthDeviceFlowError);
    assert.equal(e.code, "reauth_required");
    assert.equal(e.cause?.code, "refresh_token_reused");
    const waited = Date.now() - started;
    t.diagnostic(`measured: the dead holder's lock was broken after ${waited} ms (staleLockMs ${staleLockMs})`);
    assert.ok(waited < staleLockMs + 4_000, "the dead holder's lock was broken once its heartbeat was staleLockMs old, not waited out");
    assert.deepEqual(refreshLog(mock).map((r) => [r.spent, r.status]), [[first.refreshToken, 200], [first.refreshToken, 401]]);
    await assert.rejects(session.getAccessToken(), { code: "reauth_required" });
    assert.equal(refreshLog(mock).length, 2, "latched: no further request");
    await assert.rejects(fs.stat(`${path}.lock`), { code: "ENOENT" });

    // A new sign-in saved into the store releases the latch.
    await store.replace(await signIn(mock, provider));
    const token = await session.getAccessToken();
    assert.equal(token, refreshLog(mock).at(-1)?.accessToken);
    assert.equal(refreshLog(mock).at(-1)?.status, 200);
  });
});
