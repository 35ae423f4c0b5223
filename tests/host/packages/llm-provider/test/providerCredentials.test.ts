/**
 * The host's credential code over its OAuth module: vault layout, refresh when due with the rotated
 * tokens persisted, one refresh for concurrent callers, failures leaving the vault untouched, and
 * the device login storing what it got. Every request is checked at the wire.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { OAuthDeviceFlowError, openaiCodexProvider, rfc8628Provider, type OAuthTokens } from "../src/oauthDeviceFlow.ts";
import {
  createMemoryVault,
  finishProviderDeviceLogin,
  loadProviderOAuthTokens,
  resolveProviderOAuthBearer,
  saveProviderOAuthTokens,
  startProviderDeviceLogin,
} from "../src/providerCredentials.ts";
import { providerUiState } from "../src/providerFactory.ts";
import { FakeClock, ScriptedFetch, codexAccessToken, codexIdToken, json } from "./fakes.ts";

const NOW = 1_800_000_000_000;
const CODEX = openaiCodexProvider();
const TOKEN_URL = "https://auth.openai.com/oauth/token";

const idToken = codexIdToken("acct_1");
const oldAccess = codexAccessToken("acct_1", (NOW + 120_000) / 1000);
const newAccess = codexAccessToken("acct_1", (NOW + 3_600_000) / 1000);

/** Stored tokens that expire in 2 minutes: due under the 5-minute openai-codex skew. */
const dueTokens: OAuthTokens = { accessToken: oldAccess, tokenType: "Bearer", refreshToken: "rt-1", idToken, expiresAt: NOW + 120_000 };

const dueEntries = (): Record<string, string> => ({
  "provider:openai/oauth_access_token": oldAccess,
  "provider:openai/oauth_token_type": "Bearer",
  "provider:openai/oauth_refresh_token": "rt-1",
  "provider:openai/oauth_id_token": idToken,
  "provider:openai/oauth_expires_at": String(NOW + 120_000),
});

const refreshed = () =>
  json(200, { access_token: newAccess, token_type: "Bearer", refresh_token: "rt-2", id_token: idToken, expires_in: 3600 });

function assertCodexRefreshRequest(sent: ScriptedFetch["sent"][number] | undefined, refreshToken: string): void {
  assert.ok(sent);
  assert.equal(sent.url, TOKEN_URL);
  assert.equal(sent.method, "POST");
  assert.equal(sent.headers["content-type"], "application/json");
  assert.equal(sent.headers["accept"], "application/json");
  assert.equal(sent.body, JSON.stringify({ client_id: "app_EMoamEEZ73f0CkXaXp7hrann", grant_type: "refresh_token", refresh_token: refreshToken }));
}

describe("vault layout", () => {
  test("tokens are stored field by field under provider:<id>/oauth_* and read back equal", async () => {
    const vault = createMemoryVault();
    const tokens: OAuthTokens = { accessToken: "at", tokenType: "Bearer", refreshToken: "rt", idToken: "it", scope: "openid", expiresAt: NOW };
    await saveProviderOAuthTokens(vault, "openai", tokens);
    assert.deepEqual(Object.fromEntries(vault.entries), {
      "provider:openai/oauth_access_token": "at",
      "provider:openai/oauth_token_type": "Bearer",
      "provider:openai/oauth_refresh_token": "rt",
      "provider:openai/oauth_id_token": "it",
      "provider:openai/oauth_scope": "openid",
      "provider:openai/oauth_expires_at": String(NOW),
    });
    assert.deepEqual(await loadProviderOAuthTokens(vault, "openai"), tokens);
  });

  test("saving tokens without an id token or scope deletes the stale ones", async () => {
    const vault = createMemoryVault({ "provider:openai/oauth_id_token": "old", "provider:openai/oauth_scope": "old" });
    await saveProviderOAuthTokens(vault, "openai", { accessToken: "at", tokenType: "Bearer" });
    assert.deepEqual(Object.fromEntries(vault.entries), {
      "provider:openai/oauth_access_token": "at",
      "provider:openai/oauth_token_type": "Bearer",
    });
  });
});

