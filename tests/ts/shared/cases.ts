/**
 * The shared cases: each runs against both implementations with the same fakes. At least the
 * classic cases of a hand-written device-flow module, then every rule docs/behaviour.md names, then a
 * matrix of the reply-classification rules over every step, then the documented differences.
 * `tests/ts/shared.suite.test.ts` turns each into node:test tests; `npm run compare` into a table.
 */
import type { OAuthTokens } from "../../../js/oauthDeviceFlow.ts";
import { html, json, type Reply, type Script } from "../support/fakes.ts";
import {
  AC,
  ACCESS_EXP,
  ACCESS_TOKEN,
  BASIC,
  CLIENT,
  CODEX_DC,
  CODEX_POLL,
  CODEX_REDIRECT,
  CODEX_REVOKE,
  CODEX_TOKEN,
  CODEX_USERCODE,
  CS,
  CV,
  FORM_CODEX_H,
  FORM_H,
  ID_TOKEN,
  ISSUER,
  JSON_H,
  PREVIOUS,
  RFC_BASE,
  RFC_DC,
  RFC_DEVICE,
  RFC_REVOKE,
  RFC_TOKEN,
  RT,
  RT2,
  T0,
  TOKENS,
  approval,
  codex,
  codexCode,
  codexExchangeBody,
  form,
  jwt,
  rfc,
  rfcBasic,
  rfcCode,
  rfcPost,
  tokenReply,
} from "./fixtures.ts";
import type { Case, Env, Expected } from "./harness.ts";
import type { Api } from "./implementations.ts";
import { DIFFERENCE_CASES } from "./differences.ts";
import { INPUT_CASES } from "./inputs.ts";

const DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code";
const rfcPollBody = form([
  ["grant_type", DEVICE_CODE_GRANT],
  ["device_code", RFC_DC],
  ["client_id", "cli"],
]);
const codexPollBody = JSON.stringify({ device_auth_id: CODEX_DC, user_code: "ABCD-1234" });
const codexRefreshBody = (rt: string) => JSON.stringify({ client_id: CLIENT, grant_type: "refresh_token", refresh_token: rt });
const rfcRefreshBody = form([
  ["grant_type", "refresh_token"],
  ["refresh_token", RT],
  ["client_id", "cli"],
]);

/** The tokens `tokenReply()` gives, read on T0. */
const TOKENS_FROM_REPLY: OAuthTokens = { ...TOKENS };

