/**
 * The file store in one process: the file format, atomic writes, modes and directory permissions,
 * symbolic links, the lock file (contention, heartbeat-only staleness, timeouts, release) and
 * corrupt or newer files. Waiting runs on a fake clock whose `sleep` advances it; several processes
 * are tested in fileStore.multiprocess.test.ts, another PID namespace in fileStore.pidns.test.ts.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { promises as fs } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test, type TestContext } from "node:test";
import { FakeFetch, T0 as FAKE_T0 } from "./support/fakes.ts";
import { CODEX_TOKEN_URL, NEW as REFRESHED, NEW_REPLY, OLD as EXPIRED, codex, codexRefreshBody } from "./support/tokenSessionFakes.ts";
import {
  createFileStore,
  createTokenSession,
  OAuthDeviceFlowError,
  OPENAI_CODEX,
  type FileStoreOptions,
  type OAuthTokens,
} from "../../js/oauthDeviceFlow.ts";

const T0 = 1_790_000_000_000;
const OLD: OAuthTokens = { accessToken: "at-old", tokenType: "Bearer", refreshToken: "rt-old", expiresAt: T0 };
const NEW: OAuthTokens = { accessToken: "at-new", tokenType: "Bearer", refreshToken: "rt-new", idToken: "id-new", scope: "openid", expiresAt: T0 + 3_600_000 };

async function tempDir(t: TestContext): Promise<string> {
  const dir = await fs.mkdtemp(join(tmpdir(), "file-store-"));
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * A clock that only moves when the store sleeps on it (each sleep also yields to I/O).
 * `onSleep` runs after each step, e.g. a live holder's heartbeat.
 */
function fakeTime(start = T0) {
  const time = {
    now: start,
    sleeps: [] as number[],
    onSleep: undefined as (() => Promise<void>) | undefined,
    clock: () => time.now,
    sleep: async (ms: number) => {
      time.sleeps.push(ms);
      time.now += ms;
      await time.onSleep?.();
      await new Promise((resolve) => setImmediate(resolve));
    },
  };
  return time;
}

/** staleLockMs 4 000, lockTimeoutMs 5 000 (1.25 x: a waiter outlasts a dead holder's lock). */
const STALE = 4_000;
const WAIT = 5_000;

function store(path: string, time: ReturnType<typeof fakeTime>, extra: Partial<FileStoreOptions> = {}) {
  return createFileStore({ path, clock: time.clock, sleep: time.sleep, lockTimeoutMs: WAIT, staleLockMs: STALE, ...extra });
}

/** A holder in another process that is alive: its heartbeat keeps the lock file's mtime at "now". */
function heartbeatOf(path: string, time: ReturnType<typeof fakeTime>): void {
  time.onSleep = async () => {
    await fs.utimes(`${path}.lock`, new Date(time.now), new Date(time.now)).catch(() => undefined);
  };
}

async function rejectsWith(p: Promise<unknown>, code: string, retryable: boolean): Promise<OAuthDeviceFlowError> {
  const e = await p.then(
    () => assert.fail("expected a rejection"),
    (err: unknown) => err,
  );
  assert.ok(e instanceof OAuthDeviceFlowError, "an OAuthDeviceFlowError");
  assert.equal(e.code, code);
  assert.equal(e.retryable, retryable);
  return e;
}

