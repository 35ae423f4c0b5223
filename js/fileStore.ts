/**
 * A token store in one JSON file, shared safely by several Node processes on one host (cluster
 * workers, a CLI beside a server, containers sharing a volume): the store behind a token session
 * when the credential must outlive the process or be shared with others.
 *
 * Why each part:
 * - atomic write (temp file in the target's directory, fsync, rename, fsync of the directory): a
 *   crash or power loss leaves the old file or the new one, never a torn one. A lost rotated
 *   refresh token logs the user out for good, so a half-written file is the one outcome to rule out;
 * - mode 0600 for the file (an existing wider one is tightened before it is read) and a directory
 *   nobody else may write: the file holds the keys to the user's account;
 * - a lock file (`<target>.lock`, created with O_EXCL) whose holder touches it every
 *   `staleLockMs / 4`: the session refreshes only inside `lock`, so two processes never spend one
 *   refresh token. Liveness is that heartbeat alone: a pid says nothing across PID namespaces
 *   (containers in one pod share a volume and a host name, not their process tables), so a lock
 *   is broken only when its heartbeat is older than `staleLockMs`, and waiters wait longer than
 *   that (`lockTimeoutMs`), ending in a retryable `storage_error`;
 * - a symbolic link at `path` is followed, for the file, its lock and its temp files alike, so
 *   every holder meets at one lock whichever name it was given, and the link survives saves;
 * - errors never quote the file (it may hold tokens): a corrupt file is named, not shown.
 *
 * Local file systems only: O_EXCL and rename are not reliably atomic on every network file
 * system (for several machines use a database or Redis: see docs/storage.md).
 */
import { randomBytes } from "node:crypto";
import { constants, promises as fs } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import { hostname } from "node:os";
import { basename, dirname, isAbsolute, join, resolve } from "node:path";
import { OAuthDeviceFlowError, invalidConfig, storageError } from "./errors.ts";
import { readTokens } from "./storedTokens.ts";
import type { TokenStore } from "./tokenSession.ts";
import type { OAuthTokens } from "./types.ts";

/** The `version` this code writes and the only one it reads. */
export const FILE_STORE_SCHEMA_VERSION = 1;

/** Default `staleLockMs`: a dead holder blocks the others this long at most. */
const DEFAULT_STALE_LOCK_MS = 20_000;
/** Default `lockTimeoutMs` (at least 1.25 x `staleLockMs`; longer than the session's 30 s refresh timeout). */
const DEFAULT_LOCK_TIMEOUT_MS = 40_000;

/** What {@link createFileStore} takes. */
export interface FileStoreOptions {
  /**
   * The token file. A symbolic link is followed (the file, its lock and its temp files are the
   * link's target's). Its directory is created (mode 0700) on the first write if missing, and
   * must not be writable by group or others.
   */
  path: string;
  /**
   * How long `lock` waits for another holder before `storage_error`. Default 40 000, and at least
   * 1.25 x `staleLockMs` (a waiter outlasts a dead holder's lock); a smaller explicit value is
   * `invalid_config`.
   */
  lockTimeoutMs?: number;
  /**
   * A lock whose heartbeat is older than this is broken (whatever host or pid it names). Default
   * 20 000, or 0.8 x `lockTimeoutMs` when only that is given and smaller.
   */
  staleLockMs?: number;
  /** Time source for lock and temp-file ages and deadlines (epoch ms). Default `Date.now`. */
  clock?: () => number;
  /** How `lock` waits between attempts. Default a real timer. */
  sleep?: (ms: number) => Promise<void>;
  /** For crash tests only: runs after the temp file is written and synced, before the rename. */
  beforeRename?: (tempPath: string) => Promise<void> | void;
}