const classic: Case[] = [
  {
    group: "classic",
    name: "openai-codex device code request: JSON client_id to the user-code endpoint; string interval, 15-minute lifetime, the provider's verification URL",
    scenario: {
      replies: [json(200, { device_auth_id: CODEX_DC, user_code: "ABCD-1234", interval: "5" })],
      call: (api, env) => api.requestDeviceCode(codex(api), env.deps),
    },
    expect: {
      outcome: { value: codexCode() },
      wire: [{ url: CODEX_USERCODE, headers: JSON_H, body: JSON.stringify({ client_id: CLIENT }) }],
      clockReads: 1,
    },
  },
  {
    group: "classic",
    name: "rfc8628 device code request: form client_id, scope, then extraParams in order; all reply fields read",
    scenario: {
      replies: [
        json(200, {
          device_code: RFC_DC,
          user_code: "WDJB-MJHT",
          verification_uri: "https://idp.example.com/device",
          verification_uri_complete: "https://idp.example.com/device?user_code=WDJB-MJHT",
          expires_in: 600,
          interval: 5,
        }),
      ],
      call: (api, env) => api.requestDeviceCode(rfc(api), env.deps),
    },
    expect: {
      outcome: { value: rfcCode() },
      wire: [
        {
          url: RFC_DEVICE,
          headers: FORM_H,
          body: form([
            ["client_id", "cli"],
            ["scope", "openid offline_access"],
            ["audience", "api://a b"],
            ["resource", "https://r.example/x?y=1"],
          ]),
        },
      ],
    },
  },
  {
    group: "classic",
    name: "poll pending (openai-codex 403 deviceauth_authorization_pending): pending with the code's interval",
    scenario: {
      replies: [json(403, { error: { code: "deviceauth_authorization_pending" } })],
      call: (api, env) => api.pollDeviceToken(codex(api), codexCode(), env.deps),
    },
    expect: {
      outcome: { value: { status: "pending", intervalMs: 5000 } },
      wire: [{ url: CODEX_POLL, headers: JSON_H, body: codexPollBody }],
      clockReads: 1,
    },
  },
  {
    group: "classic",
    name: "poll pending (rfc8628 400 authorization_pending): pending, device_code grant form on the token endpoint",
    scenario: {
      replies: [json(400, { error: "authorization_pending" })],
      call: (api, env) => api.pollDeviceToken(rfc(api), rfcCode(), env.deps),
    },
    expect: {
      outcome: { value: { status: "pending", intervalMs: 5000 } },
      wire: [{ url: RFC_TOKEN, headers: FORM_H, body: rfcPollBody }],
    },
  },
  {
    group: "classic",
    name: "poll slow_down: interval already increased by 5 s",
    scenario: {
      replies: [json(400, { error: "slow_down" })],
      call: (api, env) => api.pollDeviceToken(rfc(api), rfcCode({ intervalMs: 7000 }), env.deps),
    },
    expect: { outcome: { value: { status: "slow_down", intervalMs: 12_000 } } },
  },
  {
    group: "classic",
    name: "poll success (rfc8628): tokens, expiresAt from expires_in on the one clock reading, bearer -> Bearer",
    scenario: {
      replies: [tokenReply()],
      call: (api, env) => api.pollDeviceToken(rfc(api), rfcCode(), env.deps),
    },
    expect: { outcome: { value: { status: "success", tokens: TOKENS_FROM_REPLY } }, clockReads: 1 },
  },
  {
    group: "classic",
    name: "poll success (openai-codex): the approval is redeemed by a form code exchange with redirect_uri and the server's code_verifier",
    scenario: {
      replies: [approval(), tokenReply()],
      call: (api, env) => api.pollDeviceToken(codex(api), codexCode(), env.deps),
    },
    expect: {
      outcome: { value: { status: "success", tokens: TOKENS_FROM_REPLY } },
      wire: [
        { url: CODEX_POLL, headers: JSON_H, body: codexPollBody },
        { url: CODEX_TOKEN, headers: FORM_CODEX_H, body: codexExchangeBody },
      ],
      clockReads: 1,
    },
  },
  {
    group: "classic",
    name: "poll denied: access_denied, not retryable, serverCode kept",
    scenario: {
      replies: [json(400, { error: "access_denied", error_description: "user said no" })],
      call: (api, env) => api.pollDeviceToken(rfc(api), rfcCode(), env.deps),
    },
    expect: { outcome: { error: { code: "access_denied", retryable: false, status: 400, serverCode: "access_denied" } } },
  },
  {
    group: "classic",
    name: "poll expired by the server (openai-codex deviceauth_expired): expired_token",
    scenario: {
      replies: [json(410, { error: { code: "deviceauth_expired" } })],
      call: (api, env) => api.pollDeviceToken(codex(api), codexCode(), env.deps),
    },
    expect: { outcome: { error: { code: "expired_token", retryable: false, status: 410, serverCode: "deviceauth_expired" } } },
  },
  {
    group: "classic",
    name: "poll expired by the clock: expired_token and no request",
    scenario: {
      now: T0 + 15 * 60_000,
      call: (api, env) => api.pollDeviceToken(codex(api), codexCode(), env.deps),
    },
    expect: { outcome: { error: "expired_token" }, wire: [], clockReads: 1 },
  },
  {
    group: "classic",
    name: "refresh success (openai-codex): JSON client_id, grant_type, refresh_token; claims' fields kept",
    scenario: {
      replies: [tokenReply()],
      call: (api, env) => api.refreshAccessToken(codex(api), RT, env.deps),
    },
    expect: {
      outcome: { value: TOKENS_FROM_REPLY },
      wire: [{ url: CODEX_TOKEN, headers: JSON_H, body: codexRefreshBody(RT) }],
      clockReads: 1,
    },
  },
  {
    group: "classic",
    name: "refresh rotation: the reply's refresh token replaces the previous one",
    scenario: {
      replies: [json(200, { access_token: "at_new", refresh_token: RT2 })],
      call: (api, env) => api.refreshAccessToken(codex(api), PREVIOUS, env.deps),
    },
    expect: {
      outcome: {
        value: { accessToken: "at_new", tokenType: "Bearer", refreshToken: RT2, idToken: "id_old", scope: "openid offline_access" },
      },
    },
  },
  {
    group: "classic",
    name: "refresh without rotation: the previous refresh token is kept (null and empty count as omitted)",
    scenario: {
      replies: [json(200, { access_token: "at_new", refresh_token: null, id_token: "", scope: "new" })],
      call: (api, env) => api.refreshAccessToken(rfc(api), PREVIOUS, env.deps),
    },
    expect: {
      outcome: { value: { accessToken: "at_new", tokenType: "Bearer", refreshToken: RT, idToken: "id_old", scope: "new" } },
      wire: [{ url: RFC_TOKEN, headers: FORM_H, body: rfcRefreshBody }],
    },
  },
  ...(
    [
      ["refresh_token_expired", 401],
      ["refresh_token_reused", 400],
      ["refresh_token_invalidated", 401],
      ["invalid_grant", 400],
    ] as const
  ).map(
    ([code, status]): Case => ({
      group: "classic",
      name: `refresh failure: ${code} (HTTP ${status}) is permanent with that code`,
      scenario: {
        replies: [json(status, { error: { message: `token ${RT} is bad`, type: "invalid_request_error", param: null, code } })],
        call: (api, env) => api.refreshAccessToken(codex(api), RT, env.deps),
      },
      expect: { outcome: { error: { code, retryable: false, status, serverCode: code } } },
    }),
  ),
  {
    group: "classic",
    name: "refresh failure: a bare 401 is invalid_grant",
    scenario: { replies: [{ status: 401 }], call: (api, env) => api.refreshAccessToken(codex(api), RT, env.deps) },
    expect: { outcome: { error: { code: "invalid_grant", retryable: false, status: 401 } } },
  },
  {
    group: "classic",
    name: "refresh failure: a 502 HTML page is a retryable server_error",
    scenario: { replies: [html(502)], call: (api, env) => api.refreshAccessToken(codex(api), RT, env.deps) },
    expect: { outcome: { error: { code: "server_error", retryable: true, status: 502 } } },
  },
  {
    group: "classic",
    name: "refresh failure: fetch rejects -> network_error",
    scenario: { replies: [{ kind: "reject" }], call: (api, env) => api.refreshAccessToken(codex(api), RT, env.deps) },
    expect: { outcome: { error: "network_error" } },
  },
  {
    group: "classic",
    name: "refresh failure: an HTML page on 200 is invalid_response",
    scenario: { replies: [html(200)], call: (api, env) => api.refreshAccessToken(codex(api), RT, env.deps) },
    expect: { outcome: { error: { code: "invalid_response", retryable: true, status: 200 } } },
  },
  {
    group: "classic",
    name: "no token in errors: a server echoing the refresh token as its code and description shows neither",
    scenario: {
      replies: [json(400, { error: RT, error_description: `bad token ${RT} ${encodeURIComponent(RT)}` })],
      call: (api, env) => api.refreshAccessToken(codex(api), RT, env.deps),
    },
    expect: { outcome: { error: { code: "oauth_error", retryable: false, status: 400 } } },
  },
  {
    group: "classic",
    name: "no stale token after refresh: the new access token and its expiry, not the old ones",
    scenario: {
      replies: [json(200, { access_token: ACCESS_TOKEN })],
      call: async (api, env) => {
        const next = await api.refreshAccessToken(codex(api), PREVIOUS, env.deps);
        return { next, expired: api.isAccessTokenExpired(next, env.clock.clock) };
      },
    },
    expect: {
      outcome: {
        value: {
          next: {
            accessToken: ACCESS_TOKEN,
            tokenType: "Bearer",
            refreshToken: RT,
            idToken: "id_old",
            scope: "openid offline_access",
            expiresAt: ACCESS_EXP * 1000,
          },
          expired: false,
        },
      },
    },
  },
  ...(
    [
      ["expired inside the default 60 s skew", { expiresAt: T0 + 59_000 }, undefined, true],
      ["not expired outside the default skew", { expiresAt: T0 + 61_000 }, undefined, false],
      ["expired exactly at reading + skew", { expiresAt: T0 + 5000 }, 5000, true],
      ["not expired with zero skew one ms before", { expiresAt: T0 + 1 }, 0, false],
      ["from the access token's JWT exp when expiresAt is absent", { accessToken: jwt({ exp: T0 / 1000 + 30 }) }, undefined, true],
      ["unknown expiry is not expired", { accessToken: "opaque" }, undefined, false],
    ] as const
  ).map(
    ([what, tokens, skew, expired]): Case => ({
      group: "classic",
      name: `isAccessTokenExpired: ${what}`,
      scenario: {
        sync: true,
        call: (api, env) =>
          api.isAccessTokenExpired({ accessToken: "x", tokenType: "Bearer", ...tokens }, env.clock.clock, skew),
      },
      expect: { outcome: { value: expired }, clockReads: 1 },
    }),
  ),
  {
    group: "classic",
    name: "revoke (openai-codex): JSON token, token_type_hint, client_id; any 2xx is success, body not read",
    scenario: { replies: [{ status: 204, body: "not json" }], call: (api, env) => api.revokeToken(codex(api), RT, env.deps) },
    expect: {
      outcome: { value: undefined },
      wire: [
        {
          url: CODEX_REVOKE,
          headers: JSON_H,
          body: JSON.stringify({ token: RT, token_type_hint: "refresh_token", client_id: CLIENT }),
        },
      ],
      textReads: 0,
    },
  },
  {
    group: "classic",
    name: "revoke (rfc8628, client_secret_basic): RFC 7009 form, Basic of the form-encoded id and secret, client_id stays in the body",
    scenario: { replies: [{ status: 200 }], call: (api, env) => api.revokeToken(rfcBasic(api), RT, env.deps) },
    expect: {
      outcome: { value: undefined },
      wire: [
        {
          url: RFC_REVOKE,
          headers: { ...FORM_H, Authorization: BASIC },
          body: form([
            ["token", RT],
            ["token_type_hint", "refresh_token"],
            ["client_id", "cli id:é"],
          ]),
        },
      ],
    },
  },
  {
    group: "classic",
    name: "waitForDeviceToken: pending, slow_down, then success; events and sleeps in order",
    scenario: {
      replies: [json(400, { error: "authorization_pending" }), json(400, { error: "slow_down" }), tokenReply()],
      call: (api, env) => api.waitForDeviceToken(rfc(api), rfcCode(), env.waitDeps),
    },
    expect: {
      outcome: { check: (o) => void (o.outcome.ok || fail("expected tokens")) },
      events: [
        { type: "waiting", nextPollInMs: 5000, expiresAt: T0 + 600_000 },
        { type: "waiting", nextPollInMs: 5000, expiresAt: T0 + 600_000 },
        { type: "slowed_down", intervalMs: 10_000 },
        { type: "waiting", nextPollInMs: 10_000, expiresAt: T0 + 600_000 },
      ],
      sleeps: [5000, 5000, 10_000],
    },
  },
  {
    group: "classic",
    name: "waitForDeviceToken: retryable failures back off (Retry-After honoured, 60 s cap) and a success resets",
    scenario: {
      replies: [
        html(503),
        json(429, { error: "busy" }, { "Retry-After": "30" }),
        { kind: "reject" },
        json(403, {}),
        html(502),
        approval(),
        tokenReply(),
      ],
      call: (api, env) => api.waitForDeviceToken(codex(api), codexCode({ intervalMs: 20_000 }), env.waitDeps),
    },
    expect: {
      outcome: { check: (o) => void (o.outcome.ok || fail("expected tokens")) },
      sleeps: [20_000, 20_000, 40_000, 60_000, 20_000, 20_000],
      events: [
        { type: "waiting", nextPollInMs: 20_000, expiresAt: T0 + 900_000 },
        { type: "retrying", code: "server_error", attempt: 1, delayMs: 20_000 },
        { type: "waiting", nextPollInMs: 20_000, expiresAt: T0 + 900_000 },
        { type: "retrying", code: "server_error", attempt: 2, delayMs: 40_000 },
        { type: "waiting", nextPollInMs: 40_000, expiresAt: T0 + 900_000 },
        { type: "retrying", code: "network_error", attempt: 3, delayMs: 60_000 },
        { type: "waiting", nextPollInMs: 60_000, expiresAt: T0 + 900_000 },
        { type: "waiting", nextPollInMs: 20_000, expiresAt: T0 + 900_000 },
        { type: "retrying", code: "server_error", attempt: 1, delayMs: 20_000 },
        { type: "waiting", nextPollInMs: 20_000, expiresAt: T0 + 900_000 },
      ],
    },
  },
  {
    group: "classic",
    name: "waitForDeviceToken: when the next wait would reach expiresAt it emits expired and rejects expired_token",
    scenario: {
      replies: [json(403, {}), json(403, {})],
      call: (api, env) =>
        api.waitForDeviceToken(codex(api), codexCode({ intervalMs: 5000, expiresAt: T0 + 12_000 }), env.waitDeps),
    },
    expect: {
      outcome: { error: "expired_token" },
      sleeps: [5000, 5000],
      events: [
        { type: "waiting", nextPollInMs: 5000, expiresAt: T0 + 12_000 },
        { type: "waiting", nextPollInMs: 5000, expiresAt: T0 + 12_000 },
        { type: "expired" },
      ],
    },
  },
  {
    group: "classic",
    name: "waitForDeviceToken: access_denied rejects at once",
    scenario: {
      replies: [json(400, { error: "access_denied" })],
      call: (api, env) => api.waitForDeviceToken(rfc(api), rfcCode(), env.waitDeps),
    },
    expect: { outcome: { error: { code: "access_denied", retryable: false, status: 400, serverCode: "access_denied" } }, sleeps: [5000] },
  },
  {
    group: "classic",
    name: "decodeTokenClaims: account, plan, user, email from the id token; expiry and audience from the access token",
    scenario: { sync: true, call: (api) => api.decodeTokenClaims(TOKENS) },
    expect: {
      outcome: {
        value: {
          accountId: "acct_1",
          planType: "plus",
          email: "user@example.com",
          userId: "user_1",
          expiresAt: ACCESS_EXP * 1000,
          audience: ["https://api.openai.com/v1"],
        },
      },
    },
  },
  {
    group: "classic",
    name: "codexAuthHeaders: Bearer plus ChatGPT-Account-ID",
    scenario: { sync: true, call: (api) => api.codexAuthHeaders(TOKENS) },
    expect: { outcome: { value: { Authorization: `Bearer ${ACCESS_TOKEN}`, "ChatGPT-Account-ID": "acct_1" } } },
  },
];

