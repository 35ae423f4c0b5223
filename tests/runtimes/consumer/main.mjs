// Node, Deno and Bun: `<runtime> main.mjs [MOCK_URL]`. Prints one JSON line: the runtime, the cold
// start (import + instantiate + one call, from this module's start), the smoke, and the flow
// against the mock when a URL is given.
const t0 = performance.now();
const oauth = await import("oauth-device-flow-wasm");
oauth.isAccessTokenExpired({ accessToken: "x", tokenType: "Bearer", expiresAt: 2_000_000_000_000 }, () => 1_000_000_000_000);
const coldStartMs = performance.now() - t0;

const { smoke, flow } = await import("./smoke.mjs");
const runtime =
  typeof Deno !== "undefined" ? `deno ${Deno.version.deno}` : typeof Bun !== "undefined" ? `bun ${Bun.version}` : `node ${process.versions.node}`;
const result = { runtime, coldStartMs, ...(await smoke()) };
const mock = typeof Deno !== "undefined" ? Deno.args[0] : process.argv[2];
if (mock) result.flow = await flow(mock);
console.log(JSON.stringify(result));
