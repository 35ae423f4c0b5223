/**
 * Differential property test: generated replies (valid and malformed) fed to the WebAssembly
 * module and to the TypeScript baseline for every operation; both must send the same requests and
 * reach the same result or the same error (code, retryable, status, serverCode, retryAfterMs),
 * unless a documented difference (tests/ts/shared/differences.ts) accounts for the divergence.
 *
 * PROPERTY_RUNS sets the runs per operation (default 1000; `npm run test:property:long` runs more)
 * and PROPERTY_SEED replays a failure.
 */
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import fc from "fast-check";
import type { OAuthTokens } from "../../js/oauthDeviceFlow.ts";
import { json, type Script } from "./support/fakes.ts";
import { DIFFERENCES, explain, type RawReply } from "./shared/differences.ts";
import { AC, CS, CV, CODEX_DC, PREVIOUS, RFC_DC, RT, codex, codexCode, jwt, rfc, rfcBasic, rfcCode, rfcPost, T0 } from "./shared/fixtures.ts";
import { assertSameBehaviour, observe, type Env, type Observation } from "./shared/harness.ts";
import { BASELINE, MODULE, type Api } from "./shared/implementations.ts";
import { reply } from "./shared/replies.ts";

const RUNS = Number(process.env["PROPERTY_RUNS"] ?? 1000);
const SEED = process.env["PROPERTY_SEED"] === undefined ? undefined : Number(process.env["PROPERTY_SEED"]);

/** How often each documented difference explained a divergence, per operation. */
const seen: Record<string, Record<string, number>> = {};

interface Operation {
  name: string;
  /** How many replies one call consumes at most. */
  replies: number;
  /** What the call sends that no error may show. */
  secrets: readonly string[];
  call: (api: Api, env: Env) => unknown;
}

const OPERATIONS: Operation[] = [
  { name: "requestDeviceCode (openai-codex)", replies: 1, secrets: [], call: (api, env) => api.requestDeviceCode(codex(api), env.deps) },
  { name: "requestDeviceCode (rfc8628, client_secret_post)", replies: 1, secrets: [CS], call: (api, env) => api.requestDeviceCode(rfcPost(api), env.deps) },
  { name: "pollDeviceToken (openai-codex, with the code exchange)", replies: 2, secrets: [CODEX_DC, AC, CV], call: (api, env) => api.pollDeviceToken(codex(api), codexCode(), env.deps) },
  { name: "pollDeviceToken (rfc8628, client_secret_basic)", replies: 1, secrets: [RFC_DC, CS], call: (api, env) => api.pollDeviceToken(rfcBasic(api), rfcCode(), env.deps) },
  { name: "refreshAccessToken (openai-codex, previous tokens)", replies: 1, secrets: [RT, PREVIOUS.accessToken], call: (api, env) => api.refreshAccessToken(codex(api), PREVIOUS, env.deps) },
  { name: "refreshAccessToken (rfc8628, a refresh token string)", replies: 1, secrets: [RT], call: (api, env) => api.refreshAccessToken(rfc(api), RT, env.deps) },
  { name: "revokeToken (openai-codex)", replies: 1, secrets: [RT], call: (api, env) => api.revokeToken(codex(api), RT, env.deps) },
  { name: "revokeToken (rfc8628, client_secret_basic)", replies: 1, secrets: [RT, CS], call: (api, env) => api.revokeToken(rfcBasic(api), RT, env.deps) },
];

/** Identical, or where a documented difference shows, the same requests as far as both went. */
function same(m: Observation, b: Observation): boolean {
  try {
    assertSameBehaviour(m, b);
    return true;
  } catch {
    return false;
  }
}

async function differential(op: Operation, replies: RawReply[]): Promise<void> {
  const run = async (rs: RawReply[]): Promise<[Observation, Observation]> => {
    const scenario = { replies: rs as Script[], call: op.call, secrets: op.secrets, quick: true };
    return [await observe(MODULE.api, scenario), await observe(BASELINE.api, scenario)];
  };
  const [m, b] = await run(replies);
  if (same(m, b)) return;
  const why = await explain(replies, m, b, same, run);
  if (why === undefined) {
    assertSameBehaviour(m, b); // fails, showing the divergence
    return;
  }
  // Requests may part only after the reply that carried the documented cause.
  const n = Math.min(m.wire.length, b.wire.length, why.at + 1);
  assert.deepEqual(b.wire.slice(0, n), m.wire.slice(0, n), `the same requests up to the reply causing ${why.id}`);
  const counts = (seen[op.name] ??= {});
  counts[why.id] = (counts[why.id] ?? 0) + 1;
}

