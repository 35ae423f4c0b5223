/**
 * The hostile-reply corpus (tests/fixtures/hostile.json) through the wasm module and the drop-in,
 * with a fake fetch whose `text()` decodes bytes as `Response.text()` does (BOM dropped, invalid
 * UTF-8 as U+FFFD). Each case must give its expected code or result, with the reply's status; no
 * error may show a secret of the request, the raw body or HTML in its message, stack,
 * `JSON.stringify`, `String()` or `util.inspect`; a body settled from the head (redirect,
 * oversized `Content-Length`, a 2xx revocation) is never read; and after every case a normal call
 * still succeeds. The same file is replayed natively by tests/core/hostile.rs.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { inspect } from "node:util";
import {
  OAuthDeviceFlowError,
  openaiCodexProvider,
  pollDeviceToken,
  refreshAccessToken,
  requestDeviceCode,
  revokeToken,
  rfc8628Provider,
  type DeviceCode,
  type DeviceFlowDeps,
  type OAuthProvider,
  type OAuthTokens,
  type PollResult,
} from "../../js/oauthDeviceFlow.ts";
import { FakeClock, FakeFetch, assertNoSecrets, assertOAuthError, deps, json, type ExpectedError, type Reply } from "./support/fakes.ts";

type Body = string | { base64: string } | { generate: { prefix?: string; fill: string; suffix?: string; count?: number; totalBytes?: number } };

interface HostileCase {
  name: string;
  category: string;
  op: "device" | "poll" | "exchange" | "refresh" | "revoke";
  kind: "openai-codex" | "rfc8628";
  status: number;
  headers: Record<string, string>;
  body: Body;
  expect: {
    code: string;
    serverCode?: string | null;
    retryAfterMs?: number | null;
    intervalMs?: number;
    expiresInMs?: number | null;
    userCode?: string;
    verificationUriComplete?: string | null;
    accessToken?: string;
    refreshToken?: string;
    tokenType?: string;
    scope?: string;
  };
}

interface Corpus {
  now: number;
  secrets: Record<"deviceCode" | "refreshToken" | "accessToken" | "clientSecret" | "authorizationCode" | "codeVerifier", string>;
  rawBodyMarker: string;
  cases: HostileCase[];
}

const corpus = JSON.parse(readFileSync(new URL("../fixtures/hostile.json", import.meta.url), "utf8")) as Corpus;
const S = corpus.secrets;
const LEAKS = [...Object.values(S), corpus.rawBodyMarker];

const providers: Record<HostileCase["kind"], OAuthProvider> = {
  "openai-codex": openaiCodexProvider({ issuer: "https://auth.example.com" }),
  rfc8628: rfc8628Provider({
    clientId: "hostile-client",
    clientAuth: "client_secret_post",
    clientSecret: S.clientSecret,
    deviceAuthorizationEndpoint: "https://idp.example.com/device",
    tokenEndpoint: "https://idp.example.com/token",
    revocationEndpoint: "https://idp.example.com/revoke",
    scope: "openid",
  }),
};

const code: DeviceCode = {
  deviceCode: S.deviceCode,
  userCode: "WDJB-MJHT",
  verificationUri: "https://idp.example.com/device",
  intervalMs: 5000,
  expiresAt: corpus.now + 900_000,
};

const previous: OAuthTokens = {
  accessToken: S.accessToken,
  tokenType: "Bearer",
  refreshToken: S.refreshToken,
  scope: "openid",
  expiresAt: corpus.now,
};

/** The body as a host's `Response.text()` would give it. */
function bodyText(body: Body): string {
  if (typeof body === "string") return body;
  if ("base64" in body) return new TextDecoder().decode(Buffer.from(body.base64, "base64"));
  const { prefix = "", fill, suffix = "", count, totalBytes } = body.generate;
  const n =
    count ??
    (totalBytes! - Buffer.byteLength(prefix) - Buffer.byteLength(suffix)) / Buffer.byteLength(fill);
  assert.ok(Number.isInteger(n), "totalBytes must be reachable");
  return prefix + fill.repeat(n) + suffix;
}

/** Whether the adapter may settle this reply without reading its body. */
function settledFromHead(c: HostileCase): boolean {
  const length = Object.entries(c.headers).find(([k]) => k.toLowerCase() === "content-length")?.[1]?.trim();
  const oversized = length !== undefined && /^[0-9]+$/.test(length) && Number(length) > 65_536;
  const revoked = c.op === "revoke" && c.status >= 200 && c.status < 300;
  return (c.status >= 300 && c.status < 400) || revoked || oversized;
}

function run(c: HostileCase, d: DeviceFlowDeps): Promise<unknown> {
  const p = providers[c.kind];
  switch (c.op) {
    case "device":
      return requestDeviceCode(p, d);
    case "poll":
    case "exchange":
      return pollDeviceToken(p, code, d);
    case "refresh":
      return refreshAccessToken(p, previous, d);
    case "revoke":
      return revokeToken(p, S.refreshToken, d);
  }
}

function checkError(c: HostileCase, e: unknown): void {
  const expected: ExpectedError = { code: c.expect.code as ExpectedError["code"], status: c.status };
  if ("serverCode" in c.expect) expected.serverCode = c.expect.serverCode ?? undefined;
  if ("retryAfterMs" in c.expect) expected.retryAfterMs = c.expect.retryAfterMs ?? undefined;
  const err = assertOAuthError(e, expected);
  assertNoSecrets(err, LEAKS);
  for (const view of [err.message, JSON.stringify(err), inspect(err)]) {
    assert.doesNotMatch(view, /<html|<!doctype|<form|<script/i, "an error quotes the raw body");
  }
  assert.doesNotMatch(err.message, /[\u0000-\u001f\u007f-\u009f]/, "control character in the message");
}

