/**
 * Real Redis and PostgreSQL servers for the store tests (not a test file itself): each started on
 * 127.0.0.1 on a free port with a data directory of its own under the system temp dir, and
 * stopped (directory removed) by `stop()`.
 *
 * Why the shell guard around each server: `after` hooks do not run when the test process itself
 * is killed, and a server must never outlive its test. Each server runs under a small `sh` whose
 * stdin is a pipe from this process; when that pipe closes (this process exits, however it dies)
 * the guard kills the server and removes its directory. `watchProcess` does the same for replica
 * processes, which a test may have stopped with SIGSTOP. The binaries come from Debian's `redis-server` and `postgresql`
 * packages (scripts/test.sh installs them when missing); PostgreSQL refuses to run as root, so as
 * root it runs as the `postgres` user. Readiness is the server's own "ready" log line, never a
 * fixed wait.
 */
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { existsSync, promises as fs } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const REDIS_SERVER = "/usr/bin/redis-server";
export const PG_BIN = "/usr/lib/postgresql/15/bin";

const live = new Set<ChildProcess>();
process.once("exit", () => {
  for (const c of live) c.stdin?.destroy();
});

/**
 * Runs `"$@"` (after the first argument, a directory), prints its pid, and exits with its status.
 * When our end of stdin closes first (this process died), it kills the server and removes the
 * directory. A watchdog alone (`watchProcess`) only kills.
 */
const GUARD = `dir="$1"; shift
exec 3<&0 0</dev/null
"$@" 3<&- &
pid=$!
echo "guard-pid $pid"
( cat <&3 >/dev/null; kill -KILL "$pid"; while kill -0 "$pid"; do sleep 0.05; done; [ -n "$dir" ] && rm -rf "$dir" ) >/dev/null 2>&1 &
watcher=$!
exec 3<&-
wait "$pid"; status=$?
kill "$watcher" 2>/dev/null
exit "$status"`;

/**
 * Kills process `pid` (even a stopped one) if this process dies first; `stop()` ends the watch.
 * For replicas a test may have paused with SIGSTOP, which cannot notice their parent is gone.
 */
export function watchProcess(pid: number): { stop(): void } {
  const dog = spawn("sh", ["-c", 'cat >/dev/null; kill -KILL "$1"', "watchdog", String(pid)], { stdio: ["pipe", "ignore", "ignore"] });
  live.add(dog);
  dog.once("exit", () => live.delete(dog));
  return {
    stop: () => {
      // The shell dies first, so its `kill` never runs (the pid may be reused); then `cat` gets EOF.
      dog.kill("SIGKILL");
      dog.stdin?.destroy();
    },
  };
}

interface Guarded {
  child: ChildProcess;
  pid: Promise<number>;
  /** The exit status (the guard exits with the process's). */
  exited: Promise<number | null>;
  /** Resolves when the output matches `ready`; rejects when the process exits first. */
  ready: Promise<void>;
  output(): string;
}


function runGuarded(dir: string, cmd: string, args: string[], ready: RegExp, user?: { uid: number; gid: number }): Guarded {
  const child = spawn("sh", ["-c", GUARD, "guard", dir, cmd, ...args], {
    stdio: ["pipe", "pipe", "pipe"],
    ...(user ?? {}),
  });
  live.add(child);
  let out = "";
  let resolvePid: (pid: number) => void = () => undefined;
  let resolveReady: () => void = () => undefined;
  let rejectReady: (e: Error) => void = () => undefined;
  const pid = new Promise<number>((r) => (resolvePid = r));
  const readyP = new Promise<void>((res, rej) => {
    resolveReady = res;
    rejectReady = rej;
  });
  const onData = (chunk: Buffer) => {
    out += chunk.toString("utf8");
    const m = /guard-pid (\d+)/.exec(out);
    if (m) resolvePid(Number(m[1]));
    if (ready.test(out)) resolveReady();
  };
  child.stdout?.on("data", onData);
  child.stderr?.on("data", onData);
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => {
      live.delete(child);
      child.stdin?.destroy();
      rejectReady(new Error(`${cmd} exited before it was ready:\n${out.slice(-2000)}`));
      resolve(code);
    }),
  );
  readyP.catch(() => undefined);
  return { child, pid, exited, ready: readyP, output: () => out };
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

/**
 * Starts a server with `launch(port)` on a free port. Another process can take the probed port
 * before the server binds it: then it tries another, five times at most. Gives up by removing
 * `dir` (the server's data) and rethrowing.
 */
