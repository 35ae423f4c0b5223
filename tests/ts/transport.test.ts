/**
 * Transport rules at the wire: an endpoint that is not `https:` (or `http:` to the loopback host
 * spelt exactly `localhost`, `127.x.x.x` or `[::1]`) is refused before any request, including the
 * look-alikes that fool a hand-written check (`http://127.0.0.1.example.com`,
 * `http://127.0.0.1@example.com`, ...), in every endpoint field, for every operation and in the
 * factories; and a 3xx is never followed: one request, `redirect: "manual"`, the body unread, the
 * `Location` never requested.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  openaiCodexProvider,
  pollDeviceToken,
  refreshAccessToken,
  requestDeviceCode,
  revokeToken,
  rfc8628Provider,
  waitForDeviceToken,
  type DeviceFlowDeps,
  type OAuthErrorCode,
  type OAuthProvider,
} from "../../js/oauthDeviceFlow.ts";
import { FakeClock, FakeFetch, FakeSleep, ISSUER, T0, callRejects, codexCode, deps, json, rfcCode, throwsWith } from "./support/fakes.ts";

const RT = "rt_CANARY_transport_0a9d";
const codex = openaiCodexProvider({ issuer: ISSUER });
const rfc = rfc8628Provider({
  clientId: "cli",
  deviceAuthorizationEndpoint: "https://idp.example.com/device/code",
  tokenEndpoint: "https://idp.example.com/token",
  revocationEndpoint: "https://idp.example.com/revoke",
});

/** Look-alikes and other URLs that must never receive a request, with the code each gives. */
const refused: Array<[string, OAuthErrorCode]> = [
  ["http://auth.example.com/token", "insecure_endpoint"],
  ["http://127.0.0.1.example.com/token", "insecure_endpoint"],
  ["http://127.0.0.1.nip.io/token", "insecure_endpoint"],
  ["http://localhost.example.com/token", "insecure_endpoint"],
  ["http://localhost./token", "insecure_endpoint"],
  ["http://127.0.0.1./token", "insecure_endpoint"],
  ["http://127.1/token", "insecure_endpoint"],
  ["http://2130706433/token", "insecure_endpoint"],
  ["http://0x7f.0.0.1/token", "insecure_endpoint"],
  ["http://0177.0.0.1/token", "insecure_endpoint"],
  ["http://[::ffff:127.0.0.1]/token", "insecure_endpoint"],
  ["http://[0:0:0:0:0:0:0:1]/token", "insecure_endpoint"],
  ["http://evil.example#@127.0.0.1/token", "insecure_endpoint"],
  ["http://evil.example?@localhost/token", "insecure_endpoint"],
  ["ftp://127.0.0.1/token", "insecure_endpoint"],
  ["file:///etc/passwd", "insecure_endpoint"],
  ["ws://localhost/token", "insecure_endpoint"],
  // The host a URL parser reads (after the last "@", before the first "/", "\\", "?" or "#").
  ["http://127.0.0.1@example.com/token", "insecure_endpoint"],
  ["http://localhost@evil.example/token", "insecure_endpoint"],
  ["http://127.0.0.1:80@evil.example/token", "insecure_endpoint"],
  ["http://user:pa55word@evil.example/token", "insecure_endpoint"],
  ["http://evil.example\\@127.0.0.1/token", "insecure_endpoint"],
  // Userinfo, backslashes, whitespace and brackets that do not close are refused as malformed.
  ["http://evil@127.0.0.1/token", "invalid_config"],
  ["https://user:pass@idp.example.com/token", "invalid_config"],
  ["https://idp.example.com\\@localhost/token", "invalid_config"],
  ["http://[::1].evil.example/token", "invalid_config"],
  [" https://idp.example.com/token", "invalid_config"],
  ["https://idp.example.com/token\n", "invalid_config"],
  ["https://idp.exa\u0000mple.com/token", "invalid_config"],
  ["//idp.example.com/token", "invalid_config"],
  ["idp.example.com/token", "invalid_config"],
];

const allowed = [
  "https://idp.example.com/token",
  "HTTPS://IDP.EXAMPLE.COM:8443/token",
  "http://localhost/token",
  "http://LOCALHOST:3000/token",
  "http://127.0.0.1:8080/token",
  "http://127.255.255.254/token",
  "http://[::1]:9000/token",
];

type Call = (p: OAuthProvider, d: DeviceFlowDeps) => Promise<unknown>;
const calls: Array<[string, Call]> = [
  ["requestDeviceCode", (p, d) => requestDeviceCode(p, d)],
  ["pollDeviceToken", (p, d) => pollDeviceToken(p, p.kind === "rfc8628" ? rfcCode() : codexCode(), d)],
  ["waitForDeviceToken", (p, d) => waitForDeviceToken(p, p.kind === "rfc8628" ? rfcCode() : codexCode(), { ...d, sleep: async () => {} })],
  ["refreshAccessToken", (p, d) => refreshAccessToken(p, RT, d)],
  ["revokeToken", (p, d) => revokeToken(p, RT, d)],
];

