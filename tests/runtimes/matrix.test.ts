/**
 * The runtime matrix: the packed tarball, installed by name into a clean project (by npm; by
 * `bun add` for Bun), in every runtime docs/runtimes.md lists. Each runs the same smoke (device code on an in-memory fetch, insecure endpoint
 * refused, instanceof OAuthDeviceFlowError, expiry check) and a flow over HTTP against the mock
 * (demo/mockServer.ts on loopback, approving by itself): Node 20, 22 and 24 (the `engines`
 * minimums and the current line), Deno and Bun (each also by `require`), workerd through miniflare
 * (the Worker bundled with esbuild as wrangler does) and Chromium (the page bundled with esbuild for
 * the browser, on its own loopback origin: the flow runs against a mock that allows CORS, and is
 * refused by one that does not). The package's own checks run on the same tarball: publint,
 * @arethetypeswrong/cli and `npm publish --dry-run`.
 *
 * Run by scripts/runtimes.sh (which installs tests/runtimes/node_modules first), from
 * scripts/test.sh. 40-55 s warm on two shared cores, a third of it packing and installing.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { startMockServer, type MockServer } from "../../demo/mockServer.ts";
import {
  CHROMIUM,
  MATRIX,
  PROGRAM_RUNTIMES,
  ROOT,
  WORKERD_VERSION,
  launchChromium,
  preparePackage,
  run,
  runPage,
  runProgram,
  runWorkerd,
  serveDir,
  type Browser,
  type Prepared,
  type RunResult,
} from "./harness.ts";

const SMOKE = ["device code", "insecure endpoint refused", "instanceof OAuthDeviceFlowError", "expiry check"];
const FLOW = ["device code", "approved and redeemed", "refresh", "token session", "revoke"];

let scratch: string;
let prepared: Prepared;
let mock: MockServer;
let corsMock: MockServer;
let noCorsMock: MockServer;
/** One line per runtime, printed at the end (the matrix docs/runtimes.md shows). */
const table: string[] = [];

before(async () => {
  scratch = mkdtempSync(join(tmpdir(), "oauth-runtime-matrix-"));
  // Approves every code on its first poll, so that the waiting loop ends at once.
  const approve = { autoDecide: { action: "approve" as const, afterPolls: 0 } };
  [prepared, mock, corsMock, noCorsMock] = await Promise.all([
    preparePackage(scratch),
    startMockServer(approve),
    startMockServer({ ...approve, cors: true }),
    startMockServer(approve),
  ]);
});

after(async () => {
  await Promise.all([mock?.stop(), corsMock?.stop(), noCorsMock?.stop()]);
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  // scripts/runtimes.sh prints it after the run (MATRIX_TABLE names the file).
  const out = process.env["MATRIX_TABLE"];
  const text = `runtime matrix (runtime, version, smoke, flow, file store, cold start):\n${table.join("\n")}\n`;
  if (out) writeFileSync(out, text);
  else console.log(text);
});

function record(name: string, r: RunResult, flow: string): void {
  const cold = r.coldStartMs === undefined ? "" : `, cold start ${r.coldStartMs.toFixed(1)} ms`;
  table.push(`  ${name.padEnd(31)} ${r.runtime.padEnd(24)} smoke ok, flow ${flow}, file store ${r.fileStore}${cold}`);
}

describe("programs: the package from node_modules", () => {
  for (const rt of PROGRAM_RUNTIMES) {
    test(`${rt.name}: smoke, flow over HTTP${rt.require ? ", require" : ""}`, async () => {
      const r = await runProgram(rt, prepared, mock.url);
      assert.equal(r.error, undefined);
      assert.deepEqual(r.passed, SMOKE);
      assert.deepEqual(r.flow, FLOW);
      assert.equal(r.fileStore, "available");
      if (rt.require) assert.equal(r.require, "ok");
      record(rt.name, r, "ok");
    });
  }
});

test("workerd (miniflare): the Worker bundled with esbuild runs the smoke and the flow over HTTP", async () => {
  const r = await runWorkerd(prepared, mock.url);
  assert.equal(r.error, undefined);
  assert.deepEqual(r.passed, SMOKE);
  assert.deepEqual(r.flow, FLOW);
  assert.equal(r.fileStore, "unavailable (invalid_config)");
  r.runtime = `workerd ${WORKERD_VERSION}`;
  record("workerd (miniflare)", r, "ok");
});

describe("Chromium: the browser entry from a loopback page", () => {
  let browser: Browser;
  let page: { url: string; close(): Promise<void> };
  before(async () => {
    [browser, page] = await Promise.all([launchChromium(), serveDir(prepared.pageDir)]);
  });
  after(async () => {
    await Promise.all([browser?.close(), page?.close()]);
  });

  test(`${CHROMIUM}: smoke, flow against a mock that allows CORS, refused by one that does not`, async () => {
    const r = await runPage(browser, page.url, { mock: corsMock.url, nocors: noCorsMock.url });
    assert.equal(r.error, undefined);
    assert.deepEqual(r.passed, SMOKE);
    assert.deepEqual(r.flow, FLOW);
    assert.equal(r.withoutCors, "rejected: network_error");
    assert.equal(r.fileStore, "unavailable (invalid_config)");
    // The page's flow went through the CORS mock; the other one saw the device request only
    // after a preflight it could not pass (the browser never sent the POST).
    assert.equal(corsMock.count("/api/accounts/deviceauth/usercode"), 1);
    assert.equal(noCorsMock.count("/api/accounts/deviceauth/usercode"), 0);
    r.runtime = `chromium ${browser.version()}`;
    record("chromium (playwright-core)", r, "ok with CORS, network_error without");
  });
});

describe("the package's own checks, on the same tarball", () => {
  const bin = (name: string) => join(MATRIX, "node_modules/.bin", name);

  test("types of the browser and workerd entries: tsc (bundler resolution, DOM library, no @types/node), file store absent", async () => {
    const tsc = (condition: string) => run(join(ROOT, "node_modules/.bin/tsc"), ["-p", `tsconfig.${condition}.json`], { cwd: prepared.consumer });
    await Promise.all([tsc("browser"), tsc("workerd")]);
  });

  test("publint: no error, warning or suggestion", async () => {
    const out = await run(bin("publint"), ["--strict", prepared.tarball]);
    assert.match(out, /All good!/, out);
  });

  test("@arethetypeswrong/cli: every entry resolves to types in every module resolution", async () => {
    // cjs-resolves-to-esm: attw models Node 16, whose require() cannot load an ES module. Every
    // Node in "engines" (^20.19.0 || >=22.12.0) can, and the programs above prove it at both
    // minimums (consumer/main.cjs); docs/runtimes.md says so.
    const out = await run(bin("attw"), [prepared.tarball, "--format", "ascii", "--ignore-rules", "cjs-resolves-to-esm"]);
    assert.match(out, /No problems found/, out);
  });

  test("npm publish --dry-run: no warning but the missing login", async () => {
    // --ignore-scripts: dist/ is what the tarball above was packed from; prepack would rebuild it.
    const out = await run("bash", ["-c", "npm publish --dry-run --ignore-scripts --loglevel=warn 2>&1"], { cwd: ROOT });
    // Nobody is logged in to the registry here; npm says so even for a dry run.
    const warnings = out.split("\n").filter((l) => /npm warn/i.test(l) && !/requires you to be logged in/.test(l));
    assert.deepEqual(warnings, [], out);
    assert.match(out, /^\+ oauth-device-flow-wasm@\d+\.\d+\.\d+$/m, out);
  });
});
