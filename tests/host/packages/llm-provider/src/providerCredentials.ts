/**
 * A provider's OAuth credentials in the host's secret vault, and the bearer a model request uses.
 *
 * Each token field lives under `provider:<id>/oauth_<field>`. When the access token is due, the
 * bearer is refreshed once for all concurrent callers of this process and the rotated tokens are
 * written to the vault before anyone uses them: an OpenAI refresh token is single-use, so losing
 * its successor (or spending it twice) logs the user out for good. A failed refresh leaves the vault
 * as it was and rethrows the module's error; the UI state comes from its code (providerFactory.ts).
 */
import {
  codexAuthHeaders,
  isAccessTokenExpired,
  refreshAccessToken,
  requestDeviceCode,
  waitForDeviceToken,
  type Clock,
  type DeviceCode,
  type DeviceFlowEvent,
  type FetchLike,
  type OAuthProvider,
  type OAuthTokens,
} from "./oauthDeviceFlow.ts";

/** The host's secret storage (a KMS-backed table in production). Every method is async. */
export interface SecretVault {
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string): Promise<void>;
  delete(key: string): Promise<void>;
}

/** An in-memory vault; `entries` is there for tests and debugging screens. */
export interface MemoryVault extends SecretVault {
  readonly entries: Map<string, string>;
}

export function createMemoryVault(initial: Record<string, string> = {}): MemoryVault {
  const entries = new Map(Object.entries(initial));
  return {
    entries,
    get: async (key) => entries.get(key),
    set: async (key, value) => {
      entries.set(key, value);
    },
    delete: async (key) => {
      entries.delete(key);
    },
  };
}

const FIELDS = ["access_token", "token_type", "refresh_token", "id_token", "scope", "expires_at"] as const;
type Field = (typeof FIELDS)[number];

export function oauthVaultKey(providerId: string, field: Field): string {
  return `provider:${providerId}/oauth_${field}`;
}

function fieldValues(tokens: OAuthTokens): Record<Field, string | undefined> {
  return {
    access_token: tokens.accessToken,
    token_type: tokens.tokenType,
    refresh_token: tokens.refreshToken,
    id_token: tokens.idToken,
    scope: tokens.scope,
    expires_at: tokens.expiresAt === undefined ? undefined : String(tokens.expiresAt),
  };
}

/** Writes every field of `tokens` and deletes the ones it lacks, so no stale value survives. */
export async function saveProviderOAuthTokens(vault: SecretVault, providerId: string, tokens: OAuthTokens): Promise<void> {
  const values = fieldValues(tokens);
  for (const field of FIELDS) {
    const value = values[field];
    if (value === undefined) await vault.delete(oauthVaultKey(providerId, field));
    else await vault.set(oauthVaultKey(providerId, field), value);
  }
}

/** The stored tokens, or `null` when the provider was never connected with OAuth. */
export async function loadProviderOAuthTokens(vault: SecretVault, providerId: string): Promise<OAuthTokens | null> {
  const read = (field: Field) => vault.get(oauthVaultKey(providerId, field));
  const accessToken = await read("access_token");
  if (accessToken === undefined || accessToken === "") return null;
  const tokens: OAuthTokens = { accessToken, tokenType: (await read("token_type")) ?? "Bearer" };
  const refreshToken = await read("refresh_token");
  if (refreshToken !== undefined) tokens.refreshToken = refreshToken;
  const idToken = await read("id_token");
  if (idToken !== undefined) tokens.idToken = idToken;
  const scope = await read("scope");
  if (scope !== undefined) tokens.scope = scope;
  const expiresAt = Number(await read("expires_at"));
  if (Number.isSafeInteger(expiresAt)) tokens.expiresAt = expiresAt;
  return tokens;
}

export async function clearProviderOAuthTokens(vault: SecretVault, providerId: string): Promise<void> {
  for (const field of FIELDS) await vault.delete(oauthVaultKey(providerId, field));
}

export interface OAuthCredentialDeps {
  vault: SecretVault;
  fetch: FetchLike;
  clock: Clock;
  /** Refresh this long before expiry. Default: 5 minutes for openai-codex (as Codex), else 1 minute. */
  skewMs?: number;
  timeoutMs?: number;
}

export interface OAuthBearer {
  /** The request headers: `Authorization` (and `ChatGPT-Account-ID` for openai-codex). */
  headers: Record<string, string>;
  tokens: OAuthTokens;
}

/** One refresh per vault and provider id at a time in this process: callers share its promise. */
const refreshing = new WeakMap<SecretVault, Map<string, Promise<OAuthTokens>>>();

function sharedRefresh(providerId: string, deps: OAuthCredentialDeps, run: () => Promise<OAuthTokens>): Promise<OAuthTokens> {
  let flights = refreshing.get(deps.vault);
  if (flights === undefined) {
    flights = new Map();
    refreshing.set(deps.vault, flights);
  }
  const current = flights.get(providerId);
  if (current !== undefined) return current;
  const flight = run().finally(() => flights.delete(providerId));
  flights.set(providerId, flight);
  return flight;
}

function bearerHeaders(provider: OAuthProvider, tokens: OAuthTokens): Record<string, string> {
  if (provider.kind === "openai-codex") return codexAuthHeaders(tokens);
  return { Authorization: `Bearer ${tokens.accessToken}` };
}

/**
 * The OAuth bearer for `providerId`, refreshed first when due; `null` when no OAuth tokens are
 * stored. Rejects with the module's `OAuthDeviceFlowError` when a refresh fails (vault untouched).
 */
export async function resolveProviderOAuthBearer(
  providerId: string,
  provider: OAuthProvider,
  deps: OAuthCredentialDeps,
): Promise<OAuthBearer | null> {
  const stored = await loadProviderOAuthTokens(deps.vault, providerId);
  if (stored === null) return null;
  const skewMs = deps.skewMs ?? (provider.kind === "openai-codex" ? 300_000 : 60_000);
  if (!isAccessTokenExpired(stored, deps.clock, skewMs)) {
    return { headers: bearerHeaders(provider, stored), tokens: stored };
  }
  const tokens = await sharedRefresh(providerId, deps, async () => {
    const transport = { fetch: deps.fetch, clock: deps.clock, ...(deps.timeoutMs === undefined ? {} : { timeoutMs: deps.timeoutMs }) };
    const next = await refreshAccessToken(provider, stored, transport);
    await saveProviderOAuthTokens(deps.vault, providerId, next);
    return next;
  });
  return { headers: bearerHeaders(provider, tokens), tokens };
}

/** Step 1 of "Connect with OpenAI": the code and URL the settings page shows. */
export function startProviderDeviceLogin(provider: OAuthProvider, deps: { fetch: FetchLike; clock: Clock }): Promise<DeviceCode> {
  return requestDeviceCode(provider, deps);
}

/** Step 2: waits for the user's approval, then stores the tokens in the vault. */
export async function finishProviderDeviceLogin(
  providerId: string,
  provider: OAuthProvider,
  code: DeviceCode,
  deps: {
    vault: SecretVault;
    fetch: FetchLike;
    clock: Clock;
    sleep?: (ms: number) => Promise<void>;
    onEvent?: (e: DeviceFlowEvent) => void;
    signal?: AbortSignal;
  },
): Promise<OAuthTokens> {
  const { vault, ...waitDeps } = deps;
  const tokens = await waitForDeviceToken(provider, code, waitDeps);
  await saveProviderOAuthTokens(vault, providerId, tokens);
  return tokens;
}
