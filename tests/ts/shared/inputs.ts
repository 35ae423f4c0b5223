/**
 * Shared cases for what a host hands in (docs/behaviour.md: input caps and sendable
 * headers): each cap at its limit and one over, the headers Node's fetch refuses or rewrites,
 * and the header values it cannot send. Both implementations must refuse the same inputs with
 * `invalid_config`, before any request and, for the async calls, before reading the clock.
 */
import { jwt, type Reply } from "../support/fakes.ts";
import { CODEX_DC, RFC_BASE, RT, T0, codex, codexCode, json, rfc, rfcCode } from "./fixtures.ts";
import type { Case } from "./harness.ts";
import type { Api } from "./implementations.ts";

const over = (n: number, c = "a") => c.repeat(n + 1);
const at = (n: number, c = "a") => c.repeat(n);
const URL_BASE = "https://idp.example.com/";
const url = (len: number) => URL_BASE + "p".repeat(len - URL_BASE.length);
/** `headers` plus an `X-Rest` header that brings names and values to `total` characters. */
const fillTo = (total: number, headers: Record<string, string>) => {
  const used = Object.entries(headers).reduce((n, [k, v]) => n + k.length + v.length, 0);
  return { ...headers, "X-Rest": "r".repeat(total - used - "X-Rest".length) };
};
const entries = (n: number, prefix: string) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`${prefix}${i}`, "v"]));

/** Factories that must throw invalid_config synchronously. */
const refusedProviders: Array<[string, (api: Api) => unknown]> = [
  // Forbidden names (the Fetch standard's list; Node's fetch refuses or rewrites them).
  ...[
    "Content-Length",
    "transfer-encoding",
    "Connection",
    "Expect",
    "Host",
    "Keep-Alive",
    "Upgrade",
    "TE",
    "Trailer",
    "Cookie",
    "Origin",
    "Referer",
    "Via",
    "Proxy-Authorization",
    "Sec-Fetch-Site",
    "X-HTTP-Method-Override",
  ].map((name): [string, (api: Api) => unknown] => [
    `a forbidden header name: ${name}`,
    (api) => api.openaiCodexProvider({ headers: { [name]: "1" } }),
  ]),
  // Values fetch cannot send as they are.
  ...(
    [
      ["U+2028 (line separator)", "a\u2028b"],
      ["DEL", "a\u007fb"],
      ["a character outside Latin-1 (€)", "5 €"],
      ["an emoji", "\u{1f600}"],
      ["a C1 control (U+0085)", "a\u0085b"],
      ["a vertical tab", "a\u000bb"],
      ["NUL", "a\u0000b"],
      ["a lone CR", "a\rb"],
      ["a leading space", " a"],
      ["a trailing tab", "a\t"],
    ] as const
  ).map(([what, value]): [string, (api: Api) => unknown] => [
    `a header value with ${what}`,
    (api) => api.rfc8628Provider({ ...RFC_BASE, headers: { "X-Value": value } }),
  ]),
  // Caps.
  ["clientId over 512 characters", (api) => api.rfc8628Provider({ ...RFC_BASE, clientId: over(512) })],
  ["an endpoint over 2048 characters", (api) => api.rfc8628Provider({ ...RFC_BASE, tokenEndpoint: url(2049) })],
  ["an issuer over 2048 characters", (api) => api.openaiCodexProvider({ issuer: url(2049) })],
  ["scope over 4096 characters", (api) => api.rfc8628Provider({ ...RFC_BASE, scope: over(4096) })],
  [
    "clientSecret over 4096 characters",
    (api) => api.rfc8628Provider({ ...RFC_BASE, clientAuth: "client_secret_post", clientSecret: over(4096) }),
  ],
  ["a header name over 256 characters", (api) => api.openaiCodexProvider({ headers: { [over(256, "x")]: "1" } })],
  ["a header value over 4096 characters", (api) => api.openaiCodexProvider({ headers: { "X-A": over(4096) } })],
  ["33 headers", (api) => api.openaiCodexProvider({ headers: entries(33, "X-H") })],
  ["headers over 8192 characters in total", (api) => api.openaiCodexProvider({ headers: { "X-A": at(4096), "X-B": at(4096) } })],
  ["33 extraParams", (api) => api.rfc8628Provider({ ...RFC_BASE, extraParams: entries(33, "p") })],
  ["an extraParams name over 256 characters", (api) => api.rfc8628Provider({ ...RFC_BASE, extraParams: { [over(256)]: "v" } })],
  ["an extraParams value over 4096 characters", (api) => api.rfc8628Provider({ ...RFC_BASE, extraParams: { a: over(4096) } })],
  ["50 million characters of clientId", (api) => api.rfc8628Provider({ ...RFC_BASE, clientId: "x".repeat(50_000_000) })],
];