/** The file store: the `TokenStore` contract, with `lock` and `replace` always present. */
export interface FileTokenStore extends TokenStore {
  /** The token file, as given. */
  readonly path: string;
  /** Runs `fn` alone across every process on this host using this file (a lock file beside it). */
  lock<T>(fn: () => Promise<T>): Promise<T>;
  /**
   * Sign-in and sign-out: writes `tokens` (or removes the file for `null`) under the lock. Do not
   * call it from inside `lock` (the lock is not re-entrant: that waits `lockTimeoutMs` and fails).
   */
  replace(tokens: OAuthTokens | null): Promise<void>;
}

const OPTION_NAMES: readonly string[] = ["path", "lockTimeoutMs", "staleLockMs", "clock", "sleep", "beforeRename"];
const HOST = hostname();
/** The waiters' budget over the stale time: one heartbeat period (staleLockMs / 4) of margin. */
const WAIT_OVER_STALE = 1.25;
/** Symbolic links followed from `path` before giving up (as the kernel's ELOOP). */
const MAX_LINKS = 40;

function errno(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

function positive(o: Record<string, unknown>, name: string): number | undefined {
  const v = o[name];
  if (v === undefined) return undefined;
  if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) {
    throw invalidConfig(`createFileStore: ${name} must be a positive number of milliseconds`);
  }
  return v;
}

/** The lock timings, agreeing: waiters always outlast a dead holder's heartbeat. */
function lockTimings(o: Record<string, unknown>): { lockTimeoutMs: number; staleLockMs: number } {
  const wait = positive(o, "lockTimeoutMs");
  const stale = positive(o, "staleLockMs");
  const staleLockMs = stale ?? Math.min(DEFAULT_STALE_LOCK_MS, (wait ?? Infinity) / WAIT_OVER_STALE);
  const lockTimeoutMs = wait ?? Math.max(DEFAULT_LOCK_TIMEOUT_MS, staleLockMs * WAIT_OVER_STALE);
  if (lockTimeoutMs < staleLockMs * WAIT_OVER_STALE) {
    throw invalidConfig(
      `createFileStore: lockTimeoutMs (${lockTimeoutMs}) must be at least 1.25 x staleLockMs (${staleLockMs}): ` +
        "a waiter must outlast a dead holder's lock, which is broken only after staleLockMs",
    );
  }
  return { lockTimeoutMs, staleLockMs };
}


/** The file's content for `tokens`: only the known fields, so nothing else is ever persisted. */
function serialise(tokens: OAuthTokens): string {
  const t = readTokens(tokens);
  if (t === undefined) throw invalidConfig("The token store was given tokens without the shape of OAuthTokens.");
  return `${JSON.stringify({ version: FILE_STORE_SCHEMA_VERSION, tokens: t }, null, 2)}\n`;
}

const same = (a: OAuthTokens, b: OAuthTokens | undefined) => a.accessToken === b?.accessToken && a.refreshToken === b?.refreshToken;

/** Errors for a file whose content is damaged (not JSON, not version 1, malformed): a save may replace it. */
const DAMAGED = new WeakSet<OAuthDeviceFlowError>();

function damaged(message: string): OAuthDeviceFlowError {
  const e = storageError(message, false);
  DAMAGED.add(e);
  return e;
}

/** Where one operation reads and writes: the link's target, and the files beside it. */
interface Target {
  file: string;
  dir: string;
  lock: string;
  breakGuard: string;
  tempPrefix: string;
}

interface Held {
  handle: FileHandle;
  heartbeat: ReturnType<typeof setInterval>;
}

