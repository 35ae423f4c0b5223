// Chromium: the page's script, bundled with esbuild for the browser. It measures the cold start of
// the package's browser entry (import + instantiate + one call), runs the smoke, then the flow
// against the mock that allows CORS, and the flow against one that does not (which must fail).
const params = new URL(location.href).searchParams;

/** `?baseline=1`: the cold start of the TypeScript baseline instead, for the comparison. */
async function runBaseline() {
  const t0 = performance.now();
  const oauth = await import("./baseline-bundle.mjs");
  oauth.isAccessTokenExpired({ accessToken: "x", tokenType: "Bearer", expiresAt: 2_000_000_000_000 }, () => 1_000_000_000_000);
  return { runtime: "chromium", coldStartMs: performance.now() - t0 };
}

async function run() {
  if (params.get("baseline")) return runBaseline();
  const t0 = performance.now();
  const oauth = await import("oauth-device-flow-wasm");
  oauth.isAccessTokenExpired({ accessToken: "x", tokenType: "Bearer", expiresAt: 2_000_000_000_000 }, () => 1_000_000_000_000);
  const coldStartMs = performance.now() - t0;
  const { flow, smoke } = await import("./smoke.mjs");
  const result = { runtime: `chromium ${navigator.userAgent.match(/Chrome\/([\d.]+)/)?.[1] ?? "?"}`, coldStartMs, ...(await smoke()) };
  if (params.get("mock")) result.flow = await flow(params.get("mock"));
  if (params.get("nocors")) {
    result.withoutCors = await flow(params.get("nocors")).then(
      () => "succeeded",
      (e) => (e instanceof oauth.OAuthDeviceFlowError ? `rejected: ${e.code}` : `failed: ${e}`),
    );
  }
  return result;
}

run().then(
  (r) => (globalThis.matrixResult = r),
  (e) => (globalThis.matrixResult = { error: String(e && e.stack ? e.stack : e) }),
);