/** A pid that belonged to a process on this host and no longer does. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
  deadPid.last = Number(r.stdout);
  return deadPid.last;
}
deadPid.last = 0;

async function writeLock(path: string, owner: unknown, mtimeMs: number): Promise<void> {
  await fs.writeFile(`${path}.lock`, typeof owner === "string" ? owner : JSON.stringify(owner));
  await fs.utimes(`${path}.lock`, new Date(mtimeMs), new Date(mtimeMs));
}

const mode = async (p: string) => (await fs.stat(p)).mode & 0o777;

describe("file format", () => {
  test("a missing file loads as null; replace, save then load gives the same tokens back", async (t) => {
    const path = join(await tempDir(t), "tokens.json");
    const s = createFileStore({ path });
    assert.equal(await s.load(), null);
    await s.replace(OLD);
    assert.deepEqual(await s.load(), OLD);
    await s.save(NEW, OLD);
    assert.deepEqual(await s.load(), NEW);
  });

  test("the file is JSON with schema version 1 and only the token fields (unknown fields are not persisted)", async (t) => {
    const path = join(await tempDir(t), "tokens.json");
    await createFileStore({ path }).replace({ ...OLD, extra: "x" } as OAuthTokens);
    assert.deepEqual(JSON.parse(await fs.readFile(path, "utf8")), {
      version: 1,
      tokens: { accessToken: "at-old", tokenType: "Bearer", refreshToken: "rt-old", expiresAt: T0 },
    });
  });

  test("replace(tokens) writes under the lock; replace(null) removes the file, which then loads as null", async (t) => {
    const path = join(await tempDir(t), "tokens.json");
    const s = createFileStore({ path });
    await s.replace(OLD);
    assert.deepEqual(await s.load(), OLD);
    await assert.rejects(fs.stat(`${path}.lock`), { code: "ENOENT" });
    await s.replace(null);
    await assert.rejects(fs.stat(path), { code: "ENOENT" });
    assert.equal(await s.load(), null);
  });

  test("save of something that is not OAuthTokens is invalid_config and leaves the file as it was", async (t) => {
    const path = join(await tempDir(t), "tokens.json");
    const s = createFileStore({ path });
    await s.replace(OLD);
    await rejectsWith(s.save({ accessToken: 5 } as unknown as OAuthTokens, OLD), "invalid_config", false);
    assert.deepEqual(await s.load(), OLD);
  });

  test("save writes next only over previous (or over next itself: a retried save)", async (t) => {
    const path = join(await tempDir(t), "tokens.json");
    const s = createFileStore({ path });
    await s.replace(OLD);
    await s.save(NEW, OLD);
    assert.deepEqual(await s.load(), NEW);
    await s.save(NEW, OLD);
    assert.deepEqual(await s.load(), NEW, "the retry resolves and leaves next");
  });

  test("lost race: save over a file that holds another set (a newer sign-in) resolves without writing; the file wins", async (t) => {
    const path = join(await tempDir(t), "tokens.json");
    const s = createFileStore({ path });
    const other: OAuthTokens = { accessToken: "at-other", tokenType: "Bearer", refreshToken: "rt-other" };
    await s.replace(other);
    await s.save(NEW, OLD);
    assert.deepEqual(await s.load(), other);
  });

  test("lost race: save after a sign-out (no file) resolves without writing: never a silent sign-in", async (t) => {
    const path = join(await tempDir(t), "tokens.json");
    const s = createFileStore({ path });
    await s.save(NEW, OLD);
    assert.equal(await s.load(), null);
    await assert.rejects(fs.stat(path), { code: "ENOENT" });
  });

  test("save over a file written by a newer version is refused (storage_error, not retryable) and leaves it as it is", async (t) => {
    const path = join(await tempDir(t), "tokens.json");
    const newer = JSON.stringify({ version: 2, tokens: { accessToken: "at-v2", tokenType: "Bearer", refreshToken: "rt-v2" }, more: 1 });
    await fs.writeFile(path, newer, { mode: 0o600 });
    const s = createFileStore({ path });
    const e = await rejectsWith(s.save(NEW, OLD), "storage_error", false);
    assert.match(e.message, /newer version \(schema 2\); upgrade this program/);
    assert.equal(await fs.readFile(path, "utf8"), newer, "not downgraded");
    // A sign-in replaces whatever is stored, a newer version's file too: the person chose this program.
    await s.replace(NEW);
    assert.deepEqual(await s.load(), NEW);
  });

  test("save resolves true when it wrote next, false when it dropped it", async (t) => {
    const path = join(await tempDir(t), "tokens.json");
    const s = createFileStore({ path });
    assert.equal(await s.save(NEW, OLD), false, "no file: signed out");
    await s.replace(OLD);
    assert.equal(await s.save(NEW, OLD), true);
    assert.equal(await s.save(NEW, OLD), true, "a retried save: next is stored");
    assert.equal(await s.save({ ...NEW, accessToken: "at-3", refreshToken: "rt-3" }, OLD), false, "the file holds another set");
    assert.deepEqual(await s.load(), NEW);
  });

  test("save over a file that cannot be read replaces it with next (the only set known to work)", async (t) => {
    const path = join(await tempDir(t), "tokens.json");
    await fs.writeFile(path, "{torn");
    const s = createFileStore({ path });
    await s.save(NEW, OLD);
    assert.deepEqual(await s.load(), NEW);
  });

  test("bad or unknown options throw invalid_config synchronously", () => {
    const bad: unknown[] = [
      undefined,
      {},
      { path: "" },
      { path: "/tmp/x", lockTimeoutMs: 0 },
      { path: "/tmp/x", staleLockMs: Number.NaN },
      { path: "/tmp/x", sleep: 5 },
      { path: "/tmp/x", lockTimeout: 5 },
      { path: "/tmp/x", lockTimeoutMs: 40_000, staleLockMs: 60_000 },
      { path: "/tmp/x", lockTimeoutMs: 1_249, staleLockMs: 1_000 },
      { path: "/tmp/x", staleLockMs: 60_000, lockTimeoutMs: 70_000 },
    ];
    for (const o of bad) {
      assert.throws(() => createFileStore(o as FileStoreOptions), (e: unknown) => e instanceof OAuthDeviceFlowError && e.code === "invalid_config");
    }
  });
});

describe("corrupt files are a clear error that never quotes the file", () => {
  const SECRET = "rt_SECRETSECRETSECRET_0123456789";
  const cases: Array<[string, string, RegExp]> = [
    ["torn JSON", `{"version":1,"tokens":{"accessToken":"${SECRET}","refresh`, /is not valid JSON/],
    ["not JSON at all", `${SECRET}\n`, /is not valid JSON/],
    ["no version", JSON.stringify({ tokens: { accessToken: SECRET, tokenType: "Bearer" } }), /is not a version 1 token file/],
    ["a newer schema", JSON.stringify({ version: 2, tokens: { accessToken: SECRET } }), /newer version \(schema 2\)/],
    ["malformed tokens", JSON.stringify({ version: 1, tokens: { accessToken: SECRET, tokenType: "Bearer", expiresAt: "soon" } }), /malformed tokens/],
    ["an array", JSON.stringify([SECRET]), /is not a version 1 token file/],
  ];
  for (const [name, content, message] of cases) {
    test(`${name}: storage_error, not retryable, message names the path only`, async (t) => {
      const path = join(await tempDir(t), "tokens.json");
      await fs.writeFile(path, content);
      const e = await rejectsWith(createFileStore({ path }).load(), "storage_error", false);
      assert.match(e.message, message);
      assert.ok(e.message.includes(path));
      assert.ok(!e.message.includes(SECRET) && !e.message.includes("SECRET"), "no file content in the message");
      assert.equal(e.cause, undefined);
      assert.ok(!JSON.stringify(e.toJSON()).includes("SECRET"));
    });
  }

  test("{ version: 1, tokens: null } loads as null (signed out)", async (t) => {
    const path = join(await tempDir(t), "tokens.json");
    await fs.writeFile(path, JSON.stringify({ version: 1, tokens: null }));
    assert.equal(await createFileStore({ path }).load(), null);
  });

  test("a token session over a corrupt file rejects storage_error, not retryable (as the store says), and sends no request", async (t) => {
    const path = join(await tempDir(t), "tokens.json");
    await fs.writeFile(path, `{"version":1,"tokens":{"accessToken":"${SECRET}`);
    let requests = 0;
    const session = createTokenSession({
      provider: OPENAI_CODEX,
      fetch: async () => {
        requests++;
        throw new Error("no request expected");
      },
      clock: () => T0,
      store: createFileStore({ path }),
    });
    const e = await rejectsWith(session.getAccessToken(), "storage_error", false);
    assert.ok(!e.message.includes("SECRET"));
    assert.match(e.message, /retrying cannot help/);
    assert.equal(requests, 0);
    await rejectsWith(session.getAccessToken(), "storage_error", false);
  });
});

describe("atomic write", () => {
  test("between the synced temp file and the rename, the file still holds the old tokens and the temp file (same directory, 0600) the whole new ones", async (t) => {
    const dir = await tempDir(t);
    const path = join(dir, "tokens.json");
    const seen: { temp: string; tempContent: string; tempMode: number; current: OAuthTokens | null }[] = [];
    const s = createFileStore({
      path,
      beforeRename: async (temp) => {
        seen.push({ temp, tempContent: await fs.readFile(temp, "utf8"), tempMode: await mode(temp), current: await createFileStore({ path }).load() });
      },
    });
    await s.replace(OLD);
    await s.save(NEW, OLD);
    assert.equal(seen.length, 2);
    const [, second] = seen;
    assert.ok(second);
    assert.equal(join(second.temp, ".."), dir, "temp file in the file's own directory (rename stays on one file system)");
    assert.deepEqual(second.current, OLD);
    assert.deepEqual(JSON.parse(second.tempContent), { version: 1, tokens: NEW });
    assert.equal(second.tempMode, 0o600);
    assert.deepEqual(await s.load(), NEW);
    assert.deepEqual(await fs.readdir(dir), ["tokens.json"], "no temp file left behind");
  });

  test("a failure before the rename rejects storage_error (retryable), keeps the old file and removes the temp file", async (t) => {
    const dir = await tempDir(t);
    const path = join(dir, "tokens.json");
    await createFileStore({ path }).replace(OLD);
    const s = createFileStore({
      path,
      beforeRename: () => {
        throw new Error(`disk full while writing ${NEW.refreshToken}`);
      },
    });
    const e = await rejectsWith(s.save(NEW, OLD), "storage_error", true);
    assert.ok(!e.message.includes("rt-new"));
    assert.deepEqual(await s.load(), OLD);
    assert.deepEqual(await fs.readdir(dir), ["tokens.json"]);
  });

  test("another writer's temp file is removed only when older than staleLockMs, whatever its pid", async (t) => {
    const dir = await tempDir(t);
    const path = join(dir, "tokens.json");
    const time = fakeTime();
    const old = join(dir, `.tokens.json.${process.ppid}.aaaaaa.tmp`);
    const fresh = join(dir, `.tokens.json.${deadPid()}.bbbbbb.tmp`);
    await fs.writeFile(old, "partial");
    await fs.writeFile(fresh, "partial");
    await fs.utimes(old, new Date(T0 - STALE - 1), new Date(T0 - STALE - 1));
    await fs.utimes(fresh, new Date(T0 - 10), new Date(T0 - 10));
    await store(path, time).replace(NEW);
    assert.deepEqual((await fs.readdir(dir)).sort(), [`.tokens.json.${deadPid.last}.bbbbbb.tmp`, "tokens.json"]);
  });
});

describe("modes", () => {
  test("the token file and the lock file are 0600 even with umask 000; a missing directory is created 0700", async (t) => {
    const dir = join(await tempDir(t), "nested", "dir");
    const path = join(dir, "tokens.json");
    const previous = process.umask(0o000);
    t.after(() => process.umask(previous));
    const s = createFileStore({ path });
    await s.lock(async () => assert.equal(await mode(`${path}.lock`), 0o600));
    await s.replace(OLD);
    await s.save(NEW, OLD);
    assert.equal(await mode(path), 0o600);
    assert.equal(await mode(dir), 0o700);
  });

  test("an existing token file open to group or others is made 0600 before it is loaded", async (t) => {
    const path = join(await tempDir(t), "tokens.json");
    await fs.writeFile(path, JSON.stringify({ version: 1, tokens: OLD }));
    await fs.chmod(path, 0o644);
    assert.deepEqual(await createFileStore({ path }).load(), OLD);
    assert.equal(await mode(path), 0o600);
    await fs.chmod(path, 0o666);
    const s = createFileStore({ path });
    assert.equal(await s.save(NEW, OLD), true);
    assert.equal(await mode(path), 0o600);
  });

  test("a directory writable by group or others is refused (storage_error, not retryable) by every method, and nothing is written", async (t) => {
    const dir = join(await tempDir(t), "shared");
    await fs.mkdir(dir);
    const path = join(dir, "tokens.json");
    await fs.writeFile(path, JSON.stringify({ version: 1, tokens: OLD }), { mode: 0o600 });
    for (const m of [0o777, 0o775, 0o1777, 0o757]) {
      await fs.chmod(dir, m);
      const s = store(path, fakeTime());
      const calls: Array<[string, () => Promise<unknown>]> = [
        ["load", () => s.load()],
        ["save", () => s.save(NEW, OLD)],
        ["replace", () => s.replace(NEW)],
        ["lock", () => s.lock(async () => assert.fail("fn must not run"))],
      ];
      for (const [name, call] of calls) {
        const e = await rejectsWith(call(), "storage_error", false);
        assert.match(e.message, /writable by group or others/, `${name} ${m.toString(8)}`);
        assert.ok(e.message.includes(dir));
      }
    }
    await fs.chmod(dir, 0o755);
    assert.deepEqual(await createFileStore({ path }).load(), OLD, "untouched, and a 0755 directory is fine");
    assert.deepEqual((await fs.readdir(dir)).sort(), ["tokens.json"]);
  });

  test("an existing file with a wider mode is replaced by a 0600 one on the next save", async (t) => {
    const path = join(await tempDir(t), "tokens.json");
    await fs.writeFile(path, JSON.stringify({ version: 1, tokens: OLD }), { mode: 0o644 });
    await fs.chmod(path, 0o644);
    await createFileStore({ path }).save(NEW, OLD);
    assert.equal(await mode(path), 0o600);
  });
});

describe("lock", () => {
  test("the lock file names its owner (pid, host, time) while held and is removed after; fn's value comes back", async (t) => {
    const path = join(await tempDir(t), "tokens.json");
    const time = fakeTime();
    const s = store(path, time);
    const value = await s.lock(async () => {
      const owner = JSON.parse(await fs.readFile(`${path}.lock`, "utf8")) as Record<string, unknown>;
      assert.deepEqual(owner, { pid: process.pid, host: hostname(), since: T0 });
      return 42;
    });
    assert.equal(value, 42);
    await assert.rejects(fs.stat(`${path}.lock`), { code: "ENOENT" });
  });

  test("fn's rejection comes back as it is and the lock is released", async (t) => {
    const path = join(await tempDir(t), "tokens.json");
    const s = store(path, fakeTime());
    const boom = new Error("boom");
    await assert.rejects(s.lock(async () => Promise.reject(boom)), (e: unknown) => e === boom);
    await assert.rejects(fs.stat(`${path}.lock`), { code: "ENOENT" });
  });

  test("contention: a second holder waits and gets the lock once the first releases", async (t) => {
    const path = join(await tempDir(t), "tokens.json");
    const time = fakeTime();
    const a = store(path, time);
    const b = store(path, time);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const order: string[] = [];
    const first = a.lock(async () => {
      order.push("a");
      await held;
      order.push("a done");
    });
    while (order.length === 0) await new Promise((r) => setImmediate(r));
    const second = b.lock(async () => {
      order.push("b");
    });
    while (time.sleeps.length < 3) await new Promise((r) => setImmediate(r));
    assert.deepEqual(order, ["a"], "b has not run while a holds the lock");
    release();
    await Promise.all([first, second]);
    assert.deepEqual(order, ["a", "a done", "b"]);
    assert.ok(time.now - T0 < 1_000, "b got it before its timeout");
  });

  test("30 lock() calls over 3 store instances never overlap", async (t) => {
    const path = join(await tempDir(t), "tokens.json");
    // Real time: with a shared fake clock the 29 waiters' sleeps would push it past staleLockMs
    // while the holder's real file I/O runs, and break a live lock (its heartbeat is a real timer).
    const stores = [0, 1, 2].map(() => createFileStore({ path }));
    let active = 0;
    let maxActive = 0;
    let runs = 0;
    await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        stores[i % 3]!.lock(async () => {
          active++;
          maxActive = Math.max(maxActive, active);
          await new Promise((r) => setImmediate(r));
          await new Promise((r) => setImmediate(r));
          active--;
          runs++;
        }),
      ),
    );
    assert.equal(runs, 30);
    assert.equal(maxActive, 1);
  });

  test("timeout: a lock held by a live owner (heartbeat) makes lock() reject a retryable storage_error after lockTimeoutMs, without running fn", async (t) => {
    const path = join(await tempDir(t), "tokens.json");
    const time = fakeTime();
    await writeLock(path, { pid: process.ppid, host: hostname(), since: T0 }, T0);
    heartbeatOf(path, time);
    let ran = false;
    const e = await rejectsWith(
      store(path, time).lock(async () => {
        ran = true;
      }),
      "storage_error",
      true,
    );
    assert.match(e.message, /held the token file's lock .* for over 5000 ms; try again/);
    assert.equal(ran, false);
    assert.ok(time.now >= T0 + WAIT && time.now < T0 + WAIT + 100, `gave up at the deadline (${time.now - T0} ms)`);
    assert.ok(time.sleeps.every((ms) => ms > 0 && ms <= 50), "polls in short steps");
  });

  test("a token session whose lock times out rejects storage_error and sends no request", async (t) => {
    const path = join(await tempDir(t), "tokens.json");
    const time = fakeTime();
    await fs.writeFile(path, JSON.stringify({ version: 1, tokens: OLD }));
    await writeLock(path, { pid: process.ppid, host: hostname(), since: T0 }, T0);
    heartbeatOf(path, time);
    let requests = 0;
    const session = createTokenSession({
      provider: OPENAI_CODEX,
      fetch: async () => {
        requests++;
        throw new Error("no request expected");
      },
      clock: time.clock,
      store: store(path, time),
    });
    await rejectsWith(session.getAccessToken(), "storage_error", true);
    assert.equal(requests, 0);
  });

  test("only its own lock file is removed on release (a lock broken and re-taken meanwhile survives)", async (t) => {
    const path = join(await tempDir(t), "tokens.json");
    const s = store(path, fakeTime());
    const foreign = JSON.stringify({ pid: process.ppid, host: hostname(), since: T0 });
    await s.lock(async () => {
      await fs.rm(`${path}.lock`);
      await fs.writeFile(`${path}.lock`, foreign);
    });
    assert.equal(await fs.readFile(`${path}.lock`, "utf8"), foreign);
  });

  test("heartbeat: while fn runs, the lock file's mtime follows the clock every staleLockMs / 4", async (t) => {
    t.mock.timers.enable({ apis: ["setInterval"] });
    const path = join(await tempDir(t), "tokens.json");
    const time = fakeTime();
    const s = store(path, time);
    await s.lock(async () => {
      time.now = T0 + 3_000;
      t.mock.timers.tick(1_000);
      for (let i = 0; i < 1_000 && (await fs.stat(`${path}.lock`)).mtimeMs !== T0 + 3_000; i++) {
        await new Promise((r) => setImmediate(r));
      }
      assert.equal((await fs.stat(`${path}.lock`)).mtimeMs, T0 + 3_000);
    });
  });
});

describe("stale locks: the heartbeat alone decides, whatever host or pid the lock names", () => {
  const broken = async (t: TestContext, owner: unknown, ageMs: number) => {
    const path = join(await tempDir(t), "tokens.json");
    const time = fakeTime();
    await writeLock(path, owner, T0 - ageMs);
    let ran = false;
    await store(path, time).lock(async () => {
      ran = true;
    });
    assert.equal(ran, true);
    assert.equal(time.now, T0, "broken at once, no waiting");
    await assert.rejects(fs.stat(`${path}.lock.break`), { code: "ENOENT" });
  };
  /** A live holder heartbeats: its lock is kept until the waiter's deadline, whatever its pid says. */
  const kept = async (t: TestContext, owner: unknown) => {
    const path = join(await tempDir(t), "tokens.json");
    const time = fakeTime();
    await writeLock(path, owner, T0);
    heartbeatOf(path, time);
    await rejectsWith(store(path, time).lock(async () => assert.fail("fn must not run")), "storage_error", true);
    const content = typeof owner === "string" ? owner : JSON.stringify(owner);
    assert.equal(await fs.readFile(`${path}.lock`, "utf8"), content, "the live owner's lock is still there, untouched");
  };

  test("heartbeat older than staleLockMs, owner on this host and dead: broken at once", (t) => broken(t, { pid: deadPid(), host: hostname(), since: 0 }, STALE + 1));
  test("heartbeat older than staleLockMs, owner on this host and alive: broken", (t) => broken(t, { pid: process.ppid, host: hostname(), since: 0 }, STALE + 1));
  test("heartbeat older than staleLockMs, owner on another host: broken", (t) => broken(t, { pid: 1, host: "elsewhere.invalid", since: 0 }, STALE + 1));
  test("an empty lock file (its writer died at once) older than staleLockMs: broken", (t) => broken(t, "", STALE + 1));
  test("a heartbeating owner on this host whose pid is dead here (another PID namespace): kept until lockTimeoutMs", (t) =>
    kept(t, { pid: deadPid(), host: hostname(), since: T0 }));
  test("a heartbeating owner on this host, alive: kept", (t) => kept(t, { pid: process.ppid, host: hostname(), since: 0 }));
  test("a heartbeating owner on another host: kept", (t) => kept(t, { pid: 1, host: "elsewhere.invalid", since: 0 }));
  test("a heartbeating empty lock file (being written right now): kept", (t) => kept(t, ""));

  test("a fresh lock whose pid is dead on this host is not broken at once: the waiter breaks it once its heartbeat is staleLockMs old, before its own deadline", async (t) => {
    const path = join(await tempDir(t), "tokens.json");
    const time = fakeTime();
    await writeLock(path, { pid: deadPid(), host: hostname(), since: T0 }, T0);
    let ranAt = 0;
    await store(path, time).lock(async () => {
      ranAt = time.now;
    });
    assert.ok(ranAt > T0 + STALE && ranAt <= T0 + WAIT, `entered at +${ranAt - T0} ms`);
  });

  for (const [name, options, stale] of [
    ["the defaults", {}, 20_000],
    ["only staleLockMs (60 000)", { staleLockMs: 60_000 }, 60_000],
    ["only lockTimeoutMs (10 000)", { lockTimeoutMs: 10_000 }, 8_000],
  ] as const) {
    test(`with ${name}, a waiter outlasts a dead holder's lock and breaks it after ${stale} ms`, async (t) => {
      const path = join(await tempDir(t), "tokens.json");
      const time = fakeTime();
      await writeLock(path, { pid: 1, host: "elsewhere.invalid", since: T0 }, T0);
      let ranAt = 0;
      await createFileStore({ path, clock: time.clock, sleep: time.sleep, ...options }).lock(async () => {
        ranAt = time.now;
      });
      assert.ok(ranAt > T0 + stale && ranAt < T0 + stale + 100, `entered at +${ranAt - T0} ms`);
    });
  }

  test("a stale break-guard left by a dead breaker is cleared too", async (t) => {
    const path = join(await tempDir(t), "tokens.json");
    const time = fakeTime();
    await writeLock(path, { pid: deadPid(), host: hostname(), since: 0 }, T0 - STALE - 1);
    await fs.writeFile(`${path}.lock.break`, JSON.stringify({ pid: deadPid(), host: hostname(), since: 0 }));
    await fs.utimes(`${path}.lock.break`, new Date(T0 - STALE - 1), new Date(T0 - STALE - 1));
    let ran = false;
    await store(path, time).lock(async () => {
      ran = true;
    });
    assert.equal(ran, true);
    await assert.rejects(fs.stat(`${path}.lock.break`), { code: "ENOENT" });
  });
});

