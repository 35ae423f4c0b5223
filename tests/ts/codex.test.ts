/** The openai-codex provider kind at the wire: user code, poll (+ code exchange), refresh, revoke. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  OPENAI_CODEX,
  openaiCodexProvider,
  pollDeviceToken,
  refreshAccessToken,
  requestDeviceCode,
  revokeToken,
  type OAuthTokens,
} from "../../js/oauthDeviceFlow.ts";
import {
  FakeClock,
  FakeFetch,
  FORM_HEADERS,
  ISSUER,
  JSON_HEADERS,
  T0,
  assertWire,
  codexCode,
  deps,
  form,
  html,
  json,
  jwt,
  rejectsWith,
  throwsWith,
} from "./support/fakes.ts";

const CLIENT = "app_EMoamEEZ73f0CkXaXp7hrann";
const provider = openaiCodexProvider({ issuer: ISSUER });
const withHeaders = openaiCodexProvider({
  issuer: ISSUER,
  headers: { "User-Agent": "host/1.2.3", originator: "codex_cli_rs" },
});
const EXTRA = { "User-Agent": "host/1.2.3", originator: "codex_cli_rs" };

describe("OPENAI_CODEX and openaiCodexProvider", () => {
  test("OPENAI_CODEX is frozen and has exactly the public Codex client at https://auth.openai.com", () => {
    assert.ok(Object.isFrozen(OPENAI_CODEX));
    assert.deepEqual({ ...OPENAI_CODEX }, {
      kind: "openai-codex",
      clientId: CLIENT,
      deviceAuthorizationEndpoint: "https://auth.openai.com/api/accounts/deviceauth/usercode",
      tokenEndpoint: "https://auth.openai.com/oauth/token",
      devicePollEndpoint: "https://auth.openai.com/api/accounts/deviceauth/token",
      redirectUri: "https://auth.openai.com/deviceauth/callback",
      verificationUri: "https://auth.openai.com/codex/device",
      revocationEndpoint: "https://auth.openai.com/oauth/revoke",
    });
    assert.equal(OPENAI_CODEX.headers, undefined, "no extra headers");
    assert.throws(() => {
      (OPENAI_CODEX as { clientId: string }).clientId = "other";
    }, TypeError);
    assert.equal(OPENAI_CODEX.clientId, CLIENT);
  });

  test("openaiCodexProvider() with no options equals OPENAI_CODEX", () => {
    assert.deepEqual(openaiCodexProvider(), { ...OPENAI_CODEX });
  });

  test("openaiCodexProvider derives every endpoint from a loopback http issuer, keeps clientId and headers, and is JSON-serialisable", () => {
    const p = openaiCodexProvider({ issuer: `${ISSUER}/`, clientId: "app_custom", headers: EXTRA });
    assert.deepEqual(p, {
      kind: "openai-codex",
      clientId: "app_custom",
      deviceAuthorizationEndpoint: `${ISSUER}/api/accounts/deviceauth/usercode`,
      tokenEndpoint: `${ISSUER}/oauth/token`,
      devicePollEndpoint: `${ISSUER}/api/accounts/deviceauth/token`,
      redirectUri: `${ISSUER}/deviceauth/callback`,
      verificationUri: `${ISSUER}/codex/device`,
      revocationEndpoint: `${ISSUER}/oauth/revoke`,
      headers: EXTRA,
    });
    assert.deepEqual(JSON.parse(JSON.stringify(p)), p);
  });

  test("openaiCodexProvider throws insecure_endpoint synchronously for an http issuer that is not loopback", () => {
    throwsWith(() => openaiCodexProvider({ issuer: "http://auth.example.com" }), { code: "insecure_endpoint" });
    throwsWith(() => openaiCodexProvider({ issuer: "http://127.0.0.1.nip.io" }), { code: "insecure_endpoint" });
  });

  test("openaiCodexProvider throws invalid_config for options it does not take (scope, clientSecret, typos)", () => {
    for (const extra of [{ scope: "openid" }, { clientSecret: "s" }, { issuerr: ISSUER }]) {
      throwsWith(() => openaiCodexProvider({ issuer: ISSUER, ...extra } as never), { code: "invalid_config" });
    }
  });

  test("openaiCodexProvider throws invalid_config for headers that name Accept, Content-Type or Authorization in any casing", () => {
    for (const name of ["Accept", "content-type", "AUTHORIZATION"]) {
      throwsWith(() => openaiCodexProvider({ issuer: ISSUER, headers: { [name]: "x" } }), { code: "invalid_config" });
    }
  });
});

describe("openai-codex requestDeviceCode", () => {
  test("sends JSON {client_id} to {issuer}/api/accounts/deviceauth/usercode with exactly Accept and Content-Type", async () => {
    const f = new FakeFetch(json(200, { device_auth_id: "dai_1", user_code: "ABCD-1234", interval: "5" }));
    const c = new FakeClock(T0);
    await requestDeviceCode(provider, deps(f, c));
    assert.equal(f.calls.length, 1);
    assertWire(f.calls[0], {
      url: `${ISSUER}/api/accounts/deviceauth/usercode`,
      headers: JSON_HEADERS,
      body: `{"client_id":"${CLIENT}"}`,
    });
  });

  test("adds provider.headers to the request", async () => {
    const f = new FakeFetch(json(200, { device_auth_id: "dai_1", user_code: "ABCD-1234" }));
    await requestDeviceCode(withHeaders, deps(f, new FakeClock()));
    assertWire(f.calls[0], {
      url: `${ISSUER}/api/accounts/deviceauth/usercode`,
      headers: { ...JSON_HEADERS, ...EXTRA },
      body: `{"client_id":"${CLIENT}"}`,
    });
  });

  test("returns the device code with the provider's verificationUri, interval from a string, and a 15-minute expiry on the one clock reading", async () => {
    const f = new FakeFetch(json(200, { device_auth_id: "dai_1", user_code: "ABCD-1234", interval: "7" }));
    const c = new FakeClock(T0);
    const code = await requestDeviceCode(provider, deps(f, c));
    assert.deepEqual(code, {
      deviceCode: "dai_1",
      userCode: "ABCD-1234",
      verificationUri: `${ISSUER}/codex/device`,
      intervalMs: 7000,
      expiresAt: T0 + 15 * 60_000,
    });
    assert.equal(c.reads, 1, "the clock is read exactly once");
  });

  test("accepts the usercode alias and a numeric interval; a missing or out-of-range interval means 5 s", async () => {
    const c = new FakeClock(T0);
    const cases: Array<[Record<string, unknown>, number]> = [
      [{ device_auth_id: "d", usercode: "U-1", interval: 3 }, 3000],
      [{ device_auth_id: "d", usercode: "U-1" }, 5000],
      [{ device_auth_id: "d", usercode: "U-1", interval: "soon" }, 5000],
      [{ device_auth_id: "d", usercode: "U-1", interval: 0 }, 5000],
      [{ device_auth_id: "d", usercode: "U-1", interval: 3601 }, 5000],
      [{ device_auth_id: "d", usercode: "U-1", interval: " 2.5 " }, 2500],
      [{ device_auth_id: "d", usercode: "U-1", interval: 1 }, 1000],
      [{ device_auth_id: "d", usercode: "U-1", interval: "3600" }, 3_600_000],
      [{ device_auth_id: "d", usercode: "U-1", interval: 0.5 }, 5000],
      [{ device_auth_id: "d", usercode: "U-1", interval: "1e1" }, 5000],
      [{ device_auth_id: "d", usercode: "U-1", interval: "-5" }, 5000],
      [{ device_auth_id: "d", usercode: "U-1", interval: "5." }, 5000],
    ];
    for (const [body, intervalMs] of cases) {
      const code = await requestDeviceCode(provider, deps(new FakeFetch(json(200, body)), c));
      assert.equal(code.userCode, "U-1");
      assert.equal(code.intervalMs, intervalMs, JSON.stringify(body));
    }
  });

  test("a usable expires_in from the server replaces the 15-minute default", async () => {
    const f = new FakeFetch(json(200, { device_auth_id: "d", user_code: "U", expires_in: "600" }));
    const code = await requestDeviceCode(provider, deps(f, new FakeClock(T0)));
    assert.equal(code.expiresAt, T0 + 600_000);
  });

  test("duplicate JSON keys: the last one wins, as with JSON.parse", async () => {
    const f = new FakeFetch({ status: 200, body: '{"device_auth_id":"first","user_code":"U","device_auth_id":"last"}' });
    assert.equal((await requestDeviceCode(provider, deps(f, new FakeClock(T0)))).deviceCode, "last");
  });

  test("a 404 on the user-code endpoint is device_flow_disabled with status 404", async () => {
    const f = new FakeFetch(json(404, { detail: "Not Found" }));
    await rejectsWith(requestDeviceCode(provider, deps(f, new FakeClock())), {
      code: "device_flow_disabled",
      retryable: false,
      status: 404,
    });
  });

  test("a reply without device_auth_id is invalid_response", async () => {
    const f = new FakeFetch(json(200, { user_code: "ABCD-1234" }));
    await rejectsWith(requestDeviceCode(provider, deps(f, new FakeClock())), { code: "invalid_response", status: 200 });
  });
});

describe("openai-codex pollDeviceToken", () => {
  const pollWire = (call = 0) => ({
    url: `${ISSUER}/api/accounts/deviceauth/token`,
    headers: JSON_HEADERS,
    body: `{"device_auth_id":"dev_auth_id_CANARY_7f3a9c","user_code":"ABCD-1234"}`,
    call,
  });

  test("polls {issuer}/api/accounts/deviceauth/token with JSON {device_auth_id, user_code} and no client_id or grant_type", async () => {
    const f = new FakeFetch({ status: 403 });
    await pollDeviceToken(provider, codexCode(), deps(f, new FakeClock(T0)));
    const w = pollWire();
    assertWire(f.calls[0], w);
  });

  test("403 with an empty body is pending with the code's interval", async () => {
    const f = new FakeFetch({ status: 403 });
    assert.deepEqual(await pollDeviceToken(provider, codexCode(), deps(f, new FakeClock(T0))), {
      status: "pending",
      intervalMs: 5000,
    });
  });

  test("403 with JSON without a code is pending", async () => {
    const f = new FakeFetch(json(403, { detail: "not yet" }));
    assert.deepEqual(await pollDeviceToken(provider, codexCode(), deps(f, new FakeClock(T0))), {
      status: "pending",
      intervalMs: 5000,
    });
  });

  test("404 is pending, also with a non-JSON body", async () => {
    for (const reply of [{ status: 404 }, json(404, {}), html(404)]) {
      const f = new FakeFetch(reply);
      assert.deepEqual(await pollDeviceToken(provider, codexCode(), deps(f, new FakeClock(T0))), {
        status: "pending",
        intervalMs: 5000,
      });
    }
  });

  test("deviceauth_authorization_pending in error.code is pending at any status", async () => {
    for (const status of [400, 403, 200]) {
      const f = new FakeFetch(json(status, { error: { code: "deviceauth_authorization_pending" } }));
      const r = await pollDeviceToken(provider, codexCode({ intervalMs: 8000 }), deps(f, new FakeClock(T0)));
      assert.deepEqual(r, { status: "pending", intervalMs: 8000 });
    }
  });

  test("slow_down adds 5 s to the code's interval without mutating the code", async () => {
    const code = codexCode();
    const before = structuredClone(code);
    const f = new FakeFetch(json(400, { error: "slow_down" }));
    assert.deepEqual(await pollDeviceToken(provider, code, deps(f, new FakeClock(T0))), {
      status: "slow_down",
      intervalMs: 10_000,
    });
    assert.deepEqual(code, before);
  });

  test("a 403 with an unknown JSON error code (regional block) is oauth_error carrying that code", async () => {
    const f = new FakeFetch(json(403, { error: { code: "unsupported_country_region_territory", message: "Not here" } }));
    await rejectsWith(pollDeviceToken(provider, codexCode(), deps(f, new FakeClock(T0))), {
      code: "oauth_error",
      status: 403,
      serverCode: "unsupported_country_region_territory",
    });
  });

  test("a 404 whose JSON carries an unknown error code is oauth_error (rule 4 comes before the poll 404 convention)", async () => {
    const f = new FakeFetch(json(404, { error: "not_found" }));
    await rejectsWith(pollDeviceToken(provider, codexCode(), deps(f, new FakeClock(T0))), {
      code: "oauth_error",
      status: 404,
      serverCode: "not_found",
    });
  });

  test("a 403 with an HTML body is invalid_response, not pending", async () => {
    const f = new FakeFetch(html(403));
    await rejectsWith(pollDeviceToken(provider, codexCode(), deps(f, new FakeClock(T0))), {
      code: "invalid_response",
      status: 403,
    });
  });

  test("deviceauth_expired is expired_token", async () => {
    const f = new FakeFetch(json(403, { error: { code: "deviceauth_expired" } }));
    await rejectsWith(pollDeviceToken(provider, codexCode(), deps(f, new FakeClock(T0))), {
      code: "expired_token",
      status: 403,
    });
  });

  test("success is two requests: the poll, then a form code exchange with the exact body, one clock reading", async () => {
    const access = jwt({ exp: (T0 + 3_600_000) / 1000 });
    const c = new FakeClock(T0);
    const f = new FakeFetch(
      () => {
        c.advance(700); // a slow round trip: expiresAt still counts from the one reading
        return json(200, { authorization_code: "ac_CANARY_9a8b", code_verifier: "cv_CANARY_7d6e", code_challenge: "cc" });
      },
      json(200, {
        id_token: "idt_1",
        access_token: access,
        refresh_token: "rt_1",
        expires_in: 3600,
        token_type: "bearer",
      }),
    );
    const r = await pollDeviceToken(withHeaders, codexCode(), deps(f, c));
    assert.equal(f.calls.length, 2);
    assertWire(f.calls[0], { ...pollWire(), headers: { ...JSON_HEADERS, ...EXTRA } });
    assertWire(f.calls[1], {
      url: `${ISSUER}/oauth/token`,
      headers: { ...FORM_HEADERS, ...EXTRA },
      body:
        "grant_type=authorization_code&code=ac_CANARY_9a8b" +
        "&redirect_uri=http%3A%2F%2F127.0.0.1%3A8080%2Fdeviceauth%2Fcallback" +
        `&client_id=${CLIENT}&code_verifier=cv_CANARY_7d6e`,
    });
    assert.equal(
      f.calls[1]!.body,
      form([
        ["grant_type", "authorization_code"],
        ["code", "ac_CANARY_9a8b"],
        ["redirect_uri", `${ISSUER}/deviceauth/callback`],
        ["client_id", CLIENT],
        ["code_verifier", "cv_CANARY_7d6e"],
      ]),
    );
    assert.deepEqual(r, {
      status: "success",
      tokens: {
        accessToken: access,
        tokenType: "Bearer",
        refreshToken: "rt_1",
        idToken: "idt_1",
        expiresAt: T0 + 3_600_000,
      },
    });
    assert.equal(c.reads, 1, "one clock reading for both requests");
  });

  test("the code exchange form-encodes special characters as URLSearchParams does", async () => {
    const f = new FakeFetch(
      json(200, { authorization_code: "a c+/=&é", code_verifier: "v~!*'()" }),
      json(200, { access_token: "at" }),
    );
    await pollDeviceToken(provider, codexCode(), deps(f, new FakeClock(T0)));
    assert.equal(
      f.calls[1]!.body,
      form([
        ["grant_type", "authorization_code"],
        ["code", "a c+/=&é"],
        ["redirect_uri", `${ISSUER}/deviceauth/callback`],
        ["client_id", CLIENT],
        ["code_verifier", "v~!*'()"],
      ]),
    );
  });

  test("a poll success without code_verifier is invalid_response and makes no exchange", async () => {
    const f = new FakeFetch(json(200, { authorization_code: "ac" }));
    await rejectsWith(pollDeviceToken(provider, codexCode(), deps(f, new FakeClock(T0))), {
      code: "invalid_response",
      status: 200,
    });
    assert.equal(f.calls.length, 1);
  });

  test("a transient failure of the exchange rejects retryably and the next poll tries again", async () => {
    const f = new FakeFetch(
      json(200, { authorization_code: "ac1", code_verifier: "cv1" }),
      html(502),
      json(200, { authorization_code: "ac2", code_verifier: "cv2" }),
      json(200, { access_token: "at", refresh_token: "rt" }),
    );
    const code = codexCode();
    await rejectsWith(pollDeviceToken(provider, code, deps(f, new FakeClock(T0))), {
      code: "server_error",
      status: 502,
    });
    const r = await pollDeviceToken(provider, code, deps(f, new FakeClock(T0 + 5000)));
    assert.equal(r.status, "success");
    assert.equal(f.calls.length, 4);
    assert.match(String(f.calls[3]!.body), /^grant_type=authorization_code&code=ac2&/);
  });

  test("a rejected exchange (invalid_grant) rejects with invalid_grant", async () => {
    const f = new FakeFetch(
      json(200, { authorization_code: "ac1", code_verifier: "cv1" }),
      json(400, { error: "invalid_grant", error_description: "code already used" }),
    );
    await rejectsWith(pollDeviceToken(provider, codexCode(), deps(f, new FakeClock(T0))), {
      code: "invalid_grant",
      status: 400,
      serverCode: "invalid_grant",
    });
  });

  test("a 401 with an empty body on the exchange is invalid_grant", async () => {
    const f = new FakeFetch(json(200, { authorization_code: "ac1", code_verifier: "cv1" }), { status: 401 });
    await rejectsWith(pollDeviceToken(provider, codexCode(), deps(f, new FakeClock(T0))), {
      code: "invalid_grant",
      status: 401,
    });
  });

  test("a clock reading at or past code.expiresAt rejects expired_token with no request", async () => {
    const f = new FakeFetch();
    const code = codexCode();
    await rejectsWith(pollDeviceToken(provider, code, deps(f, new FakeClock(code.expiresAt))), {
      code: "expired_token",
    });
    assert.equal(f.calls.length, 0);
  });
});

describe("openai-codex refreshAccessToken", () => {
  const refreshBody = (rt: string) => `{"client_id":"${CLIENT}","grant_type":"refresh_token","refresh_token":"${rt}"}`;

  test("sends JSON {client_id, grant_type, refresh_token} to {issuer}/oauth/token and keeps the rotated refresh token", async () => {
    const f = new FakeFetch(
      json(200, { access_token: "at_2", refresh_token: "rt_2", id_token: "id_2", expires_in: 864000 }),
    );
    const c = new FakeClock(T0);
    const t = await refreshAccessToken(withHeaders, "rt_1", deps(f, c));
    assertWire(f.calls[0], {
      url: `${ISSUER}/oauth/token`,
      headers: { ...JSON_HEADERS, ...EXTRA },
      body: refreshBody("rt_1"),
    });
    assert.deepEqual(t, {
      accessToken: "at_2",
      tokenType: "Bearer",
      refreshToken: "rt_2",
      idToken: "id_2",
      expiresAt: T0 + 864_000_000,
    });
    assert.equal(c.reads, 1);
  });

  test("expiresAt counts from the clock reading taken before the request, even if the round trip is slow", async () => {
    const c = new FakeClock(T0);
    const f = new FakeFetch(() => {
      c.advance(2500);
      return json(200, { access_token: "at", expires_in: 100 });
    });
    const t = await refreshAccessToken(provider, "rt", deps(f, c));
    assert.equal(t.expiresAt, T0 + 100_000);
    assert.equal(c.reads, 1);
  });

  test("revokeToken reads the clock exactly once", async () => {
    const c = new FakeClock(T0);
    await revokeToken(provider, "rt", deps(new FakeFetch({ status: 200 }), c));
    assert.equal(c.reads, 1);
  });

  test("a 2xx that has access_token beside an unknown error code is a success", async () => {
    const f = new FakeFetch(json(200, { access_token: "at_ok", error: "something_odd" }));
    assert.equal((await refreshAccessToken(provider, "rt", deps(f, new FakeClock(T0)))).accessToken, "at_ok");
  });

  test("an out-of-range expires_in falls back to the JWT exp", async () => {
    const access = jwt({ exp: 1_900_000_000 });
    for (const expires_in of [0, -1, 31_536_001, "1e3"]) {
      const f = new FakeFetch(json(200, { access_token: access, expires_in }));
      const t = await refreshAccessToken(provider, "rt", deps(f, new FakeClock(T0)));
      assert.equal(t.expiresAt, 1_900_000_000_000, String(expires_in));
    }
  });

  test("refreshing OAuthTokens sends its refreshToken and keeps idToken and scope the reply omits", async () => {
    const prev: OAuthTokens = {
      accessToken: "at_1",
      tokenType: "Bearer",
      refreshToken: "rt_1",
      idToken: "id_1",
      scope: "openid profile",
      expiresAt: T0 - 1,
    };
    const f = new FakeFetch(json(200, { access_token: "at_2", refresh_token: "rt_2" }));
    const t = await refreshAccessToken(provider, prev, deps(f, new FakeClock(T0)));
    assert.equal(f.calls[0]!.body, refreshBody("rt_1"));
    assert.deepEqual(t, {
      accessToken: "at_2",
      tokenType: "Bearer",
      refreshToken: "rt_2",
      idToken: "id_1",
      scope: "openid profile",
    });
  });

  test("an omitted, null or empty refresh_token in the reply keeps the previous one", async () => {
    for (const extra of [{}, { refresh_token: null }, { refresh_token: "" }]) {
      const f = new FakeFetch(json(200, { access_token: "at_2", ...extra }));
      const t = await refreshAccessToken(provider, "rt_keep", deps(f, new FakeClock(T0)));
      assert.equal(t.refreshToken, "rt_keep", JSON.stringify(extra));
    }
  });

  test("expiresAt comes from the new access token's JWT exp when expires_in is absent, else it is absent", async () => {
    const access = jwt({ exp: 1_800_000_000 });
    let f = new FakeFetch(json(200, { access_token: access }));
    assert.equal((await refreshAccessToken(provider, "rt", deps(f, new FakeClock(T0)))).expiresAt, 1_800_000_000_000);
    f = new FakeFetch(json(200, { access_token: "opaque", expires_in: "bogus" }));
    const t = await refreshAccessToken(provider, "rt", deps(f, new FakeClock(T0)));
    assert.equal("expiresAt" in t, false);
  });

  test("refresh_token_reused in error.code on a 401 is refresh_token_reused", async () => {
    const f = new FakeFetch(
      json(401, {
        error: {
          message: "Your refresh token has already been used to generate a new access token.",
          type: "invalid_request_error",
          param: null,
          code: "refresh_token_reused",
        },
      }),
    );
    await rejectsWith(refreshAccessToken(provider, "rt", deps(f, new FakeClock(T0))), {
      code: "refresh_token_reused",
      retryable: false,
      status: 401,
      serverCode: "refresh_token_reused",
    });
  });
});

describe("openai-codex revokeToken", () => {
  test("sends JSON {token, token_type_hint, client_id} to {issuer}/oauth/revoke and resolves undefined", async () => {
    const f = new FakeFetch({ status: 200 });
    const r = await revokeToken(withHeaders, "rt_revoke_me", deps(f, new FakeClock(T0)));
    assert.equal(r, undefined);
    assertWire(f.calls[0], {
      url: `${ISSUER}/oauth/revoke`,
      headers: { ...JSON_HEADERS, ...EXTRA },
      body: `{"token":"rt_revoke_me","token_type_hint":"refresh_token","client_id":"${CLIENT}"}`,
    });
  });

  test("any 2xx is success whatever the body", async () => {
    for (const reply of [{ status: 204 }, html(200), json(200, { error: "whatever" }), { status: 299, body: "??" }]) {
      const f = new FakeFetch(reply);
      assert.equal(await revokeToken(provider, "rt", deps(f, new FakeClock(T0))), undefined);
    }
  });

  test("a 5xx on revocation is server_error", async () => {
    const f = new FakeFetch(html(503));
    await rejectsWith(revokeToken(provider, "rt", deps(f, new FakeClock(T0))), { code: "server_error", status: 503 });
  });
});