function checkSuccess(c: HostileCase, value: unknown): void {
  const x = c.expect;
  switch (c.op) {
    case "device": {
      assert.equal(x.code, "success");
      const d = value as DeviceCode;
      if (x.intervalMs !== undefined) assert.equal(d.intervalMs, x.intervalMs, "intervalMs");
      if (x.expiresInMs !== undefined) assert.equal(d.expiresAt - corpus.now, x.expiresInMs, "expiresAt");
      if (x.userCode !== undefined) assert.equal(d.userCode, x.userCode, "userCode");
      if (x.verificationUriComplete !== undefined) {
        assert.equal(d.verificationUriComplete, x.verificationUriComplete ?? undefined, "verificationUriComplete");
        if (x.verificationUriComplete === null) assert.ok(!("verificationUriComplete" in d), "an absent field is left out");
      }
      assert.equal(d.deviceCode.length > 0, true);
      return;
    }
    case "revoke":
      assert.equal(x.code, "ok");
      assert.equal(value, undefined);
      return;
    case "poll":
    case "exchange": {
      const r = value as PollResult;
      assert.equal(r.status, x.code, "poll status");
      if (r.status !== "success") {
        if (x.intervalMs !== undefined) assert.equal(r.intervalMs, x.intervalMs, "intervalMs");
        return;
      }
      checkTokens(c, r.tokens);
      return;
    }
    case "refresh":
      assert.equal(x.code, "success");
      checkTokens(c, value as OAuthTokens);
  }
}

function checkTokens(c: HostileCase, t: OAuthTokens): void {
  const x = c.expect;
  if (x.expiresInMs !== undefined) {
    assert.equal(t.expiresAt === undefined ? null : t.expiresAt - corpus.now, x.expiresInMs, "expiresAt");
  }
  for (const key of ["accessToken", "refreshToken", "tokenType", "scope"] as const) {
    if (x[key] !== undefined) assert.equal(t[key], x[key], key);
  }
  for (const [k, v] of Object.entries(t)) assert.notEqual(v, null, `tokens.${k} is null`);
}

/** A normal refresh and a normal poll through fresh fakes: the module still works. */
async function assertStillWorks(): Promise<void> {
  const f = new FakeFetch(json(200, { access_token: "at_after", refresh_token: "rt_after", expires_in: 60 }));
  const t = await refreshAccessToken(providers["openai-codex"], "rt_before", deps(f, new FakeClock(corpus.now)));
  assert.deepEqual(t, { accessToken: "at_after", tokenType: "Bearer", refreshToken: "rt_after", expiresAt: corpus.now + 60_000 });
  const f2 = new FakeFetch(json(400, { error: "authorization_pending" }));
  assert.deepEqual(await pollDeviceToken(providers.rfc8628, code, deps(f2, new FakeClock(corpus.now))), { status: "pending", intervalMs: 5000 });
}

describe("hostile replies through the wasm module", () => {
  test("the corpus covers every kind of hostile reply, on every operation", () => {
    const sorted = (values: string[]) => [...new Set(values)].sort();
    assert.deepEqual(sorted(corpus.cases.map((c) => c.category)), [
      "bytes",
      "cap",
      "content-type",
      "duplicates",
      "echo",
      "empty",
      "html",
      "missing",
      "nesting",
      "numbers",
      "retry-after",
      "status",
      "truncated",
      "types",
      "unicode",
      "urls",
    ]);
    assert.deepEqual(sorted(corpus.cases.map((c) => c.op)), ["device", "exchange", "poll", "refresh", "revoke"]);
  });

  for (const c of corpus.cases) {
    test(`${c.category}: ${c.name} -> ${c.expect.code}`, async () => {
      const reply: Reply = { status: c.status, headers: c.headers, body: bodyText(c.body) };
      const scripts: Reply[] =
        c.op === "exchange"
          ? [json(200, { authorization_code: S.authorizationCode, code_verifier: S.codeVerifier, code_challenge: "cc" }), reply]
          : [reply];
      const f = new FakeFetch(...scripts);
      let outcome: { ok: true; value: unknown } | { ok: false; error: unknown };
      try {
        outcome = { ok: true, value: await run(c, deps(f, new FakeClock(corpus.now))) };
      } catch (error) {
        outcome = { ok: false, error };
      }
      assert.equal(f.calls.length, scripts.length, "requests made");
      for (const call of f.calls) assert.equal(call.redirect, "manual");
      const approvalReads = c.op === "exchange" ? 1 : 0;
      if (settledFromHead(c)) assert.equal(f.textReads, approvalReads, "the body was not read");
      const isError = !["success", "pending", "slow_down", "ok"].includes(c.expect.code);
      if (outcome.ok) {
        assert.ok(!isError, `resolved ${inspect(outcome.value)} instead of rejecting with ${c.expect.code}`);
        checkSuccess(c, outcome.value);
      } else {
        assert.ok(isError || outcome.error instanceof OAuthDeviceFlowError, inspect(outcome.error));
        assert.ok(isError, `rejected with ${(outcome.error as OAuthDeviceFlowError).code} instead of ${c.expect.code}`);
        checkError(c, outcome.error);
      }
      await assertStillWorks();
    });
  }
});