const fields: Array<[OAuthProvider, keyof OAuthProvider]> = [
  [rfc, "deviceAuthorizationEndpoint"],
  [rfc, "tokenEndpoint"],
  [rfc, "revocationEndpoint"],
  [codex, "deviceAuthorizationEndpoint"],
  [codex, "tokenEndpoint"],
  [codex, "devicePollEndpoint"],
  [codex, "revocationEndpoint"],
  [codex, "redirectUri"],
  [codex, "verificationUri"],
];

describe("endpoints are checked before any request", () => {
  for (const [url, code] of refused) {
    test(`${JSON.stringify(url)} -> ${code} in every endpoint field, for every operation, with no request`, async () => {
      for (const [base, field] of fields) {
        const provider = { ...base, [field]: url } as OAuthProvider;
        for (const [name, call] of calls) {
          const f = new FakeFetch(json(200, {}), json(200, {}));
          await callRejects(() => call(provider, deps(f, new FakeClock(T0))), { code }).catch((e: unknown) => {
            throw new Error(`${base.kind} ${field} via ${name}: ${String(e)}`);
          });
          assert.equal(f.calls.length, 0, `${base.kind} ${field} via ${name} made a request`);
        }
      }
    });

    test(`${JSON.stringify(url)} -> ${code} from the factories`, () => {
      const e = throwsWith(() => rfc8628Provider({ clientId: "cli", deviceAuthorizationEndpoint: url, tokenEndpoint: "https://idp.example.com/t" }), { code });
      assert.doesNotMatch(e.message, /pa55word|user:pass/, "no password in the message");
      throwsWith(() => rfc8628Provider({ clientId: "cli", deviceAuthorizationEndpoint: "https://idp.example.com/d", tokenEndpoint: url }), { code });
      if (!url.endsWith("/token")) return;
      throwsWith(() => openaiCodexProvider({ issuer: url.slice(0, -"/token".length) }), { code });
    });
  }

  for (const url of allowed) {
    test(`${url} is accepted and requested as written`, async () => {
      const provider = { ...rfc, tokenEndpoint: url };
      const f = new FakeFetch(json(200, { access_token: "at_ok" }));
      await refreshAccessToken(provider, RT, deps(f, new FakeClock(T0)));
      assert.deepEqual(f.calls.map((c) => c.url), [url]);
    });
  }
});

describe("redirects are never followed", () => {
  const location = "https://attacker.example/steal";
  const ops: Array<[string, OAuthProvider, Call, number]> = [
    ["requestDeviceCode (openai-codex)", codex, calls[0]![1], 0],
    ["requestDeviceCode (rfc8628)", rfc, calls[0]![1], 0],
    ["pollDeviceToken (rfc8628)", rfc, calls[1]![1], 0],
    ["pollDeviceToken (openai-codex poll)", codex, calls[1]![1], 0],
    ["pollDeviceToken (openai-codex code exchange)", codex, calls[1]![1], 1],
    ["refreshAccessToken", codex, calls[3]![1], 0],
    ["revokeToken", rfc, calls[4]![1], 0],
  ];
  for (const status of [301, 302, 303, 307, 308]) {
    for (const [name, provider, call, before] of ops) {
      test(`${name}: ${status} -> redirect, one request, redirect "manual", body unread, Location never requested`, async () => {
        const approval = json(200, { authorization_code: "ac_CANARY_transport", code_verifier: "cv_CANARY_transport" });
        const hop = { status, headers: { Location: location }, body: `<html>moved to ${location}</html>` };
        const f = new FakeFetch(...(before ? [approval] : []), hop, json(200, { access_token: "at_stolen" }));
        const e = await callRejects(() => call(provider, deps(f, new FakeClock(T0))), { code: "redirect", status });
        assert.equal(f.calls.length, before + 1);
        for (const c of f.calls) {
          assert.equal(c.redirect, "manual");
          assert.notEqual(c.url, location);
        }
        assert.equal(f.textReads, before, "the redirect's body is not read");
        assert.doesNotMatch(e.message, /attacker/);
      });
    }
  }

  test("a whole openai-codex login sends every request with redirect: manual to the configured endpoints only", async () => {
    const clock = new FakeClock(T0);
    const f = new FakeFetch(
      json(200, { device_auth_id: "dai_1", user_code: "ABCD-1234", interval: "5" }),
      { status: 403, body: "" },
      json(200, { authorization_code: "ac_1", code_verifier: "cv_1" }),
      json(200, { access_token: "at_1", refresh_token: "rt_1" }),
    );
    const d = deps(f, clock);
    const code = await requestDeviceCode(codex, d);
    await waitForDeviceToken(codex, code, { ...d, sleep: new FakeSleep(clock).sleep });
    assert.deepEqual(
      f.calls.map((c) => [c.url, c.redirect, c.method]),
      [
        [`${ISSUER}/api/accounts/deviceauth/usercode`, "manual", "POST"],
        [`${ISSUER}/api/accounts/deviceauth/token`, "manual", "POST"],
        [`${ISSUER}/api/accounts/deviceauth/token`, "manual", "POST"],
        [`${ISSUER}/oauth/token`, "manual", "POST"],
      ],
    );
  });
});