describe("a symbolic link at the token path is followed: file, lock and temp files are the target's", () => {
  test("saves write the target and keep the link; a holder of the link's name and one of the target's name share one lock", async (t) => {
    const dir = await tempDir(t);
    const realDir = join(dir, "real");
    await fs.mkdir(realDir, { mode: 0o700 });
    const target = join(realDir, "tokens.json");
    const link = join(dir, "tokens.json");
    await fs.symlink(target, link);
    const time = fakeTime();
    const viaLink = store(link, time);
    const viaTarget = store(target, time);
    await viaLink.replace(OLD);
    assert.ok((await fs.lstat(link)).isSymbolicLink(), "the link survives a replace");
    assert.deepEqual(await viaTarget.load(), OLD);
    const seen: string[] = [];
    await viaLink.lock(async () => {
      seen.push(...(await fs.readdir(realDir)));
      assert.deepEqual((await fs.readdir(dir)).sort(), ["real", "tokens.json"], "no lock beside the link");
      // The other name waits for the same lock.
      heartbeatOf(target, time);
      await rejectsWith(viaTarget.lock(async () => assert.fail("both holders inside")), "storage_error", true);
      time.onSleep = undefined;
      assert.equal(await viaLink.save(NEW, OLD), true);
    });
    assert.deepEqual(seen.sort(), ["tokens.json", "tokens.json.lock"]);
    assert.ok((await fs.lstat(link)).isSymbolicLink(), "the link survives a save");
    assert.deepEqual(await viaTarget.load(), NEW);
    assert.deepEqual((await fs.readdir(realDir)).sort(), ["tokens.json"]);
  });

  test("the temp file is written beside the target (the rename never crosses file systems or replaces the link)", async (t) => {
    const dir = await tempDir(t);
    await fs.mkdir(join(dir, "real"), { mode: 0o700 });
    await fs.symlink("real/tokens.json", join(dir, "tokens.json")); // relative, dangling until the first write
    const temps: string[] = [];
    const s = createFileStore({ path: join(dir, "tokens.json"), beforeRename: (temp) => void temps.push(temp) });
    assert.equal(await s.load(), null, "a dangling link is no file yet");
    await s.replace(OLD);
    assert.equal(temps.length, 1);
    assert.equal(join(temps[0]!, ".."), join(dir, "real"));
    assert.deepEqual(JSON.parse(await fs.readFile(join(dir, "real", "tokens.json"), "utf8")).tokens, OLD);
    await s.replace(null);
    assert.ok((await fs.lstat(join(dir, "tokens.json"))).isSymbolicLink(), "sign-out removes the target, not the link");
    assert.equal(await s.load(), null);
  });

  test("a loop of links is storage_error, not retryable", async (t) => {
    const dir = await tempDir(t);
    await fs.symlink(join(dir, "b"), join(dir, "a"));
    await fs.symlink(join(dir, "a"), join(dir, "b"));
    const e = await rejectsWith(createFileStore({ path: join(dir, "a") }).load(), "storage_error", false);
    assert.match(e.message, /loop of symbolic links/);
  });
});

