/**
 * Providers, secrets and replies the shared cases use. Every secret contains "CANARY" so that the
 * harness can prove no error ever shows one; nothing that is not a secret contains it.
 */
import type { DeviceCode, OAuthProvider, OAuthTokens } from "../../../js/oauthDeviceFlow.ts";
import { ISSUER, T0, codexCode, form, json, jwt, rfcCode, type Reply } from "../support/fakes.ts";
import type { Api } from "./implementations.ts";

export { ISSUER, T0, codexCode, form, json, jwt, rfcCode };

export const CLIENT = "app_EMoamEEZ73f0CkXaXp7hrann";
export const RT = "rt_CANARY_refresh_4b1d2c";
export const RT2 = "rt_CANARY_rotated_91fe";
export const CS = "cs_CANARY secret+/:é";
export const AC = "ac_CANARY_authcode_9a8b";
export const CV = "cv_CANARY_verifier_7d6e";
export const CODEX_DC = codexCode().deviceCode;
export const RFC_DC = rfcCode().deviceCode;

export const EXTRA_HEADERS = { "User-Agent": "host/1.2.3", originator: "codex_cli_rs" };
export const JSON_H = { Accept: "application/json", "Content-Type": "application/json", ...EXTRA_HEADERS };
export const FORM_CODEX_H = { Accept: "application/json", "Content-Type": "application/x-www-form-urlencoded", ...EXTRA_HEADERS };
export const FORM_H = { Accept: "application/json", "Content-Type": "application/x-www-form-urlencoded" };

export const RFC_BASE = {
  clientId: "cli",
  deviceAuthorizationEndpoint: "https://idp.example.com/device/code",
  tokenEndpoint: "https://idp.example.com/token",
  revocationEndpoint: "https://idp.example.com/revoke",
};
export const RFC_DEVICE = "https://idp.example.com/device/code";
export const RFC_TOKEN = "https://idp.example.com/token";
export const RFC_REVOKE = "https://idp.example.com/revoke";
export const CODEX_USERCODE = `${ISSUER}/api/accounts/deviceauth/usercode`;
export const CODEX_POLL = `${ISSUER}/api/accounts/deviceauth/token`;
export const CODEX_TOKEN = `${ISSUER}/oauth/token`;
export const CODEX_REVOKE = `${ISSUER}/oauth/revoke`;
export const CODEX_REDIRECT = `${ISSUER}/deviceauth/callback`;

/** The OpenAI provider on a loopback issuer, with host headers. */
export const codex = (api: Api): OAuthProvider => api.openaiCodexProvider({ issuer: ISSUER, headers: EXTRA_HEADERS });
/** A public RFC 8628 client with scope and extra parameters. */
export const rfc = (api: Api, extra: Partial<OAuthProvider> = {}): OAuthProvider =>
  api.rfc8628Provider({
    ...RFC_BASE,
    scope: "openid offline_access",
    extraParams: { audience: "api://a b", resource: "https://r.example/x?y=1" },
    ...extra,
  });
export const rfcPost = (api: Api): OAuthProvider =>
  api.rfc8628Provider({ ...RFC_BASE, clientAuth: "client_secret_post", clientSecret: CS });
export const rfcBasic = (api: Api): OAuthProvider =>
  api.rfc8628Provider({ ...RFC_BASE, clientId: "cli id:é", clientAuth: "client_secret_basic", clientSecret: CS });

export const BASIC = `Basic ${Buffer.from("cli+id%3A%C3%A9:cs_CANARY+secret%2B%2F%3A%C3%A9", "utf8").toString("base64")}`;

export const ID_TOKEN = jwt({
  email: "user@example.com",
  "https://api.openai.com/auth": { chatgpt_account_id: "acct_1", chatgpt_plan_type: "plus", chatgpt_user_id: "user_1" },
});
export const ACCESS_EXP = T0 / 1000 + 3600;
export const ACCESS_TOKEN = jwt({
  exp: ACCESS_EXP,
  aud: "https://api.openai.com/v1",
  "https://api.openai.com/auth": { chatgpt_account_id: "acct_from_access" },
});

/** A token endpoint's success reply. */
export const tokenReply = (extra: Record<string, unknown> = {}): Reply =>
  json(200, { access_token: ACCESS_TOKEN, token_type: "bearer", expires_in: 3600, refresh_token: RT2, id_token: ID_TOKEN, ...extra });

export const TOKENS: OAuthTokens = {
  accessToken: ACCESS_TOKEN,
  tokenType: "Bearer",
  refreshToken: RT2,
  idToken: ID_TOKEN,
  expiresAt: T0 + 3_600_000,
};

export const PREVIOUS: OAuthTokens = {
  accessToken: "at_CANARY_old_access",
  tokenType: "Bearer",
  refreshToken: RT,
  idToken: "id_old",
  scope: "openid offline_access",
  expiresAt: T0 - 1,
};

/** OpenAI's approval: the authorization code and the server-made PKCE verifier. */
export const approval = (): Reply => json(200, { authorization_code: AC, code_challenge: "ch", code_verifier: CV });

export const codexExchangeBody = form([
  ["grant_type", "authorization_code"],
  ["code", AC],
  ["redirect_uri", CODEX_REDIRECT],
  ["client_id", CLIENT],
  ["code_verifier", CV],
]);

export const codeOf = (kind: "codex" | "rfc", overrides: Partial<DeviceCode> = {}): DeviceCode =>
  kind === "codex" ? codexCode(overrides) : rfcCode(overrides);