function fail(message: string): never {
  throw new Error(message);
}

// ---------------------------------------------------------------------------------------------
// Cases docs/behaviour.md names

const named: Case[] = [
  {
    group: "contract",
    name: "OPENAI_CODEX is the frozen public Codex client; openaiCodexProvider() equals it",
    scenario: {
      sync: true,
      call: (api) => ({ frozen: Object.isFrozen(api.OPENAI_CODEX), same: { ...api.OPENAI_CODEX }, built: api.openaiCodexProvider() }),
    },
    expect: {
      outcome: {
        check: (o) => {
          if (!o.outcome.ok) fail("expected providers");
          const v = o.outcome.value as { frozen: boolean; same: unknown; built: unknown };
          const want = {
            kind: "openai-codex",
            clientId: CLIENT,
            deviceAuthorizationEndpoint: "https://auth.openai.com/api/accounts/deviceauth/usercode",
            tokenEndpoint: "https://auth.openai.com/oauth/token",
            devicePollEndpoint: "https://auth.openai.com/api/accounts/deviceauth/token",
            redirectUri: "https://auth.openai.com/deviceauth/callback",
            verificationUri: "https://auth.openai.com/codex/device",
            revocationEndpoint: "https://auth.openai.com/oauth/revoke",
          };
          if (!v.frozen || JSON.stringify(v.same) !== JSON.stringify(want) || JSON.stringify(v.built) !== JSON.stringify(want)) {
            fail(`unexpected providers ${JSON.stringify(v)}`);
          }
        },
      },
    },
  },
  {
    group: "contract",
    name: "rfc8628Provider returns the validated plain provider in field order",
    scenario: { sync: true, call: (api) => JSON.stringify(rfcPost(api)) },
    expect: {
      outcome: {
        value: JSON.stringify({ kind: "rfc8628", ...RFC_BASE, clientSecret: CS, clientAuth: "client_secret_post" }),
      },
    },
  },
  {
    group: "contract",
    name: "client_secret_post: client_secret right after client_id, before scope and extraParams",
    scenario: {
      replies: [json(500, {})],
      call: (api, env) =>
        api.requestDeviceCode(
          api.rfc8628Provider({ ...RFC_BASE, clientAuth: "client_secret_post", clientSecret: CS, scope: "a b", extraParams: { x: "1" } }),
          env.deps,
        ),
    },
    expect: {
      outcome: { error: { code: "server_error", retryable: true, status: 500 } },
      wire: [
        {
          url: RFC_DEVICE,
          headers: FORM_H,
          body: form([
            ["client_id", "cli"],
            ["client_secret", CS],
            ["scope", "a b"],
            ["x", "1"],
          ]),
        },
      ],
    },
  },
  {
    group: "contract",
    name: "client_secret_post on poll and refresh: the secret follows client_id",
    scenario: {
      replies: [json(400, { error: "authorization_pending" }), tokenReply()],
      call: async (api, env) => {
        await api.pollDeviceToken(rfcPost(api), rfcCode(), env.deps);
        return api.refreshAccessToken(rfcPost(api), RT, env.deps);
      },
    },
    expect: {
      outcome: { value: TOKENS_FROM_REPLY },
      wire: [
        {
          url: RFC_TOKEN,
          headers: FORM_H,
          body: form([
            ["grant_type", DEVICE_CODE_GRANT],
            ["device_code", RFC_DC],
            ["client_id", "cli"],
            ["client_secret", CS],
          ]),
        },
        {
          url: RFC_TOKEN,
          headers: FORM_H,
          body: form([
            ["grant_type", "refresh_token"],
            ["refresh_token", RT],
            ["client_id", "cli"],
            ["client_secret", CS],
          ]),
        },
      ],
    },
  },
  {
    group: "contract",
    name: "client_secret_basic on the device request: Authorization Basic, client_id in the body",
    scenario: { replies: [json(500, {})], call: (api, env) => api.requestDeviceCode(rfcBasic(api), env.deps) },
    expect: {
      outcome: { error: { code: "server_error", retryable: true, status: 500 } },
      wire: [{ url: RFC_DEVICE, headers: { ...FORM_H, Authorization: BASIC }, body: form([["client_id", "cli id:é"]]) }],
    },
  },
  ...(
    [
      ["a provider header naming Accept in another casing", (api: Api) => api.openaiCodexProvider({ headers: { aCCept: "x" } })],
      ["a provider header naming Authorization", (api: Api) => api.rfc8628Provider({ ...RFC_BASE, headers: { authorization: "x" } })],
      ["a provider header naming Content-Type", (api: Api) => api.rfc8628Provider({ ...RFC_BASE, headers: { "Content-Type": "x" } })],
      ["an extra param repeating scope", (api: Api) => api.rfc8628Provider({ ...RFC_BASE, extraParams: { scope: "x" } })],
      ["an extra param repeating client_id", (api: Api) => api.rfc8628Provider({ ...RFC_BASE, extraParams: { client_id: "x" } })],
      ["scope on openai-codex", (api: Api) => api.openaiCodexProvider({ scope: "x" } as never)],
      ["clientSecret with clientAuth none", (api: Api) => api.rfc8628Provider({ ...RFC_BASE, clientSecret: "s_CANARY_1" })],
      ["client_secret_basic without a secret", (api: Api) => api.rfc8628Provider({ ...RFC_BASE, clientAuth: "client_secret_basic" })],
      ["a userinfo endpoint", (api: Api) => api.rfc8628Provider({ ...RFC_BASE, tokenEndpoint: "https://user@idp.example.com/t" })],
      ["a backslash in an https endpoint", (api: Api) => api.rfc8628Provider({ ...RFC_BASE, tokenEndpoint: "https://idp.example.com\\t" })],
      ["an unknown factory option", (api: Api) => api.rfc8628Provider({ ...RFC_BASE, clientSecrett: "x" } as never)],
      ["a header value with a line break", (api: Api) => api.openaiCodexProvider({ headers: { "X-A": "a\r\nb" } })],
      ["an empty clientId", (api: Api) => api.rfc8628Provider({ ...RFC_BASE, clientId: "" })],
    ] as const
  ).map(
    ([what, build]): Case => ({
      group: "contract",
      name: `invalid_config, thrown synchronously by the factory: ${what}`,
      scenario: { sync: true, call: (api) => build(api) },
      expect: { outcome: { error: "invalid_config" } },
    }),
  ),
  ...(
    [
      ["http to a public host", "http://auth.example.com"],
      ["http to 0177.0.0.1 (not a literal loopback spelling)", "http://0177.0.0.1"],
      ["ftp", "ftp://auth.example.com"],
      ["a look-alike: loopback userinfo before a public host", "http://127.0.0.1@example.com"],
      ["a look-alike: a public host before a backslash and loopback", "http://evil.example\\@localhost"],
    ] as const
  ).map(
    ([what, issuer]): Case => ({
      group: "contract",
      name: `insecure_endpoint: ${what}`,
      scenario: { sync: true, call: (api) => api.openaiCodexProvider({ issuer }) },
      expect: { outcome: { error: "insecure_endpoint" } },
    }),
  ),
  ...(["http://localhost:3000", "http://127.9.9.9", "http://[::1]:8080", "https://auth.example.com"] as const).map(
    (issuer): Case => ({
      group: "contract",
      name: `accepted endpoint: ${issuer}`,
      scenario: { sync: true, call: (api) => api.openaiCodexProvider({ issuer }).tokenEndpoint },
      expect: { outcome: { value: `${issuer}/oauth/token` } },
    }),
  ),
  {
    group: "contract",
    name: "a hand-built provider is validated on every call: an insecure one rejects before any request",
    scenario: {
      call: (api, env) => api.refreshAccessToken({ ...rfc(api), tokenEndpoint: "http://idp.example.com/token" }, RT, env.deps),
    },
    expect: { outcome: { error: "insecure_endpoint" }, wire: [], clockReads: 0 },
  },
  ...(
    [
      ["NaN", NaN],
      ["negative", -1],
      ["Infinity", Infinity],
      ["a string", "1700000000000"],
    ] as const
  ).map(
    ([what, reading]): Case => ({
      group: "contract",
      name: `a clock reading that is ${what} rejects invalid_config before any request`,
      scenario: { call: (api, env) => api.requestDeviceCode(codex(api), { ...env.deps, clock: () => reading as number }) },
      expect: { outcome: { error: "invalid_config" }, wire: [] },
    }),
  ),
  ...(
    [
      ["provider undefined", (api: Api, env: Env) => api.requestDeviceCode(undefined as never, env.deps)],
      ["deps without fetch", (api: Api) => api.refreshAccessToken(codex(api), RT, { clock: () => T0 } as never)],
      ["code with intervalMs 999", (api: Api, env: Env) => api.pollDeviceToken(codex(api), codexCode({ intervalMs: 999 }), env.deps)],
      ["code without deviceCode", (api: Api, env: Env) => api.pollDeviceToken(codex(api), codexCode({ deviceCode: "" }), env.deps)],
      ["previous as a number", (api: Api, env: Env) => api.refreshAccessToken(codex(api), 5 as never, env.deps)],
      ["tokens without refreshToken", (api: Api, env: Env) => api.refreshAccessToken(codex(api), { accessToken: "a", tokenType: "Bearer" }, env.deps)],
      ["revoke without revocationEndpoint", (api: Api, env: Env) => api.revokeToken(api.rfc8628Provider({ ...RFC_BASE, revocationEndpoint: undefined }), RT, env.deps)],
      ["revoke an empty token", (api: Api, env: Env) => api.revokeToken(codex(api), "", env.deps)],
      ["deps.timeoutMs 0", (api: Api, env: Env) => api.revokeToken(codex(api), RT, { ...env.deps, timeoutMs: 0 })],
      ["deps.signal not an AbortSignal", (api: Api, env: Env) => api.revokeToken(codex(api), RT, { ...env.deps, signal: {} as never })],
      ["wait with onEvent not a function", (api: Api, env: Env) => api.waitForDeviceToken(codex(api), codexCode(), { ...env.waitDeps, onEvent: 1 as never })],
    ] as const
  ).map(
    ([what, call]): Case => ({
      group: "contract",
      name: `bad argument rejects invalid_config (never a synchronous throw), no request: ${what}`,
      scenario: { call },
      expect: { outcome: { error: "invalid_config" }, wire: [] },
    }),
  ),
  {
    group: "contract",
    name: "fetch resolving to a non-response is invalid_config",
    scenario: { replies: [{ kind: "resolve", value: { ok: true } }], call: (api, env) => api.refreshAccessToken(codex(api), RT, env.deps) },
    expect: { outcome: { error: "invalid_config" } },
  },
  {
    group: "contract",
    name: "fetch throwing synchronously is network_error",
    scenario: { replies: [{ kind: "throw" }], call: (api, env) => api.refreshAccessToken(codex(api), RT, env.deps) },
    expect: { outcome: { error: "network_error" } },
  },
  {
    group: "contract",
    name: "a body read that fails is network_error",
    scenario: { replies: [{ kind: "textRejects", status: 200 }], call: (api, env) => api.refreshAccessToken(codex(api), RT, env.deps) },
    expect: { outcome: { error: "network_error" } },
  },
  {
    group: "contract",
    name: "timeoutMs passing while fetch hangs is network_error, and fetch got a signal",
    scenario: {
      replies: [{ kind: "never" }],
      call: (api, env) => api.refreshAccessToken(codex(api), RT, { ...env.deps, timeoutMs: 5 }),
    },
    expect: { outcome: { error: "network_error" } },
  },
  {
    group: "contract",
    name: "an already aborted signal rejects aborted with no request",
    scenario: {
      call: (api, env) => api.refreshAccessToken(codex(api), RT, { ...env.deps, signal: AbortSignal.abort() }),
    },
    expect: { outcome: { error: "aborted" }, wire: [] },
  },
  {
    group: "contract",
    name: "aborting while fetch hangs rejects aborted promptly",
    scenario: {
      replies: [{ kind: "never" }],
      call: (api, env) => {
        const ctrl = new AbortController();
        const p = api.refreshAccessToken(codex(api), RT, { ...env.deps, signal: ctrl.signal });
        setImmediate(() => ctrl.abort());
        return p;
      },
    },
    expect: { outcome: { error: "aborted" } },
  },
  {
    group: "contract",
    name: "aborting during a wait's sleep rejects aborted",
    scenario: {
      call: (api, env) => {
        const ctrl = new AbortController();
        env.sleep.hang = true;
        void env.sleep.nextSleep().then(() => ctrl.abort());
        return api.waitForDeviceToken(codex(api), codexCode(), { ...env.waitDeps, signal: ctrl.signal });
      },
    },
    expect: { outcome: { error: "aborted" }, wire: [], sleeps: [5000] },
  },
  {
    group: "contract",
    name: "a throwing onEvent is ignored; a rejecting sleep ends the wait with invalid_config",
    scenario: {
      call: (api, env) =>
        api.waitForDeviceToken(codex(api), codexCode(), {
          ...env.deps,
          onEvent: () => {
            throw new Error("host bug");
          },
          sleep: () => Promise.reject(new Error("no timers")),
        }),
    },
    expect: { outcome: { error: "invalid_config" }, wire: [] },
  },
  {
    group: "contract",
    name: "a 3xx is redirect and its body is not read",
    scenario: { replies: [{ status: 302, headers: { Location: "https://portal" }, body: "{}" }], call: (api, env) => api.refreshAccessToken(codex(api), RT, env.deps) },
    expect: { outcome: { error: { code: "redirect", retryable: true, status: 302 } }, textReads: 0 },
  },
  {
    group: "contract",
    name: "a Content-Length over 64 KiB is invalid_response without reading the body",
    scenario: {
      replies: [{ status: 200, headers: { "Content-Length": "65537" }, body: "{}" }],
      call: (api, env) => api.refreshAccessToken(codex(api), RT, env.deps),
    },
    expect: { outcome: { error: { code: "invalid_response", retryable: true, status: 200 } }, textReads: 0 },
  },
  {
    group: "contract",
    name: "a body over 64 KiB of UTF-8 (fewer UTF-16 units) is invalid_response",
    scenario: {
      replies: [{ status: 200, body: JSON.stringify({ access_token: "a", pad: "é".repeat(33_000) }) }],
      call: (api, env) => api.refreshAccessToken(codex(api), RT, env.deps),
    },
    expect: { outcome: { error: { code: "invalid_response", retryable: true, status: 200 } } },
  },
  {
    group: "contract",
    name: "a body of exactly 64 KiB is read",
    scenario: {
      replies: [{ status: 200, body: (() => { const b = JSON.stringify({ access_token: "a", pad: "" }); return JSON.stringify({ access_token: "a", pad: "x".repeat(65_536 - b.length) }); })() }],
      call: (api, env) => api.refreshAccessToken(codex(api), RT, env.deps),
    },
    expect: { outcome: { value: { accessToken: "a", tokenType: "Bearer", refreshToken: RT } } },
  },
  {
    group: "contract",
    name: "Retry-After as seconds on a 503",
    scenario: { replies: [json(503, {}, { "Retry-After": " 12 " })], call: (api, env) => api.refreshAccessToken(codex(api), RT, env.deps) },
    expect: { outcome: { error: { code: "server_error", retryable: true, status: 503, retryAfterMs: 12_000 } } },
  },
  {
    group: "contract",
    name: "Retry-After as an HTTP date, measured from the operation's clock reading",
    scenario: {
      replies: [json(429, {}, { "Retry-After": new Date(T0 + 90_000).toUTCString() })],
      call: (api, env) => api.refreshAccessToken(codex(api), RT, env.deps),
    },
    expect: { outcome: { error: { code: "server_error", retryable: true, status: 429, retryAfterMs: 90_000 } } },
  },
  {
    group: "contract",
    name: "Retry-After as a past HTTP date gives 0; \"soon\" or an empty value is ignored",
    scenario: {
      replies: [
        json(503, {}, { "Retry-After": new Date(T0 - 90_000).toUTCString() }),
        json(503, {}, { "Retry-After": "soon" }),
        json(503, {}, { "Retry-After": " " }),
      ],
      call: async (api, env) => {
        const got: unknown[] = [];
        for (let i = 0; i < 3; i++) {
          await api.refreshAccessToken(codex(api), RT, env.deps).catch((e: { retryAfterMs?: number }) => got.push(e.retryAfterMs));
        }
        return got;
      },
    },
    expect: { outcome: { value: [0, undefined, undefined] } },
  },
  ...(
    [
      ["interval as a number", { interval: 7 }, 7000],
      ["interval as a padded string", { interval: " 7.5 " }, 7500],
      ["interval 0 means 5 s", { interval: 0 }, 5000],
      ["interval 3601 means 5 s", { interval: 3601 }, 5000],
      ["interval \"1e3\" means 5 s", { interval: "1e3" }, 5000],
      ["interval \"-5\" means 5 s", { interval: "-5" }, 5000],
      ["interval true means 5 s", { interval: true }, 5000],
      ["interval 3600 is kept", { interval: 3600 }, 3_600_000],
    ] as const
  ).map(
    ([what, extra, intervalMs]): Case => ({
      group: "contract",
      name: `numbers: ${what}`,
      scenario: {
        replies: [json(200, { device_auth_id: CODEX_DC, usercode: "ABCD-1234", ...extra })],
        call: (api, env) => api.requestDeviceCode(codex(api), env.deps),
      },
      expect: { outcome: { value: codexCode({ intervalMs }) } },
    }),
  ),
  ...(
    [
      ["expires_in as a string", "600", T0 + 600_000],
      ["expires_in 31536000 is kept", 31_536_000, T0 + 31_536_000_000],
      ["expires_in 0 is absent: the JWT exp", 0, ACCESS_EXP * 1000],
      ["expires_in over a year is absent: the JWT exp", 31_536_001, ACCESS_EXP * 1000],
      ["expires_in \"3600s\" is absent: the JWT exp", "3600s", ACCESS_EXP * 1000],
    ] as const
  ).map(
    ([what, expiresIn, expiresAt]): Case => ({
      group: "contract",
      name: `numbers: ${what}`,
      scenario: {
        replies: [json(200, { access_token: ACCESS_TOKEN, expires_in: expiresIn })],
        call: (api, env) => api.refreshAccessToken(codex(api), RT, env.deps),
      },
      expect: { outcome: { value: { accessToken: ACCESS_TOKEN, tokenType: "Bearer", refreshToken: RT, expiresAt } } },
    }),
  ),
  {
    group: "contract",
    name: "a number beyond the double range (1e400) reads as unusable, like JSON.parse's Infinity: expires_in absent",
    scenario: {
      replies: [{ status: 200, body: '{"access_token":"at_new","expires_in":1e400}' }],
      call: (api, env) => api.refreshAccessToken(codex(api), RT, env.deps),
    },
    expect: { outcome: { value: { accessToken: "at_new", tokenType: "Bearer", refreshToken: RT } } },
  },
  {
    group: "contract",
    name: "a number beyond the double range beside access_denied does not hide the code",
    scenario: {
      replies: [{ status: 400, body: '{"error":"access_denied","n":-1e400}' }],
      call: (api, env) => api.pollDeviceToken(rfc(api), rfcCode(), env.deps),
    },
    expect: { outcome: { error: { code: "access_denied", retryable: false, status: 400, serverCode: "access_denied" } } },
  },
  {
    group: "contract",
    name: "a user code with a control character is invalid_response (it is shown to the user)",
    scenario: {
      replies: [json(200, { device_auth_id: CODEX_DC, user_code: "AB\u001b[2JCD" })],
      call: (api, env) => api.requestDeviceCode(codex(api), env.deps),
    },
    expect: { outcome: { error: { code: "invalid_response", retryable: true, status: 200 } } },
  },
  {
    group: "contract",
    name: "an rfc8628 verification_uri that is not a usable endpoint is invalid_response; an unusable _complete is dropped",
    scenario: {
      replies: [
        json(200, { device_code: RFC_DC, user_code: "U", verification_uri: "javascript://alert(1)", expires_in: 600 }),
        json(200, {
          device_code: RFC_DC,
          user_code: "WDJB-MJHT",
          verification_uri: "https://idp.example.com/device",
          verification_uri_complete: "http://evil.example/?user_code=WDJB-MJHT",
          expires_in: 600,
        }),
      ],
      call: async (api, env) => {
        const first = await api.requestDeviceCode(rfc(api), env.deps).catch((e: { code: string; status: number }) => [e.code, e.status]);
        return [first, await api.requestDeviceCode(rfc(api), env.deps)];
      },
    },
    expect: {
      outcome: {
        value: [
          ["invalid_response", 200],
          { deviceCode: RFC_DC, userCode: "WDJB-MJHT", verificationUri: "https://idp.example.com/device", intervalMs: 5000, expiresAt: T0 + 600_000 },
        ],
      },
    },
  },
  {
    group: "contract",
    name: "rfc8628 device code without a usable expires_in is invalid_response",
    scenario: {
      replies: [json(200, { device_code: RFC_DC, user_code: "U", verification_uri: "https://v", expires_in: "ten" })],
      call: (api, env) => api.requestDeviceCode(rfc(api), env.deps),
    },
    expect: { outcome: { error: { code: "invalid_response", retryable: true, status: 200 } } },
  },
  {
    group: "contract",
    name: "aliases usercode and verification_url are accepted; duplicate keys: the last wins",
    scenario: {
      replies: [
        {
          status: 200,
          body: `{"device_code":"x_CANARY_1","device_code":"${RFC_DC}","usercode":"WDJB-MJHT","verification_url":"https://idp.example.com/device","verification_url_complete":"https://idp.example.com/device?user_code=WDJB-MJHT","expires_in":1,"expires_in":600}`,
        },
      ],
      call: (api, env) => api.requestDeviceCode(rfc(api), env.deps),
    },
    expect: { outcome: { value: rfcCode() } },
  },
  ...(
    [
      ["absent", undefined, "Bearer"],
      ["empty", "", "Bearer"],
      ["BEARER", "BEARER", "Bearer"],
      ["DPoP kept as sent", "DPoP", "DPoP"],
      ["a number is treated as absent", 5, "Bearer"],
    ] as const
  ).map(
    ([what, tokenType, want]): Case => ({
      group: "contract",
      name: `token type: ${what}`,
      scenario: {
        replies: [json(200, { access_token: "opaque", token_type: tokenType })],
        call: async (api, env) => (await api.refreshAccessToken(rfc(api), RT, env.deps)).tokenType,
      },
      expect: { outcome: { value: want } },
    }),
  ),
  ...(
    [
      ["missing access_token", { token_type: "bearer" }],
      ["empty access_token", { access_token: "" }],
      ["access_token as a number", { access_token: 5 }],
    ] as const
  ).map(
    ([what, body]): Case => ({
      group: "contract",
      name: `a refresh reply without a usable access_token is invalid_response: ${what}`,
      scenario: { replies: [json(200, body)], call: (api, env) => api.refreshAccessToken(codex(api), RT, env.deps) },
      expect: { outcome: { error: { code: "invalid_response", retryable: true, status: 200 } } },
    }),
  ),
  {
    group: "contract",
    name: "serverCode is lowercased, stripped to [a-z0-9_.-] and cut to 64 characters",
    scenario: {
      replies: [json(400, { error: `  Invalid Client! ${"x".repeat(80)} ` })],
      call: (api, env) => api.refreshAccessToken(rfc(api), RT, env.deps),
    },
    expect: {
      outcome: { error: { code: "oauth_error", retryable: false, status: 400, serverCode: `invalidclient${"x".repeat(51)}` } },
    },
  },
  {
    group: "contract",
    name: "server codes are lowercased in ASCII only: REFRESH_TO\u212AEN_EXPIRED (KELVIN SIGN) is not refresh_token_expired",
    scenario: {
      replies: [json(401, { error: "REFRESH_TO\u212AEN_EXPIRED" })],
      call: (api, env) => api.refreshAccessToken(codex(api), PREVIOUS, env.deps),
    },
    expect: { outcome: { error: { code: "oauth_error", retryable: false, status: 401, serverCode: "refresh_toen_expired" } } },
  },
  {
    group: "contract",
    name: "a server code that is a secret of the request once sanitised is not shown",
    scenario: {
      replies: [json(400, { error: `x ${RT.toUpperCase().replace("_", "!_")}` })],
      call: (api, env) => api.refreshAccessToken(codex(api), RT, env.deps),
    },
    expect: { outcome: { error: { code: "oauth_error", retryable: false, status: 400 } } },
  },
  {
    group: "contract",
    name: "a clock reading beyond the range of a JS date (8.64e15) is invalid_config",
    scenario: { call: (api, env) => api.requestDeviceCode(codex(api), { ...env.deps, clock: () => 8.64e15 + 1 }) },
    expect: { outcome: { error: "invalid_config" }, wire: [] },
  },
  {
    group: "contract",
    name: "a JWT exp beyond the range of a JS date is ignored; one at its edge is kept",
    scenario: {
      sync: true,
      call: (api) => [
        api.decodeTokenClaims({ accessToken: jwt({ exp: 8.64e12 + 1 }), tokenType: "Bearer" }),
        api.decodeTokenClaims({ accessToken: jwt({ exp: 8.64e12 }), tokenType: "Bearer" }),
        api.decodeTokenClaims({ accessToken: jwt({ exp: -1 }), tokenType: "Bearer" }),
      ],
    },
    expect: { outcome: { value: [{}, { expiresAt: 8.64e15 }, {}] } },
  },
  {
    group: "contract",
    name: "a Retry-After beyond the range of a JS date is ignored",
    scenario: { replies: [json(503, {}, { "Retry-After": "8640000000001" })], call: (api, env) => api.refreshAccessToken(codex(api), RT, env.deps) },
    expect: { outcome: { error: { code: "server_error", retryable: true, status: 503 } } },
  },
  {
    group: "contract",
    name: "a 2xx with both an error code and the success fields is a success",
    scenario: { replies: [json(200, { error: "weird", access_token: "a" })], call: (api, env) => api.refreshAccessToken(rfc(api), RT, env.deps) },
    expect: { outcome: { value: { accessToken: "a", tokenType: "Bearer", refreshToken: RT } } },
  },
  {
    group: "contract",
    name: "openai-codex poll: a 403 with an unknown code (regional block) is oauth_error, not pending",
    scenario: {
      replies: [json(403, { error: { code: "unsupported_country_region_territory" } })],
      call: (api, env) => api.pollDeviceToken(codex(api), codexCode(), env.deps),
    },
    expect: {
      outcome: { error: { code: "oauth_error", retryable: false, status: 403, serverCode: "unsupported_country_region_territory" } },
    },
  },
  {
    group: "contract",
    name: "slow_down caps the interval at 3 600 000 ms",
    scenario: {
      replies: [json(400, { error: "slow_down" })],
      call: (api, env) => api.pollDeviceToken(rfc(api), rfcCode({ intervalMs: 3_598_000, expiresAt: T0 + 9e6 }), env.deps),
    },
    expect: { outcome: { value: { status: "slow_down", intervalMs: 3_600_000 } } },
  },
  {
    group: "contract",
    name: "codexAuthHeaders without an account id sends only Authorization; a control character throws invalid_config",
    scenario: {
      sync: true,
      call: (api) => {
        const plain = api.codexAuthHeaders({ accessToken: "opaque", tokenType: "Bearer" });
        try {
          api.codexAuthHeaders({ accessToken: "a\nb", tokenType: "Bearer" });
        } catch (e) {
          return { plain, code: (e as { code: string }).code };
        }
        return { plain };
      },
    },
    expect: { outcome: { value: { plain: { Authorization: "Bearer opaque" }, code: "invalid_config" } } },
  },
  {
    group: "contract",
    name: "decodeTokenClaims never throws: non-JWTs give no fields; account from the access token as a fallback",
    scenario: {
      sync: true,
      call: (api) => [
        api.decodeTokenClaims({ accessToken: "not.a.jwt", tokenType: "Bearer", idToken: "x" }),
        api.decodeTokenClaims({ accessToken: ACCESS_TOKEN, tokenType: "Bearer" }),
        api.decodeTokenClaims(null as never),
        api.decodeTokenClaims({ accessToken: jwt({ aud: ["a", 5, "b"], exp: "1" }), tokenType: "Bearer", idToken: jwt({ "https://api.openai.com/profile": { email: "p@example.com" } }) }),
      ],
    },
    expect: {
      outcome: {
        value: [
          {},
          { accountId: "acct_from_access", expiresAt: ACCESS_EXP * 1000, audience: ["https://api.openai.com/v1"] },
          {},
          { email: "p@example.com", audience: ["a", "b"] },
        ],
      },
    },
  },
  {
    group: "contract",
    name: "isAccessTokenExpired throws invalid_config for a bad clock reading",
    scenario: { sync: true, call: (api) => api.isAccessTokenExpired(TOKENS, () => NaN) },
    expect: { outcome: { error: "invalid_config" } },
  },
];