/**
 * A file store at `options.path`. Throws `invalid_config` synchronously for bad options; every
 * method rejects with `OAuthDeviceFlowError` (`storage_error` for file-system trouble; not
 * retryable when retrying cannot help: a damaged file, a newer version's file, an unsafe
 * directory).
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
  const absolute = resolve(path);
  const { lockTimeoutMs, staleLockMs } = lockTimings(o);
  const clock = options.clock ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((done) => setTimeout(done, ms)));
  const beforeRename = options.beforeRename;

  /**
   * Follows symbolic links at `path` (also dangling ones: the first save creates the target) and
   * checks the target's directory. Done per operation: the link may change between them.
   */
  async function target(): Promise<Target> {
    let file = absolute;
    for (let hops = 0; ; hops++) {
      let link: string;
      try {
        link = await fs.readlink(file);
      } catch (e) {
        if (errno(e) === "EINVAL" || errno(e) === "ENOENT") break; // not a link, or nothing there yet
        throw storageError(`The token file ${path} cannot be reached (${errno(e) ?? "I/O error"}).`);
      }
      if (hops >= MAX_LINKS) throw storageError(`The token file ${path} is a loop of symbolic links.`, false);
      file = isAbsolute(link) ? link : join(dirname(file), link);
    }
    const dir = dirname(file);
    await checkDirectory(dir);
    return {
      file,
      dir,
      lock: `${file}.lock`,
      breakGuard: `${file}.lock.break`,
      tempPrefix: `.${basename(file)}.`,
    };
  }

  /** Anyone who may write the directory may replace the tokens (or plant a link): refused. */
  async function checkDirectory(dir: string): Promise<void> {
    let mode: number;
    try {
      mode = (await fs.stat(dir)).mode;
    } catch (e) {
      if (errno(e) === "ENOENT") return; // created 0700 by the first write
      throw storageError(`The token file's directory ${dir} cannot be read (${errno(e) ?? "I/O error"}).`);
    }
    if ((mode & 0o022) !== 0) {
      throw storageError(
        `The token file's directory ${dir} is writable by group or others (mode ${(mode & 0o7777).toString(8).padStart(4, "0")}): ` +
          "anyone allowed to write there can replace the tokens. Use a private directory (chmod 700).",
        false,
      );
    }
  }

  async function loadFrom(t: Target): Promise<OAuthTokens | null> {
    let handle: FileHandle;
    try {
      handle = await fs.open(t.file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch (e) {
      if (errno(e) === "ENOENT") return null;
      throw storageError(`The token file ${path} cannot be read (${errno(e) ?? "I/O error"}).`);
    }
    let raw: string;
    try {
      const stat = await handle.stat();
      if (!stat.isFile()) throw storageError(`The token file ${path} is not a regular file.`, false);
      if ((stat.mode & 0o077) !== 0) {
        // Readable or writable by others: made private before it is trusted.
        await handle.chmod(0o600).catch(() => {
          throw storageError(`The token file ${path} is open to group or others and cannot be made private (chmod 600 it).`, false);
        });
      }
      raw = await handle.readFile("utf8");
    } catch (e) {
      if (e instanceof OAuthDeviceFlowError) throw e;
      throw storageError(`The token file ${path} cannot be read (${errno(e) ?? "I/O error"}).`);
    } finally {
      await handle.close();
    }
    let doc: unknown;
    try {
      doc = JSON.parse(raw);
    } catch {
      // JSON.parse's own message quotes the text: never attach or repeat it.
      throw damaged(`The token file ${path} is not valid JSON (damaged outside this store?); restore it or sign in again.`);
    }
    const d = typeof doc === "object" && doc !== null && !Array.isArray(doc) ? (doc as Record<string, unknown>) : undefined;
    if (d !== undefined && typeof d["version"] === "number" && d["version"] > FILE_STORE_SCHEMA_VERSION) {
      // Not DAMAGED: a save never overwrites (downgrades) it.
      throw storageError(`The token file ${path} was written by a newer version (schema ${d["version"]}); upgrade this program.`, false);
    }
    if (d === undefined || d["version"] !== FILE_STORE_SCHEMA_VERSION) {
      throw damaged(`The token file ${path} is not a version ${FILE_STORE_SCHEMA_VERSION} token file; restore it or sign in again.`);
    }
    if (d["tokens"] === null) return null;
    const tokens = readTokens(d["tokens"]);
    if (tokens === undefined) throw damaged(`The token file ${path} holds malformed tokens; restore it or sign in again.`);
    return tokens;
  }

  async function load(): Promise<OAuthTokens | null> {
    return loadFrom(await target());
  }

  /** Temp file, fsync, rename, fsync of the directory: the old file or the new one, never a mix. */
  async function writeAtomically(t: Target, content: string): Promise<void> {
    await fs.mkdir(t.dir, { recursive: true, mode: 0o700 });
    const temp = join(t.dir, `${t.tempPrefix}${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
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
      await fs.rename(temp, t.file);
      renamed = true;
      await syncDirectory(t.dir);
    } finally {
      if (!renamed) await fs.rm(temp, { force: true }).catch(() => undefined);
    }
    await removeStaleTemps(t);
  }

  async function syncDirectory(dir: string): Promise<void> {
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

  /**
   * Temp files of writers that died between create and rename (they hold tokens), removed only
   * when their age proves it: untouched for longer than `staleLockMs`. A pid proves nothing (it
   * may live in another PID namespace), and a writer that stalled that long has lost its lock:
   * its rename then fails and its save is retried, nothing is lost.
   */
  async function removeStaleTemps(t: Target): Promise<void> {
    const names = await fs.readdir(t.dir).catch(() => [] as string[]);
    for (const name of names) {
      if (!name.startsWith(t.tempPrefix) || !name.endsWith(".tmp")) continue;
      const file = join(t.dir, name);
      const stat = await fs.lstat(file).catch(() => undefined);
      if (stat !== undefined && clock() - stat.mtimeMs > staleLockMs) await fs.rm(file, { force: true }).catch(() => undefined);
    }
  }

  /**
   * Compare-and-swap: writes `next` when the file still holds `previous` (or already `next`: a
   * retried save) and resolves `true`. Anything else means the file changed since the refresh
   * began, which the lock rules out unless it was broken or bypassed: a sign-out (no file) or
   * another sign-in is newer than our refresh, so the file wins, `next` is dropped and `save`
   * resolves `false` (never a silent sign-in after a sign-out). A damaged file is replaced: `next`
   * is then the only set known to work. A file it refuses otherwise (a newer version's, an open
   * one it cannot make private) is never overwritten: the same non-retryable error as `load`.
   */
  async function save(next: OAuthTokens, previous: OAuthTokens): Promise<boolean> {
    const content = serialise(next);
    const t = await target();
    let current: OAuthTokens | null | undefined;
    try {
      current = await loadFrom(t);
    } catch (e) {
      if (!(e instanceof OAuthDeviceFlowError && DAMAGED.has(e))) throw e;
      current = undefined;
    }
    if (current === null) return false;
    if (current !== undefined && !same(current, previous) && !same(current, next)) return false;
    try {
      await writeAtomically(t, content);
    } catch (e) {
      throw storageError(`The token file ${path} cannot be written (${errno(e) ?? "I/O error"}).`);
    }
    return true;
  }

  /** The lock file as found: its identity (inode and content) and whether its heartbeat stopped. */
  async function inspect(file: string): Promise<{ id: string; stale: boolean } | undefined> {
    let handle: FileHandle;
    try {
      handle = await fs.open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch (e) {
      if (errno(e) === "ENOENT") return undefined;
      throw e;
    }
    try {
      const stat = await handle.stat();
      const raw = await handle.readFile("utf8");
      return { id: `${stat.ino}:${raw}`, stale: clock() - stat.mtimeMs > staleLockMs };
    } finally {
      await handle.close();
    }
  }

  /**
   * Removes a stale lock, but only the very one judged stale: breakers take `<target>.lock.break`
   * first, so two waiters cannot both break and one then remove the other's fresh lock.
   */
  async function breakLock(t: Target, staleId: string): Promise<boolean> {
    let guard: FileHandle;
    try {
      guard = await fs.open(t.breakGuard, "wx", 0o600);
    } catch (e) {
      if (errno(e) !== "EEXIST") throw e;
      // Another waiter is breaking it (a few microseconds), or died doing so.
      const other = await inspect(t.breakGuard);
      if (other?.stale) await fs.rm(t.breakGuard, { force: true });
      return false;
    }
    try {
      await guard.writeFile(JSON.stringify({ pid: process.pid, host: HOST, since: clock() }));
      const now = await inspect(t.lock);
      if (now !== undefined && now.id === staleId) await fs.rm(t.lock, { force: true });
      return true;
    } finally {
      await guard.close();
      await fs.rm(t.breakGuard, { force: true });
    }
  }

  async function acquire(t: Target): Promise<Held> {
    const deadline = clock() + lockTimeoutMs;
    for (;;) {
      try {
        const handle = await fs.open(t.lock, "wx", 0o600);
        try {
          // Who and since when, for a person looking at it; liveness is the heartbeat alone.
          await handle.writeFile(JSON.stringify({ pid: process.pid, host: HOST, since: clock() }));
          const start = new Date(clock());
          await handle.utimes(start, start);
        } catch (e) {
          await handle.close();
          await fs.rm(t.lock, { force: true });
          throw e;
        }
        const beat = Math.max(10, Math.floor(staleLockMs / 4));
        const heartbeat = setInterval(() => {
          const now = new Date(clock());
          handle.utimes(now, now).catch(() => undefined);
        }, beat);
        heartbeat.unref();
        return { handle, heartbeat };
      } catch (e) {
        if (errno(e) === "ENOENT") {
          await fs.mkdir(t.dir, { recursive: true, mode: 0o700 });
          continue;
        }
        if (errno(e) !== "EEXIST") throw e;
      }
      const found = await inspect(t.lock);
      if (found === undefined) continue; // released meanwhile: try again at once
      if (found.stale && (await breakLock(t, found.id))) continue;
      const left = deadline - clock();
      if (left <= 0) {
        throw storageError(`Another process has held the token file's lock ${t.lock} for over ${lockTimeoutMs} ms; try again.`);
      }
      await sleep(Math.min(left, 10 + Math.floor(Math.random() * 40)));
    }
  }

  /** Removes the lock file only if it is still ours (the same inode as our open handle). */
  async function release(t: Target, held: Held): Promise<void> {
    clearInterval(held.heartbeat);
    try {
      const [mine, now] = await Promise.all([held.handle.stat(), fs.stat(t.lock).catch(() => undefined)]);
      if (now !== undefined && now.ino === mine.ino && now.dev === mine.dev) await fs.rm(t.lock, { force: true });
    } finally {
      await held.handle.close();
    }
  }

  async function lock<T>(fn: () => Promise<T>): Promise<T> {
    return lockAt(await target(), fn);
  }

  /** `lock` on a target already resolved (so `replace` writes the very file it locked). */
  async function lockAt<T>(t: Target, fn: () => Promise<T>): Promise<T> {
    let held: Held;
    try {
      held = await acquire(t);
    } catch (e) {
      if (e instanceof OAuthDeviceFlowError) throw e;
      throw storageError(`The token file's lock ${t.lock} cannot be taken (${errno(e) ?? "I/O error"}).`);
    }
    try {
      return await fn();
    } finally {
      await release(t, held).catch(() => undefined);
    }
  }

  /** Unconditional, under the lock: a sign-in or sign-out wins over whatever the file holds. */
  async function replace(tokens: OAuthTokens | null): Promise<void> {
    const content = tokens === null ? undefined : serialise(tokens);
    const t = await target();
    await lockAt(t, async () => {
      try {
        if (content !== undefined) return await writeAtomically(t, content);
        await fs.rm(t.file, { force: true });
        await syncDirectory(t.dir);
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
