/**
 * The runtime matrix's moving parts, shared by its test (tests/runtimes/matrix.test.ts) and by the
 * cold-start rows of `npm run bench`: pack the tarball, install it by name into a clean project,
 * bundle the Worker and the page from that project the way their users bundle them, and run the
 * same smoke (tests/runtimes/consumer/smoke.mjs) in each runtime.
 *
 * The runtimes come from tests/runtimes/node_modules (pinned in tests/runtimes/package.json,
 * installed by scripts/runtimes.sh), never from the root node_modules.
 */
import { spawn } from "node:child_process";
import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { basename, dirname, extname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

/** tests/runtimes/: the matrix's own package (its runtimes) and the clean project's template. */
export const MATRIX = dirname(fileURLToPath(import.meta.url));
/** The repository. */
export const ROOT = resolve(MATRIX, "../..");
const BIN = join(MATRIX, "node_modules");
const PACKAGE = "oauth-device-flow-wasm";

/** A runtime that runs consumer/main.mjs as a program. */
export interface ProgramRuntime {
  /** Short name used in test names and tables. */
  name: string;
  command: string;
  args: string[];
  /** Also `require` the package (consumer/main.cjs). */
  require: boolean;
  /**
   * The clean project it runs in: npm's, or one its own package manager installed the tarball
   * into (Bun). Deno runs in npm's: `deno install` takes `file:` directories, not tarballs.
   */
  project: "npm" | "bun";
  env?: Record<string, string>;
}

/** Node at both `engines` minimums and the current line, Deno and Bun, as pinned in package.json. */
const BUN = join(BIN, "bun/bin/bun.exe");
export const PROGRAM_RUNTIMES: ProgramRuntime[] = [
  { name: "node 20.19.0 (engines minimum)", command: join(BIN, "node20/bin/node"), args: [], require: true, project: "npm" },
  { name: "node 22.12.0 (engines minimum)", command: join(BIN, "node22/bin/node"), args: [], require: true, project: "npm" },
  { name: "node 24.22.3", command: join(BIN, "node24/bin/node"), args: [], require: true, project: "npm" },
  {
    name: "deno 2.9.6",
    command: join(BIN, "deno/deno"),
    // No prompt, and only what the package needs: reading its files (the .wasm, the token file),
    // the host name (the file store's lock records it) and the network (here the mock on loopback).
    args: ["run", "--no-prompt", "--allow-read", "--allow-sys=hostname", "--allow-net=127.0.0.1"],
    require: true,
    project: "npm",
    env: { DENO_NO_UPDATE_CHECK: "1" },
  },
  { name: "bun 1.4.4", command: BUN, args: [], require: true, project: "bun" },
];
/** Runs miniflare, which wants Node >= 22. */
export const NODE24 = join(BIN, "node24/bin/node");
/** The workerd release miniflare runs (its own package, pinned through miniflare's lockfile entry). */
export const WORKERD_VERSION: string = existsSync(join(BIN, "workerd/package.json"))
  ? (JSON.parse(readFileSync(join(BIN, "workerd/package.json"), "utf8")) as { version: string }).version
  : "?";

/** What consumer/*.mjs print (one JSON line). */
export interface RunResult {
  runtime: string;
  coldStartMs?: number;
  passed?: string[];
  fileStore?: string;
  flow?: string[];
  withoutCors?: string;
  require?: string;
  error?: string;
}

/** Runs a command to completion; rejects with its output when it exits non-zero. */
export function run(command: string, args: string[], options: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
      timeout: options.timeoutMs ?? 60_000,
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("error", reject);
    child.on("close", (code, signal) => {
      if (code === 0) resolvePromise(out);
      else reject(new Error(`${basename(command)} ${args.join(" ")} exited ${code ?? signal}\n${out}\n${err}`));
    });
  });
}

/** The last line of a program's output, parsed. */
export function lastJson(out: string): RunResult {
  const line = out.trim().split("\n").at(-1) ?? "";
  return JSON.parse(line) as RunResult;
}

export interface Prepared {
  tarball: string;
  /** The clean project npm installed the tarball into, with the Worker and the page bundled. */
  consumer: string;
  /** The same clean project, the tarball installed by `bun add`. */
  bunConsumer: string;
  workerDir: string;
  baselineWorkerDir: string;
  pageDir: string;
}

