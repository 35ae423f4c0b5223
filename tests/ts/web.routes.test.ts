/**
 * The reference host's routes (demo/web/server.ts, flows.ts) without a browser: real loopback HTTP
 * to the host, which talks to the embedded mock. Host and mock share one fake clock, so the pacing
 * (no upstream poll before the stored interval, slow_down, back-off) and expiry are exact without
 * sleeping. Also: the page's UI-state table (public/uiStates.js) against the documented one, and the
 * refusals that keep a foreign page away from the admin API.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { OAuthDeviceFlowError, createMemoryStore, openaiCodexProvider, type OAuthErrorCode, type OAuthTokens, type TokenStore } from "../../js/oauthDeviceFlow.ts";
import { startMockServer, type MockServer } from "../../demo/mockServer.ts";
import { API, CHAT_ROUTE, startWebHost, type WebHost, type WebHostOptions } from "../../demo/web/server.ts";
import { MAX_OPEN_FLOWS, START_BURST, START_REFILL_MS } from "../../demo/web/admission.ts";
import { NOW, submitPage } from "./support/mockSupport.ts";
import { promises as fs } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createFileStore } from "../../js/oauthDeviceFlow.ts";

const POLL_PATH = "/api/accounts/deviceauth/token";
const USERCODE_PATH = "/api/accounts/deviceauth/usercode";

interface Env {
  mock: MockServer;
  host: WebHost;
  clock: { now: number };
}

async function withHost(extra: Partial<WebHostOptions>, body: (env: Env) => Promise<void>): Promise<void> {
  const clock = { now: NOW };
  const mock = await startMockServer({ intervalSec: 1, clock: () => clock.now });
  const host = await startWebHost({
    provider: openaiCodexProvider({ issuer: mock.url }),
    backendUrl: mock.url,
    clock: () => clock.now,
    timeoutMs: 5_000,
    ...extra,
  });
  try {
    await body({ mock, host, clock });
  } finally {
    await host.stop();
    await mock.stop();
  }
}

interface Answer {
  status: number;
  json: Record<string, unknown>;
  text: string;
}

/** The headers the page sends on every API request: its origin and the admin token. */
const pageHeaders = (host: WebHost) => ({ origin: host.url, "x-admin-token": host.adminToken });