// ---------------------------------------------------------------------------------------------
// The reply classification rules (docs/behaviour.md) over every exchange

type StepId =
  | "codex.device"
  | "rfc.device"
  | "codex.poll"
  | "rfc.poll"
  | "codex.exchange"
  | "codex.refresh"
  | "rfc.refresh"
  | "codex.revoke"
  | "rfc.revoke";

const STEPS: Record<StepId, (reply: Script) => Case["scenario"]> = {
  "codex.device": (r) => ({ replies: [r], call: (api, env) => api.requestDeviceCode(codex(api), env.deps) }),
  "rfc.device": (r) => ({ replies: [r], call: (api, env) => api.requestDeviceCode(rfcPost(api), env.deps) }),
  "codex.poll": (r) => ({ replies: [r], call: (api, env) => api.pollDeviceToken(codex(api), codexCode(), env.deps) }),
  "rfc.poll": (r) => ({ replies: [r], call: (api, env) => api.pollDeviceToken(rfcBasic(api), rfcCode(), env.deps) }),
  "codex.exchange": (r) => ({ replies: [approval(), r], call: (api, env) => api.pollDeviceToken(codex(api), codexCode(), env.deps) }),
  "codex.refresh": (r) => ({ replies: [r], call: (api, env) => api.refreshAccessToken(codex(api), PREVIOUS, env.deps) }),
  "rfc.refresh": (r) => ({ replies: [r], call: (api, env) => api.refreshAccessToken(rfcPost(api), RT, env.deps) }),
  "codex.revoke": (r) => ({ replies: [r], call: (api, env) => api.revokeToken(codex(api), RT, env.deps) }),
  "rfc.revoke": (r) => ({ replies: [r], call: (api, env) => api.revokeToken(rfcBasic(api), RT, env.deps) }),
};
const STEP_IDS = Object.keys(STEPS) as StepId[];