async function onFreePort(dir: string, launch: (port: number) => Promise<void>): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    try {
      await launch(port);
      return port;
    } catch (e) {
      if (attempt >= 4 || !/already in use/.test(String(e))) {
        await fs.rm(dir, { recursive: true, force: true });
        throw e;
      }
    }
  }
}

function postgresUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim());
  const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim());
  return { uid, gid };
}

export interface RedisServer {
  readonly url: string;
  readonly port: number;
  /** The server's pid (for signals). */
  pid(): Promise<number>;
  /** Stops it: "crash" is SIGKILL (no shutdown work), "clean" SIGTERM. The data stays for `start`. */
  kill(how: "crash" | "clean"): Promise<void>;
  /** Starts it again on the same port and directory (after `kill`). */
  start(): Promise<void>;
  /** Stops it for good and removes its directory. */
  stop(): Promise<void>;
}

/** A private redis-server, AOF on with fsync on every write unless `appendonly` is false. */
export async function startRedis(opts: { appendonly?: boolean } = {}): Promise<RedisServer> {
  if (!existsSync(REDIS_SERVER)) throw new Error(`${REDIS_SERVER} is missing: apt-get install -y redis-server (scripts/test.sh does it as root)`);
  const dir = await fs.mkdtemp(join(tmpdir(), "oauth-redis-"));
  let port = 0;
  let current: Guarded | undefined;
  const launch = async (): Promise<void> => {
    const args = ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--daemonize", "no", "--logfile", ""];
    args.push("--appendonly", opts.appendonly === false ? "no" : "yes", "--appendfsync", "always");
    const g = runGuarded(dir, REDIS_SERVER, args, /Ready to accept connections/);
    current = g;
    await g.ready;
  };
  port = await onFreePort(dir, async (p) => {
    port = p;
    await launch();
  });
  const kill = async (how: "crash" | "clean") => {
    const g = current;
    if (g === undefined) return;
    current = undefined;
    process.kill(await g.pid, how === "crash" ? "SIGKILL" : "SIGTERM");
    await g.exited;
  };
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    pid: async () => {
      if (current === undefined) throw new Error("not running");
      return current.pid;
    },
    kill,
    start: launch,
    stop: async () => {
      await kill("crash").catch(() => undefined);
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}

export interface PostgresServer {
  readonly url: string;
  readonly port: number;
  /** Stops it: "crash" is an immediate shutdown (SIGQUIT: no checkpoint, recovery on start), "clean" a fast one. */
  kill(how: "crash" | "clean"): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** A private PostgreSQL 15 cluster (initdb, trust auth on loopback, fsync on). */
export async function startPostgres(): Promise<PostgresServer> {
  const postgres = join(PG_BIN, "postgres");
  if (!existsSync(postgres)) throw new Error(`${postgres} is missing: apt-get install -y postgresql (scripts/test.sh does it as root)`);
  const user = postgresUser();
  const dir = await fs.mkdtemp(join(tmpdir(), "oauth-pg-"));
  if (user !== undefined) await fs.chown(dir, user.uid, user.gid);
  const data = join(dir, "data");
  // Under the guard too: a test process killed during initdb leaves no initdb and no directory.
  const init = runGuarded(dir, join(PG_BIN, "initdb"), ["-D", data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8", "--locale", "C"], /$^/, user);
  if ((await init.exited) !== 0) {
    await fs.rm(dir, { recursive: true, force: true });
    throw new Error(`initdb failed:\n${init.output().slice(-2000)}`);
  }
  let port = 0;
  let current: Guarded | undefined;
  const launch = async (): Promise<void> => {
    const args = ["-D", data, "-p", String(port), "-k", dir, "-c", "listen_addresses=127.0.0.1", "-c", "shared_buffers=16MB", "-c", "max_connections=200"];
    const g = runGuarded(dir, postgres, args, /database system is ready to accept connections/, user);
    current = g;
    await g.ready;
  };
  port = await onFreePort(dir, async (p) => {
    port = p;
    await launch();
  });
  const kill = async (how: "crash" | "clean") => {
    const g = current;
    if (g === undefined) return;
    current = undefined;
    process.kill(await g.pid, how === "crash" ? "SIGQUIT" : "SIGINT");
    await g.exited;
  };
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    kill,
    start: launch,
    stop: async () => {
      await kill("clean").catch(() => undefined);
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}