/**
 * Packs the tarball (scripts/pack.sh), installs it by name into a copy of consumer/ with npm (no
 * repository node_modules reachable: scratch is outside the repository), and bundles:
 * the TypeScript baseline for the cold-start comparison, the Worker (esbuild with the conditions
 * and .wasm handling of wrangler) and the page (esbuild for the browser).
 */
export async function preparePackage(scratch: string): Promise<Prepared> {
  const packOut = await run("bash", [join(ROOT, "scripts/pack.sh"), "--out", join(scratch, "pack")], { timeoutMs: 300_000 });
  const tarball = packOut.trim().split("\n").at(-1) ?? "";
  if (!existsSync(tarball)) throw new Error(`scripts/pack.sh printed no tarball:\n${packOut}`);

  const consumer = join(scratch, "consumer");
  const bunConsumer = join(scratch, "consumer-bun");
  cpSync(join(MATRIX, "consumer"), consumer, { recursive: true });
  cpSync(join(MATRIX, "consumer"), bunConsumer, { recursive: true });
  await Promise.all([
    run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error", tarball], { cwd: consumer, timeoutMs: 180_000 }),
    run(BUN, ["add", "--no-progress", tarball], { cwd: bunConsumer, timeoutMs: 180_000 }),
  ]);
  for (const project of [consumer, bunConsumer]) {
    const installed = JSON.parse(readFileSync(join(project, "node_modules", PACKAGE, "package.json"), "utf8")) as { name: string };
    if (installed.name !== PACKAGE) throw new Error(`${project} holds ${installed.name}, not ${PACKAGE}`);
  }

  await esbuild.build({
    entryPoints: [join(ROOT, "baseline/oauthDeviceFlow.ts")],
    outfile: join(consumer, "baseline-bundle.mjs"),
    bundle: true,
    format: "esm",
    platform: "neutral",
    logLevel: "error",
  });
  copyFileSync(join(consumer, "baseline-bundle.mjs"), join(bunConsumer, "baseline-bundle.mjs"));

  const workerDir = join(consumer, "worker-dist");
  await bundleWorker(join(consumer, "worker.mjs"), workerDir);
  const baselineWorkerDir = join(consumer, "worker-baseline-dist");
  writeFileSync(
    join(consumer, "worker-baseline.mjs"),
    'import * as oauth from "./baseline-bundle.mjs";\n' +
      "export default { fetch() { return Response.json({ expired: oauth.isAccessTokenExpired({ accessToken: \"x\", tokenType: \"Bearer\", expiresAt: 2e12 }, () => 1e12) }); } };\n",
  );
  await bundleWorker(join(consumer, "worker-baseline.mjs"), baselineWorkerDir);

  const pageDir = join(consumer, "page-dist");
  await esbuild.build({
    entryPoints: [join(consumer, "page.mjs")],
    outdir: pageDir,
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    logLevel: "error",
  });
  writeFileSync(join(pageDir, "index.html"), '<!doctype html><meta charset="utf-8"><title>runtime matrix</title><script type="module" src="./page.js"></script>\n');
  return { tarball, consumer, bunConsumer, workerDir, baselineWorkerDir, pageDir };
}

/**
 * Bundles a Worker as wrangler does: esbuild, ES module output, the `workerd`/`worker`/`browser`
 * conditions, and every `.wasm` import kept as a module of its own (copied next to the bundle; the
 * runtime hands it over compiled).
 */
async function bundleWorker(entry: string, outDir: string): Promise<void> {
  mkdirSync(outDir, { recursive: true });
  await esbuild.build({
    entryPoints: [entry],
    outfile: join(outDir, "worker.js"),
    bundle: true,
    format: "esm",
    platform: "neutral",
    conditions: ["workerd", "worker", "browser"],
    mainFields: ["module", "main"],
    target: "es2022",
    logLevel: "error",
    plugins: [
      {
        name: "wasm-modules",
        setup(build) {
          build.onResolve({ filter: /\.wasm$/ }, (args) => {
            const file = resolve(args.resolveDir, args.path);
            copyFileSync(file, join(outDir, basename(file)));
            return { path: `./${basename(file)}`, external: true };
          });
        },
      },
    ],
  });
}

const projectOf = (rt: ProgramRuntime, p: Prepared) => (rt.project === "bun" ? p.bunConsumer : p.consumer);

