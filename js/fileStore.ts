/**
 * A token store in one JSON file, shared safely by several Node processes on one host (cluster
 * workers, a CLI beside a server): the store behind a token session when the credential must
 * outlive the process or be shared with others.
 *
 * Why each part:
 * - atomic write (temp file in the same directory, fsync, rename, fsync of the directory): a crash
 *   or power loss leaves the old file or the new one, never a torn one. A lost rotated refresh
 *   token logs the user out for good, so a half-written file is the one outcome to rule out;
 * - mode 0600: the file holds the keys to the user's account;
 * - a lock file (`<path>.lock`, created with O_EXCL, holding its owner's pid, host and time): the
 *   session refreshes only inside `lock`, so two processes never spend one refresh token;
 * - stale locks are broken (owner dead on this host, or no heartbeat for `staleLockMs`), so a
 *   crashed holder does not block everyone; waiting is bounded (`lockTimeoutMs`) and ends in a
 *   retryable `storage_error`;
 * - errors never quote the file (it may hold tokens): a corrupt file is named, not shown.
 *
 * Local file systems only: O_EXCL and rename are not reliably atomic on every network file
 * system, and a pid says nothing on another host (for several machines use a database or Redis:
 * see the README section "Several processes and several machines").
 */
import { randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import { hostname } from "node:os";
import { basename, dirname, join } from "node:path";
import { OAuthDeviceFlowError, type OAuthTokens } from "./oauthDeviceFlow.ts";
import type { TokenStore } from "./tokenSession.ts";

/** The `version` this code writes and the only one it reads. */
export const FILE_STORE_SCHEMA_VERSION = 1;

export interface FileStoreOptions {
  /** The token file. Its directory is created (mode 0700) on the first write if missing. */
  path: string;
  /** How long `lock` waits for another holder before `storage_error`. Default 40 000 (beyond the session's 30 s refresh timeout). */
  lockTimeoutMs?: number;
  /** A lock whose file saw no heartbeat for this long is broken. Default 60 000. */
  staleLockMs?: number;
  /** Time source for lock ages and deadlines (epoch ms). Default `Date.now`. */
  clock?: () => number;
  /** How `lock` waits between attempts. Default a real timer. */
  sleep?: (ms: number) => Promise<void>;
  /** For crash tests only: runs after the temp file is written and synced, before the rename. */
  beforeRename?: (tempPath: string) => Promise<void> | void;
}

export interface FileTokenStore extends TokenStore {
  readonly path: string;
  lock<T>(fn: () => Promise<T>): Promise<T>;
  /**
   * Sign-in and sign-out: writes `tokens` (or removes the file for `null`) under the lock. Do not
   * call it from inside `lock` (the lock is not re-entrant: that waits `lockTimeoutMs` and fails).
   */
  replace(tokens: OAuthTokens | null): Promise<void>;
}

const OPTION_NAMES: readonly string[] = ["path", "lockTimeoutMs", "staleLockMs", "clock", "sleep", "beforeRename"];
const HOST = hostname();

function storageError(message: string, retryable = true): OAuthDeviceFlowError {
  return new OAuthDeviceFlowError("storage_error", message, { retryable });
}

function invalidConfig(message: string): OAuthDeviceFlowError {
  return new OAuthDeviceFlowError("invalid_config", message);
}

function errno(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

function positive(o: Record<string, unknown>, name: string, fallback: number): number {
  const v = o[name];
  if (v === undefined) return fallback;
  if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) {
    throw invalidConfig(`createFileStore: ${name} must be a positive number of milliseconds`);
  }
  return v;
}

/** Is `pid` a live process on this host? A process we may not signal is alive. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errno(e) === "EPERM";
  }
}

/** The tokens in a parsed file, or undefined when they do not have the shape of `OAuthTokens`. */
function readTokens(v: unknown): OAuthTokens | undefined {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return undefined;
  const o = v as Record<string, unknown>;
  if (typeof o["accessToken"] !== "string" || o["accessToken"] === "") return undefined;
  if (typeof o["tokenType"] !== "string") return undefined;
  const t: OAuthTokens = { accessToken: o["accessToken"], tokenType: o["tokenType"] };
  for (const name of ["refreshToken", "idToken", "scope"] as const) {
    const s = o[name];
    if (s === undefined) continue;
    if (typeof s !== "string") return undefined;
    t[name] = s;
  }
  const exp = o["expiresAt"];
  if (exp !== undefined) {
    if (typeof exp !== "number" || !Number.isFinite(exp)) return undefined;
    t.expiresAt = exp;
  }
  return t;
}

/** The file's content for `tokens`: only the known fields, so nothing else is ever persisted. */
function serialise(tokens: OAuthTokens): string {
  const t = readTokens(tokens);
  if (t === undefined) throw invalidConfig("The token store was given tokens without the shape of OAuthTokens.");
  return `${JSON.stringify({ version: FILE_STORE_SCHEMA_VERSION, tokens: t }, null, 2)}\n`;
}

interface Held {
  handle: FileHandle;
  heartbeat: ReturnType<typeof setInterval>;
}

/**
 * A file store at `options.path`. Throws `invalid_config` synchronously for bad options; every
 * method rejects with `OAuthDeviceFlowError` (`storage_error` for file-system trouble).
 */
export function createFileStore(options: FileStoreOptions): FileTokenStore {
  if (typeof options !== "object" || options === null) throw invalidConfig("createFileStore needs { path }");
  const o = options as unknown as Record<string, unknown>;
  const unknown = Object.keys(o).find((k) => !OPTION_NAMES.includes(k));
  if (unknown !== undefined) {
    const name = [...unknown].filter((c) => c >= " " && c !== "\x7f").slice(0, 64).join("");
    throw invalidConfig(`createFileStore does not take the option "${name}" (it takes: ${OPTION_NAMES.join(", ")})`);
  }
  if (typeof o["path"] !== "string" || o["path"] === "" || o["path"].includes("\0")) {
    throw invalidConfig("createFileStore: path must be a non-empty file path");
  }
  for (const name of ["clock", "sleep", "beforeRename"]) {
    if (o[name] !== undefined && typeof o[name] !== "function") throw invalidConfig(`createFileStore: ${name} must be a function`);
  }
  const path = options.path;
  const lockTimeoutMs = positive(o, "lockTimeoutMs", 40_000);
  const staleLockMs = positive(o, "staleLockMs", 60_000);
  const clock = options.clock ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const beforeRename = options.beforeRename;
  const dir = dirname(path);
  const lockPath = `${path}.lock`;
  const breakPath = `${path}.lock.break`;
  const tempPrefix = `.${basename(path)}.`;

  async function load(): Promise<OAuthTokens | null> {
    let raw: string;
    try {
      raw = await fs.readFile(path, "utf8");
    } catch (e) {
      if (errno(e) === "ENOENT") return null;
      throw storageError(`The token file ${path} cannot be read (${errno(e) ?? "I/O error"}).`);
    }
    let doc: unknown;
    try {
      doc = JSON.parse(raw);
    } catch {
      // JSON.parse's own message quotes the text: never attach or repeat it.
      throw storageError(`The token file ${path} is not valid JSON (damaged outside this store?); restore it or sign in again.`, false);
    }
    const d = typeof doc === "object" && doc !== null && !Array.isArray(doc) ? (doc as Record<string, unknown>) : undefined;
    if (d !== undefined && typeof d["version"] === "number" && d["version"] > FILE_STORE_SCHEMA_VERSION) {
      throw storageError(`The token file ${path} was written by a newer version (schema ${d["version"]}); upgrade this program.`, false);
    }
    if (d === undefined || d["version"] !== FILE_STORE_SCHEMA_VERSION) {
      throw storageError(`The token file ${path} is not a version ${FILE_STORE_SCHEMA_VERSION} token file; restore it or sign in again.`, false);
    }
    if (d["tokens"] === null) return null;
    const tokens = readTokens(d["tokens"]);
    if (tokens === undefined) {
      throw storageError(`The token file ${path} holds malformed tokens; restore it or sign in again.`, false);
    }
    return tokens;
  }

  /** Temp file, fsync, rename, fsync of the directory: the old file or the new one, never a mix. */
  async function writeAtomically(content: string): Promise<void> {
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    const temp = join(dir, `${tempPrefix}${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
    let renamed = false;
    try {
      const handle = await fs.open(temp, "wx", 0o600);
      try {
        await handle.chmod(0o600); // whatever the umask
        await handle.writeFile(content, "utf8");
        await handle.sync();
      } finally {
        await handle.close();
      }
      await beforeRename?.(temp);
      await fs.rename(temp, path);
      renamed = true;
      await syncDirectory();
    } finally {
      if (!renamed) await fs.rm(temp, { force: true }).catch(() => undefined);
    }
    await removeDeadTemps();
  }

  async function syncDirectory(): Promise<void> {
    let handle: FileHandle | undefined;
    try {
      handle = await fs.open(dir, "r");
      await handle.sync();
    } catch (e) {
      // Some platforms cannot open or sync a directory (Windows): the rename is all there is.
      if (!["EISDIR", "EPERM", "EINVAL", "EBADF"].includes(errno(e) ?? "")) throw e;
    } finally {
      await handle?.close();
    }
  }

  /** Temp files of writers that died between create and rename (they hold tokens). */
  async function removeDeadTemps(): Promise<void> {
    const names = await fs.readdir(dir).catch(() => [] as string[]);
    for (const name of names) {
      if (!name.startsWith(tempPrefix) || !name.endsWith(".tmp")) continue;
      const pid = Number(name.slice(tempPrefix.length).split(".")[0]);
      if (Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid && !alive(pid)) {
        await fs.rm(join(dir, name), { force: true }).catch(() => undefined);
      }
    }
  }

  /**
   * Writes `next` when the file still holds `previous` (or already `next`: a retried save).
   * Anything else means the file changed since the refresh began, which the lock rules out unless
   * it was broken or bypassed: a sign-out (no file) or another sign-in is newer than our refresh,
   * so the file wins and `next` is dropped (never a silent sign-in after a sign-out). A file that
   * cannot be read is replaced: `next` is then the only set known to work.
   */
  async function save(next: OAuthTokens, previous: OAuthTokens): Promise<void> {
    const content = serialise(next);
    let current: OAuthTokens | null | undefined;
    try {
      current = await load();
    } catch {
      current = undefined;
    }
    const same = (a: OAuthTokens, b: OAuthTokens | undefined) =>
      a.accessToken === b?.accessToken && a.refreshToken === b?.refreshToken;
    if (current === null) return;
    if (current !== undefined && !same(current, previous) && !same(current, next)) return;
    try {
      await writeAtomically(content);
    } catch (e) {
      throw storageError(`The token file ${path} cannot be written (${errno(e) ?? "I/O error"}).`);
    }
  }

  /** The lock file as found: its identity (inode and content) and whether its owner is gone. */
  async function inspect(file: string): Promise<{ id: string; stale: boolean } | undefined> {
    let handle: FileHandle;
    try {
      handle = await fs.open(file, "r");
    } catch (e) {
      if (errno(e) === "ENOENT") return undefined;
      throw e;
    }
    try {
      const stat = await handle.stat();
      const raw = await handle.readFile("utf8");
      let owner: { pid?: unknown; host?: unknown } = {};
      try {
        owner = JSON.parse(raw) as typeof owner;
      } catch {
        // Being written right now, or its writer died at once: only its age can tell.
      }
      const deadOwner = owner.host === HOST && typeof owner.pid === "number" && owner.pid !== process.pid && !alive(owner.pid);
      const silent = clock() - stat.mtimeMs > staleLockMs;
      return { id: `${stat.ino}:${raw}`, stale: deadOwner || silent };
    } finally {
      await handle.close();
    }
  }

  /**
   * Removes a stale lock, but only the very one judged stale: breakers take `<path>.lock.break`
   * first, so two waiters cannot both break and one then remove the other's fresh lock.
   */
  async function breakLock(staleId: string): Promise<boolean> {
    let guard: FileHandle;
    try {
      guard = await fs.open(breakPath, "wx", 0o600);
    } catch (e) {
      if (errno(e) !== "EEXIST") throw e;
      // Another waiter is breaking it (a few microseconds), or died doing so.
      const other = await inspect(breakPath);
      if (other?.stale) await fs.rm(breakPath, { force: true });
      return false;
    }
    try {
      await guard.writeFile(JSON.stringify({ pid: process.pid, host: HOST, since: clock() }));
      const now = await inspect(lockPath);
      if (now !== undefined && now.id === staleId) await fs.rm(lockPath, { force: true });
      return true;
    } finally {
      await guard.close();
      await fs.rm(breakPath, { force: true });
    }
  }

  async function acquire(): Promise<Held> {
    const deadline = clock() + lockTimeoutMs;
    for (;;) {
      try {
        const handle = await fs.open(lockPath, "wx", 0o600);
        try {
          await handle.writeFile(JSON.stringify({ pid: process.pid, host: HOST, since: clock() }));
        } catch (e) {
          await handle.close();
          await fs.rm(lockPath, { force: true });
          throw e;
        }
        const beat = Math.max(10, Math.floor(staleLockMs / 4));
        const heartbeat = setInterval(() => {
          const t = new Date(clock());
          handle.utimes(t, t).catch(() => undefined);
        }, beat);
        heartbeat.unref();
        return { handle, heartbeat };
      } catch (e) {
        if (errno(e) === "ENOENT") {
          await fs.mkdir(dir, { recursive: true, mode: 0o700 });
          continue;
        }
        if (errno(e) !== "EEXIST") throw e;
      }
      const found = await inspect(lockPath);
      if (found === undefined) continue; // released meanwhile: try again at once
      if (found.stale && (await breakLock(found.id))) continue;
      const left = deadline - clock();
      if (left <= 0) {
        throw storageError(
          `Another process has held the token file's lock ${lockPath} for over ${lockTimeoutMs} ms; try again.`,
        );
      }
      await sleep(Math.min(left, 10 + Math.floor(Math.random() * 40)));
    }
  }

  /** Removes the lock file only if it is still ours (the same inode as our open handle). */
  async function release(held: Held): Promise<void> {
    clearInterval(held.heartbeat);
    try {
      const [mine, now] = await Promise.all([held.handle.stat(), fs.stat(lockPath).catch(() => undefined)]);
      if (now !== undefined && now.ino === mine.ino && now.dev === mine.dev) await fs.rm(lockPath, { force: true });
    } finally {
      await held.handle.close();
    }
  }

  async function lock<T>(fn: () => Promise<T>): Promise<T> {
    let held: Held;
    try {
      held = await acquire();
    } catch (e) {
      if (e instanceof OAuthDeviceFlowError) throw e;
      throw storageError(`The token file's lock ${lockPath} cannot be taken (${errno(e) ?? "I/O error"}).`);
    }
    try {
      return await fn();
    } finally {
      await release(held).catch(() => undefined);
    }
  }

  async function replace(tokens: OAuthTokens | null): Promise<void> {
    const content = tokens === null ? undefined : serialise(tokens);
    await lock(async () => {
      try {
        if (content !== undefined) return await writeAtomically(content);
        await fs.rm(path, { force: true });
        await syncDirectory();
      } catch (e) {
        throw storageError(`The token file ${path} cannot be written (${errno(e) ?? "I/O error"}).`);
      }
    });
  }

  return {
    path,
    load: () => load(),
    save: (next: OAuthTokens, previous: OAuthTokens) => save(next, previous),
    lock,
    replace,
  };
}
