/**
 * Several replicas, one login: the suite both database stores run (not a test file itself;
 * tests/ts/redisStore.replicas.test.ts and tests/ts/postgresStore.replicas.test.ts call it).
 *
 * Real Node processes (tests/ts/support/replicaWorker.ts), each with its own client, store and token
 * session, share one login in a private, restartable server, against the embedded mock whose
 * refresh tokens are single-use and rotate (a reuse is `401 refresh_token_reused`). Token time is
 * a clock this process drives (every "calls" message carries it, and the mock reads it too), so
 * expiries cost no waiting; leases, lock waits and server restarts run on real time.
 *
 * Every figure is counted from the mock's request log: refresh requests, their status, and
 * `refresh_token_reused` replies. The faults: a replica SIGKILLed holding the lock (before and
 * after its refresh request), paused with SIGSTOP past its lease and resumed, the server
 * restarted while a refreshed token waits to be saved, and the connection cut after a save
 * reached the server but before its reply came back.
 */
import assert from "node:assert/strict";
import { fork, type ChildProcess } from "node:child_process";
import { mkdir, readdir, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { startMockServer, type MockServer } from "../../../demo/mockServer.ts";
import { openaiCodexProvider, pollDeviceToken, requestDeviceCode, type FetchLike, type OAuthTokens } from "../../../js/oauthDeviceFlow.ts";
import { startFaultProxy } from "./faultProxy.ts";
import { type CallResult, type ClientKind, type FromReplica, type ReplicaConfig, type ToReplica } from "./replicaProtocol.ts";
import { refreshBody } from "./refreshRequests.ts";
import { TEST_TIMEOUT, uniqueKey, type ContractStore } from "./storeContract.ts";
import { watchProcess } from "./storeServers.ts";

const WORKER_SOURCE = fileURLToPath(new URL("./replicaWorker.ts", import.meta.url));
/**
 * The replica bundled into one ES module (esbuild; packages, the wasm glue and its per-runtime
 * loader `#wasm-module` left as imports, so the loader finds the .wasm next to itself):
 * a plain `node` start costs about a third of a tsx one. It lives in target/ so that its
 * `../pkg/...` import and `node_modules` resolve as from js/.
 */
const WORKER = fileURLToPath(new URL(`../../../target/replica-worker-${process.pid}.mjs`, import.meta.url));

async function bundleWorker(): Promise<void> {
  // Bundles of test processes that were killed before their `after` ran.
  const dir = dirname(WORKER);
  await mkdir(dir, { recursive: true });
  for (const name of await readdir(dir)) {
    const pid = Number(/^replica-worker-(\d+)\.mjs$/.exec(name)?.[1]);
    if (Number.isSafeInteger(pid) && pid > 0 && !alive(pid)) await rm(join(dir, name), { force: true });
  }
  await build({
    entryPoints: [WORKER_SOURCE],
    outfile: WORKER,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    packages: "external",
    external: ["../pkg/oauth_device_flow.js", "#wasm-module"],
    logLevel: "warning",
  });
}

export interface TestServer {
  readonly url: string;
  readonly port: number;
  kill(how: "crash" | "clean"): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface EngineUnderTest {
  name: string;
  /** The client of replica i is `clients[i % clients.length]`. */
  clients: ClientKind[];
  start(): Promise<TestServer>;
  /** The server's URL at another port (the fault proxy's). */
  urlAt(port: number): string;
  /** A store in this process, on a client of its own. */
  open(url: string, key: string, options?: Record<string, unknown>): Promise<ContractStore>;
  /** A string only the compare-and-swap save request carries on the wire. */
  saveMarker: string;
  /** How `kill("crash")` stops the server, for the record. */
  crash: string;
  /** Closes every client `open` made. */
  closeAll(): Promise<void>;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as { code?: unknown }).code === "EPERM";
  }
}

