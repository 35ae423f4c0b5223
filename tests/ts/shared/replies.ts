/**
 * fast-check arbitraries for the differential property test: authorization-server replies, valid
 * and malformed. Statuses across every class, Retry-After and Content-Length headers (right,
 * wrong and junk), bodies that are JSON objects built from the fields each step reads (with every
 * type a server might put there: numeric strings, huge and fractional numbers, unicode, known and
 * unknown error codes in any casing, echoes of the secrets sent), and raw text (HTML, empty,
 * truncated JSON, duplicate keys, nesting, numbers beyond the double range, lone surrogates).
 */
import fc from "fast-check";
import { AC, CODEX_DC, CS, CV, RFC_DC, RT, T0, jwt } from "./fixtures.ts";
import type { RawReply } from "./differences.ts";

const KNOWN_CODES = [
  "authorization_pending",
  "deviceauth_authorization_pending",
  "slow_down",
  "access_denied",
  "authorization_declined",
  "expired_token",
  "deviceauth_expired",
  "invalid_grant",
  "refresh_token_expired",
  "refresh_token_reused",
  "refresh_token_invalidated",
];
const OTHER_CODES = ["invalid_client", "invalid_request", "unsupported_country_region_territory", "server_error", "Invalid Client!", "", " ", "x".repeat(70)];
const SECRETS = [RT, CS, AC, CV, CODEX_DC, RFC_DC];

const casing = (s: string) =>
  fc.constantFrom(s, s.toUpperCase(), ` ${s}\t`, `\u00a0${s}\u3000`, s.replace(/_/g, "-"), `${s}!`);

export const errorCode: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...KNOWN_CODES).chain(casing) },
  { weight: 2, arbitrary: fc.constantFrom(...OTHER_CODES) },
  { weight: 1, arbitrary: fc.constantFrom(...SECRETS).map((s) => `bad ${s.toUpperCase()}`) },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
);

const numberish: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer({ min: -5, max: 4000 }),
  fc.integer({ min: 0, max: 40_000_000 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.double({ min: 0, max: 5000, noNaN: true }),
  fc.constantFrom("5", " 7 ", "2.5", "0", "3600", "3601", "1e3", "-5", "5.", ".5", "0x10", "", "five", "\u00a09\t", "31536000", "9".repeat(400)),
  fc.stringMatching(/^\s?[0-9]{1,8}(\.[0-9]{1,4})?\s?$/),
  fc.constantFrom(null, true, [], {}),
);

const tokenish: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 5, arbitrary: fc.stringMatching(/^[A-Za-z0-9._-]{1,40}$/) },
  { weight: 2, arbitrary: fc.integer({ min: -1, max: 4_000_000_000 }).map((exp) => jwt({ exp, aud: ["a", 1] })) },
  { weight: 1, arbitrary: fc.string({ maxLength: 8, unit: "binary" }) },
  { weight: 1, arbitrary: fc.constantFrom("", null, 5, true, ["x"], { a: 1 }) },
);

const tokenType: fc.Arbitrary<unknown> = fc.constantFrom("bearer", "Bearer", "BEARER", "DPoP", "", null, 5, "beare\u212A");

/** Members a step may read, each with the kinds of values servers put there. */
const MEMBERS: Record<string, fc.Arbitrary<unknown>> = {
  device_auth_id: tokenish,
  user_code: tokenish,
  usercode: tokenish,
  device_code: tokenish,
  verification_uri: fc.oneof(fc.constant("https://idp.example.com/device"), tokenish),
  verification_url: fc.constant("https://idp.example.com/device2"),
  verification_uri_complete: fc.oneof(fc.constant("https://idp.example.com/device?c=1"), tokenish),
  interval: numberish,
  expires_in: numberish,
  authorization_code: tokenish,
  code_verifier: tokenish,
  code_challenge: tokenish,
  access_token: tokenish,
  refresh_token: tokenish,
  id_token: tokenish,
  token_type: tokenType,
  scope: tokenish,
  error: fc.oneof(
    { weight: 4, arbitrary: errorCode },
    { weight: 2, arbitrary: fc.record({ code: fc.oneof(errorCode, fc.constant(5)), message: fc.string({ maxLength: 10 }) }, { requiredKeys: [] }) },
    { weight: 1, arbitrary: fc.constantFrom(null, 5, true, [], {}) },
  ),
  code: fc.oneof(errorCode, fc.constant(401)),
  // Echoes of what every request of the operation sends (an authorization code is a secret only
  // once the server has handed it out, so it is not echoed before).
  error_description: fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom(RT, CS, CODEX_DC, RFC_DC).map((s) => `token ${s} bad`)),
};

