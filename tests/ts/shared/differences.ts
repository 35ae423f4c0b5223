/**
 * Where the WebAssembly module and the plain TypeScript baseline deliberately behave differently,
 * each stated once: what differs, which side is right and why. The shared suite has one explicit
 * case per difference (both sides' outcomes asserted), and the property test accepts a divergence
 * only when `explain()` attributes it to one of these. Nothing else may differ.
 */
import { json } from "../support/fakes.ts";
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
  "lone-surrogate-escape": {
    id: "lone-surrogate-escape",
    title: "an unpaired surrogate escape (\\ud800) in a reply string",
    module: "reads it as U+FFFD (a Rust string holds only valid Unicode), as the host's own string becomes when it crosses into the module",
    baseline: "JSON.parse keeps it: a token with an unpaired surrogate is handed to the host",
    right: "module",
  },
  "lone-surrogate-raw": {
    id: "lone-surrogate-raw",
    title: "an unpaired surrogate character in the reply text itself",
    module: "JSON.parse keeps it, and it becomes U+FFFD as the string enters the module",
    baseline: "kept as is",
    right: "module",
  },
  "deep-nesting": {
    id: "deep-nesting",
    title: "JSON nested deeper than 127 levels anywhere in a reply",
    module: "refused (bounded recursion): invalid_response",
    baseline: "JSON.parse accepts it",
    right: "module",
  },
  "retry-after-date-format": {
    id: "retry-after-date-format",
    title: "Retry-After that is neither plain digits nor an HTTP date (ISO 8601, \"1.5\", \"-5\")",
    module: "ignored (only delay-seconds and the HTTP-date forms count)",
    baseline: "Date.parse reads it as a date (\"1.5\" and \"-5\" become days in 2001, so 0 ms)",
    right: "module",
  },
};

export const DIFFERENCE_CASES: Case[] = [
  {
    group: "difference",
    name: "lone-surrogate-escape: an access token with \\ud800",
    scenario: {
      replies: [{ status: 200, body: '{"access_token":"at\\ud800x"}' }],
      call: (api, env) => api.refreshAccessToken(codex(api), RT, env.deps),
    },
    difference: {
      id: "lone-surrogate-escape",
      module: { outcome: { value: { accessToken: "at\ufffdx", tokenType: "Bearer", refreshToken: RT } } },
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
  // Formerly documented differences, gone since the module reads reply text with the host's
  // JSON.parse and hands numbers over as numbers.
  {
    group: "contract",
    name: "a token reply whose text starts with U+FEFF is not JSON, for both (JSON.parse reads the text)",
    scenario: {
      replies: [{ status: 200, body: '\ufeff{"access_token":"at_new"}' }],
      call: (api, env) => api.refreshAccessToken(codex(api), RT, env.deps),
    },
    expect: { outcome: { error: { code: "invalid_response", retryable: true, status: 200 } } },
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
    group: "contract",
    name: "a JWT exp with 17 significant digits is read correctly rounded by both",
    scenario: {
      sync: true,
      call: (api) => api.decodeTokenClaims({ accessToken: `h.${Buffer.from('{"exp":8639999999999.5205}').toString("base64url")}.s`, tokenType: "Bearer" }),
    },
    expect: { outcome: { value: { expiresAt: 8639999999999521 } } },
  },
  {
    group: "contract",
    name: "a JWT exp far below a millisecond is kept exactly by both",
    scenario: {
      sync: true,
      call: (api) => api.decodeTokenClaims({ accessToken: `h.${Buffer.from('{"exp":1e-50}').toString("base64url")}.s`, tokenType: "Bearer" }),
    },
    expect: { outcome: { value: { expiresAt: 1e-47 } } },
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
      group: "contract",
      name: `Retry-After: 5 on ${what} is reported as retryAfterMs by both`,
      scenario: { replies: [reply], call: (api, env) => api.requestDeviceCode(codex(api), env.deps) },
      expect: { outcome: { error: { code, retryable: true, status, retryAfterMs: 5000 } } },
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

const retryAfterOf = (r: RawReply): string | undefined =>
  Object.entries(r.headers).find(([k]) => k.toLowerCase() === "retry-after")?.[1];

const withoutRetryAfter = (r: RawReply, when: (value: string) => boolean): RawReply => {
  const value = retryAfterOf(r);
  if (value === undefined || !when(value)) return r;
  return { ...r, headers: Object.fromEntries(Object.entries(r.headers).filter(([k]) => k.toLowerCase() !== "retry-after")) };
};

/** Runs the same operation on other replies: [module, baseline]. */
export type Rerun = (replies: RawReply[]) => Promise<[Observation, Observation]>;

/** A documented difference, and the first reply that carries what causes it. */
export interface Explanation {
  id: string;
  at: number;
}

const LONE_ESCAPE = /\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F])|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}/g;
const LONE_RAW = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const DEEP = /\[{120,}\]{120,}/g;

/** Features of a reply's text that a documented difference names, and how to remove each. */
const TEXT_FEATURES: Array<{ id: string; has: (body: string) => boolean; remove: (body: string) => string }> = [
  { id: "lone-surrogate-escape", has: (t) => new RegExp(LONE_ESCAPE.source).test(t), remove: (t) => t.replace(LONE_ESCAPE, "\\ufffd") },
  { id: "lone-surrogate-raw", has: (t) => new RegExp(LONE_RAW.source).test(t), remove: (t) => t.replace(LONE_RAW, "\ufffd") },
  { id: "deep-nesting", has: (t) => maxDepth(t) > 127, remove: (t) => t.replace(DEEP, "[]") },
];

/**
 * The documented difference that accounts for `m` (module) and `b` (baseline) differing on
 * `replies`, or undefined when none does (a real divergence: the property fails). Each cause is
 * proven by removing it: the run is repeated with the feature taken out of the reply text (or
 * without the Retry-After headers in question) and must then agree.
 */
export async function explain(
  replies: readonly RawReply[],
  m: Observation,
  b: Observation,
  same: (m: Observation, b: Observation) => boolean,
  rerun: Rerun,
): Promise<Explanation | undefined> {
  const causes: Explanation[] = [];
  let base = [...replies];
  for (const f of TEXT_FEATURES) {
    const at = base.findIndex((r) => f.has(r.body));
    if (at < 0) continue;
    causes.push({ id: f.id, at });
    base = base.map((r) => ({ ...r, body: f.remove(r.body) }));
  }
  const earliest = () => causes.sort((x, y) => x.at - y.at)[0];
  let [m0, b0] = causes.length > 0 ? await rerun(base) : [m, b];
  if (causes.length > 0 && same(m0, b0)) return earliest();
  const odd = (v: string) => !/^\s*[0-9]+\s*$/.test(v) && !HTTP_DATE.test(v.trim());
  const oddAt = base.findIndex((r) => retryAfterOf(r) !== undefined && odd(retryAfterOf(r) as string));
  if (oddAt >= 0) {
    causes.push({ id: "retry-after-date-format", at: oddAt });
    base = base.map((r) => withoutRetryAfter(r, odd));
    [m0, b0] = await rerun(base);
    if (same(m0, b0)) return earliest();
  }
  return undefined;
}