class Replica {
  readonly saves: Array<{ result: boolean | "error"; accessToken: string }> = [];
  private readonly inbox: FromReplica[] = [];
  private waiters: Array<() => void> = [];
  readonly exited: Promise<void>;
  private constructor(readonly child: ChildProcess) {
    child.on("message", (m: FromReplica) => {
      if (m.type === "saved") this.saves.push({ result: m.result, accessToken: m.accessToken });
      else this.inbox.push(m);
      this.waiters.splice(0).forEach((w) => w());
    });
    this.exited = new Promise((resolve) => child.once("exit", () => resolve()));
    void this.exited.then(() => this.waiters.splice(0).forEach((w) => w()));
  }

  /** A replica process, its driver (`kind`) already imported. */
  static async spawn(kind: ClientKind): Promise<Replica> {
    const child = fork(WORKER, [kind], { execArgv: [], stdio: ["ignore", "inherit", "inherit", "ipc"] });
    if (child.pid !== undefined) {
      const watch = watchProcess(child.pid);
      child.once("exit", () => watch.stop());
    }
    const r = new Replica(child);
    await r.next("ready");
    return r;
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  send(m: ToReplica): void {
    this.child.send(m);
  }

  async next<T extends FromReplica["type"]>(type: T): Promise<Extract<FromReplica, { type: T }>> {
    for (;;) {
      const failed = this.inbox.find((m) => m.type === "failed");
      if (failed !== undefined) assert.fail(`replica ${this.child.pid} failed: ${JSON.stringify(failed)}`);
      const i = this.inbox.findIndex((m) => m.type === type);
      if (i >= 0) return this.inbox.splice(i, 1)[0] as Extract<FromReplica, { type: T }>;
      if (!this.alive) assert.fail(`replica ${this.child.pid} exited before "${type}"`);
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  async open(config: ReplicaConfig): Promise<void> {
    this.saves.length = 0;
    this.send({ type: "open", config });
    await this.next("opened");
  }

  private static ids = 0;
  async calls(n: number, now: number): Promise<CallResult[]> {
    const id = Replica.ids++;
    this.send({ type: "calls", id, n, now });
    const done = await this.next("done");
    assert.equal(done.id, id);
    return done.results;
  }

  async kill(): Promise<void> {
    if (this.alive) this.child.kill("SIGKILL");
    await this.exited;
  }

  async close(): Promise<void> {
    if (!this.alive) return;
    if (this.child.signalCode === null) this.child.kill("SIGCONT");
    this.send({ type: "close" });
    await Promise.race([this.next("closed").catch(() => undefined), this.exited]);
    await this.kill();
  }
}

const tokensOf = (results: CallResult[]) => results.map((r) => (r.ok ? r.accessToken : `error:${r.code}`));
const outcome = (results: CallResult[]) =>
  [...new Set(results.map((r) => (r.ok ? "ok" : `${r.code}${r.retryable ? " (retryable)" : ""}${r.cause ? ` cause ${r.cause}` : ""}`)))].join(", ");

export function replicaSuite(engine: EngineUnderTest): void {
  describe(`${engine.name}: several replicas, one login`, () => {
    let server: TestServer;
    let mock: MockServer;
    /** The token clock: the replicas', the mock's and the sign-ins'. */
    let now = Math.floor(Date.now() / 1000) * 1000;
    const replicas: Replica[] = [];
    const stores: ContractStore[] = [];

    before(async () => {
      await bundleWorker();
      const starting = Array.from({ length: 4 }, (_, i) => Replica.spawn(kindOf(i)));
      spares.push(Replica.spawn(kindOf(0)));
      [server, mock] = await Promise.all([engine.start(), startMockServer({ clock: () => now, intervalSec: 1 })]);
      replicas.push(...(await Promise.all(starting)));
    });
    after(async () => {
      const unused = await Promise.all(spares.splice(0));
      await Promise.all([...replicas, ...unused].map((r) => r.close()));
      await engine.closeAll();
      await mock?.stop();
      await server?.stop();
      await rm(WORKER, { force: true });
    });

    const kindOf = (i: number): ClientKind => engine.clients[i % engine.clients.length]!;
    /** Started ahead (the faults kill replica 0), so replacing a killed replica costs no process start. */
    const spares: Array<Promise<Replica>> = [];
    const spare = (kind: ClientKind): Promise<Replica> => {
      if (kind !== kindOf(0)) return Replica.spawn(kind);
      const next = spares.shift() ?? Replica.spawn(kind);
      spares.push(Replica.spawn(kind));
      return next;
    };

    /** `n` live replicas, each opened on a fresh client for `key` (`leaseFor(i)` overrides `leaseMs`). */
    async function replicasFor(
      n: number,
      config: Omit<ReplicaConfig, "client" | "url"> & { url?: (i: number) => string; leaseFor?: (i: number) => number },
    ): Promise<Replica[]> {
      await Promise.all(
        Array.from({ length: n }, async (_, i) => {
          if (replicas[i] === undefined || !replicas[i]!.alive) replicas[i] = await spare(kindOf(i));
        }),
      );
      const chosen = replicas.slice(0, n);
      await Promise.all(
        chosen.map((r, i) => {
          const { url, leaseFor, ...rest } = config;
          return r.open({ ...rest, leaseMs: leaseFor?.(i) ?? rest.leaseMs, client: kindOf(i), url: url?.(i) ?? server.url });
        }),
      );
      return chosen;
    }

    async function storeFor(key: string, options: Record<string, unknown> = {}): Promise<ContractStore> {
      const s = await engine.open(server.url, key, options);
      stores.push(s);
      return s;
    }

    /** A device sign-in on the token clock, approved at once: a fresh token set. */
    async function signIn(): Promise<OAuthTokens> {
      const provider = openaiCodexProvider({ issuer: mock.url });
      const deps = { fetch: fetch as unknown as FetchLike, clock: () => now, timeoutMs: 5_000 };
      const code = await requestDeviceCode(provider, deps);
      assert.equal(mock.approve(code.userCode), true);
      const result = await pollDeviceToken(provider, code, deps);
      if (result.status !== "success") assert.fail(`sign-in: ${result.status}`);
      return result.tokens;
    }

    /** Refresh requests since `mark` in the mock's log: the token spent, the status, the tokens issued. */
    function refreshes(mark: number) {
      return mock.log.slice(mark).flatMap((e) => {
        const spent = refreshBody(e.body);
        if (e.path !== "/oauth/token" || spent === undefined) return [];
        const reply = JSON.parse(e.reply || "{}") as { access_token?: string; refresh_token?: string };
        return [{ spent, status: e.status, accessToken: reply.access_token ?? "", refreshToken: reply.refresh_token ?? "" }];
      });
    }
    const reused = (mark: number) => mock.log.slice(mark).filter((e) => e.reply.includes("refresh_token_reused")).length;

    /** Calls until every one succeeds (a client reconnecting after a restart): the results and the rounds it took. */
    async function untilOk(r: Replica, n: number): Promise<{ results: CallResult[]; rounds: number; failures: string[] }> {
      const failures: string[] = [];
      for (let round = 1; round <= 200; round++) {
        const results = await r.calls(n, now);
        if (results.every((x) => x.ok)) return { results, rounds: round, failures };
        failures.push(outcome(results));
        await new Promise((resolve) => setImmediate(resolve));
      }
      assert.fail(`still failing after 200 rounds: ${failures.slice(-3).join(" | ")}`);
    }

    test("4 replicas, 20 concurrent getAccessToken() per round, across 6 expiries: exactly one refresh per expiry, 0 refresh_token_reused, every caller handed the current token", TEST_TIMEOUT, async (t) => {
      const LIFETIME_SEC = 60;
      const SKEW_MS = 10_000;
      const EXPIRIES = 6;
      const PER_REPLICA = 5;
      mock.knobs.tokenLifetimeSec = LIFETIME_SEC;
      const key = uniqueKey("replicas");
      const reps = await replicasFor(4, { key, issuer: mock.url, skewMs: SKEW_MS, leaseMs: 15_000, lockTimeoutMs: 20_000, commandTimeoutMs: 5_000 });
      const first = await signIn();
      await (await storeFor(key)).replace(first);
      const mark = mock.log.length;
      let issued = now;
      let current = first;
      const perExpiry: number[] = [];
      const started = Date.now();
      const round = async () => (await Promise.all(reps.map((r) => r.calls(PER_REPLICA, now)))).flat();
      for (let e = 0; e < EXPIRIES; e++) {
        // Mid-life: nothing is due, nobody refreshes.
        now = issued + 20_000;
        const before = refreshes(mark).length;
        assert.deepEqual(tokensOf(await round()), Array(4 * PER_REPLICA).fill(current.accessToken), "mid-life: the current token");
        assert.equal(refreshes(mark).length, before, "mid-life: no refresh");
        // Due (inside the skew): all 20 callers at once; one replica refreshes, the others adopt.
        now = issued + LIFETIME_SEC * 1000 - SKEW_MS + 1_000;
        const results = await round();
        const log = refreshes(mark);
        perExpiry.push(log.length - before);
        assert.equal(log.length, before + 1, `expiry ${e + 1}: exactly one refresh`);
        const latest = log.at(-1)!;
        assert.equal(latest.status, 200);
        assert.equal(latest.spent, current.refreshToken, "it spent the newest refresh token");
        assert.deepEqual(tokensOf(results), Array(4 * PER_REPLICA).fill(latest.accessToken), `expiry ${e + 1}: every caller got the new token`);
        current = { ...current, accessToken: latest.accessToken, refreshToken: latest.refreshToken };
        issued = now;
      }
      assert.equal(reused(mark), 0, "zero refresh_token_reused");
      assert.equal((await storeFor(key).then((s) => s.load()))?.accessToken, current.accessToken, "the store holds the last generation");
      const saves = reps.map((r) => r.saves.filter((s) => s.result === true).length);
      assert.equal(saves.reduce((a, b) => a + b, 0), EXPIRIES, "one successful save per refresh");
      assert.ok(reps.every((r) => r.saves.every((s) => s.result === true)), "no save failed or was dropped");
      t.diagnostic(
        `measured (${engine.name}, clients ${reps.map((_, i) => engine.clients[i % engine.clients.length]).join("/")}): replicas=4 expiries=${EXPIRIES} ` +
          `refreshes=${refreshes(mark).length} refreshes per expiry=${perExpiry.join(",")} refresh_token_reused=${reused(mark)} ` +
          `calls=${EXPIRIES * 2 * 4 * PER_REPLICA} refreshes by replica=${saves.join("/")} wall=${Date.now() - started} ms`,
      );
    });

    describe("faults", () => {
      /**
       * The lease of replica 0, the one the faults kill or pause: short, so the others wait little.
       * Everyone else keeps the default 15 s: a live holder slowed by a loaded machine never loses
       * its lease in the middle of a refresh here.
       */
      const LEASE_MS = 1_500;
      /** A signed-in login whose access token is due, `n` replicas on it, and this process's own store. */
      async function scene(n: number, url?: (i: number) => string) {
        mock.knobs.tokenLifetimeSec = 3600;
        const key = uniqueKey("fault");
        const config = {
          key,
          issuer: mock.url,
          skewMs: 60_000,
          leaseMs: 15_000,
          leaseFor: (i: number) => (i === 0 ? LEASE_MS : 15_000),
          lockTimeoutMs: 20_000,
          commandTimeoutMs: 1_000,
          ...(url ? { url } : {}),
        };
        const reps = await replicasFor(n, config);
        const store = await storeFor(key, { commandTimeoutMs: 1_000 });
        const first = await signIn();
        await store.replace(first);
        now += 3_550_000; // inside the 60 s skew of its 3600 s lifetime: due
        return { reps, store, first, key, mark: mock.log.length };
      }

      test("a replica SIGKILLed while holding the lock, before its refresh request: the others proceed once the lock is free, one refresh, 0 reuse", TEST_TIMEOUT, async (t) => {
        const { reps, store, mark } = await scene(3);
        const [a, b, c] = reps as [Replica, Replica, Replica];
        a.send({ type: "stall", when: "before-refresh" });
        void a.calls(1, now).catch(() => undefined);
        await a.next("stalled");
        await a.kill();
        const started = Date.now();
        const results = [...(await Promise.all([b.calls(3, now), c.calls(3, now)])).flat()];
        const waited = Date.now() - started;
        const log = refreshes(mark);
        assert.equal(log.length, 1, "one refresh");
        assert.equal(log[0]!.status, 200);
        assert.deepEqual(tokensOf(results), Array(6).fill(log[0]!.accessToken));
        assert.equal(reused(mark), 0);
        assert.equal((await store.load())?.accessToken, log[0]!.accessToken);
        t.diagnostic(`measured (${engine.name}): survivors waited ${waited} ms for the dead holder's lock (lease ${LEASE_MS} ms); refreshes=${log.length} refresh_token_reused=${reused(mark)} outcome=${outcome(results)}`);
      });

      test("THE ONE LOSING CASE: a replica SIGKILLed after its refresh, before its save: the rotated token dies with it; the next replica gets reauth_required (cause refresh_token_reused), latched, never a wrong token, until a new sign-in", TEST_TIMEOUT, async (t) => {
        const { reps, store, first, mark } = await scene(2);
        const [a, b] = reps as [Replica, Replica];
        a.send({ type: "stall", when: "after-refresh" });
        void a.calls(1, now).catch(() => undefined);
        await a.next("stalled");
        await a.kill();
        assert.deepEqual(refreshes(mark).map((r) => r.status), [200], "the server rotated the token");
        const started = Date.now();
        const results = await b.calls(3, now);
        const waited = Date.now() - started;
        assert.deepEqual(
          results.map((r) => (r.ok ? "ok" : [r.code, r.cause])),
          Array(3).fill(["reauth_required", "refresh_token_reused"]),
        );
        assert.deepEqual(refreshes(mark).map((r) => [r.spent, r.status]), [[first.refreshToken, 200], [first.refreshToken, 401]]);
        assert.deepEqual(await store.load(), first, "the store still holds the spent set: nothing wrong was written");
        assert.deepEqual((await b.calls(2, now)).map((r) => (r.ok ? "ok" : r.code)), ["reauth_required", "reauth_required"]);
        assert.equal(refreshes(mark).length, 2, "latched: no further request");
        const again = await signIn();
        await store.replace(again);
        assert.deepEqual(tokensOf(await b.calls(2, now)), [again.accessToken, again.accessToken], "a new sign-in releases the latch");
        t.diagnostic(`measured (${engine.name}): next replica waited ${waited} ms, outcome=${outcome(results)}; refresh_token_reused=${reused(mark)} (the dead replica's token); store kept the spent set; cured by a new sign-in`);
      });

      test("a replica paused (SIGSTOP) past its lease after refreshing, while the user signs in again: its stale save is fenced off (save resolves false), the new holder's lock and the new sign-in survive its resumption", TEST_TIMEOUT, async (t) => {
        const { reps, store, key, mark } = await scene(2);
        const [a, b] = reps as [Replica, Replica];
        a.send({ type: "stall", when: "after-refresh" });
        const aCall = a.calls(1, now);
        await a.next("stalled");
        a.child.kill("SIGSTOP");
        a.send({ type: "resume" }); // delivered once it runs again
        const paused = Date.now();
        const again = await signIn();
        await store.replace(again); // waits for the paused replica's lease
        const leaseWait = Date.now() - paused;
        let held: () => void = () => undefined;
        let release: () => void = () => undefined;
        const acquired = new Promise<void>((r) => (held = r));
        const holding = store.lock(async () => {
          held();
          await new Promise<void>((r) => (release = r));
        });
        t.after(async () => {
          release(); // never leave this lock (and its heartbeat) behind a failed assertion
          await holding.catch(() => undefined);
        });
        await acquired;
        a.child.kill("SIGCONT");
        const aResults = await aCall;
        assert.deepEqual(a.saves.map((s) => s.result), [false], "the stale save was dropped");
        const rotated = refreshes(mark)[0]!;
        assert.ok(rotated !== undefined, "the paused holder had refreshed");
        assert.ok(
          aResults[0]?.ok === true && aResults[0].accessToken === again.accessToken,
          `its caller gets the new sign-in that the store holds (the session re-reads after a dropped save), never its own orphaned refresh: ${JSON.stringify(aResults[0]?.ok ? aResults[0].accessToken === rotated.accessToken : aResults[0])}`,
        );
        assert.deepEqual(await store.load(), again, "the new sign-in survived");
        const probe = await storeFor(key, { lockTimeoutMs: 300 });
        await assert.rejects(probe.lock(async () => "in"), { code: "storage_error" }, "the new holder still holds the lock after the old one resumed and released");
        release();
        await holding;
        assert.deepEqual(tokensOf(await b.calls(2, now)), [again.accessToken, again.accessToken]);
        assert.equal(refreshes(mark).length, 1);
        assert.equal(reused(mark), 0);
        t.diagnostic(
          `measured (${engine.name}): sign-in waited ${leaseWait} ms for the paused holder's lease (${LEASE_MS} ms); resumed holder's save=false (dropped), ` +
            `store kept the new sign-in, lock held by the new holder throughout; the resumed caller itself got ${aResults[0]?.ok ? "the new sign-in (re-read after its dropped save)" : outcome(aResults)}; refresh_token_reused=${reused(mark)}`,
        );
      });

      test("a replica paused (SIGSTOP) past its lease after refreshing, nobody signs in: the next replica's refresh is refused (reauth_required), the resumed one's save still lands (the store held its previous), and the next call adopts it", TEST_TIMEOUT, async (t) => {
        const { reps, store, mark } = await scene(2);
        const [a, b] = reps as [Replica, Replica];
        a.send({ type: "stall", when: "after-refresh" });
        const aCall = a.calls(1, now);
        await a.next("stalled");
        a.child.kill("SIGSTOP");
        a.send({ type: "resume" });
        const started = Date.now();
        const bFirst = await b.calls(1, now);
        const waited = Date.now() - started;
        assert.deepEqual(bFirst.map((r) => (r.ok ? "ok" : [r.code, r.cause])), [["reauth_required", "refresh_token_reused"]]);
        a.child.kill("SIGCONT");
        const aResults = await aCall;
        const rotated = refreshes(mark)[0]!;
        assert.deepEqual(tokensOf(aResults), [rotated.accessToken]);
        assert.deepEqual(a.saves.map((s) => s.result), [true], "the late save landed: the store still held its previous");
        assert.deepEqual(tokensOf(await b.calls(2, now)), [rotated.accessToken, rotated.accessToken], "adopted, no new request");
        assert.deepEqual(refreshes(mark).map((r) => r.status), [200, 401]);
        assert.equal((await store.load())?.accessToken, rotated.accessToken);
        t.diagnostic(`measured (${engine.name}): next replica waited ${waited} ms, got ${outcome(bFirst)} once (refresh_token_reused=${reused(mark)}), then adopted the resumed replica's token; nothing lost`);
      });

      test(`the server restarted (${engine.crash}) while a refreshed token waits to be saved: retryable storage_error meanwhile, nothing lost, refreshing resumes`, TEST_TIMEOUT, async (t) => {
        const { reps, store, mark } = await scene(2);
        const [a, b] = reps as [Replica, Replica];
        a.send({ type: "stall", when: "after-refresh" });
        const aCall = a.calls(1, now);
        await a.next("stalled");
        const down = Date.now();
        await server.kill("crash");
        a.send({ type: "resume" });
        const aDown = await aCall;
        const bDown = await b.calls(2, now);
        for (const r of [...aDown, ...bDown]) {
          assert.ok(!r.ok && r.code === "storage_error" && r.retryable, `storage_error (retryable) while down: ${JSON.stringify(r)}`);
          assert.doesNotMatch(r.message, /eyJ|rt_|redis:\/\/|postgres:\/\//);
        }
        await server.start();
        const outage = Date.now() - down;
        const rotated = refreshes(mark)[0]!;
        const aUp = await untilOk(a, 1);
        assert.deepEqual(tokensOf(aUp.results), [rotated.accessToken], "the refreshed token, saved once the server is back");
        const bUp = await untilOk(b, 2);
        assert.deepEqual(tokensOf(bUp.results), [rotated.accessToken, rotated.accessToken]);
        assert.equal((await untilLoaded(store))?.accessToken, rotated.accessToken, "durable across the restart");
        // And the next expiry refreshes normally.
        now += 3_550_000;
        const next = await untilOk(b, 2);
        const log = refreshes(mark);
        assert.deepEqual(log.map((r) => r.status), [200, 200]);
        assert.deepEqual(tokensOf(next.results), [log[1]!.accessToken, log[1]!.accessToken]);
        assert.equal(reused(mark), 0);
        t.diagnostic(
          `measured (${engine.name}): while down: ${outcome([...aDown, ...bDown])}; outage ${outage} ms; after restart the pending save landed ` +
            `(${aUp.rounds} round(s): ${aUp.failures.join(" | ") || "no failure"}), refreshes=${log.length} refresh_token_reused=${reused(mark)}`,
        );
      });

      for (const kind of [...new Set(engine.clients)]) {
        test(`the connection (${kind}) dropped during save, after the write reached the server and before its reply: the retried save finds its token stored, nothing lost, 0 reuse`, TEST_TIMEOUT, async (t) => {
          const proxy = await startFaultProxy(server.port);
          t.after(() => proxy.close());
          const index = engine.clients.indexOf(kind);
          const { reps, store, mark } = await scene(index + 2, (i) => (i === index ? engine.urlAt(proxy.port) : server.url));
          const a = reps[index]!;
          const b = reps[(index + 1) % reps.length]!;
          const dropped = proxy.dropReplyTo(engine.saveMarker);
          const first = await a.calls(1, now);
          await dropped;
          const rotated = refreshes(mark)[0]!;
          assert.equal((await store.load())?.accessToken, rotated.accessToken, "the write landed");
          const retried = first.every((r) => r.ok) ? { results: first, rounds: 0, failures: [] } : await untilOk(a, 1);
          assert.deepEqual(tokensOf(retried.results), [rotated.accessToken]);
          assert.deepEqual(tokensOf(await b.calls(2, now)), [rotated.accessToken, rotated.accessToken]);
          assert.equal(refreshes(mark).length, 1);
          assert.equal(reused(mark), 0);
          assert.equal(a.saves.at(-1)?.result, true, "the retried save found next already stored");
          t.diagnostic(`measured (${engine.name}, ${kind}): the call meeting the drop got ${outcome(first)}; saves ${a.saves.map((s) => s.result).join(" then ")}; refreshes=1 refresh_token_reused=0`);
        });
      }

      async function untilLoaded(s: ContractStore): Promise<OAuthTokens | null> {
        for (let i = 0; ; i++) {
          try {
            return await s.load();
          } catch (e) {
            if (i >= 200) throw e;
            await new Promise((resolve) => setTimeout(resolve, 10));
          }
        }
      }
    });
  });
}