describe("token sessions over the file store", () => {
  test("two sessions over two store instances on one file, both due at once: one refresh request, both hand out the refreshed token, the file holds it", async (t) => {
    const path = join(await tempDir(t), "tokens.json");
    const f = new FakeFetch(NEW_REPLY);
    // A token endpoint slow in real time: the other session waits on the lock all along.
    const slow: typeof f.fetch = async (url, init) => {
      await new Promise((resolve) => setTimeout(resolve, 300));
      return f.fetch(url, init);
    };
    const sessions = [0, 1].map(() =>
      // The stores keep real time: the holder's heartbeat runs on real timers, so a fake clock
      // that the waiter's sleeps push forward would find the live lock stale whenever the
      // holder's real file I/O is slow (a second refresh under load).
      createTokenSession({ provider: codex, fetch: slow, clock: () => FAKE_T0, store: createFileStore({ path }) }),
    );
    await createFileStore({ path }).replace(EXPIRED);
    const tokens = await Promise.all(sessions.map((s) => s.getAccessToken()));
    assert.deepEqual(tokens, [REFRESHED.accessToken, REFRESHED.accessToken]);
    assert.equal(f.calls.length, 1, "one refresh request");
    assert.equal(f.calls[0]?.url, CODEX_TOKEN_URL);
    assert.equal(f.calls[0]?.body, codexRefreshBody(EXPIRED.refreshToken ?? ""));
    assert.deepEqual(await createFileStore({ path }).load(), REFRESHED);
    await assert.rejects(fs.stat(`${path}.lock`), { code: "ENOENT" });
  });
});
