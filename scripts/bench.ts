/**
 * `npm run bench`: the WebAssembly module beside the TypeScript baseline, in one run, on this
 * machine. Prints medians and the ratio module/baseline for every figure the project promises,
 * with the goal next to it. Benchmarks are not tests: nothing here fails on a slow figure; the
 * quick mode (`--quick`, run by the test command) checks only what is about correctness: a
 * generous size ceiling and flat wasm memory.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir, cpus, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { gzipSync } from "node:zlib";
import { Bench } from "tinybench";
import * as esbuild from "esbuild";
import * as mod from "../js/oauthDeviceFlow.ts";
import * as base from "../baseline/oauthDeviceFlow.ts";
import { wasmMemoryBytes } from "../js/wasm.ts";
import { startMockServer } from "../demo/mockServer.ts";
import { PROGRAM_RUNTIMES, WORKERD_VERSION, coldStartProgram, coldStartWorkerd, launchChromium, preparePackage, runPage, serveDir } from "../tests/runtimes/harness.ts";

const ROOT = resolve(import.meta.dirname, "..");
const WASM = join(ROOT, "pkg/oauth_device_flow_bg.wasm");
const quick = process.argv.includes("--quick");
const GLUE = join(ROOT, "pkg/oauth_device_flow.js");
const NODE_LOADER = join(ROOT, "pkg/wasm_module.node.js");

type Impl = typeof mod;
const impls: Array<[string, Impl]> = [
  ["module", mod],
  ["baseline", base as unknown as Impl],
];

interface Row {
  what: string;
  unit: string;
  module: number;
  baseline?: number;
  goal: string;
  met?: boolean;
}
const rows: Row[] = [];
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
};

// ---- fixtures -----------------------------------------------------------------------------
const T0 = 1_700_000_000_000;
const clock = () => T0;
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
const jwt = `${b64({ alg: "none" })}.${b64({ exp: T0 / 1000 + 3600, "https://api.openai.com/auth": { chatgpt_account_id: "acct_1" } })}.sig`;
const reply = (status: number, body: string) => {
  const r = { status, headers: { get: () => null }, text: async () => body };
  return async () => r;
};
const codex = mod.openaiCodexProvider({ issuer: "http://127.0.0.1:9" });
const code: mod.DeviceCode = {
  deviceCode: "deviceauth_1",
  userCode: "ABCD-1234",
  verificationUri: "http://127.0.0.1:9/codex/device",
  intervalMs: 5000,
  expiresAt: T0 + 900_000,
};
const fetches = {
  usercode: reply(200, '{"device_auth_id":"deviceauth_1","user_code":"ABCD-1234","interval":"5"}'),
  pending: reply(403, ""),
  tokens: reply(200, JSON.stringify({ access_token: jwt, refresh_token: "rt_2", id_token: jwt, expires_in: 3600 })),
};
let flip = 0;
const pollSuccess: mod.FetchLike = async () =>
  (flip++ % 2 === 0
    ? reply(200, '{"authorization_code":"ac","code_verifier":"cv","code_challenge":"cc"}')
    : fetches.tokens)();
const known: mod.OAuthTokens = { accessToken: jwt, tokenType: "Bearer", expiresAt: T0 + 3_600_000 };
const jwtOnly: mod.OAuthTokens = { accessToken: jwt, tokenType: "Bearer" };

// ---- size -----------------------------------------------------------------------------------
const wasmBytes = readFileSync(WASM);
const raw = wasmBytes.length;
const gz = gzipSync(wasmBytes, { level: 9 }).length;
rows.push({ what: ".wasm size raw", unit: "KB", module: raw / 1000, goal: "<= 100", met: raw <= 100_000 });
rows.push({ what: ".wasm size gzip -9", unit: "KB", module: gz / 1000, goal: "<= 40", met: gz <= 40_000 });

// ---- wasm memory over many refresh cycles ------------------------------------------------
async function memoryCycles(n: number) {
  const deps = { fetch: fetches.tokens as unknown as mod.FetchLike, clock };
  for (let i = 0; i < 1000; i++) await mod.refreshAccessToken(codex, "rt_1", deps);
  const settle = async () => {
    global.gc?.();
    await new Promise((r) => setTimeout(r, 20));
    global.gc?.();
  };
  await settle();
  const snapshot = () => ({ wasm: wasmMemoryBytes(), rss: process.memoryUsage().rss, heap: process.memoryUsage().heapUsed });
  const before = snapshot();
  for (let i = 0; i < n; i++) await mod.refreshAccessToken(codex, "rt_1", deps);
  await settle();
  const after = snapshot();
  return { before, after };
}
const cycles = quick ? 20_000 : 100_000;
const mem = await memoryCycles(cycles);
rows.push({
  what: `wasm linear memory growth over ${cycles.toLocaleString("en")} refreshes`,
  unit: "KB",
  module: (mem.after.wasm - mem.before.wasm) / 1000,
  goal: "0 (flat)",
  met: mem.after.wasm === mem.before.wasm,
});
rows.push({
  what: `JS heap used after GC, before -> after (${(mem.before.heap / 1e6).toFixed(1)} -> ${(mem.after.heap / 1e6).toFixed(1)} MB)`,
  unit: "MB",
  module: (mem.after.heap - mem.before.heap) / 1e6,
  goal: "info",
});
rows.push({
  what: `process RSS before -> after (${(mem.before.rss / 1e6).toFixed(1)} -> ${(mem.after.rss / 1e6).toFixed(1)} MB)`,
  unit: "MB",
  module: (mem.after.rss - mem.before.rss) / 1e6,
  goal: "info",
});

if (quick) {
  print();
  const ceiling = 400_000;
  const failures: string[] = [];
  if (raw > ceiling) failures.push(`.wasm is ${raw} bytes, over the ${ceiling}-byte ceiling`);
  if (mem.after.wasm !== mem.before.wasm) failures.push("wasm linear memory grew over the refresh cycles");
  if (failures.length) {
    console.error(`bench --quick: FAILED\n- ${failures.join("\n- ")}`);
    process.exit(1);
  }
  console.log("bench --quick: size under the ceiling, wasm memory flat");
  process.exit(0);
}

// ---- cold start (whole process) and import + instantiate --------------------------------
const scratch = mkdtempSync(join(tmpdir(), "oauth-bench-"));
try {
  const bundle = async (entry: string, out: string) => {
    await esbuild.build({
      entryPoints: [entry],
      bundle: true,
      platform: "node",
      format: "esm",
      outfile: out,
      logLevel: "silent",
      plugins: [
        {
          name: "pkg-external",
          setup(b) {
            b.onResolve({ filter: /oauth_device_flow\.js$/ }, () => ({ path: GLUE, external: true }));
            b.onResolve({ filter: /^#wasm-module$/ }, () => ({ path: NODE_LOADER, external: true }));
          },
        },
      ],
    });
  };
  const callOnce = (lib: string) =>
    `import * as m from ${JSON.stringify(lib)};\n` +
    `if (m.isAccessTokenExpired({ accessToken: "x", tokenType: "Bearer", expiresAt: Date.now() + 1e6 }, Date.now)) process.exit(1);\n`;
  await bundle(join(ROOT, "js/oauthDeviceFlow.ts"), join(scratch, "module.mjs"));
  await bundle(join(ROOT, "baseline/oauthDeviceFlow.ts"), join(scratch, "baseline.mjs"));
  writeFileSync(join(scratch, "run-module.mjs"), callOnce("./module.mjs"));
  writeFileSync(join(scratch, "run-baseline.mjs"), callOnce("./baseline.mjs"));
  writeFileSync(join(scratch, "run-empty.mjs"), "");
  // What js/wasm.ts does at import: the glue, the Node loader (read + compile), initSync.
  writeFileSync(
    join(scratch, "instantiate.mjs"),
    `const t0 = performance.now();\n` +
      `const { initSync } = await import(${JSON.stringify(GLUE)});\n` +
      `const { default: module } = await import(${JSON.stringify(NODE_LOADER)});\n` +
      `initSync({ module });\n` +
      `console.log(performance.now() - t0);\n`,
  );
  const wall = (file: string, runs: number) => {
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      const r = spawnSync(process.execPath, [join(scratch, file)], { stdio: "ignore" });
      if (r.status !== 0) throw new Error(`${file} exited ${r.status}`);
      times.push(performance.now() - t0);
    }
    return median(times);
  };
  const empty = wall("run-empty.mjs", 15);
  const coldModule = wall("run-module.mjs", 15);
  const coldBaseline = wall("run-baseline.mjs", 15);
  rows.push({
    what: `cold start: node process importing the drop-in + one call (empty node: ${empty.toFixed(1)} ms)`,
    unit: "ms",
    module: coldModule,
    baseline: coldBaseline,
    goal: "info",
  });
  const inst: number[] = [];
  for (let i = 0; i < 15; i++) {
    const r = spawnSync(process.execPath, [join(scratch, "instantiate.mjs")], { encoding: "utf8" });
    inst.push(Number(r.stdout.trim()));
  }
  const instMs = median(inst);
  rows.push({ what: "module import + instantiate (in a fresh process; .wasm read with node:fs)", unit: "ms", module: instMs, goal: "< 3", met: instMs < 3 });

  // The candidate the browser entry uses: the bytes embedded as base64 in a JavaScript module.
  const embedded = readFileSync(join(ROOT, "pkg/wasm_module.browser.js"));
  rows.push({ what: "embedded loader (pkg/wasm_module.browser.js) size raw", unit: "KB", module: embedded.length / 1000, goal: "info" });
  rows.push({ what: "embedded loader size gzip -9", unit: "KB", module: gzipSync(embedded, { level: 9 }).length / 1000, goal: "info" });
  writeFileSync(
    join(scratch, "instantiate-embedded.mjs"),
    `const t0 = performance.now();\n` +
      `const { initSync } = await import(${JSON.stringify(GLUE)});\n` +
      `const { default: module } = await import(${JSON.stringify(join(ROOT, "pkg/wasm_module.browser.js"))});\n` +
      `initSync({ module });\n` +
      `console.log(performance.now() - t0);\n`,
  );
  const instEmbedded: number[] = [];
  for (let i = 0; i < 15; i++) {
    const r = spawnSync(process.execPath, [join(scratch, "instantiate-embedded.mjs")], { encoding: "utf8" });
    instEmbedded.push(Number(r.stdout.trim()));
  }
  rows.push({ what: "module import + instantiate (in a fresh process; embedded base64, decoded with atob)", unit: "ms", module: median(instEmbedded), goal: "info" });
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

// ---- cold start per runtime, from the packed tarball (tests/runtimes/harness.ts) ------------
// scripts/bench.sh installs the runtimes first (scripts/runtimes.sh --install-only).
{
  const matrix = mkdtempSync(join(tmpdir(), "oauth-bench-runtimes-"));
  const runs = 7;
  const medianOf = async (n: number, f: () => Promise<number>) => {
    const xs: number[] = [];
    for (let i = 0; i < n; i++) xs.push(await f());
    return median(xs);
  };
  try {
    const p = await preparePackage(matrix);
    const what = "cold start: import + instantiate + one call, in-process";
    for (const rt of PROGRAM_RUNTIMES) {
      const module = await medianOf(runs, () => coldStartProgram(rt, p, "package"));
      const baseline = await medianOf(runs, () => coldStartProgram(rt, p, "baseline"));
      rows.push({ what: `${what}, ${rt.name}`, unit: "ms", module, baseline, goal: "info" });
    }
    const w = await coldStartWorkerd(p, 5);
    rows.push({
      what: `cold start: workerd ${WORKERD_VERSION} (miniflare) start to first answer (an empty Worker: ${w.emptyMs.toFixed(0)} ms)`,
      unit: "ms",
      module: w.packageMs,
      baseline: w.baselineMs,
      goal: "info",
    });
    const browser = await launchChromium();
    const page = await serveDir(p.pageDir);
    try {
      const coldStart = async (query: Record<string, string>) => (await runPage(browser, page.url, query)).coldStartMs ?? NaN;
      const module = await medianOf(runs, () => coldStart({}));
      const baseline = await medianOf(runs, () => coldStart({ baseline: "1" }));
      rows.push({ what: `${what} (chunk fetched from loopback), chromium ${browser.version()}`, unit: "ms", module, baseline, goal: "info" });
    } finally {
      await Promise.all([browser.close(), page.close()]);
    }
  } finally {
    rmSync(matrix, { recursive: true, force: true });
  }
}

// ---- per-call costs -------------------------------------------------------------------------
async function perCall(what: string, unit: "ns" | "us", fn: (m: Impl) => unknown, goal: (m: number, b: number) => [string, boolean]) {
  const inner = unit === "ns" ? 1000 : 1;
  const out: Record<string, number> = {};
  for (const [name, impl] of impls) {
    const bench = new Bench({ time: 400, warmupTime: 100 });
    bench.add(name, async () => {
      for (let i = 0; i < inner; i++) await fn(impl);
    });
    await bench.run();
    const p50ms = bench.tasks[0]?.result && "latency" in bench.tasks[0].result ? bench.tasks[0].result.latency.p50 : NaN;
    out[name] = (p50ms / inner) * (unit === "ns" ? 1e6 : 1e3);
  }
  const m = out.module ?? NaN;
  const b = out.baseline ?? NaN;
  const [g, met] = goal(m, b);
  rows.push({ what, unit, module: m, baseline: b, goal: g, met });
}
const within = (x: number) => (m: number, b: number): [string, boolean] => [`<= ${x}x baseline`, m <= b * x];

await perCall("isAccessTokenExpired, known expiresAt", "ns", (m) => m.isAccessTokenExpired(known, clock), (m) => ["<= 150", m <= 150]);
await perCall("isAccessTokenExpired, JWT exp only", "ns", (m) => m.isAccessTokenExpired(jwtOnly, clock), () => ["info", true]);
const deps = (f: unknown) => ({ fetch: f as mod.FetchLike, clock });
await perCall("requestDeviceCode, in-memory fetch", "us", (m) => m.requestDeviceCode(codex, deps(fetches.usercode)), within(1.3));
await perCall("pollDeviceToken pending, in-memory fetch", "us", (m) => m.pollDeviceToken(codex, code, deps(fetches.pending)), within(1.3));
await perCall("pollDeviceToken success (poll + exchange)", "us", (m) => m.pollDeviceToken(codex, code, deps(pollSuccess)), within(1.3));
await perCall("refreshAccessToken, in-memory fetch", "us", (m) => m.refreshAccessToken(codex, "rt_1", deps(fetches.tokens)), within(1.3));

// ---- the whole flow over real HTTP on loopback -------------------------------------------
{
  const mock = await startMockServer({ intervalSec: 1 });
  try {
    const provider = mod.openaiCodexProvider({ issuer: mock.url });
    const flow = async (impl: Impl) => {
      const d = { fetch: fetch as unknown as mod.FetchLike, clock: Date.now };
      const c = await impl.requestDeviceCode(provider, d);
      const pending = await impl.pollDeviceToken(provider, c, d);
      if (pending.status !== "pending") throw new Error("expected pending");
      mock.approve(c.userCode);
      const done = await impl.pollDeviceToken(provider, c, d);
      if (done.status !== "success") throw new Error("expected success");
      await impl.refreshAccessToken(provider, done.tokens, d);
    };
    const times: Record<string, number[]> = { module: [], baseline: [] };
    for (let i = 0; i < 10; i++) for (const [, impl] of impls) await flow(impl);
    for (let i = 0; i < 60; i++) {
      for (const [name, impl] of i % 2 ? [...impls].reverse() : impls) {
        const t0 = performance.now();
        await flow(impl);
        times[name]?.push(performance.now() - t0);
      }
    }
    const m = median(times.module ?? []);
    const b = median(times.baseline ?? []);
    rows.push({ what: "flow over loopback HTTP: request, poll, approve, poll, refresh", unit: "ms", module: m, baseline: b, goal: "<= 1.05x baseline", met: m <= b * 1.05 });
  } finally {
    await mock.stop();
  }
}

print();

function print() {
  const fmt = (n: number | undefined) => (n === undefined || Number.isNaN(n) ? "" : n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2));
  console.log(`\nmachine: ${cpus()[0]?.model ?? "?"} x${cpus().length}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}\n`);
  console.log("| measure | unit | module | baseline | module/baseline | goal | met |");
  console.log("|---|---|---:|---:|---:|---|---|");
  for (const r of rows) {
    const ratio = r.baseline ? (r.module / r.baseline).toFixed(2) : "";
    const met = r.met === undefined ? "" : r.met ? "yes" : "no";
    console.log(`| ${r.what} | ${r.unit} | ${fmt(r.module)} | ${fmt(r.baseline)} | ${ratio} | ${r.goal} | ${met} |`);
  }
}