describe("resolveProviderOAuthBearer", () => {
  test("no stored tokens: null and no request", async () => {
    const net = new ScriptedFetch();
    const bearer = await resolveProviderOAuthBearer("openai", CODEX, { vault: createMemoryVault(), fetch: net.fetch, clock: () => NOW });
    assert.equal(bearer, null);
    assert.equal(net.sent.length, 0);
  });

  test("a token valid beyond the skew is used as stored: Codex headers, no request", async () => {
    const net = new ScriptedFetch();
    const vault = createMemoryVault({ ...dueEntries(), "provider:openai/oauth_expires_at": String(NOW + 600_000) });
    const bearer = await resolveProviderOAuthBearer("openai", CODEX, { vault, fetch: net.fetch, clock: () => NOW });
    assert.deepEqual(bearer?.headers, { Authorization: `Bearer ${oldAccess}`, "ChatGPT-Account-ID": "acct_1" });
    assert.equal(net.sent.length, 0);
  });

  test("a due token is refreshed and the rotated tokens are in the vault before the bearer is returned", async () => {
    const net = new ScriptedFetch(refreshed());
    const vault = createMemoryVault(dueEntries());
    const bearer = await resolveProviderOAuthBearer("openai", CODEX, { vault, fetch: net.fetch, clock: () => NOW });
    assert.equal(net.sent.length, 1);
    assertCodexRefreshRequest(net.sent[0], "rt-1");
    assert.deepEqual(bearer?.headers, { Authorization: `Bearer ${newAccess}`, "ChatGPT-Account-ID": "acct_1" });
    assert.deepEqual(Object.fromEntries(vault.entries), {
      "provider:openai/oauth_access_token": newAccess,
      "provider:openai/oauth_token_type": "Bearer",
      "provider:openai/oauth_refresh_token": "rt-2",
      "provider:openai/oauth_id_token": idToken,
      "provider:openai/oauth_expires_at": String(NOW + 3_600_000),
    });
  });

  test("concurrent callers share one refresh: the single-use refresh token is spent once", async () => {
    const net = new ScriptedFetch(refreshed());
    const vault = createMemoryVault(dueEntries());
    const deps = { vault, fetch: net.fetch, clock: () => NOW };
    const [a, b, c] = await Promise.all([
      resolveProviderOAuthBearer("openai", CODEX, deps),
      resolveProviderOAuthBearer("openai", CODEX, deps),
      resolveProviderOAuthBearer("openai", CODEX, deps),
    ]);
    assert.equal(net.sent.length, 1);
    for (const bearer of [a, b, c]) assert.equal(bearer?.tokens.refreshToken, "rt-2");
    assert.equal(vault.entries.get("provider:openai/oauth_refresh_token"), "rt-2");
  });

  test("a spent refresh token rejects with refresh_token_reused, leaves the vault as it was, UI 'sign in again'", async () => {
    const net = new ScriptedFetch(
      json(401, { error: { message: "Your refresh token has already been used", type: "invalid_request_error", param: null, code: "refresh_token_reused" } }),
    );
    const vault = createMemoryVault(dueEntries());
    const error = await resolveProviderOAuthBearer("openai", CODEX, { vault, fetch: net.fetch, clock: () => NOW }).then(
      () => assert.fail("resolved"),
      (e: unknown) => e,
    );
    assert.ok(error instanceof OAuthDeviceFlowError);
    assert.equal(error.code, "refresh_token_reused");
    assert.equal(error.retryable, false);
    assert.equal(error.status, 401);
    assert.ok(!error.message.includes("rt-1"), "the message must not carry the refresh token");
    assert.equal(providerUiState(error), "sign in again");
    assert.deepEqual(Object.fromEntries(vault.entries), dueEntries());
  });

  test("a 503 rejects retryable with the vault untouched, and the next call refreshes with the same token", async () => {
    const net = new ScriptedFetch(json(503, { error: "temporarily_unavailable" }), refreshed());
    const vault = createMemoryVault(dueEntries());
    const deps = { vault, fetch: net.fetch, clock: () => NOW };
    await assert.rejects(resolveProviderOAuthBearer("openai", CODEX, deps), (e: unknown) => {
      assert.ok(e instanceof OAuthDeviceFlowError);
      assert.equal(e.code, "server_error");
      assert.equal(e.retryable, true);
      assert.equal(providerUiState(e), "temporary problem, retrying");
      return true;
    });
    assert.deepEqual(Object.fromEntries(vault.entries), dueEntries());
    const bearer = await resolveProviderOAuthBearer("openai", CODEX, deps);
    assert.equal(net.sent.length, 2);
    assertCodexRefreshRequest(net.sent[1], "rt-1");
    assert.equal(bearer?.tokens.refreshToken, "rt-2");
  });
});

