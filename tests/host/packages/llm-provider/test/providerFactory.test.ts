/**
 * resolveLlmProvider: the OAuth bearer wins when the provider is configured for OAuth and the vault
 * holds its tokens, else the API key; a dead OAuth login is reported, never silently replaced by the
 * key. providerUiState follows the contract's code -> UI state table.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { OAuthDeviceFlowError, openaiCodexProvider, rfc8628Provider, type OAuthErrorCode } from "../src/oauthDeviceFlow.ts";
import { createMemoryVault } from "../src/providerCredentials.ts";
import {
  CODEX_BACKEND_BASE_URL,
  OPENAI_API_BASE_URL,
  ProviderNotConfiguredError,
  providerUiState,
  resolveLlmProvider,
  type LlmProviderConfig,
} from "../src/providerFactory.ts";
import { ScriptedFetch, codexAccessToken, codexIdToken, json } from "./fakes.ts";

const NOW = 1_800_000_000_000;
const access = codexAccessToken("acct_7", (NOW + 3_600_000) / 1000);
const idToken = codexIdToken("acct_7");
const openai: LlmProviderConfig = { id: "openai", apiKey: "sk-test-key", oauth: openaiCodexProvider() };

const storedTokens = (expiresAt: number): Record<string, string> => ({
  "provider:openai/oauth_access_token": access,
  "provider:openai/oauth_token_type": "Bearer",
  "provider:openai/oauth_refresh_token": "rt-1",
  "provider:openai/oauth_id_token": idToken,
  "provider:openai/oauth_expires_at": String(expiresAt),
});

describe("resolveLlmProvider", () => {
  test("OAuth configured and connected: the Codex backend with the bearer and account id", async () => {
    const net = new ScriptedFetch();
    const provider = await resolveLlmProvider(openai, { vault: createMemoryVault(storedTokens(NOW + 3_600_000)), fetch: net.fetch, clock: () => NOW });
    assert.deepEqual(provider, {
      id: "openai",
      auth: "oauth",
      baseUrl: CODEX_BACKEND_BASE_URL,
      headers: { Authorization: `Bearer ${access}`, "ChatGPT-Account-ID": "acct_7" },
    });
    assert.equal(net.sent.length, 0);
  });

  test("OAuth configured but never connected: the API key", async () => {
    const net = new ScriptedFetch();
    const provider = await resolveLlmProvider(openai, { vault: createMemoryVault(), fetch: net.fetch, clock: () => NOW });
    assert.deepEqual(provider, { id: "openai", auth: "api_key", baseUrl: OPENAI_API_BASE_URL, headers: { Authorization: "Bearer sk-test-key" } });
    assert.equal(net.sent.length, 0);
  });

  test("OAuth not configured: the API key, even with tokens left in the vault", async () => {
    const net = new ScriptedFetch();
    const { oauth: _unused, ...keyOnly } = openai;
    const provider = await resolveLlmProvider(keyOnly, { vault: createMemoryVault(storedTokens(NOW + 3_600_000)), fetch: net.fetch, clock: () => NOW });
    assert.equal(provider.auth, "api_key");
    assert.deepEqual(provider.headers, { Authorization: "Bearer sk-test-key" });
  });

  test("an RFC 8628 provider keeps the configured base URL with a plain bearer", async () => {
    const net = new ScriptedFetch();
    const config: LlmProviderConfig = {
      id: "openai",
      apiBaseUrl: "https://llm.example.com/v1",
      oauth: rfc8628Provider({ clientId: "host-app", deviceAuthorizationEndpoint: "https://idp.example.com/device", tokenEndpoint: "https://idp.example.com/token" }),
    };
    const provider = await resolveLlmProvider(config, { vault: createMemoryVault(storedTokens(NOW + 3_600_000)), fetch: net.fetch, clock: () => NOW });
    assert.deepEqual(provider, { id: "openai", auth: "oauth", baseUrl: "https://llm.example.com/v1", headers: { Authorization: `Bearer ${access}` } });
  });

  test("an expired OAuth token is refreshed and the rotated refresh token persisted", async () => {
    const next = codexAccessToken("acct_7", (NOW + 7_200_000) / 1000);
    const net = new ScriptedFetch(json(200, { access_token: next, refresh_token: "rt-2", id_token: idToken, expires_in: 7200 }));
    const vault = createMemoryVault(storedTokens(NOW - 1000));
    const provider = await resolveLlmProvider(openai, { vault, fetch: net.fetch, clock: () => NOW });
    assert.equal(provider.auth, "oauth");
    assert.equal(provider.headers["Authorization"], `Bearer ${next}`);
    assert.equal(net.sent.length, 1);
    assert.equal(net.sent[0]?.url, "https://auth.openai.com/oauth/token");
    assert.equal(vault.entries.get("provider:openai/oauth_refresh_token"), "rt-2");
    assert.equal(vault.entries.get("provider:openai/oauth_access_token"), next);
    assert.equal(vault.entries.get("provider:openai/oauth_expires_at"), String(NOW + 7_200_000));
  });

  test("a dead OAuth login rejects ('sign in again') instead of falling back to the API key", async () => {
    const net = new ScriptedFetch(json(400, { error: "invalid_grant", error_description: "Refresh token revoked" }));
    const vault = createMemoryVault(storedTokens(NOW - 1000));
    await assert.rejects(resolveLlmProvider(openai, { vault, fetch: net.fetch, clock: () => NOW }), (e: unknown) => {
      assert.ok(e instanceof OAuthDeviceFlowError);
      assert.equal(e.code, "invalid_grant");
      assert.equal(providerUiState(e), "sign in again");
      return true;
    });
    assert.deepEqual(Object.fromEntries(vault.entries), storedTokens(NOW - 1000));
  });

  test("neither OAuth tokens nor an API key: ProviderNotConfiguredError, UI 'not connected'", async () => {
    const net = new ScriptedFetch();
    const { apiKey: _unused, ...oauthOnly } = openai;
    const error = await resolveLlmProvider(oauthOnly, { vault: createMemoryVault(), fetch: net.fetch, clock: () => NOW }).then(
      () => assert.fail("resolved"),
      (e: unknown) => e,
    );
    assert.ok(error instanceof ProviderNotConfiguredError);
    assert.equal(providerUiState(error), "not connected");
  });
});

describe("providerUiState", () => {
  test("maps every error code as the contract's table says", () => {
    const table: Record<OAuthErrorCode, string> = {
      access_denied: "denied",
      expired_token: "code expired, start again",
      device_flow_disabled: "device login is off for this account",
      invalid_grant: "sign in again",
      refresh_token_expired: "sign in again",
      refresh_token_reused: "sign in again",
      refresh_token_invalidated: "sign in again",
      reauth_required: "sign in again",
      oauth_error: "configuration error",
      invalid_config: "configuration error",
      insecure_endpoint: "configuration error",
      server_error: "temporary problem, retrying",
      network_error: "temporary problem, retrying",
      invalid_response: "temporary problem, retrying",
      redirect: "temporary problem, retrying",
      storage_error: "temporary problem, retrying",
      aborted: "cancelled",
      usage_limit_reached: "usage limit reached",
      usage_not_included: "usage limit reached",
      model_error: "configuration error",
      challenge: "configuration error",
      response_failed: "temporary problem, retrying",
      stream_incomplete: "temporary problem, retrying",
      idle_timeout: "temporary problem, retrying",
    };
    for (const [code, state] of Object.entries(table)) {
      assert.equal(providerUiState(new OAuthDeviceFlowError(code as OAuthErrorCode, "message")), state, code);
    }
    assert.equal(providerUiState(new Error("boom")), "unexpected error");
  });
});
