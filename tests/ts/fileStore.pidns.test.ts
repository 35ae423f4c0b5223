/**
 * The file store across PID namespaces (containers in one pod sharing a volume: one host name,
 * different process tables). A holder started with `unshare --pid --fork` records a pid that, seen
 * from here, belongs to no process: "same host and the pid is dead" must not break its lock, and
 * its temp file must not be removed as a dead writer's. The holder's pid is steered (a few
 * `/bin/true` forks inside the new namespace, whose pids count from 1) to one that is free here,
 * so the test proves what it claims.
 *
 * Needs util-linux `unshare` and the right to create a PID namespace (root); skipped otherwise.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from "node:child_process";
import { promises as fs } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { describe, test, type TestContext } from "node:test";
import { createFileStore, type OAuthTokens } from "../../js/oauthDeviceFlow.ts";
import type { PidnsEvent } from "./support/fileStorePidnsWorker.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const WORKER = fileURLToPath(new URL("./support/fileStorePidnsWorker.ts", import.meta.url));
const STALE = 1_000;
const OLD: OAuthTokens = { accessToken: "at-old", tokenType: "Bearer", refreshToken: "rt-old" };
const NEW: OAuthTokens = { accessToken: "at-new", tokenType: "Bearer", refreshToken: "rt-new" };

function unshareWorks(): boolean {
  const r = spawnSync("unshare", ["--pid", "--fork", "--kill-child", "true"], { stdio: "ignore" });
  return r.status === 0;
}

function deadHere(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (e) {
    return (e as { code?: string }).code === "ESRCH";
  }
}

/** A small pid with no process behind it in this namespace. */
function freePid(): number {
  for (let pid = 16; pid < 30_000; pid++) if (deadHere(pid)) return pid;
  throw new Error("no free pid");
}

interface Worker {
  child: ChildProcessWithoutNullStreams;
  next(event: PidnsEvent["event"]): Promise<PidnsEvent>;
  send(line: string): void;
}

/** The worker in a new PID namespace, where it gets the pid `pid`. */
function startWorker(t: TestContext, role: string, path: string, pid: number): Worker {
  // In the new namespace sh is pid 1 and each fork takes the next pid: node gets `pid`.
  const script = `i=2; while [ $i -lt ${pid} ]; do /bin/true; i=$((i+1)); done; node --import tsx "$0" "$@"`;
  const child = spawn("unshare", ["--pid", "--fork", "--kill-child", "sh", "-c", script, WORKER, role, path, String(STALE)], {
    cwd: ROOT,
    stdio: ["pipe", "pipe", "pipe"],
  });
  t.after(() => {
    child.kill("SIGKILL");
  });
  const events: PidnsEvent[] = [];
  const waiting: Array<{ event: string; resolve: (e: PidnsEvent) => void }> = [];
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  createInterface({ input: child.stdout }).on("line", (line) => {
    const e = JSON.parse(line) as PidnsEvent;
    const w = waiting.findIndex((x) => x.event === e.event);
    if (w >= 0) waiting.splice(w, 1)[0]!.resolve(e);
    else events.push(e);
  });
  const exited = new Promise<never>((_, reject) => {
    child.once("exit", (code) => reject(new Error(`the worker exited (${code}) early: ${stderr}`)));
  });
  exited.catch(() => undefined);
  return {
    child,
    next: (event) => {
      const i = events.findIndex((e) => e.event === event);
      if (i >= 0) return Promise.resolve(events.splice(i, 1)[0]!);
      return Promise.race([new Promise<PidnsEvent>((resolve) => waiting.push({ event, resolve })), exited]);
    },
    send: (line) => {
      child.stdin.write(`${line}\n`);
    },
  };
}

async function tempDir(t: TestContext): Promise<string> {
  const dir = await fs.mkdtemp(join(tmpdir(), "file-store-pidns-"));
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  return dir;
}

describe("a holder in another PID namespace (unshare --pid --fork)", { skip: unshareWorks() ? false : "unshare --pid needs util-linux and root" }, () => {
  test("its lock is kept while its heartbeat runs, beyond staleLockMs, though its pid is dead here; the second holder enters only after its release", async (t) => {
    const path = join(await tempDir(t), "tokens.json");
    const pid = freePid();
    const worker = startWorker(t, "hold", path, pid);
    const locked = await worker.next("locked");
    assert.deepEqual(locked, { event: "locked", pid }, "the holder's pid as it sees it");
    assert.ok(deadHere(pid), `pid ${pid} names no process in this namespace`);
    const owner = JSON.parse(await fs.readFile(`${path}.lock`, "utf8")) as { pid: number; host: string };
    assert.equal(owner.pid, pid);

    let released = false;
    let waitedMs = 0;
    const start = Date.now();
    const sleep = async (ms: number) => {
      await new Promise((r) => setTimeout(r, ms));
      waitedMs = Date.now() - start;
      if (waitedMs > STALE * 2 && !released) {
        // Waited twice the stale time without breaking in: let the holder go.
        released = true;
        worker.send("release");
        await worker.next("released");
      }
    };
    const second = createFileStore({ path, staleLockMs: STALE, lockTimeoutMs: STALE * 10, sleep });
    let enteredAfterRelease: boolean | undefined;
    await second.lock(async () => {
      enteredAfterRelease = released;
    });
    t.diagnostic(`measured: the second holder waited ${waitedMs} ms (staleLockMs ${STALE}) and entered after the release`);
    assert.equal(enteredAfterRelease, true, "never inside while the first holder is alive");
    assert.ok(waitedMs > STALE * 2);
  });

  test("its temp file is not removed by another writer's save, so its write completes", async (t) => {
    const path = join(await tempDir(t), "tokens.json");
    await createFileStore({ path }).replace(OLD);
    const pid = freePid();
    const worker = startWorker(t, "write", path, pid);
    const paused = await worker.next("temp");
    assert.equal((paused as { pid: number }).pid, pid);
    assert.ok(deadHere(pid));
    const temp = (paused as { temp: string }).temp;
    assert.ok(temp.includes(`.tokens.json.${pid}.`), temp);
    // Another writer here saves (a save takes no lock) and then sweeps temp files.
    const saved = await createFileStore({ path }).save(NEW, OLD);
    await fs.access(temp); // still there
    assert.equal(saved, true);
    worker.send("go");
    assert.deepEqual(await worker.next("written"), { event: "written" });
    assert.equal((await createFileStore({ path }).load())?.accessToken, "at-from-namespace");
  });
});