/** At the caps: accepted, exactly as given. */
const acceptedProviders: Array<[string, (api: Api) => unknown]> = [
  ["clientId of 512 characters", (api) => api.rfc8628Provider({ ...RFC_BASE, clientId: at(512) }).clientId.length],
  ["an endpoint of 2048 characters", (api) => api.rfc8628Provider({ ...RFC_BASE, tokenEndpoint: url(2048) }).tokenEndpoint.length],
  ["scope of 4096 characters (2-unit characters counted as JavaScript counts them)", (api) => api.rfc8628Provider({ ...RFC_BASE, scope: at(2048, "\u{1f600}") }).scope?.length],
  [
    "32 headers, one with a name of 256 and a value of 4096 characters, 8192 characters in total",
    (api) =>
      Object.keys(
        api.openaiCodexProvider({
          headers: fillTo(8192, { ...entries(30, "X-H"), [at(256, "y")]: at(4096) }),
        }).headers ?? {},
      ).length,
  ],
  ["32 extraParams", (api) => Object.keys(api.rfc8628Provider({ ...RFC_BASE, extraParams: entries(32, "p") }).extraParams ?? {}).length],
  [
    "header values fetch sends as they are: tab inside, Latin-1, empty",
    (api) => api.openaiCodexProvider({ headers: { "X-Tab": "a\tb", "X-Latin1": "é ÿ ¡", "X-Empty": "" } }).headers,
  ],
  ["a header named like a forbidden one but longer", (api) => api.openaiCodexProvider({ headers: { "X-Host": "h", Hosts: "h", Proxied: "p" } }).headers],
];

const tokenReplyOk: Reply = json(200, { access_token: "at_x", expires_in: 60 });

