/**
 * A file-store holder for tests/ts/fileStore.pidns.test.ts (not a test file itself), started in
 * another PID namespace with `unshare --pid --fork`. It reports one JSON line per event on stdout
 * and takes commands as lines on stdin (no IPC channel crosses the namespace launcher).
 *
 * Roles (argv[2]), on the token file argv[3], with `staleLockMs` argv[4]:
 * - `hold`: takes the lock, reports `locked` (with its pid as it sees it), holds it (heartbeat
 *   running) until it reads `release`, then reports `released` and exits;
 * - `write`: `replace(tokens)`, stopping between the synced temp file and the rename: reports
 *   `temp`, waits for `go`, then reports `written` (or `failed` with the error's code).
 */
import { createInterface } from "node:readline";
import { createFileStore } from "../../../js/oauthDeviceFlow.ts";

export type PidnsEvent =
  | { event: "locked"; pid: number }
  | { event: "released" }
  | { event: "temp"; temp: string; pid: number }
  | { event: "written" }
  | { event: "failed"; code: string };

const say = (e: PidnsEvent): Promise<void> =>
  new Promise((resolve) => {
    process.stdout.write(`${JSON.stringify(e)}\n`, () => resolve());
  });

const lines = createInterface({ input: process.stdin });
const commands: string[] = [];
const waiters: Array<() => void> = [];
lines.on("line", (line) => {
  commands.push(line.trim());
  waiters.shift()?.();
});

async function command(name: string): Promise<void> {
  for (;;) {
    const i = commands.indexOf(name);
    if (i >= 0) {
      commands.splice(i, 1);
      return;
    }
    await new Promise<void>((resolve) => waiters.push(resolve));
  }
}

async function main(): Promise<void> {
  const [role, path = "", stale = "1000"] = process.argv.slice(2);
  const staleLockMs = Number(stale);
  if (role === "hold") {
    const store = createFileStore({ path, staleLockMs, lockTimeoutMs: staleLockMs * 5 });
    await store.lock(async () => {
      await say({ event: "locked", pid: process.pid });
      await command("release");
    });
    await say({ event: "released" });
  } else if (role === "write") {
    const store = createFileStore({
      path,
      staleLockMs,
      lockTimeoutMs: staleLockMs * 5,
      beforeRename: async (temp) => {
        await say({ event: "temp", temp, pid: process.pid });
        await command("go");
      },
    });
    try {
      await store.replace({ accessToken: "at-from-namespace", tokenType: "Bearer", refreshToken: "rt-from-namespace" });
      await say({ event: "written" });
    } catch (e) {
      await say({ event: "failed", code: String((e as { code?: unknown }).code ?? "unknown") });
    }
  }
  lines.close();
}

void main();