async function call(host: WebHost, path: string, body: unknown = {}, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(`${host.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...pageHeaders(host), ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: JSON.parse(text) as Record<string, unknown>, text };
}

async function start(env: Env): Promise<{ flowId: string; userCode: string; answer: Answer }> {
  const answer = await call(env.host, `${API}/start`);
  assert.equal(answer.status, 200, answer.text);
  return { flowId: String(answer.json["flowId"]), userCode: String(answer.json["userCode"]), answer };
}

const poll = (env: Env, flowId: string) => call(env.host, `${API}/poll`, { flowId });

/** Every secret the mock handed out (device codes, codes, verifiers, tokens). */
function issuedSecrets(mock: MockServer): string[] {
  const secrets = new Set<string>();
  for (const entry of mock.log) {
    for (const m of entry.reply.matchAll(/"(?:access_token|refresh_token|id_token|device_auth_id|authorization_code|code_verifier)":"([^"]+)"/g)) {
      if (m[1]) secrets.add(m[1]);
    }
  }
  return [...secrets];
}

describe("start", () => {
  test("start answers the user code, the verification URL, the interval and the expiry, and keeps the device code server-side", () =>
    withHost({}, async (env) => {
      const { answer } = await start(env);
      assert.deepEqual(Object.keys(answer.json).sort(), ["expiresAt", "expiresInMs", "flowId", "intervalMs", "userCode", "verificationUri"]);
      assert.match(String(answer.json["flowId"]), /^[A-Za-z0-9_-]{24}$/);
      assert.match(String(answer.json["userCode"]), /^[A-Z0-9]{4}-[A-Z0-9]{4,5}$/);
      assert.equal(answer.json["verificationUri"], `${env.mock.url}/codex/device`);
      assert.equal(answer.json["intervalMs"], 1000);
      assert.equal(answer.json["expiresAt"], NOW + 15 * 60_000, "openai-codex sends no expires_in: 15 minutes");
      assert.equal(answer.json["expiresInMs"], 15 * 60_000);
      assert.equal(env.mock.count(USERCODE_PATH), 1);
      const [deviceCode] = issuedSecrets(env.mock);
      assert.ok(deviceCode?.startsWith("deviceauth_"));
      assert.ok(!answer.text.includes(deviceCode), "the device code never leaves the host");
      assert.equal(env.mock.count(POLL_PATH), 0, "starting does not poll");
    }));

  test("start maps a 404 from the user-code endpoint to device_flow_disabled (HTTP 502, no flow)", () =>
    withHost({}, async (env) => {
      env.mock.fault({ path: USERCODE_PATH, status: 404, body: "" });
      const answer = await call(env.host, `${API}/start`);
      assert.equal(answer.status, 502);
      assert.deepEqual(answer.json, { status: "error", code: "device_flow_disabled", retryable: false, intervalMs: 0 });
      assert.equal(env.host.flows.size, 0);
    }));

  test(`starts are rate-limited (${START_BURST} at once, then one every ${START_REFILL_MS / 1000} s): HTTP 429 with Retry-After, nothing asked upstream`, () =>
    withHost({}, async (env) => {
      const flows: string[] = [];
      for (let i = 0; i < START_BURST; i += 1) flows.push((await start(env)).flowId);
      for (const id of flows) await call(env.host, `${API}/cancel`, { flowId: id });
      const refused = await call(env.host, `${API}/start`);
      assert.equal(refused.status, 429);
      assert.deepEqual(refused.json, { status: "error", code: "rate_limited", retryable: true, intervalMs: START_REFILL_MS });
      assert.equal(env.mock.count(USERCODE_PATH), START_BURST, "the refused start asked nothing upstream");
      env.clock.now += START_REFILL_MS - 1;
      assert.equal((await call(env.host, `${API}/start`)).status, 429);
      env.clock.now += 1;
      assert.equal((await call(env.host, `${API}/start`)).status, 200, "one more after the refill time");
      assert.equal((await call(env.host, `${API}/start`)).status, 429);
    }));

  test(`at most ${MAX_OPEN_FLOWS} open flows: one more start is refused (429 too_many_flows), no flow is ever dropped, a cancelled or expired one frees its place`, () =>
    withHost({}, async (env) => {
      const open: Array<{ flowId: string }> = [];
      for (let i = 0; i < MAX_OPEN_FLOWS; i += 1) {
        if (i === START_BURST) env.clock.now += (MAX_OPEN_FLOWS - START_BURST) * START_REFILL_MS;
        open.push(await start(env));
      }
      env.clock.now += START_REFILL_MS;
      const full = await call(env.host, `${API}/start`);
      assert.equal(full.status, 429);
      assert.equal(full.json["code"], "too_many_flows");
      assert.ok(Number(full.json["intervalMs"]) > 0, "says when a place frees up");
      for (const flow of open) assert.equal((await poll(env, flow.flowId)).status, 200, "every flow is still there");
      await call(env.host, `${API}/cancel`, { flowId: open[0]?.flowId });
      assert.equal((await call(env.host, `${API}/start`)).status, 200, "a cancelled flow frees its place");
      env.clock.now += 15 * 60_000 + START_BURST * START_REFILL_MS;
      for (let i = 0; i < START_BURST; i += 1) assert.equal((await call(env.host, `${API}/start`)).status, 200, "expired flows free theirs");
      assert.ok(env.host.flows.size <= MAX_OPEN_FLOWS);
    }));
});

describe("poll pacing", () => {
  test("a UI poll before the interval has passed is answered pending with the time left, without polling the server", () =>
    withHost({}, async (env) => {
      const { flowId } = await start(env);
      env.clock.now += 400;
      assert.deepEqual((await poll(env, flowId)).json, { status: "pending", intervalMs: 600 });
      assert.equal(env.mock.count(POLL_PATH), 0);
      env.clock.now += 600;
      assert.deepEqual((await poll(env, flowId)).json, { status: "pending", intervalMs: 1000 });
      assert.equal(env.mock.count(POLL_PATH), 1, "one UI poll after the interval: one pollDeviceToken");
    }));

  test("slow_down: the new interval (+5 s) is stored and enforced for the next polls", () =>
    withHost({}, async (env) => {
      const { flowId } = await start(env);
      env.mock.knobs.slowDown = 1;
      env.clock.now += 1000;
      assert.deepEqual((await poll(env, flowId)).json, { status: "pending", intervalMs: 6000 });
      env.clock.now += 1000;
      assert.deepEqual((await poll(env, flowId)).json, { status: "pending", intervalMs: 5000 }, "too early for the stored interval");
      assert.equal(env.mock.count(POLL_PATH), 1);
      env.clock.now += 5000;
      assert.deepEqual((await poll(env, flowId)).json, { status: "pending", intervalMs: 6000 }, "the stored interval stays");
      assert.equal(env.mock.count(POLL_PATH), 2);
    }));

  test("concurrent UI polls of one flow share one request to the server", () =>
    withHost({}, async (env) => {
      const { flowId } = await start(env);
      env.clock.now += 1000;
      env.mock.fault({ path: POLL_PATH, delayMs: 200 });
      const answers = await Promise.all([poll(env, flowId), poll(env, flowId), poll(env, flowId)]);
      for (const a of answers) assert.deepEqual(a.json, { status: "pending", intervalMs: 1000 });
      assert.equal(env.mock.count(POLL_PATH), 1);
    }));

  test("retryable failures answer error with retryable: true and back off (interval, doubled, Retry-After); the next success resets", () =>
    withHost({}, async (env) => {
      const { flowId } = await start(env);
      env.clock.now += 1000;
      env.mock.fault({ path: POLL_PATH, status: 503, times: 2 });
      assert.deepEqual((await poll(env, flowId)).json, { status: "error", code: "server_error", retryable: true, intervalMs: 1000 });
      env.clock.now += 1000;
      assert.deepEqual((await poll(env, flowId)).json, { status: "error", code: "server_error", retryable: true, intervalMs: 2000 });
      env.clock.now += 1000;
      assert.deepEqual((await poll(env, flowId)).json, { status: "pending", intervalMs: 1000 }, "not yet: the back-off is enforced");
      assert.equal(env.mock.count(POLL_PATH), 2);
      env.clock.now += 1000;
      env.mock.fault({ path: POLL_PATH, status: 429, retryAfter: "7" });
      assert.deepEqual((await poll(env, flowId)).json, { status: "error", code: "server_error", retryable: true, intervalMs: 7000 });
      env.clock.now += 7000;
      assert.deepEqual((await poll(env, flowId)).json, { status: "pending", intervalMs: 1000 });
      env.mock.fault({ path: POLL_PATH, html: true });
      env.clock.now += 1000;
      assert.deepEqual((await poll(env, flowId)).json, { status: "error", code: "invalid_response", retryable: true, intervalMs: 1000 }, "attempt counts from 1 again");
    }));
});

describe("outcomes", () => {
  test("approved: poll answers connected, the tokens are in the store, later polls repeat connected without a request", () =>
    withHost({}, async (env) => {
      const { flowId, userCode } = await start(env);
      assert.equal((await submitPage(env.mock, userCode, "approve", "/codex/device")).status, 200);
      env.clock.now += 1000;
      const answer = await poll(env, flowId);
      assert.deepEqual(answer.json, { status: "connected", intervalMs: 1000 });
      const stored = await env.host.store.load();
      const exchange = env.mock.log.find((e) => e.path === "/oauth/token");
      assert.ok(stored && exchange);
      assert.equal(stored.accessToken, (JSON.parse(exchange.reply) as { access_token: string }).access_token);
      env.clock.now += 5000;
      assert.deepEqual((await poll(env, flowId)).json, { status: "connected", intervalMs: 1000 });
      assert.equal(env.mock.count(POLL_PATH), 1);
      assert.equal(env.mock.count("/oauth/token"), 1);
      const status = await fetch(`${env.host.url}${API}/status`, { headers: pageHeaders(env.host) }).then((r) => r.json());
      assert.deepEqual(status, { connected: true, accountId: env.mock.account.accountId, planType: env.mock.account.planType, email: env.mock.account.email });
    }));

  test("denied: poll answers access_denied (not retryable) and repeats it without polling again", () =>
    withHost({}, async (env) => {
      const { flowId, userCode } = await start(env);
      assert.equal((await submitPage(env.mock, userCode, "deny", "/codex/device")).status, 200);
      env.clock.now += 1000;
      const denied = { status: "error", code: "access_denied", retryable: false, serverCode: "access_denied", intervalMs: 1000 };
      assert.deepEqual((await poll(env, flowId)).json, denied);
      env.clock.now += 1000;
      assert.deepEqual((await poll(env, flowId)).json, denied);
      assert.equal(env.mock.count(POLL_PATH), 1);
      assert.equal(await env.host.store.load(), null);
    }));

  test("expired: at the code's expiry the poll answers expired_token without a request, also before the interval", () =>
    withHost({}, async (env) => {
      const { flowId, answer } = await start(env);
      env.clock.now = Number(answer.json["expiresAt"]);
      assert.deepEqual((await poll(env, flowId)).json, { status: "error", code: "expired_token", retryable: false, intervalMs: 1000 });
      assert.equal(env.mock.count(POLL_PATH), 0);
    }));

  test("a store that fails to sign in (replace): storage_error (retryable), then the same tokens are signed in on the next poll without a second exchange", () => {
    const inner = createMemoryStore();
    let failures = 1;
    const store: TokenStore = {
      load: () => inner.load(),
      save: (next: OAuthTokens, previous: OAuthTokens) => inner.save(next, previous),
      replace: async (tokens: OAuthTokens | null) => {
        if (failures > 0) {
          failures -= 1;
          throw new Error(`disk full while writing ${tokens?.accessToken}`);
        }
        await inner.replace(tokens);
      },
    };
    return withHost({ store }, async (env) => {
      const { flowId, userCode } = await start(env);
      await submitPage(env.mock, userCode, "approve", "/codex/device");
      env.clock.now += 1000;
      const failed = await poll(env, flowId);
      assert.deepEqual(failed.json, { status: "error", code: "storage_error", retryable: true, intervalMs: 1000 });
      for (const secret of issuedSecrets(env.mock)) assert.ok(!failed.text.includes(secret), "no token in the answer");
      env.clock.now += 1000;
      assert.deepEqual((await poll(env, flowId)).json, { status: "connected", intervalMs: 1000 });
      assert.equal(env.mock.count(POLL_PATH), 1, "the server was polled once");
      assert.equal(env.mock.count("/oauth/token"), 1, "the code was redeemed once");
      assert.ok(await inner.load());
    });
  });

  test("cancel forgets the flow: its next poll is unknown_flow (404); malformed flow ids are 400", () =>
    withHost({}, async (env) => {
      const { flowId } = await start(env);
      assert.deepEqual((await call(env.host, `${API}/cancel`, { flowId })).json, { cancelled: true });
      assert.equal((await poll(env, flowId)).status, 404);
      assert.deepEqual((await call(env.host, `${API}/cancel`, { flowId })).json, { cancelled: false });
      for (const bad of [{}, { flowId: 7 }, { flowId: "../x" }, { flowId: "a".repeat(65) }]) {
        const answer = await call(env.host, `${API}/poll`, bad);
        assert.deepEqual([answer.status, answer.json], [400, { error: "bad_flow_id" }]);
      }
      assert.deepEqual([(await call(env.host, `${API}/poll`, "[1]")).status, (await call(env.host, `${API}/poll`, "{")).status], [400, 400]);
    }));
});

/** The chat route's answer: the NDJSON lines when it streams, else its JSON. */
async function chatCall(host: WebHost, message: string): Promise<{ status: number; type: string; lines: Record<string, unknown>[]; json?: Record<string, unknown> }> {
  const res = await fetch(`${host.url}${CHAT_ROUTE}`, { method: "POST", headers: { "content-type": "application/json", ...pageHeaders(host) }, body: JSON.stringify({ message }) });
  const type = res.headers.get("content-type") ?? "";
  const text = await res.text();
  if (!type.startsWith("application/x-ndjson")) return { status: res.status, type, lines: [], json: JSON.parse(text) as Record<string, unknown> };
  return { status: res.status, type, lines: text.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as Record<string, unknown>) };
}

async function connected(env: Env): Promise<OAuthTokens> {
  const { flowId, userCode } = await start(env);
  await submitPage(env.mock, userCode, "approve", "/codex/device");
  env.clock.now += 1000;
  assert.equal((await poll(env, flowId)).json["status"], "connected");
  const tokens = await env.host.store.load();
  assert.ok(tokens);
  return tokens;
}

describe("chat turn", () => {
  test("the chat streams NDJSON: several delta lines, then done with the whole text", () =>
    withHost({}, async (env) => {
      await connected(env);
      const answer = await chatCall(env.host, "stream me");
      assert.equal(answer.status, 200);
      assert.equal(answer.type, "application/x-ndjson; charset=utf-8");
      const deltas = answer.lines.filter((l) => typeof l["delta"] === "string");
      assert.ok(deltas.length >= 5);
      assert.deepEqual(answer.lines.at(-1), { done: true, text: 'Hello! The mock Codex backend heard: "stream me"' });
      assert.equal(deltas.map((l) => l["delta"]).join(""), 'Hello! The mock Codex backend heard: "stream me"');
      const sent = env.mock.log.find((e) => e.path === "/backend-api/codex/responses");
      assert.deepEqual([JSON.parse(sent?.body ?? "{}").stream, JSON.parse(sent?.body ?? "{}").store], [true, false]);
    }));

  test("a usage limit is a 502 JSON answer with the code and resetsAt (no stream)", () =>
    withHost({}, async (env) => {
      await connected(env);
      env.mock.fault({ path: "/backend-api/codex/responses", codex: "usage_limit_reached", resetsInSec: 1500 });
      const answer = await chatCall(env.host, "hi");
      assert.equal(answer.status, 502);
      assert.equal(answer.json?.["error"], "usage_limit_reached");
      assert.equal(answer.json?.["status"], 429);
      assert.equal(answer.json?.["resetsAt"], (Math.floor(env.clock.now / 1000) + 1500) * 1000);
    }));

  test("a 401 from the backend is refreshed and retried inside the module's fetch: the admin sees the answer", () =>
    withHost({}, async (env) => {
      await connected(env);
      env.mock.fault({ path: "/backend-api/codex/responses", codex: "unauthorized" });
      const answer = await chatCall(env.host, "after a 401");
      assert.equal(answer.status, 200);
      assert.deepEqual(answer.lines.at(-1), { done: true, text: 'Hello! The mock Codex backend heard: "after a 401"' });
      assert.equal(env.mock.count("/oauth/token"), 2, "the sign-in's exchange and one refresh");
    }));

  test("a stream cut after the first pieces ends with an error line", () =>
    withHost({}, async (env) => {
      await connected(env);
      env.mock.fault({ path: "/backend-api/codex/responses", codex: "cut" });
      const answer = await chatCall(env.host, "hi");
      assert.equal(answer.status, 200);
      assert.ok(answer.lines.some((l) => "delta" in l));
      assert.deepEqual(answer.lines.at(-1), { error: "stream_incomplete" });
    }));

  test("before sign-in the chat route answers 409 not_connected without calling the backend", () =>
    withHost({}, async (env) => {
      const answer = await call(env.host, CHAT_ROUTE, { message: "hi" });
      assert.deepEqual([answer.status, answer.json], [409, { error: "not_connected" }]);
      assert.equal(env.mock.count("/backend-api/codex/responses"), 0);
    }));

  test("after sign-in the chat turn uses the session's headers, and a due token is refreshed once and saved before the call", () =>
    withHost({}, async (env) => {
      const { flowId, userCode } = await start(env);
      await submitPage(env.mock, userCode, "approve", "/codex/device");
      env.clock.now += 1000;
      assert.equal((await poll(env, flowId)).json["status"], "connected");
      const signedIn = await env.host.store.load();
      assert.ok(signedIn);

      const first = await chatCall(env.host, "first turn");
      assert.deepEqual([first.status, first.lines.at(-1)], [200, { done: true, text: 'Hello! The mock Codex backend heard: "first turn"' }]);
      const calls = () => env.mock.log.filter((e) => e.path === "/backend-api/codex/responses");
      assert.equal(calls()[0]?.headers["authorization"], `Bearer ${signedIn.accessToken}`);
      assert.equal(calls()[0]?.headers["chatgpt-account-id"], env.mock.account.accountId);
      assert.equal(env.mock.count("/oauth/token"), 1, "no refresh for a fresh token");

      env.clock.now += 3600_000 - 299_000; // inside the 5-minute skew of openai-codex
      const second = await chatCall(env.host, "second turn");
      assert.equal(second.status, 200, JSON.stringify(second.json));
      const refreshed = await env.host.store.load();
      assert.ok(refreshed);
      assert.notEqual(refreshed.refreshToken, signedIn.refreshToken, "the rotated refresh token is in the store");
      assert.equal(env.mock.count("/oauth/token"), 2, "one refresh");
      assert.equal(calls()[1]?.headers["authorization"], `Bearer ${refreshed.accessToken}`);
    }));

  test("bad messages are 400; without a backend the chat route is 503", async () => {
    await withHost({}, async (env) => {
      for (const body of [{}, { message: "" }, { message: "  " }, { message: 5 }, { message: "x".repeat(2001) }]) {
        const answer = await call(env.host, CHAT_ROUTE, body);
        assert.deepEqual([answer.status, answer.json], [400, { error: "bad_message" }]);
      }
    });
    const mock = await startMockServer({});
    const host = await startWebHost({ provider: openaiCodexProvider({ issuer: mock.url }) });
    try {
      const answer = await call(host, CHAT_ROUTE, { message: "hi" });
      assert.deepEqual([answer.status, answer.json], [503, { error: "no_backend" }]);
    } finally {
      await host.stop();
      await mock.stop();
    }
  });
});

describe("what a foreign page cannot do", () => {
  test("a form POST (no CORS preflight) is 415 and starts nothing", () =>
    withHost({}, async (env) => {
      const res = await fetch(`${env.host.url}${API}/start`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", ...pageHeaders(env.host) },
        body: "a=b",
      });
      assert.equal(res.status, 415);
      assert.equal(env.mock.count(USERCODE_PATH), 0);
    }));

  test("a foreign Origin is 403 and a foreign Host (DNS rebinding) is 421; the page's own origin passes", () =>
    withHost({}, async (env) => {
      assert.equal((await call(env.host, `${API}/start`, {}, { origin: "https://evil.example" })).status, 403);
      assert.equal((await call(env.host, `${API}/start`, {}, { origin: "null" })).status, 403);
      const rebound = await new Promise<number>((resolve, reject) => {
        import("node:http").then(({ request }) => {
          const req = request(`${env.host.url}${API}/status`, { headers: { host: `evil.example:${env.host.port}` } }, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          });
          req.on("error", reject);
          req.end();
        }, reject);
      });
      assert.equal(rebound, 421);
      assert.equal(env.mock.count(USERCODE_PATH), 0);
      assert.equal((await call(env.host, `${API}/start`, {}, { origin: env.host.url })).status, 200);
    }));

  test("without the admin token every API route is 401 and says nothing: no flow, no account, no chat", () =>
    withHost({}, async (env) => {
      await start(env);
      const flowId = (await start(env)).flowId;
      assert.equal((await submitPage(env.mock, String((await call(env.host, `${API}/start`)).json["userCode"]), "approve", "/codex/device")).status, 200);
      const before = env.mock.log.length;
      for (const token of [undefined, "", "wrong", `${env.host.adminToken}x`]) {
        const headers: Record<string, string> = { origin: env.host.url };
        if (token !== undefined) headers["x-admin-token"] = token;
        for (const [path, body] of [
          [`${API}/start`, {}],
          [`${API}/poll`, { flowId }],
          [`${API}/cancel`, { flowId }],
          [CHAT_ROUTE, { message: "hi" }],
        ] as const) {
          const res = await fetch(`${env.host.url}${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
          assert.equal(res.status, 401, path);
          assert.deepEqual(await res.json(), { error: "admin_token_required" });
        }
        const status = await fetch(`${env.host.url}${API}/status`, { headers });
        assert.equal(status.status, 401);
        const text = await status.text();
        assert.ok(!text.includes(env.mock.account.email), "the account's email is not revealed");
      }
      assert.equal(env.mock.log.length, before, "nothing was asked upstream");
      assert.equal((await poll(env, flowId)).status, 200, "the flow is untouched");
    }));

  test("a POST without Origin, and any request another site made (Sec-Fetch-Site), is 403 even with the token", () =>
    withHost({}, async (env) => {
      const noOrigin = await fetch(`${env.host.url}${API}/start`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-admin-token": env.host.adminToken },
        body: "{}",
      });
      assert.equal(noOrigin.status, 403);
      for (const site of ["cross-site", "same-site", "none"]) {
        assert.equal((await call(env.host, `${API}/start`, {}, { "sec-fetch-site": site })).status, 403, site);
      }
      assert.equal(env.mock.count(USERCODE_PATH), 0);
      assert.equal((await call(env.host, `${API}/start`, {}, { "sec-fetch-site": "same-origin" })).status, 200);
      assert.equal((await fetch(`${env.host.url}${API}/status`, { headers: { "x-admin-token": env.host.adminToken } })).status, 200, "a GET without Origin (browsers send none on same-origin GETs) passes with the token");
    }));

  test("the page is served with a strict CSP and no inline script; paths outside the page's files are 404", () =>
    withHost({}, async (env) => {
      const res = await fetch(`${env.host.url}/`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get("content-security-policy") ?? "", /script-src 'self';/);
      assert.equal(res.headers.get("x-frame-options"), "DENY");
      const html = await res.text();
      assert.deepEqual(html.match(/<script[^>]*>/g), ['<script type="module" src="/admin.js">']);
      for (const path of ["/package.json", "/../package.json", "/public/index.html", "/server.ts", "/%2e%2e/server.ts"]) {
        assert.equal((await fetch(`${env.host.url}${path}`)).status, 404, path);
      }
    }));
});