export const INPUT_CASES: Case[] = [
  ...refusedProviders.map(
    ([what, build]): Case => ({
      group: "inputs",
      name: `invalid_config, thrown synchronously by the factory: ${what}`,
      scenario: { sync: true, call: (api) => build(api) },
      expect: { outcome: { error: "invalid_config" } },
    }),
  ),
  ...acceptedProviders.map(
    ([what, build]): Case => ({
      group: "inputs",
      name: `accepted: ${what}`,
      scenario: { sync: true, call: (api) => build(api) },
      expect: { outcome: { check: (o) => void (o.outcome.ok || assertNever(o.outcome)) } },
    }),
  ),
  {
    group: "inputs",
    name: "a hand-built provider whose JSON is over 2 MiB (an unknown member) is refused before any request",
    scenario: {
      call: (api, env) => api.refreshAccessToken({ ...rfc(api), junk: "x".repeat(3_000_000) } as never, RT, env.deps),
    },
    expect: { outcome: { error: "invalid_config" }, wire: [], clockReads: 0 },
  },
  {
    group: "inputs",
    name: "a hand-built provider with a forbidden header is refused before any request",
    scenario: {
      call: (api, env) => api.refreshAccessToken({ ...rfc(api), headers: { Connection: "close" } }, RT, env.deps),
    },
    expect: { outcome: { error: "invalid_config" }, wire: [], clockReads: 0 },
  },
  {
    group: "inputs",
    name: "a refresh token over 65536 characters is refused before the clock and any request",
    scenario: { call: (api, env) => api.refreshAccessToken(rfc(api), over(65_536), env.deps) },
    expect: { outcome: { error: "invalid_config" }, wire: [], clockReads: 0 },
  },
  {
    group: "inputs",
    name: "a refresh token of 65536 characters is sent",
    scenario: { replies: [tokenReplyOk], call: (api, env) => api.refreshAccessToken(rfc(api), at(65_536), env.deps).then((t) => t.refreshToken?.length) },
    expect: { outcome: { value: 65_536 } },
  },
  {
    group: "inputs",
    name: "a token set with an idToken over 65536 characters is refused before any request",
    scenario: {
      call: (api, env) =>
        api.refreshAccessToken(codex(api), { accessToken: "at", tokenType: "Bearer", refreshToken: RT, idToken: over(65_536) }, env.deps),
    },
    expect: { outcome: { error: "invalid_config" }, wire: [], clockReads: 0 },
  },
  {
    group: "inputs",
    name: "a token to revoke over 65536 characters is refused before the clock and any request",
    scenario: { call: (api, env) => api.revokeToken(rfc(api), over(65_536), env.deps) },
    expect: { outcome: { error: "invalid_config" }, wire: [], clockReads: 0 },
  },
  {
    group: "inputs",
    name: "a DeviceCode whose deviceCode is over 65536 characters is refused before any request",
    scenario: { call: (api, env) => api.pollDeviceToken(codex(api), codexCode({ deviceCode: over(65_536) }), env.deps) },
    expect: { outcome: { error: "invalid_config" }, wire: [], clockReads: 0 },
  },
  {
    group: "inputs",
    name: "a DeviceCode whose verificationUriComplete is over 65536 characters is refused before any request",
    scenario: {
      call: (api, env) => api.waitForDeviceToken(rfc(api), rfcCode({ verificationUriComplete: over(65_536) }), env.waitDeps),
    },
    expect: { outcome: { error: "invalid_config" }, wire: [], clockReads: 0 },
  },
  {
    group: "inputs",
    name: "isAccessTokenExpired: an access token over 65536 characters (no expiresAt) is invalid_config",
    scenario: { sync: true, call: (api, env) => api.isAccessTokenExpired({ accessToken: over(65_536), tokenType: "Bearer" }, env.clock.clock) },
    expect: { outcome: { error: "invalid_config" } },
  },
  {
    group: "inputs",
    name: "codexAuthHeaders: an access token over 65536 characters is invalid_config",
    scenario: { sync: true, call: (api) => api.codexAuthHeaders({ accessToken: over(65_536), tokenType: "Bearer" }) },
    expect: { outcome: { error: "invalid_config" } },
  },
  {
    group: "inputs",
    name: "decodeTokenClaims: a JWT over 65536 characters has no claims (it never throws)",
    scenario: {
      sync: true,
      call: (api) =>
        api.decodeTokenClaims({
          accessToken: jwt({ exp: T0 / 1000, pad: "p".repeat(70_000) }),
          tokenType: "Bearer",
          idToken: jwt({ email: "a@example.com", pad: "p".repeat(70_000) }),
        }),
    },
    expect: { outcome: { value: {} } },
  },
  {
    group: "inputs",
    name: "a poll DeviceCode at the caps is sent as it is",
    scenario: {
      replies: [json(403, { error: { code: "deviceauth_authorization_pending" } })],
      call: (api, env) => api.pollDeviceToken(codex(api), codexCode({ deviceCode: `${CODEX_DC}${at(65_536 - CODEX_DC.length)}` }), env.deps),
    },
    expect: { outcome: { value: { status: "pending", intervalMs: 5000 } } },
  },
];

function assertNever(o: unknown): never {
  throw new Error(`expected a result, got ${JSON.stringify(o).slice(0, 300)}`);
}
