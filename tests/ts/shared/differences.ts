/**
 * Where the WebAssembly module and the plain TypeScript baseline deliberately behave differently,
 * each stated once: what differs, which side is right and why. The shared suite has one explicit
 * case per difference (both sides' outcomes asserted), and the property test accepts a divergence
 * only when `explain()` attributes it to one of these. Nothing else may differ.
 */
import { json } from "../fakes.ts";
import { PREVIOUS, RT, T0, codex, codexCode, rfc, rfcCode } from "./fixtures.ts";
import type { Case, ErrorView, Observation } from "./harness.ts";

export interface DocumentedDifference {
  id: string;
  title: string;
  module: string;
  baseline: string;
  /** "module": the module is right (the hostile reply the plain TS mishandles); "baseline": a module gap, reported. */
  right: "module" | "baseline" | "either";
}

export const DIFFERENCES: Record<string, DocumentedDifference> = {
  "number-out-of-range": {
    id: "number-out-of-range",
    title: "a JSON number beyond the double range (1e400)",
    module: "the body is not usable JSON (serde refuses it): invalid_response, retryable",
    baseline: "JSON.parse reads Infinity; the field is then ignored or the error code is honoured",
    right: "module",
  },
  "lone-surrogate-escape": {
    id: "lone-surrogate-escape",
    title: "an unpaired surrogate escape (\\ud800) in a reply string",
    module: "not valid Unicode, so not usable JSON: invalid_response",
    baseline: "JSON.parse accepts it; a token with an unpaired surrogate is handed to the host",
    right: "module",
  },
  "lone-surrogate-raw": {
    id: "lone-surrogate-raw",
    title: "an unpaired surrogate character in the reply text itself",
    module: "the text is read as UTF-8 first, so it becomes U+FFFD",
    baseline: "kept as is",
    right: "module",
  },
  "deep-nesting": {
    id: "deep-nesting",
    title: "JSON nested deeper than 128 levels anywhere in a reply",
    module: "refused (bounded recursion): invalid_response",
    baseline: "JSON.parse accepts it",
    right: "module",
  },
  "unicode-case-folding": {
    id: "unicode-case-folding",
    title: "a server code with a non-ASCII letter that lowercases to ASCII (KELVIN SIGN, dotted capital I)",
    module: "lowercases ASCII only: \"refresh_to\\u212Aen_expired\" is not a known code (oauth_error) and the letter is dropped from serverCode",
    baseline: "String.toLowerCase folds it: the look-alike counts as refresh_token_expired",
    right: "module",
  },
  "retry-after-date-format": {
    id: "retry-after-date-format",
    title: "Retry-After that is neither plain digits nor an HTTP date (ISO 8601, \"1.5\", \"-5\")",
    module: "ignored (only delay-seconds and the HTTP-date forms count)",
    baseline: "Date.parse reads it as a date (\"1.5\" and \"-5\" become days in 2001, so 0 ms)",
    right: "module",
  },
  "retry-after-dropped": {
    id: "retry-after-dropped",
    title: "Retry-After on a redirect, an oversized reply, or a 2xx whose fields are unusable",
    module: "no retryAfterMs (gap: README says any error built from a reply that carries it; reported)",
    baseline: "retryAfterMs reported",
    right: "baseline",
  },
};