describe("device login", () => {
  const IDP = rfc8628Provider({
    clientId: "host-app",
    deviceAuthorizationEndpoint: "https://idp.example.com/device",
    tokenEndpoint: "https://idp.example.com/token",
    scope: "openid offline_access",
  });
  const deviceReply = () =>
    json(200, { device_code: "dc-1", user_code: "ABCD-EFGH", verification_uri: "https://idp.example.com/activate", expires_in: 600, interval: 5 });
  const form = (body: string) => Object.fromEntries(new URLSearchParams(body));
  const pollFields = { grant_type: "urn:ietf:params:oauth:grant-type:device_code", device_code: "dc-1", client_id: "host-app" };

  test("start shows the code; finish waits through a pending poll and stores the tokens", async () => {
    const time = new FakeClock(NOW);
    const net = new ScriptedFetch(
      deviceReply(),
      json(400, { error: "authorization_pending" }),
      json(200, { access_token: "at-9", token_type: "Bearer", refresh_token: "rt-9", expires_in: 3600 }),
    );
    const vault = createMemoryVault();
    const code = await startProviderDeviceLogin(IDP, { fetch: net.fetch, clock: time.clock });
    assert.deepEqual(code, {
      deviceCode: "dc-1",
      userCode: "ABCD-EFGH",
      verificationUri: "https://idp.example.com/activate",
      intervalMs: 5000,
      expiresAt: NOW + 600_000,
    });
    const events: string[] = [];
    const tokens = await finishProviderDeviceLogin("idp", IDP, code, {
      vault,
      fetch: net.fetch,
      clock: time.clock,
      sleep: time.sleep,
      onEvent: (e) => events.push(e.type),
    });
    assert.deepEqual(events, ["waiting", "waiting"]);
    assert.deepEqual(
      net.sent.map((s) => [s.url, s.headers["content-type"], form(s.body)]),
      [
        ["https://idp.example.com/device", "application/x-www-form-urlencoded", { client_id: "host-app", scope: "openid offline_access" }],
        ["https://idp.example.com/token", "application/x-www-form-urlencoded", pollFields],
        ["https://idp.example.com/token", "application/x-www-form-urlencoded", pollFields],
      ],
    );
    assert.deepEqual(tokens, { accessToken: "at-9", tokenType: "Bearer", refreshToken: "rt-9", expiresAt: NOW + 10_000 + 3_600_000 });
    assert.deepEqual(Object.fromEntries(vault.entries), {
      "provider:idp/oauth_access_token": "at-9",
      "provider:idp/oauth_token_type": "Bearer",
      "provider:idp/oauth_refresh_token": "rt-9",
      "provider:idp/oauth_expires_at": String(NOW + 3_610_000),
    });
  });

  test("a denied login rejects with access_denied and stores nothing: UI 'denied'", async () => {
    const time = new FakeClock(NOW);
    const net = new ScriptedFetch(deviceReply(), json(400, { error: "access_denied" }));
    const vault = createMemoryVault();
    const code = await startProviderDeviceLogin(IDP, { fetch: net.fetch, clock: time.clock });
    const error = await finishProviderDeviceLogin("idp", IDP, code, { vault, fetch: net.fetch, clock: time.clock, sleep: time.sleep }).then(
      () => assert.fail("resolved"),
      (e: unknown) => e,
    );
    assert.ok(error instanceof OAuthDeviceFlowError);
    assert.equal(error.code, "access_denied");
    assert.equal(providerUiState(error), "denied");
    assert.equal(net.sent.length, 2);
    assert.equal(vault.entries.size, 0);
  });

  test("a plain-http identity provider is refused before any request: UI 'configuration error'", async () => {
    const net = new ScriptedFetch();
    const error = await Promise.resolve()
      .then(() => startProviderDeviceLogin({ ...IDP, deviceAuthorizationEndpoint: "http://idp.example.com/device" }, { fetch: net.fetch, clock: () => NOW }))
      .then(
        () => assert.fail("resolved"),
        (e: unknown) => e,
      );
    assert.ok(error instanceof OAuthDeviceFlowError);
    assert.equal(error.code, "insecure_endpoint");
    assert.equal(providerUiState(error), "configuration error");
    assert.equal(net.sent.length, 0);
  });
});