describe("the page's UI states", () => {
  /** The "UI state" column of the error table in README.md. */
  const DOCUMENTED: Record<OAuthErrorCode | "pending" | "slow_down", string> = {
    pending: "waiting",
    slow_down: "waiting",
    access_denied: "denied",
    expired_token: "expired",
    device_flow_disabled: "disabled",
    reauth_required: "signInAgain",
    invalid_grant: "signInAgain",
    refresh_token_expired: "signInAgain",
    refresh_token_reused: "signInAgain",
    refresh_token_invalidated: "signInAgain",
    server_error: "retrying",
    network_error: "retrying",
    invalid_response: "retrying",
    redirect: "retrying",
    storage_error: "retrying",
    invalid_config: "config",
    insecure_endpoint: "config",
    oauth_error: "config",
    aborted: "failed",
    // Model-call codes never reach the device-code modal: the chat shows them (chatFailed / chatLimit).
    usage_limit_reached: "failed",
    usage_not_included: "failed",
    model_error: "failed",
    response_failed: "failed",
    stream_incomplete: "failed",
    idle_timeout: "failed",
    challenge: "failed",
  };
  const MODEL_CALL_CODES = ["usage_limit_reached", "usage_not_included", "model_error", "response_failed", "stream_incomplete", "idle_timeout", "challenge"];
  const load = async () => {
    const specifier: string = "../../demo/web/public/uiStates.js";
    return (await import(specifier)) as { uiStateFor(code: string): string; UI_STATES: string[]; POLLING_STATES: string[] };
  };

  test("every code maps to its documented UI state; retrying is exactly the retryable codes", async () => {
    const { uiStateFor, UI_STATES } = await load();
    for (const [code, state] of Object.entries(DOCUMENTED)) {
      assert.equal(uiStateFor(code), state, code);
      assert.ok(UI_STATES.includes(state));
      if (code !== "pending" && code !== "slow_down" && !MODEL_CALL_CODES.includes(code)) {
        const retryable = new OAuthDeviceFlowError(code as OAuthErrorCode, "m").retryable;
        assert.equal(state === "retrying", retryable, `${code}: retrying iff retryable`);
      }
    }
    assert.equal(uiStateFor("unknown_flow"), "expired", "a forgotten flow reads as an expired code");
    assert.equal(uiStateFor("something_new"), "failed");
  });

  test("only waiting and retrying keep the modal polling", async () => {
    const { POLLING_STATES } = await load();
    assert.deepEqual(POLLING_STATES, ["waiting", "retrying"]);
  });

  test("every state has English and German words", async () => {
    const specifier: string = "../../demo/web/public/i18n.js";
    const { TEXT } = (await import(specifier)) as { TEXT: Record<string, Record<string, string>> };
    const { UI_STATES } = await load();
    assert.deepEqual(Object.keys(TEXT["de"] ?? {}).sort(), Object.keys(TEXT["en"] ?? {}).sort(), "the same keys in both languages");
    for (const lang of ["en", "de"]) for (const state of UI_STATES) assert.ok(TEXT[lang]?.[`state_${state}`], `${lang} state_${state}`);
    assert.match(TEXT["en"]?.["noticeText"] ?? "", /experimental and a grey area of OpenAI's terms of use/);
    assert.match(TEXT["de"]?.["noticeText"] ?? "", /experimentell und eine Grauzone der Nutzungsbedingungen von OpenAI/);
  });
});

describe("sign-in through a file store (a replace, never a compare-and-swap save)", () => {
  async function withFileHost(body: (env: Env, path: string) => Promise<void>): Promise<void> {
    const dir = await fs.mkdtemp(join(tmpdir(), "web-signin-"));
    try {
      const path = join(dir, "tokens.json");
      await withHost({ store: createFileStore({ path }) }, (env) => body(env, path));
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  }

  /** One device sign-in through the admin API, approved on the mock's page. */
  async function connect(env: Env): Promise<OAuthTokens> {
    const { flowId, userCode } = await start(env);
    assert.equal((await submitPage(env.mock, userCode, "approve", "/codex/device")).status, 200);
    env.clock.now += 1000;
    assert.deepEqual((await poll(env, flowId)).json, { status: "connected", intervalMs: 1000 });
    const exchange = env.mock.log.filter((e) => e.path === "/oauth/token").at(-1);
    assert.ok(exchange);
    const reply = JSON.parse(exchange.reply) as { access_token: string; refresh_token: string };
    return { accessToken: reply.access_token, refreshToken: reply.refresh_token, tokenType: "Bearer" };
  }

  const fileTokens = async (path: string) => (JSON.parse(await fs.readFile(path, "utf8")) as { tokens: OAuthTokens }).tokens;

  test("a fresh file store: the sign-in is written to the file, status says connected and the chat works", () =>
    withFileHost(async (env, path) => {
      const signedIn = await connect(env);
      const stored = await fileTokens(path);
      assert.equal(stored.accessToken, signedIn.accessToken);
      assert.equal(stored.refreshToken, signedIn.refreshToken);
      const status = (await fetch(`${env.host.url}${API}/status`, { headers: pageHeaders(env.host) }).then((r) => r.json())) as Record<string, unknown>;
      assert.equal(status["connected"], true);
      const chat = await chatCall(env.host, "hi");
      assert.equal(chat.status, 200, JSON.stringify(chat));
      assert.equal(chat.lines.at(-1)?.["done"], true, "the streamed answer completed");
      const backend = env.mock.log.filter((e) => e.path === "/backend-api/codex/responses");
      assert.equal(backend[0]?.headers["authorization"], `Bearer ${signedIn.accessToken}`);
    }));

  test("a sign-in over an old login replaces it: the file, the status and the chat use the new login", () =>
    withFileHost(async (env, path) => {
      const first = await connect(env);
      assert.equal((await chatCall(env.host, "one")).status, 200);
      const second = await connect(env);
      assert.notEqual(second.accessToken, first.accessToken);
      assert.equal((await fileTokens(path)).refreshToken, second.refreshToken);
      assert.equal((await chatCall(env.host, "two")).status, 200);
      const backend = env.mock.log.filter((e) => e.path === "/backend-api/codex/responses");
      assert.equal(backend[1]?.headers["authorization"], `Bearer ${second.accessToken}`, "the session uses the new login at once");
    }));

  test("a sign-in over dead tokens (reauth_required latched) replaces them and the chat works again", () =>
    withFileHost(async (env, path) => {
      const dead: OAuthTokens = { accessToken: "at-dead", tokenType: "Bearer", refreshToken: "rt-dead", expiresAt: NOW - 1 };
      await fs.writeFile(path, JSON.stringify({ version: 1, tokens: dead }), { mode: 0o600 });
      const before = await call(env.host, CHAT_ROUTE, { message: "hi" });
      assert.deepEqual([before.status, before.json], [502, { error: "reauth_required" }]);
      const signedIn = await connect(env);
      assert.equal((await fileTokens(path)).accessToken, signedIn.accessToken);
      const after = await chatCall(env.host, "hi again");
      assert.equal(after.status, 200, JSON.stringify(after));
      assert.equal(after.lines.at(-1)?.["done"], true, "the streamed answer completed");
    }));
});
