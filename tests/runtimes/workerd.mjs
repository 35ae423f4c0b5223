// The Worker in workerd through miniflare; run by Node 24 from tests/runtimes/node_modules (miniflare
// wants Node >= 22), called by tests/runtimes/harness.ts:
//   node workerd.mjs run DIR MOCK_URL          -> the Worker's JSON for /?mock=MOCK_URL
//   node workerd.mjs cold DIR BASELINE_DIR N   -> median ms from `new Miniflare` to the first
//                                                 answer, for the package, the baseline and an
//                                                 empty Worker
// DIR holds worker.js (bundled by esbuild) and the .wasm it imports, loaded as a compiled module.
import { join } from "node:path";
import { Miniflare } from "miniflare";

const [mode, dir, arg, runs] = process.argv.slice(2);

function options(workerDir) {
  return {
    modules: true,
    scriptPath: join(workerDir, "worker.js"),
    modulesRoot: workerDir,
    modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"] }],
    compatibilityDate: "2026-07-30",
  };
}

async function answer(opts, path) {
  const mf = new Miniflare(opts);
  try {
    const res = await mf.dispatchFetch(`http://worker.test${path}`);
    const text = await res.text();
    if (res.status !== 200) throw new Error(`the Worker answered ${res.status}: ${text}`);
    return text;
  } finally {
    await mf.dispose();
  }
}

async function timed(opts) {
  const t0 = performance.now();
  await answer(opts, "/cold");
  return performance.now() - t0;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};

if (mode === "run") {
  console.log(await answer(options(dir), `/?mock=${encodeURIComponent(arg)}`));
} else if (mode === "cold") {
  const n = Number(runs);
  const empty = { modules: true, script: 'export default { fetch() { return Response.json({}); } };', compatibilityDate: "2026-07-30" };
  const times = { packageMs: [], baselineMs: [], emptyMs: [] };
  await timed(empty); // the first workerd start pays for loading the binary from disk
  for (let i = 0; i < n; i++) {
    times.packageMs.push(await timed(options(dir)));
    times.baselineMs.push(await timed(options(arg)));
    times.emptyMs.push(await timed(empty));
  }
  console.log(JSON.stringify(Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]))));
} else {
  console.error("usage: workerd.mjs run DIR MOCK_URL | cold DIR BASELINE_DIR N");
  process.exit(2);
}
