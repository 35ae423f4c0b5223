/**
 * The embedded mock's tooling for other tests, through the wasm module over real loopback HTTP:
 * the approval page, injected faults (5xx, 429 with Retry-After, HTML pages, delays), the request
 * log, routing refusals, loopback-only binding and stop().
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  pollDeviceToken,
  requestDeviceCode,
  waitForDeviceToken,
  type DeviceFlowEvent,
} from "../../js/oauthDeviceFlow.ts";
import { startMockServer } from "../../demo/mockServer.ts";
import { rejectsWith } from "./support/fakes.ts";
import { codexProvider, rawPost, realDeps, rfcProvider, submitPage, withMock } from "./support/mockSupport.ts";

const USERCODE = "/api/accounts/deviceauth/usercode";

describe("mock approval page", () => {
  test("GET shows a form with the code from the link filled in and Approve/Deny buttons", () =>
    withMock({}, async (mock) => {
      const code = await requestDeviceCode(rfcProvider(mock), realDeps());
      const res = await fetch(code.verificationUriComplete ?? "");
      const page = await res.text();
      assert.equal(res.status, 200);
      assert.match(res.headers.get("content-type") ?? "", /^text\/html/);
      assert.match(page, /<form method="post" action="\/device">/);
      assert.ok(page.includes(`name="user_code" value="${code.userCode}"`));
      assert.match(page, /name="action" value="approve"/);
      assert.match(page, /name="action" value="deny"/);
      assert.equal(mock.count("/device", "GET"), 1);
    }));

  test("the code may be typed in any case without the dash; a decided code is 409, an unknown one 404, an expired one 410", () =>
    withMock({}, async (mock) => {
      const provider = codexProvider(mock);
      const code = await requestDeviceCode(provider, realDeps());
      const typed = code.userCode.replace("-", "").toLowerCase();
      assert.equal((await submitPage(mock, typed, "approve", "/codex/device")).status, 200);
      assert.equal((await pollDeviceToken(provider, code, realDeps())).status, "success");
      assert.equal((await submitPage(mock, code.userCode, "deny", "/codex/device")).status, 409);
      const unknown = await submitPage(mock, "BBBB-BBBB", "approve", "/codex/device");
      assert.equal(unknown.status, 404);
      assert.match(unknown.text, /not known/);
      const stale = await requestDeviceCode(provider, realDeps());
      mock.expire(stale.userCode);
      assert.equal((await submitPage(mock, stale.userCode, "approve", "/codex/device")).status, 410);
      assert.equal(mock.approve(stale.userCode), false);
    }));

  test("a POST without a valid action decides nothing (400) and the code stays pending", () =>
    withMock({}, async (mock) => {
      const provider = rfcProvider(mock);
      const code = await requestDeviceCode(provider, realDeps());
      assert.equal((await submitPage(mock, code.userCode, "maybe")).status, 400);
      assert.equal((await pollDeviceToken(provider, code, realDeps())).status, "pending");
    }));
});

describe("mock faults", () => {
  test("a 503 fault hits one request to its path and is then used up", () =>
    withMock({}, async (mock) => {
      mock.fault({ path: USERCODE, status: 503 });
      await rejectsWith(requestDeviceCode(codexProvider(mock), realDeps()), { code: "server_error", status: 503 });
      assert.equal(mock.knobs.faults.length, 0);
      await requestDeviceCode(codexProvider(mock), realDeps());
      assert.deepEqual(mock.log.map((e) => e.status), [503, 200]);
    }));

  test("a 429 fault carries Retry-After, which the module reports as retryAfterMs", () =>
    withMock({}, async (mock) => {
      mock.fault({ status: 429, retryAfter: "7" });
      await rejectsWith(requestDeviceCode(rfcProvider(mock), realDeps()), { code: "server_error", status: 429, retryAfterMs: 7000 });
      assert.equal(mock.log[0]?.path, "/rfc8628/device_authorization", "a fault without a path hits any path");
    }));

  test("an HTML page on 200 is invalid_response; on 502 it is server_error", () =>
    withMock({}, async (mock) => {
      mock.fault({ path: USERCODE, html: true });
      mock.fault({ path: USERCODE, html: true, status: 502 });
      await rejectsWith(requestDeviceCode(codexProvider(mock), realDeps()), { code: "invalid_response", status: 200 });
      await rejectsWith(requestDeviceCode(codexProvider(mock), realDeps()), { code: "server_error", status: 502 });
      assert.match(mock.log[0]?.reply ?? "", /^<!DOCTYPE html>/);
    }));

  test("a delay longer than timeoutMs is network_error; a shorter one only slows the reply", () =>
    withMock({}, async (mock) => {
      mock.fault({ path: USERCODE, delayMs: 400 });
      await rejectsWith(requestDeviceCode(codexProvider(mock), realDeps({ timeoutMs: 100 })), { code: "network_error" });
      mock.fault({ path: USERCODE, delayMs: 50 });
      const started = Date.now();
      await requestDeviceCode(codexProvider(mock), realDeps());
      assert.ok(Date.now() - started >= 45, "the reply waited for the delay");
    }));

  test("times: 2 hits two requests; waitForDeviceToken retries through them and then succeeds", () =>
    withMock({}, async (mock) => {
      const provider = codexProvider(mock);
      const code = await requestDeviceCode(provider, realDeps());
      mock.fault({ path: "/api/accounts/deviceauth/token", status: 500, times: 2 });
      mock.approve(code.userCode);
      const events: DeviceFlowEvent[] = [];
      const sleeps: number[] = [];
      await waitForDeviceToken(provider, code, {
        ...realDeps(),
        onEvent: (e) => events.push(e),
        sleep: async (ms) => {
          sleeps.push(ms);
        },
      });
      assert.deepEqual(sleeps, [1000, 1000, 2000]);
      assert.deepEqual(
        events.filter((e) => e.type === "retrying"),
        [
          { type: "retrying", code: "server_error", attempt: 1, delayMs: 1000 },
          { type: "retrying", code: "server_error", attempt: 2, delayMs: 2000 },
        ],
      );
      assert.deepEqual(mock.log.filter((e) => e.path === "/api/accounts/deviceauth/token").map((e) => e.status), [500, 500, 200]);
    }));

  test("a custom body fault sends exactly that body (here a 403 regional block the module surfaces as oauth_error)", () =>
    withMock({}, async (mock) => {
      const provider = codexProvider(mock);
      const code = await requestDeviceCode(provider, realDeps());
      mock.fault({ path: "/api/accounts/deviceauth/token", status: 403, body: '{"error":{"code":"unsupported_country_region_territory"}}' });
      await rejectsWith(pollDeviceToken(provider, code, realDeps()), {
        code: "oauth_error",
        status: 403,
        serverCode: "unsupported_country_region_territory",
      });
    }));
});

describe("mock knobs", () => {
  test("autoDecide approve after 2 polls: two pending answers, then tokens, with no page involved", () =>
    withMock({ autoDecide: { action: "approve", afterPolls: 2 } }, async (mock) => {
      const provider = codexProvider(mock);
      const code = await requestDeviceCode(provider, realDeps());
      assert.equal((await pollDeviceToken(provider, code, realDeps())).status, "pending");
      assert.equal((await pollDeviceToken(provider, code, realDeps())).status, "pending");
      assert.equal((await pollDeviceToken(provider, code, realDeps())).status, "success");
      assert.equal(mock.count("/codex/device"), 0);
    }));

  test("autoDecide deny (set live on the knobs) makes the next rfc8628 poll access_denied", () =>
    withMock({}, async (mock) => {
      const provider = rfcProvider(mock);
      const code = await requestDeviceCode(provider, realDeps());
      assert.equal((await pollDeviceToken(provider, code, realDeps())).status, "pending");
      mock.knobs.autoDecide = { action: "deny", afterPolls: 0 };
      await rejectsWith(pollDeviceToken(provider, code, realDeps()), { code: "access_denied", status: 400, serverCode: "access_denied" });
    }));
});

describe("mock plumbing", () => {
  test("the log records method, path, query, lowercased headers and body; count() counts by path and method", () =>
    withMock({}, async (mock) => {
      await rawPost(`${mock.url}/oauth/token?x=1`, "a=b", "application/x-www-form-urlencoded", { "X-Trace": "t1" });
      await fetch(`${mock.url}/device`);
      const [first] = mock.log;
      assert.equal(first?.method, "POST");
      assert.equal(first?.path, "/oauth/token");
      assert.equal(first?.query, "x=1");
      assert.equal(first?.headers["x-trace"], "t1");
      assert.equal(first?.body, "a=b");
      assert.equal(first?.status, 400);
      assert.equal(mock.count("/oauth/token"), 1);
      assert.equal(mock.count("/device", "GET"), 1);
      assert.equal(mock.count("/device"), 0);
    }));

  test("unknown paths are 404, a GET on an API route is 405, and a non-JSON OpenAI request is 415", () =>
    withMock({}, async (mock) => {
      assert.equal((await fetch(`${mock.url}/nope`, { method: "POST" })).status, 404);
      assert.equal((await fetch(`${mock.url}${USERCODE}`)).status, 405);
      assert.equal((await rawPost(`${mock.url}${USERCODE}`, "client_id=x", "application/x-www-form-urlencoded")).status, 415);
    }));

  test("it listens on 127.0.0.1 with an ephemeral port, and stop() closes it", async () => {
    const a = await startMockServer();
    const b = await startMockServer();
    try {
      assert.match(a.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.notEqual(a.port, b.port);
      assert.equal(a.url, `http://127.0.0.1:${a.port}`);
    } finally {
      await b.stop();
    }
    await fetch(`${a.url}/device`);
    await a.stop();
    await assert.rejects(fetch(`${a.url}/device`), "connection refused after stop()");
  });
});