const err = (code: Parameters<typeof errorOf>[0], status: number, serverCode?: string, retryAfterMs?: number): Expected =>
  ({ error: errorOf(code, status, serverCode, retryAfterMs) });
function errorOf(code: import("../../../js/oauthDeviceFlow.ts").OAuthErrorCode, status: number, serverCode?: string, retryAfterMs?: number) {
  const retryable = ["server_error", "network_error", "invalid_response", "redirect"].includes(code);
  return {
    code,
    retryable,
    status,
    ...(serverCode === undefined ? {} : { serverCode }),
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  };
}
const isPoll = (s: StepId) => s === "codex.poll" || s === "rfc.poll";
const isRevoke = (s: StepId) => s.endsWith(".revoke");
const PENDING = { value: { status: "pending", intervalMs: 5000 } };

interface Row {
  rule: string;
  reply: Reply;
  expect: (s: StepId) => Expected;
}

const rows: Row[] = [
  { rule: "rule 0: a 3xx is redirect", reply: json(307, { error: "access_denied" }), expect: () => err("redirect", 307) },
  {
    rule: "rule 1: access_denied at any status (here 200)",
    reply: json(200, { error: "access_denied", access_token: "a" }),
    expect: (s) => (isRevoke(s) ? { value: undefined } : err("access_denied", 200, "access_denied")),
  },
  {
    rule: "rule 1: authorization_declined (Codex's own denial) is access_denied",
    reply: json(401, { error: "authorization_declined", error_description: "Denied" }),
    expect: () => err("access_denied", 401, "authorization_declined"),
  },
  {
    rule: "rule 1: error.code object form, trimmed and lowercased",
    reply: json(400, { error: { code: " Invalid_Grant " } }),
    expect: () => err("invalid_grant", 400, "invalid_grant"),
  },
  {
    rule: "rule 1: a top-level code beats a 5xx",
    reply: json(503, { code: "refresh_token_reused" }),
    expect: () => err("refresh_token_reused", 503, "refresh_token_reused"),
  },
  {
    rule: "rule 1: expired_token on Google's 428",
    reply: json(428, { error: "expired_token" }),
    expect: () => err("expired_token", 428, "expired_token"),
  },
  {
    rule: "rule 1: authorization_pending is pending on a poll, oauth_error elsewhere",
    reply: json(400, { error: "authorization_pending" }),
    expect: (s) => (isPoll(s) ? PENDING : err("oauth_error", 400, "authorization_pending")),
  },
  {
    rule: "rule 2: 5xx HTML is server_error",
    reply: html(502),
    expect: () => err("server_error", 502),
  },
  {
    rule: "rule 2: 429 with an unknown code and Retry-After",
    reply: json(429, { error: "Rate_Limited" }, { "Retry-After": "7" }),
    expect: () => err("server_error", 429, "rate_limited", 7000),
  },
  {
    rule: "rule 3: an openai-codex user-code 404 is device_flow_disabled whatever its code (amended contract)",
    reply: json(404, { error: { code: "not_found", message: "Not Found" } }),
    expect: (s) => (s === "codex.device" ? err("device_flow_disabled", 404) : err("oauth_error", 404, "not_found")),
  },
  {
    rule: "rule 4: another code on a 4xx is oauth_error",
    reply: json(400, { error: "invalid_client", error_description: "nope" }),
    expect: () => err("oauth_error", 400, "invalid_client"),
  },
  {
    rule: "rule 4: a code on a 2xx without the success fields is oauth_error",
    reply: json(200, { error: "temporarily_weird" }),
    expect: (s) => (isRevoke(s) ? { value: undefined } : err("oauth_error", 200, "temporarily_weird")),
  },
  {
    rule: "rules 3 and 5: a 404 (device_flow_disabled on an openai-codex user-code request, pending on its poll)",
    reply: { status: 404, body: "Not Found" },
    expect: (s) => (s === "codex.poll" ? PENDING : s === "codex.device" ? err("device_flow_disabled", 404) : err("invalid_response", 404)),
  },
  {
    rule: "rule 5: a 403 with JSON without a code",
    reply: json(403, { detail: "wait" }),
    expect: (s) => (s === "codex.poll" ? PENDING : err("invalid_response", 403)),
  },
  {
    rule: "rule 5: a 403 HTML page is not pending",
    reply: html(403),
    expect: () => err("invalid_response", 403),
  },
  {
    rule: "rule 6: a 401 with an empty body",
    reply: { status: 401, body: " \n" },
    expect: (s) => (s === "codex.exchange" || s.endsWith(".refresh") ? err("invalid_grant", 401) : err("invalid_response", 401)),
  },
  {
    rule: "rule 6: a 401 with JSON without a code",
    reply: json(401, { message: "Unauthorized" }),
    expect: (s) => (s === "codex.exchange" || s.endsWith(".refresh") ? err("invalid_grant", 401) : err("invalid_response", 401)),
  },
  {
    rule: "rule 8: a 2xx JSON array",
    reply: json(200, ["access_token"]),
    expect: (s) => (isRevoke(s) ? { value: undefined } : err("invalid_response", 200)),
  },
  {
    rule: "rule 8: a status the protocol does not use (600)",
    reply: json(600, {}),
    expect: () => err("invalid_response", 600),
  },
  {
    rule: "rule 8: a 4xx HTML page",
    reply: html(400),
    expect: () => err("invalid_response", 400),
  },
];

const matrix: Case[] = rows.flatMap((row) =>
  STEP_IDS.map(
    (s): Case => ({
      group: "classification",
      name: `${s}: ${row.rule}`,
      scenario: STEPS[s](row.reply),
      // A redirect's body is never read (the exchange read only the approval's body).
      expect: {
        outcome: row.expect(s),
        ...(row.reply.status >= 300 && row.reply.status < 400 ? { textReads: s === "codex.exchange" ? 1 : 0 } : {}),
      },
    }),
  ),
);

export const CASES: readonly Case[] = [...classic, ...named, ...matrix, ...INPUT_CASES, ...DIFFERENCE_CASES];