export const DIFFERENCE_CASES: Case[] = [
  {
    group: "difference",
    name: "number-out-of-range: a refresh reply with expires_in 1e400",
    scenario: {
      replies: [{ status: 200, body: '{"access_token":"at_new","expires_in":1e400}' }],
      call: (api, env) => api.refreshAccessToken(codex(api), RT, env.deps),
    },
    difference: {
      id: "number-out-of-range",
      module: { outcome: { error: { code: "invalid_response", retryable: true, status: 200 } } },
      baseline: { outcome: { value: { accessToken: "at_new", tokenType: "Bearer", refreshToken: RT } } },
    },
  },
  {
    group: "difference",
    name: "number-out-of-range: access_denied beside a 1e400 member",
    scenario: {
      replies: [{ status: 400, body: '{"error":"access_denied","n":-1e400}' }],
      call: (api, env) => api.pollDeviceToken(rfc(api), rfcCode(), env.deps),
    },
    difference: {
      id: "number-out-of-range",
      module: { outcome: { error: { code: "invalid_response", retryable: true, status: 400 } } },
      baseline: { outcome: { error: { code: "access_denied", retryable: false, status: 400, serverCode: "access_denied" } } },
    },
  },
  {
    group: "difference",
    name: "lone-surrogate-escape: an access token with \\ud800",
    scenario: {
      replies: [{ status: 200, body: '{"access_token":"at\\ud800x"}' }],
      call: (api, env) => api.refreshAccessToken(codex(api), RT, env.deps),
    },
    difference: {
      id: "lone-surrogate-escape",
      module: { outcome: { error: { code: "invalid_response", retryable: true, status: 200 } } },
      baseline: { outcome: { value: { accessToken: "at\ud800x", tokenType: "Bearer", refreshToken: RT } } },
    },
  },
  {
    group: "difference",
    name: "lone-surrogate-raw: a user code with a raw unpaired surrogate",
    scenario: {
      replies: [{ status: 200, body: `{"device_auth_id":"${codexCode().deviceCode}","user_code":"AB\ud800CD"}` }],
      call: async (api, env) => (await api.requestDeviceCode(codex(api), env.deps)).userCode,
    },
    difference: {
      id: "lone-surrogate-raw",
      module: { outcome: { value: "AB\ufffdCD" } },
      baseline: { outcome: { value: "AB\ud800CD" } },
    },
  },
  {
    group: "difference",
    name: "deep-nesting: a token reply with a member nested 200 levels deep",
    scenario: {
      replies: [{ status: 200, body: `{"access_token":"at_new","x":${"[".repeat(200)}${"]".repeat(200)}}` }],
      call: (api, env) => api.refreshAccessToken(codex(api), RT, env.deps),
    },
    difference: {
      id: "deep-nesting",
      module: { outcome: { error: { code: "invalid_response", retryable: true, status: 200 } } },
      baseline: { outcome: { value: { accessToken: "at_new", tokenType: "Bearer", refreshToken: RT } } },
    },
  },
  {
    group: "difference",
    name: "unicode-case-folding: REFRESH_TO\\u212AEN_EXPIRED (KELVIN SIGN)",
    scenario: {
      replies: [json(401, { error: "REFRESH_TO\u212AEN_EXPIRED" })],
      call: (api, env) => api.refreshAccessToken(codex(api), PREVIOUS, env.deps),
    },
    difference: {
      id: "unicode-case-folding",
      module: { outcome: { error: { code: "oauth_error", retryable: false, status: 401, serverCode: "refresh_toen_expired" } } },
      baseline: {
        outcome: { error: { code: "refresh_token_expired", retryable: false, status: 401, serverCode: "refresh_token_expired" } },
      },
    },
  },
  {
    group: "difference",
    name: "retry-after-date-format: an ISO 8601 Retry-After on a 503",
    scenario: {
      replies: [json(503, {}, { "Retry-After": new Date(T0 + 30_000).toISOString() })],
      call: (api, env) => api.refreshAccessToken(codex(api), RT, env.deps),
    },
    difference: {
      id: "retry-after-date-format",
      module: { outcome: { error: { code: "server_error", retryable: true, status: 503 } } },
      baseline: { outcome: { error: { code: "server_error", retryable: true, status: 503, retryAfterMs: 30_000 } } },
    },
  },
  ...(["1.5", "-5"] as const).map(
    (value): Case => ({
      group: "difference",
      name: `retry-after-date-format: Retry-After: ${value} on a 503`,
      scenario: {
        replies: [json(503, {}, { "Retry-After": value })],
        call: (api, env) => api.refreshAccessToken(codex(api), RT, env.deps),
      },
      difference: {
        id: "retry-after-date-format",
        module: { outcome: { error: { code: "server_error", retryable: true, status: 503 } } },
        baseline: { outcome: { error: { code: "server_error", retryable: true, status: 503, retryAfterMs: 0 } } },
      },
    }),
  ),
  ...(
    [
      ["a 302", { status: 302, headers: { "Retry-After": "5" }, body: "" }, "redirect", 302],
      ["an announced oversized body", { status: 200, headers: { "Retry-After": "5", "Content-Length": "70000" }, body: "{}" }, "invalid_response", 200],
      ["a 200 without device_auth_id", json(200, { user_code: "U" }, { "Retry-After": "5" }), "invalid_response", 200],
    ] as const
  ).map(
    ([what, reply, code, status]): Case => ({
      group: "difference",
      name: `retry-after-dropped: Retry-After: 5 on ${what}`,
      scenario: { replies: [reply], call: (api, env) => api.requestDeviceCode(codex(api), env.deps) },
      difference: {
        id: "retry-after-dropped",
        module: { outcome: { error: { code, retryable: true, status } } },
        baseline: { outcome: { error: { code, retryable: true, status, retryAfterMs: 5000 } } },
      },
    }),
  ),
];

// ---------------------------------------------------------------------------------------------
// For the property test: which documented difference explains a divergence, if any

export interface RawReply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

const errorOf = (o: Observation): ErrorView | undefined =>
  !o.outcome.ok && "error" in o.outcome ? o.outcome.error : undefined;

function maxDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === "[" || c === "{") max = Math.max(max, ++depth);
    else if (c === "]" || c === "}") depth--;
  }
  return max;
}

const HTTP_DATE = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d GMT$/;

/**
 * The documented difference that accounts for `m` (module) and `b` (baseline) differing on the
 * replies `replies`, or undefined when none does (a real divergence: the property fails).
 */
export function explain(replies: readonly RawReply[], m: Observation, b: Observation): string | undefined {
  const bodies = replies.map((r) => r.body).join("\n");
  if (/[0-9][eE][+]?[0-9]{3,}/.test(bodies)) {
    // serde refuses doubles that overflow; JSON.parse reads them as Infinity.
    if (replies.some((r) => /(^|[^0-9.])-?[0-9]+(\.[0-9]+)?[eE][+]?([4-9][0-9]{2}|3[1-9][0-9]|30[89])/.test(r.body))) {
      return "number-out-of-range";
    }
  }
  if (/\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F])|\\u[dD][c-fC-F][0-9a-fA-F]{2}/.test(bodies)) return "lone-surrogate-escape";
  if (/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(bodies)) return "lone-surrogate-raw";
  if (replies.some((r) => maxDepth(r.body) > 127)) return "deep-nesting";
  if (/[\u212a\u0130]/.test(bodies)) return "unicode-case-folding";
  const me = errorOf(m);
  const be = errorOf(b);
  const retryAfter = replies.map((r) => Object.entries(r.headers).find(([k]) => k.toLowerCase() === "retry-after")?.[1]);
  if (me && be && me.retryAfterMs === undefined && be.retryAfterMs !== undefined) {
    const { retryAfterMs: _dropped, ...rest } = be;
    if (JSON.stringify(rest) === JSON.stringify(me)) {
      const odd = retryAfter.some((v) => v !== undefined && !/^\s*[0-9]+\s*$/.test(v) && !HTTP_DATE.test(v.trim()));
      if (odd) return "retry-after-date-format";
      if (me.code === "redirect" || me.code === "invalid_response") return "retry-after-dropped";
    }
  }
  return undefined;
}
