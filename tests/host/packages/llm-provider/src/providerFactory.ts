/**
 * Which credentials a model call uses: the OAuth bearer when the user connected the provider with
 * device login (its tokens are in the vault), else the configured API key. A ChatGPT-login token only
 * works against the Codex backend, so an `openai-codex` bearer also moves the base URL there.
 * `providerUiState` turns the module's error codes into what the settings page shows.
 */
import { OAuthDeviceFlowError, type OAuthProvider } from "./oauthDeviceFlow.ts";
import { resolveProviderOAuthBearer, type OAuthCredentialDeps } from "./providerCredentials.ts";

export const OPENAI_API_BASE_URL = "https://api.openai.com/v1";
export const CODEX_BACKEND_BASE_URL = "https://chatgpt.com/backend-api/codex";

export interface LlmProviderConfig {
  /** The vault namespace: tokens live under `provider:<id>/oauth_*`. */
  id: string;
  apiKey?: string;
  apiBaseUrl?: string;
  /** Set when the provider offers OAuth device login. */
  oauth?: OAuthProvider;
}

export interface LlmProvider {
  id: string;
  auth: "oauth" | "api_key";
  baseUrl: string;
  headers: Record<string, string>;
}

export class ProviderNotConfiguredError extends Error {
  override readonly name = "ProviderNotConfiguredError";
  constructor(readonly providerId: string) {
    super(`Provider ${providerId} has neither an OAuth login nor an API key: connect it in the settings.`);
  }
}

export async function resolveLlmProvider(config: LlmProviderConfig, deps: OAuthCredentialDeps): Promise<LlmProvider> {
  if (config.oauth !== undefined) {
    const bearer = await resolveProviderOAuthBearer(config.id, config.oauth, deps);
    if (bearer !== null) {
      const baseUrl = config.oauth.kind === "openai-codex" ? CODEX_BACKEND_BASE_URL : (config.apiBaseUrl ?? OPENAI_API_BASE_URL);
      return { id: config.id, auth: "oauth", baseUrl, headers: bearer.headers };
    }
  }
  if (config.apiKey !== undefined && config.apiKey !== "") {
    return {
      id: config.id,
      auth: "api_key",
      baseUrl: config.apiBaseUrl ?? OPENAI_API_BASE_URL,
      headers: { Authorization: `Bearer ${config.apiKey}` },
    };
  }
  throw new ProviderNotConfiguredError(config.id);
}

export type ProviderUiState =
  | "denied"
  | "code expired, start again"
  | "device login is off for this account"
  | "sign in again"
  | "temporary problem, retrying"
  | "configuration error"
  | "cancelled"
  | "usage limit reached"
  | "not connected"
  | "unexpected error";

/** The contract's error code -> UI state table (README "Errors"). */
export function providerUiState(error: unknown): ProviderUiState {
  if (error instanceof ProviderNotConfiguredError) return "not connected";
  if (!(error instanceof OAuthDeviceFlowError)) return "unexpected error";
  switch (error.code) {
    case "access_denied":
      return "denied";
    case "expired_token":
      return "code expired, start again";
    case "device_flow_disabled":
      return "device login is off for this account";
    case "invalid_grant":
    case "refresh_token_expired":
    case "refresh_token_reused":
    case "refresh_token_invalidated":
    case "reauth_required":
      return "sign in again";
    case "invalid_config":
    case "insecure_endpoint":
    case "oauth_error":
      return "configuration error";
    case "aborted":
      return "cancelled";
    case "server_error":
    case "network_error":
    case "invalid_response":
    case "redirect":
    case "storage_error":
    case "stream_incomplete":
    case "idle_timeout":
    case "response_failed":
      return "temporary problem, retrying";
    case "usage_limit_reached":
    case "usage_not_included":
      return "usage limit reached";
    case "model_error":
    case "challenge":
      return "configuration error";
  }
}