describe("differential property: module vs baseline on generated replies", () => {
  for (const op of OPERATIONS) {
    test(`[both] ${op.name}: ${RUNS} generated replies give the same requests and results, except documented differences`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(reply, { minLength: op.replies, maxLength: op.replies }), (replies) => differential(op, replies)),
        { numRuns: RUNS, ...(SEED === undefined ? {} : { seed: SEED }) },
      );
    });
  }

  test(`[both] waitForDeviceToken (openai-codex): ${Math.ceil(RUNS / 4)} generated reply sequences give the same events, sleeps and result`, async () => {
    const op: Operation = {
      name: "waitForDeviceToken (openai-codex)",
      replies: 6,
      secrets: [CODEX_DC, AC, CV],
      call: (api, env) => api.waitForDeviceToken(codex(api), codexCode({ expiresAt: T0 + 60_000 }), env.waitDeps),
    };
    await fc.assert(
      fc.asyncProperty(fc.array(reply, { minLength: 24, maxLength: 24 }), (replies) => differential(op, replies)),
      { numRuns: Math.ceil(RUNS / 4), ...(SEED === undefined ? {} : { seed: SEED }) },
    );
  });

  test(`[both] isAccessTokenExpired, decodeTokenClaims, codexAuthHeaders: ${RUNS} generated token sets agree`, () => {
    const claim = fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom("", "acct\n1", null, 5, ["x"]));
    const payload = fc.record(
      {
        exp: fc.oneof(fc.integer({ min: -1, max: 4_000_000_000 }), fc.double(), fc.constantFrom("1700000000", null)),
        aud: fc.oneof(fc.string({ maxLength: 4 }), fc.array(fc.oneof(fc.string({ maxLength: 3 }), fc.integer()), { maxLength: 3 })),
        email: claim,
        "https://api.openai.com/auth": fc.oneof(
          fc.record({ chatgpt_account_id: claim, chatgpt_plan_type: claim, chatgpt_user_id: claim }, { requiredKeys: [] }),
          fc.constantFrom("x", null),
        ),
        "https://api.openai.com/profile": fc.record({ email: claim }, { requiredKeys: [] }),
      },
      { requiredKeys: [] },
    );
    const token = fc.oneof(
      { weight: 4, arbitrary: payload.map((p) => jwt(p)) },
      { weight: 1, arbitrary: fc.constantFrom("opaque", "a.b.c", "a.e30.c", "a..c", "x.eyJleHAiOjF9.y.z", "") },
      { weight: 1, arbitrary: fc.string({ maxLength: 10 }) },
    );
    const tokens = fc.record(
      {
        accessToken: token,
        idToken: fc.oneof(token, fc.constant(undefined)),
        expiresAt: fc.oneof(fc.constant(undefined), fc.integer({ min: 0, max: 4e12 }), fc.constantFrom(NaN, null, "1")),
      },
      { requiredKeys: ["accessToken"] },
    );
    fc.assert(
      fc.property(tokens, fc.oneof(fc.constant(undefined), fc.integer({ min: -1e7, max: 1e7 })), (t, skew) => {
        const view = (api: Api) => {
          const run = (f: () => unknown) => {
            try {
              return { ok: f() };
            } catch (e) {
              return { code: (e as { code?: string }).code, own: e instanceof api.OAuthDeviceFlowError };
            }
          };
          const input = t as unknown as OAuthTokens;
          return {
            expired: run(() => api.isAccessTokenExpired(input, () => T0, skew)),
            claims: run(() => api.decodeTokenClaims(input)),
            headers: run(() => api.codexAuthHeaders(input)),
          };
        };
        const b = view(BASELINE.api);
        const m = view(MODULE.api);
        // Identical, numbers included (both read JWT payloads with JSON.parse).
        assert.equal(JSON.stringify(m), JSON.stringify(b));
      }),
      { numRuns: RUNS, ...(SEED === undefined ? {} : { seed: SEED }) },
    );
  });

  test(`[both] generated provider configurations and inputs: ${RUNS} cases give byte-identical requests, or the same configuration error`, async () => {
    // Host input with well-formed Unicode (unpaired surrogates cannot reach a real request: fetch
    // refuses them in headers, and the module receives every string as UTF-8).
    const text = (max: number) => fc.string({ unit: "grapheme", maxLength: max });
    const headerName = fc.oneof(
      fc.constantFrom("User-Agent", "originator", "X-Request-Id", "accept", "Content-type", "AUTHORIZATION", "bad name", "", "x\u00e9"),
      fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,12}$/),
    );
    const headers = fc.option(fc.dictionary(headerName, fc.oneof(text(12), fc.constantFrom("a\r\nb", "v\u0000")), { maxKeys: 3 }), { freq: 2 });
    const endpoint = fc.constantFrom(
      "https://idp.example.com/token",
      "https://idp.example.com:8443/t?x=1",
      "http://localhost:3000/t",
      "http://127.0.0.1/t",
      "http://idp.example.com/t",
      "https://user@idp.example.com/t",
      "http://127.0.0.1@evil.example/t",
      "https://[::1]/t",
      "ftp://idp.example.com/t",
      "",
    );
    const rfcConfig = fc.record(
      {
        clientId: text(10),
        deviceAuthorizationEndpoint: endpoint,
        tokenEndpoint: endpoint,
        revocationEndpoint: endpoint,
        scope: text(12),
        clientSecret: text(10),
        clientAuth: fc.constantFrom("none", "client_secret_post", "client_secret_basic", "bogus"),
        extraParams: fc.dictionary(fc.oneof(text(6), fc.constantFrom("scope", "client_id", "audience")), text(10), { maxKeys: 3 }),
        headers: headers.map((h) => h ?? undefined),
      },
      { requiredKeys: ["clientId", "deviceAuthorizationEndpoint", "tokenEndpoint"] },
    );
    const codexConfig = fc.record(
      {
        issuer: fc.constantFrom("https://auth.example.com", "https://auth.example.com/", "http://localhost:1455", "http://auth.example.com", "https://a.example/x?y"),
        clientId: text(10),
        headers: headers.map((h) => h ?? undefined),
      },
      { requiredKeys: [] },
    );
    const input = fc.record({ token: text(16), userCode: text(8), step: fc.constantFrom("device", "poll", "refresh", "revoke") });
    await fc.assert(
      fc.asyncProperty(fc.oneof(rfcConfig.map((c) => ({ rfc: c })), codexConfig.map((c) => ({ codex: c }))), input, async (config, inp) => {
        const call = (api: Api, env: Env) => {
          const p = "rfc" in config ? api.rfc8628Provider(config.rfc as never) : api.openaiCodexProvider(config.codex as never);
          const code = { ...codexCode(), deviceCode: inp.token, userCode: inp.userCode };
          switch (inp.step) {
            case "device":
              return api.requestDeviceCode(p, env.deps);
            case "poll":
              return api.pollDeviceToken(p, code, env.deps);
            case "refresh":
              return api.refreshAccessToken(p, inp.token, env.deps);
            default:
              return api.revokeToken(p, inp.token, env.deps);
          }
        };
        const scenario = { replies: [json(400, { error: "invalid_client" })], call, sync: true, quick: true, secrets: [] };
        assertSameBehaviour(await observe(MODULE.api, scenario), await observe(BASELINE.api, scenario));
      }),
      { numRuns: RUNS, ...(SEED === undefined ? {} : { seed: SEED }) },
    );
  });

  after(() => {
    const byId: Record<string, number> = {};
    for (const counts of Object.values(seen)) for (const [id, n] of Object.entries(counts)) byId[id] = (byId[id] ?? 0) + n;
    const lines = Object.entries(byId).map(([id, n]) => `  ${id}: ${n} (${DIFFERENCES[id]?.title})`);
    if (lines.length > 0) console.log(`documented differences the generated replies met:\n${lines.join("\n")}`);
  });
});
