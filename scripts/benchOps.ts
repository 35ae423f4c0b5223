/**
 * One implementation (module or baseline) running one of the bench's in-memory operations N
 * times, for counting instructions (scripts/bench-instructions.sh runs it under callgrind).
 * Usage: node benchOps.mjs module|baseline OP N. Same fixtures as scripts/bench.ts.
 */
import * as mod from "../js/oauthDeviceFlow.ts";
import * as base from "../baseline/oauthDeviceFlow.ts";
const T0 = 1_700_000_000_000;
const clock = () => T0;
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
const jwt = `${b64({ alg: "none" })}.${b64({ exp: T0 / 1000 + 3600, "https://api.openai.com/auth": { chatgpt_account_id: "acct_1" } })}.sig`;
const reply = (status: number, body: string): mod.FetchLike => {
  const r = { status, headers: { get: () => null }, text: async () => body };
  return async () => r;
};
const tokens = reply(200, JSON.stringify({ access_token: jwt, refresh_token: "rt_2", id_token: jwt, expires_in: 3600 }));
const usercode = reply(200, '{"device_auth_id":"deviceauth_1","user_code":"ABCD-1234","interval":"5"}');
const pending = reply(403, "");
let flip = 0;
const pollSuccess: mod.FetchLike = async (...args) => (flip++ % 2 === 0 ? reply(200, '{"authorization_code":"ac","code_verifier":"cv","code_challenge":"cc"}') : tokens)(...args);
const code = { deviceCode: "deviceauth_1", userCode: "ABCD-1234", verificationUri: "http://127.0.0.1:9/codex/device", intervalMs: 5000, expiresAt: T0 + 900_000 };
const known = { accessToken: jwt, tokenType: "Bearer", expiresAt: T0 + 3_600_000 };
type Impl = typeof mod;
const ops: Record<string, (m: Impl, p: mod.OAuthProvider) => unknown> = {
  expiredKnown: (m) => m.isAccessTokenExpired(known, clock),
  device: (m, p) => m.requestDeviceCode(p, { fetch: usercode, clock }),
  pending: (m, p) => m.pollDeviceToken(p, code, { fetch: pending, clock }),
  pollSuccess: (m, p) => m.pollDeviceToken(p, code, { fetch: pollSuccess, clock }),
  refresh: (m, p) => m.refreshAccessToken(p, "rt_1", { fetch: tokens, clock }),
};
const [impl, name, count] = process.argv.slice(2);
const m = (impl === "module" ? mod : base) as unknown as Impl;
const op = ops[name ?? ""];
if (op === undefined) throw new Error(`unknown operation ${name}: ${Object.keys(ops).join(", ")}`);
const p = m.openaiCodexProvider({ issuer: "http://127.0.0.1:9" });
const n = Number(count);
if (name === "expiredKnown") { for (let i = 0; i < n; i++) op(m, p); }
else for (let i = 0; i < n; i++) await op(m, p);