/** consumer/main.mjs (and main.cjs where `require` applies) in one runtime. */
export async function runProgram(rt: ProgramRuntime, p: Prepared, mockUrl?: string): Promise<RunResult> {
  const consumer = projectOf(rt, p);
  const out = await run(rt.command, [...rt.args, "main.mjs", ...(mockUrl ? [mockUrl] : [])], { cwd: consumer, env: rt.env ?? {} });
  const result = lastJson(out);
  if (rt.require) result.require = lastJson(await run(rt.command, [...rt.args, "main.cjs"], { cwd: consumer, env: rt.env ?? {} })).require ?? "missing";
  return result;
}

/** The cold start of consumer/main.mjs (the package) or consumer/baseline.mjs, in a fresh process. */
export async function coldStartProgram(rt: ProgramRuntime, p: Prepared, what: "package" | "baseline"): Promise<number> {
  const consumer = projectOf(rt, p);
  const out = await run(rt.command, [...rt.args, what === "package" ? "main.mjs" : "baseline.mjs"], { cwd: consumer, env: rt.env ?? {} });
  return lastJson(out).coldStartMs ?? NaN;
}

/**
 * The Worker in workerd, through miniflare (run by Node 24: miniflare wants Node >= 22), by
 * tests/runtimes/workerd.mjs: `run` dispatches `/?mock=URL`; `cold` times start + first request.
 */
export async function runWorkerd(p: Prepared, mockUrl: string): Promise<RunResult> {
  return lastJson(await run(NODE24, [join(MATRIX, "workerd.mjs"), "run", p.workerDir, mockUrl], { timeoutMs: 60_000 }));
}

/** Medians, in ms, from `new Miniflare` to the Worker's first answer. */
export interface WorkerdColdStart {
  packageMs: number;
  baselineMs: number;
  emptyMs: number;
}
/** The package's Worker, the baseline's and an empty one, started `runs` times each. */
export async function coldStartWorkerd(p: Prepared, runs: number): Promise<WorkerdColdStart> {
  const out = await run(NODE24, [join(MATRIX, "workerd.mjs"), "cold", p.workerDir, p.baselineWorkerDir, String(runs)], { timeoutMs: 300_000 });
  return JSON.parse(out.trim().split("\n").at(-1) ?? "{}") as WorkerdColdStart;
}

/** Serves a directory on loopback (an ephemeral port), as a static host would. */
export async function serveDir(dir: string): Promise<{ url: string; close(): Promise<void> }> {
  const types: Record<string, string> = { ".html": "text/html", ".js": "text/javascript", ".mjs": "text/javascript" };
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    const file = join(dir, path === "/" ? "index.html" : path.slice(1));
    if (!file.startsWith(dir) || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": types[extname(file)] ?? "application/octet-stream", "cache-control": "no-store" }).end(readFileSync(file));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** The part of playwright-core used here (its own .d.ts needs the DOM library). */
interface Page {
  goto(url: string): Promise<unknown>;
  waitForFunction(expression: string, arg?: unknown, options?: { timeout: number }): Promise<unknown>;
  evaluate(expression: string): Promise<unknown>;
  close(): Promise<void>;
}
/** The part of playwright-core's Browser used here. */
export interface Browser {
  newPage(): Promise<Page>;
  close(): Promise<void>;
  version(): string;
}
const PLAYWRIGHT: string = "playwright-core";
/** Debian's Chromium unless CHROMIUM_PATH names another one (as in scripts/test.sh). */
export const CHROMIUM = process.env["CHROMIUM_PATH"] || "/usr/bin/chromium";
/** Debian's Chromium headless as root in a container (the flags of tests/ts/web.browser.test.ts). */
const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

/** Headless Chromium through playwright-core (the root's devDependency). */
export async function launchChromium(): Promise<Browser> {
  const { chromium } = (await import(PLAYWRIGHT)) as { chromium: { launch(o: { executablePath: string; args: string[] }): Promise<Browser> } };
  return chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
}

/** Opens the page (its own loopback origin) with the given query and returns what it reports. */
export async function runPage(browser: Browser, pageUrl: string, query: Record<string, string>): Promise<RunResult> {
  const page = await browser.newPage();
  try {
    await page.goto(`${pageUrl}/?${new URLSearchParams(query)}`);
    await page.waitForFunction("globalThis.matrixResult !== undefined", undefined, { timeout: 30_000 });
    return (await page.evaluate("globalThis.matrixResult")) as RunResult;
  } finally {
    await page.close();
  }
}
