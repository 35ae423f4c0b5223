// The cold-start comparison: the TypeScript baseline (baseline/, bundled by the matrix into
// baseline-bundle.mjs), imported and called once, the way main.mjs does with the package.
const t0 = performance.now();
const oauth = await import("./baseline-bundle.mjs");
oauth.isAccessTokenExpired({ accessToken: "x", tokenType: "Bearer", expiresAt: 2_000_000_000_000 }, () => 1_000_000_000_000);
console.log(JSON.stringify({ coldStartMs: performance.now() - t0 }));