const jsonObject: fc.Arbitrary<string> = fc
  .dictionary(fc.constantFrom(...Object.keys(MEMBERS)), fc.constant(0), { maxKeys: 7 })
  .chain((keys) => fc.record(Object.fromEntries(Object.keys(keys).map((k) => [k, MEMBERS[k] as fc.Arbitrary<unknown>]))))
  .map((o) => JSON.stringify(o));

/** A success-shaped body for the step, so that the success rules are reached often. */
const successBody: fc.Arbitrary<string> = fc
  .record(
    {
      device_auth_id: fc.constant(CODEX_DC),
      device_code: fc.constant(RFC_DC),
      user_code: fc.constant("ABCD-1234"),
      verification_uri: fc.constant("https://idp.example.com/device"),
      interval: numberish,
      expires_in: numberish,
      authorization_code: fc.constant(AC),
      code_verifier: fc.constant(CV),
      access_token: tokenish,
      refresh_token: tokenish,
      id_token: tokenish,
      token_type: tokenType,
      scope: tokenish,
      error: errorCode,
    },
    { requiredKeys: [] },
  )
  .map((o) => JSON.stringify(o));

/** Text-level mutations JSON.stringify cannot produce. */
const mutate = (body: string): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 12, arbitrary: fc.constant(body) },
    { weight: 1, arbitrary: fc.constantFrom(
    body.replace(/^\{/, '{"access_token":"dup_first","error":"access_denied",'),
    body.replace(/\}$/, ',"expires_in":1e400}'),
    body.replace(/\}$/, ',"interval":-1e309}'),
    body.replace(/\}$/, ',"x":"\\ud800"}'),
    body.replace(/\}$/, `,"x":${"[".repeat(130)}${"]".repeat(130)}}`),
    body.replace(/\}$/, ',"x":"a\ud800b"}'),
    body.replace(/\}$/, ',"error":"REFRESH_TO\u212AEN_EXPIRED"}'),
    `\ufeff${body}`,
    `  ${body}\n`,
    body.slice(0, Math.max(1, body.length - 1)),
  ) },
  );

export const body: fc.Arbitrary<string> = fc.oneof(
  { weight: 5, arbitrary: jsonObject.chain(mutate) },
  { weight: 4, arbitrary: successBody.chain(mutate) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      "",
      "  \n",
      "<html><body>Oops</body></html>",
      "null",
      "[]",
      '["access_token"]',
      '"access_denied"',
      "{",
      "5",
      '{"error":"access_denied"} trailing',
    ),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 20 }) },
  { weight: 1, arbitrary: fc.json({ maxDepth: 3 }) },
);

const STATUSES = [200, 200, 200, 201, 204, 299, 301, 302, 304, 307, 400, 400, 401, 401, 403, 403, 404, 404, 410, 418, 428, 429, 500, 502, 503, 599, 600, 100, 199];

const retryAfter: fc.Arbitrary<string> = fc.oneof(
  fc.integer({ min: 0, max: 100_000 }).map(String),
  fc.constantFrom(" 12 ", "1.5", "-5", "soon", "", "9".repeat(400), "5 5"),
  fc.integer({ min: -3_600_000, max: 3_600_000 }).map((d) => new Date(T0 + d).toUTCString()),
  fc.date({ min: new Date("2000-01-01"), max: new Date("2100-01-01"), noInvalidDate: true }).map((d) => d.toUTCString()),
  fc.integer({ min: -3_600_000, max: 3_600_000 }).map((d) => new Date(T0 + d).toISOString()),
);

export const reply: fc.Arbitrary<RawReply> = fc
  .record({
    status: fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...STATUSES) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 999 }) }),
    body,
    // About one reply in four carries each header (fc.option's freq is the odds of "none").
    retryAfter: fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: retryAfter }),
    contentLength: fc.oneof(
      { weight: 3, arbitrary: fc.constant(null) },
      { weight: 1, arbitrary: fc.constantFrom("exact", "65537", "65536", "abc", " 70000 ", "99999999999999") },
    ),
  })
  .map(({ status, body, retryAfter, contentLength }) => {
    const headers: Record<string, string> = { "Content-Type": "application/json" };
    if (retryAfter !== null) headers["Retry-After"] = retryAfter;
    if (contentLength !== null) {
      headers["Content-Length"] = contentLength === "exact" ? String(Buffer.byteLength(body)) : contentLength;
    }
    return { status, headers, body };
  });
