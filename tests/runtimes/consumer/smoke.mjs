// The same checks in every runtime (Node, Deno, Bun, workerd, Chromium), through the package as
// installed from its tarball: plain JavaScript, no node: module, no assertion library.
import * as oauth from "oauth-device-flow-wasm";

const NOW = 1_800_000_000_000;

function check(ok, what) {
  if (!ok) throw new Error(`check failed: ${what}`);
}
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

/** The wasm module calls deps.fetch as a method: wrap the global so `this` is never `deps`. */
export const platformFetch = (url, init) => fetch(url, init);

/** Device code on an in-memory fetch, insecure endpoint refused, instanceof, expiry check. */
export async function smoke() {
  const passed = [];
  const sent = [];
  const memoryFetch = async (url, init) => {
    sent.push({ url, method: init.method, body: init.body });
    return { status: 200, headers: { get: () => "application/json" }, text: async () => '{"device_auth_id":"da-1","user_code":"ABCD-1234","interval":"5"}' };
  };
  const code = await oauth.requestDeviceCode(oauth.OPENAI_CODEX, { fetch: memoryFetch, clock: () => NOW });
  check(
    same(code, { deviceCode: "da-1", userCode: "ABCD-1234", verificationUri: "https://auth.openai.com/codex/device", intervalMs: 5000, expiresAt: NOW + 900_000 }),
    `device code ${JSON.stringify(code)}`,
  );
  check(
    same(sent, [{ url: "https://auth.openai.com/api/accounts/deviceauth/usercode", method: "POST", body: '{"client_id":"app_EMoamEEZ73f0CkXaXp7hrann"}' }]),
    `request ${JSON.stringify(sent)}`,
  );
  passed.push("device code");

  let refused;
  try {
    oauth.rfc8628Provider({ clientId: "c", deviceAuthorizationEndpoint: "http://idp.example.com/device", tokenEndpoint: "https://idp.example.com/token" });
  } catch (e) {
    refused = e;
  }
  check(refused instanceof oauth.OAuthDeviceFlowError && refused.code === "insecure_endpoint" && refused.retryable === false, `insecure endpoint: ${refused}`);
  passed.push("insecure endpoint refused");

  // An error raised inside the WebAssembly module, across an await, is the exported class.
  const failing = async () => ({ status: 503, headers: { get: () => null }, text: async () => "" });
  const rejected = await oauth.requestDeviceCode(oauth.OPENAI_CODEX, { fetch: failing, clock: () => NOW }).then(
    () => undefined,
    (e) => e,
  );
  check(rejected instanceof oauth.OAuthDeviceFlowError && rejected instanceof Error, `instanceof: ${rejected}`);
  check(rejected.code === "server_error" && rejected.status === 503 && rejected.retryable === true, `server error: ${JSON.stringify(rejected)}`);
  passed.push("instanceof OAuthDeviceFlowError");

  const tokens = { accessToken: "at", tokenType: "Bearer", expiresAt: 1_000_000 };
  check(oauth.isAccessTokenExpired(tokens, () => 1_000_000 - 60_000) === true, "expired at the skew");
  check(oauth.isAccessTokenExpired(tokens, () => 1_000_000 - 60_001) === false, "valid before the skew");
  check(same(oauth.codexAuthHeaders(tokens), { Authorization: "Bearer at" }), "codexAuthHeaders");
  passed.push("expiry check");

  return { passed, fileStore: fileStoreAvailability() };
}

/** "available" where the entry has the file store (Node, Deno, Bun), else how it is refused. */
function fileStoreAvailability() {
  try {
    const store = oauth.createFileStore({ path: "/nonexistent-dir-for-the-matrix/tokens.json" });
    return typeof store.load === "function" ? "available" : "broken";
  } catch (e) {
    return e instanceof oauth.OAuthDeviceFlowError ? `unavailable (${e.code})` : `broken (${e})`;
  }
}

/**
 * Over HTTP against the mock (demo/mockServer.ts, started with autoDecide approve): device code,
 * the waiting loop until approval (no real sleeping), refresh, token session, revocation.
 */
export async function flow(issuer, fetchImpl = platformFetch) {
  const provider = oauth.openaiCodexProvider({ issuer });
  const deps = { fetch: fetchImpl, clock: () => Date.now() };
  const code = await oauth.requestDeviceCode(provider, deps);
  check(/^[A-Z0-9]{4}-[A-Z0-9]{4,5}$/.test(code.userCode), `user code ${code.userCode}`);
  const tokens = await oauth.waitForDeviceToken(provider, code, { ...deps, sleep: async () => {} });
  check(typeof tokens.accessToken === "string" && typeof tokens.refreshToken === "string", "tokens");
  check(oauth.isAccessTokenExpired(tokens, deps.clock) === false, "fresh tokens are valid");
  const claims = oauth.decodeTokenClaims(tokens);
  check(typeof claims.accountId === "string", `claims ${JSON.stringify(claims)}`);
  const refreshed = await oauth.refreshAccessToken(provider, tokens, deps);
  check(refreshed.refreshToken !== tokens.refreshToken, "the refresh token rotated");
  const session = oauth.createTokenSession({ provider, fetch: fetchImpl, clock: deps.clock, store: oauth.createMemoryStore(refreshed) });
  const headers = await session.authHeaders();
  check(headers.Authorization === `Bearer ${refreshed.accessToken}` && headers["ChatGPT-Account-ID"] === claims.accountId, "session headers");
  await oauth.revokeToken(provider, refreshed.refreshToken, deps);
  return ["device code", "approved and redeemed", "refresh", "token session", "revoke"];
}
