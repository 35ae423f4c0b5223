/** The rfc8628 provider kind at the wire: public and confidential clients, extraParams, headers. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  pollDeviceToken,
  refreshAccessToken,
  requestDeviceCode,
  revokeToken,
  rfc8628Provider,
  type OAuthProvider,
} from "../../js/oauthDeviceFlow.ts";
import {
  FakeClock,
  FakeFetch,
  FORM_HEADERS,
  T0,
  assertWire,
  deps,
  form,
  formEncode,
  json,
  rejectsWith,
  rfcCode,
  throwsWith,
} from "./support/fakes.ts";

const IDP = "https://idp.example.com";
const UA = { "User-Agent": "host/1.2.3", "X-Request-Source": "tests" };
const base = {
  clientId: "cli-public",
  deviceAuthorizationEndpoint: `${IDP}/device/code`,
  tokenEndpoint: `${IDP}/token`,
  revocationEndpoint: `${IDP}/revoke`,
};
const publicClient = rfc8628Provider({
  ...base,
  scope: "openid offline_access",
  extraParams: { audience: "https://api.example.com", resource: "urn:x y" },
  headers: UA,
});
const SECRET = "cs_CANARY_post_5e1f";
const postClient = rfc8628Provider({
  ...base,
  clientId: "cli-post",
  clientSecret: SECRET,
  clientAuth: "client_secret_post",
  scope: "read write",
  extraParams: { audience: "aud-1" },
});
const BASIC_ID = "cli basic:1";
const BASIC_SECRET = "cs:CANARY/+ é";
const basicClient = rfc8628Provider({
  ...base,
  clientId: BASIC_ID,
  clientSecret: BASIC_SECRET,
  clientAuth: "client_secret_basic",
  scope: "read",
});
const basicAuth = `Basic ${Buffer.from(`${formEncode(BASIC_ID)}:${formEncode(BASIC_SECRET)}`, "utf8").toString("base64")}`;
const GRANT = "urn:ietf:params:oauth:grant-type:device_code";

const deviceReply = json(200, {
  device_code: "dc_1",
  user_code: "WDJB-MJHT",
  verification_uri: `${IDP}/device`,
  verification_uri_complete: `${IDP}/device?user_code=WDJB-MJHT`,
  expires_in: 1800,
  interval: 5,
});

describe("rfc8628Provider", () => {
  test("returns a plain JSON-serialisable provider of kind rfc8628 with every given field", () => {
    assert.deepEqual(publicClient, {
      kind: "rfc8628",
      ...base,
      scope: "openid offline_access",
      extraParams: { audience: "https://api.example.com", resource: "urn:x y" },
      headers: UA,
    });
    assert.deepEqual(JSON.parse(JSON.stringify(postClient)), postClient);
    assert.equal(postClient.clientAuth, "client_secret_post");
  });

  test("throws invalid_config for openai-codex-only fields, secret/auth mismatches and extraParams repeating a standard field", () => {
    const bad: Array<Partial<OAuthProvider>> = [
      { devicePollEndpoint: `${IDP}/poll` },
      { redirectUri: `${IDP}/cb` },
      { verificationUri: `${IDP}/device` },
      { clientSecret: "s" },
      { clientAuth: "client_secret_post" },
      { clientAuth: "client_secret_basic" },
      { clientAuth: "private_key_jwt" as never },
      { extraParams: { client_id: "x" } },
      { extraParams: { scope: "x" } },
      { extraParams: { client_secret: "x" } },
      { extraParams: { n: 1 as unknown as string } },
      { headers: { Accept: "text/plain" } },
      { headers: { authorization: "Bearer x" } },
      { headers: { "CONTENT-TYPE": "text/plain" } },
      { clientId: "" },
      { tokenEndpoint: "not a url" },
      { clientSecert: "typo" } as Partial<OAuthProvider>,
    ];
    for (const b of bad) {
      throwsWith(() => rfc8628Provider({ ...base, ...b } as Omit<OAuthProvider, "kind">), { code: "invalid_config" });
    }
    throwsWith(() => rfc8628Provider({ ...base, kind: "openai-codex" } as never), { code: "invalid_config" });
  });

  test("throws insecure_endpoint for an http endpoint that is not loopback, accepts http on localhost, 127.x and [::1]", () => {
    throwsWith(() => rfc8628Provider({ ...base, tokenEndpoint: "http://idp.example.com/token" }), {
      code: "insecure_endpoint",
    });
    throwsWith(() => rfc8628Provider({ ...base, revocationEndpoint: "http://10.0.0.1/revoke" }), {
      code: "insecure_endpoint",
    });
    for (const host of ["localhost:3000", "127.0.0.1", "127.9.8.7:1", "[::1]:9000"]) {
      const p = rfc8628Provider({ ...base, tokenEndpoint: `http://${host}/token` });
      assert.equal(p.tokenEndpoint, `http://${host}/token`);
    }
  });
});

describe("rfc8628 requestDeviceCode", () => {
  test("public client: form client_id, scope, then extraParams in insertion order, plus provider headers", async () => {
    const f = new FakeFetch(deviceReply);
    await requestDeviceCode(publicClient, deps(f, new FakeClock(T0)));
    assertWire(f.calls[0], {
      url: `${IDP}/device/code`,
      headers: { ...FORM_HEADERS, ...UA },
      body: "client_id=cli-public&scope=openid+offline_access&audience=https%3A%2F%2Fapi.example.com&resource=urn%3Ax+y",
    });
    assert.equal(
      f.calls[0]!.body,
      form([
        ["client_id", "cli-public"],
        ["scope", "openid offline_access"],
        ["audience", "https://api.example.com"],
        ["resource", "urn:x y"],
      ]),
    );
  });

  test("client_secret_post: client_secret right after client_id, then scope, then extraParams", async () => {
    const f = new FakeFetch(deviceReply);
    await requestDeviceCode(postClient, deps(f, new FakeClock(T0)));
    assertWire(f.calls[0], {
      url: `${IDP}/device/code`,
      headers: FORM_HEADERS,
      body: `client_id=cli-post&client_secret=${SECRET}&scope=read+write&audience=aud-1`,
    });
  });

  test("client_secret_basic: Authorization Basic base64(formEncode(id):formEncode(secret)) and client_id stays in the body", async () => {
    const f = new FakeFetch(deviceReply);
    await requestDeviceCode(basicClient, deps(f, new FakeClock(T0)));
    assertWire(f.calls[0], {
      url: `${IDP}/device/code`,
      headers: { ...FORM_HEADERS, Authorization: basicAuth },
      body: "client_id=cli+basic%3A1&scope=read",
    });
    assert.equal(basicAuth, `Basic ${Buffer.from("cli+basic%3A1:cs%3ACANARY%2F%2B+%C3%A9").toString("base64")}`);
  });

  test("returns the server's verification URIs, interval and expiresAt = reading + expires_in", async () => {
    const f = new FakeFetch(deviceReply);
    const c = new FakeClock(T0);
    const code = await requestDeviceCode(publicClient, deps(f, c));
    assert.deepEqual(code, {
      deviceCode: "dc_1",
      userCode: "WDJB-MJHT",
      verificationUri: `${IDP}/device`,
      verificationUriComplete: `${IDP}/device?user_code=WDJB-MJHT`,
      intervalMs: 5000,
      expiresAt: T0 + 1_800_000,
    });
    assert.equal(c.reads, 1);
  });

  test("accepts the verification_url spelling, string numbers, and a missing interval as 5 s", async () => {
    const f = new FakeFetch(
      json(200, { device_code: "dc", user_code: "U", verification_url: `${IDP}/d`, expires_in: " 600 " }),
    );
    const code = await requestDeviceCode(publicClient, deps(f, new FakeClock(T0)));
    assert.equal(code.verificationUri, `${IDP}/d`);
    assert.equal(code.intervalMs, 5000);
    assert.equal(code.expiresAt, T0 + 600_000);
    assert.equal("verificationUriComplete" in code, false);
  });

  test("a reply without a usable expires_in is invalid_response", async () => {
    for (const expires_in of [undefined, 0, -5, "1e3", 31_536_001]) {
      const f = new FakeFetch(json(200, { device_code: "dc", user_code: "U", verification_uri: `${IDP}/d`, expires_in }));
      await rejectsWith(requestDeviceCode(publicClient, deps(f, new FakeClock(T0))), {
        code: "invalid_response",
        status: 200,
      });
    }
  });

  test("a 404 on an rfc8628 device endpoint is not device_flow_disabled", async () => {
    const f = new FakeFetch({ status: 404 });
    await rejectsWith(requestDeviceCode(publicClient, deps(f, new FakeClock(T0))), {
      code: "invalid_response",
      status: 404,
    });
  });
});

describe("rfc8628 pollDeviceToken", () => {
  test("public client polls the token endpoint with form grant_type, device_code, client_id (no scope, no extraParams)", async () => {
    const f = new FakeFetch(json(400, { error: "authorization_pending" }));
    await pollDeviceToken(publicClient, rfcCode(), deps(f, new FakeClock(T0)));
    assertWire(f.calls[0], {
      url: `${IDP}/token`,
      headers: { ...FORM_HEADERS, ...UA },
      body: form([
        ["grant_type", GRANT],
        ["device_code", "rfc_device_code_CANARY_51d0e"],
        ["client_id", "cli-public"],
      ]),
    });
    assert.equal(
      f.calls[0]!.body,
      "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&device_code=rfc_device_code_CANARY_51d0e&client_id=cli-public",
    );
  });

  test("client_secret_post polls with client_secret after client_id", async () => {
    const f = new FakeFetch(json(400, { error: "authorization_pending" }));
    await pollDeviceToken(postClient, rfcCode(), deps(f, new FakeClock(T0)));
    assertWire(f.calls[0], {
      url: `${IDP}/token`,
      headers: FORM_HEADERS,
      body: form([
        ["grant_type", GRANT],
        ["device_code", "rfc_device_code_CANARY_51d0e"],
        ["client_id", "cli-post"],
        ["client_secret", SECRET],
      ]),
    });
  });

  test("client_secret_basic polls with the Basic header", async () => {
    const f = new FakeFetch(json(400, { error: "authorization_pending" }));
    await pollDeviceToken(basicClient, rfcCode(), deps(f, new FakeClock(T0)));
    assertWire(f.calls[0], {
      url: `${IDP}/token`,
      headers: { ...FORM_HEADERS, Authorization: basicAuth },
      body: form([
        ["grant_type", GRANT],
        ["device_code", "rfc_device_code_CANARY_51d0e"],
        ["client_id", BASIC_ID],
      ]),
    });
  });

  test("authorization_pending is pending at 400, Google's 428 and GitHub's 200", async () => {
    for (const status of [400, 428, 200]) {
      const f = new FakeFetch(json(status, { error: "authorization_pending" }));
      assert.deepEqual(await pollDeviceToken(publicClient, rfcCode(), deps(f, new FakeClock(T0))), {
        status: "pending",
        intervalMs: 5000,
      });
    }
  });

  test("slow_down returns the interval + 5 s, capped at 3 600 000 ms", async () => {
    let f = new FakeFetch(json(400, { error: "slow_down" }));
    assert.deepEqual(await pollDeviceToken(publicClient, rfcCode({ intervalMs: 7000 }), deps(f, new FakeClock(T0))), {
      status: "slow_down",
      intervalMs: 12_000,
    });
    f = new FakeFetch(json(400, { error: " SLOW_DOWN " }));
    assert.deepEqual(
      await pollDeviceToken(publicClient, rfcCode({ intervalMs: 3_598_000 }), deps(f, new FakeClock(T0))),
      { status: "slow_down", intervalMs: 3_600_000 },
    );
  });

  test("success returns the token set: Bearer normalised, scope kept, expiresAt from expires_in on the reading", async () => {
    const f = new FakeFetch(
      json(200, {
        access_token: "at_1",
        token_type: "BEARER",
        expires_in: "3600",
        refresh_token: "rt_1",
        scope: "openid offline_access",
        id_token: "idt",
      }),
    );
    const c = new FakeClock(T0);
    assert.deepEqual(await pollDeviceToken(publicClient, rfcCode(), deps(f, c)), {
      status: "success",
      tokens: {
        accessToken: "at_1",
        tokenType: "Bearer",
        refreshToken: "rt_1",
        idToken: "idt",
        scope: "openid offline_access",
        expiresAt: T0 + 3_600_000,
      },
    });
    assert.equal(f.calls.length, 1, "rfc8628 success is one request");
    assert.equal(c.reads, 1);
  });

  test("a token_type other than bearer is kept as sent; an absent one is Bearer", async () => {
    let f = new FakeFetch(json(200, { access_token: "at", token_type: "DPoP" }));
    let r = await pollDeviceToken(publicClient, rfcCode(), deps(f, new FakeClock(T0)));
    assert.equal(r.status === "success" && r.tokens.tokenType, "DPoP");
    f = new FakeFetch(json(200, { access_token: "at" }));
    r = await pollDeviceToken(publicClient, rfcCode(), deps(f, new FakeClock(T0)));
    assert.equal(r.status === "success" && r.tokens.tokenType, "Bearer");
  });

  test("access_denied and expired_token from the server reject with those codes", async () => {
    let f = new FakeFetch(json(400, { error: "access_denied" }));
    await rejectsWith(pollDeviceToken(publicClient, rfcCode(), deps(f, new FakeClock(T0))), {
      code: "access_denied",
      status: 400,
      serverCode: "access_denied",
    });
    f = new FakeFetch(json(400, { error: "expired_token" }));
    await rejectsWith(pollDeviceToken(publicClient, rfcCode(), deps(f, new FakeClock(T0))), {
      code: "expired_token",
      status: 400,
    });
  });

  test("an rfc8628 403 without a code is not pending (the 403/404 convention is openai-codex only)", async () => {
    const f = new FakeFetch({ status: 403 });
    await rejectsWith(pollDeviceToken(publicClient, rfcCode(), deps(f, new FakeClock(T0))), {
      code: "invalid_response",
      status: 403,
    });
  });
});

describe("rfc8628 refreshAccessToken", () => {
  test("public client: form grant_type, refresh_token, client_id to the token endpoint; rotation keeps the new token", async () => {
    const f = new FakeFetch(json(200, { access_token: "at_2", refresh_token: "rt_2", expires_in: 60 }));
    const t = await refreshAccessToken(publicClient, "rt_1", deps(f, new FakeClock(T0)));
    assertWire(f.calls[0], {
      url: `${IDP}/token`,
      headers: { ...FORM_HEADERS, ...UA },
      body: "grant_type=refresh_token&refresh_token=rt_1&client_id=cli-public",
    });
    assert.deepEqual(t, { accessToken: "at_2", tokenType: "Bearer", refreshToken: "rt_2", expiresAt: T0 + 60_000 });
  });

  test("client_secret_post and client_secret_basic authenticate the refresh", async () => {
    let f = new FakeFetch(json(200, { access_token: "at_2" }));
    await refreshAccessToken(postClient, "rt 1", deps(f, new FakeClock(T0)));
    assertWire(f.calls[0], {
      url: `${IDP}/token`,
      headers: FORM_HEADERS,
      body: `grant_type=refresh_token&refresh_token=rt+1&client_id=cli-post&client_secret=${SECRET}`,
    });
    f = new FakeFetch(json(200, { access_token: "at_2" }));
    await refreshAccessToken(basicClient, "rt_1", deps(f, new FakeClock(T0)));
    assertWire(f.calls[0], {
      url: `${IDP}/token`,
      headers: { ...FORM_HEADERS, Authorization: basicAuth },
      body: form([
        ["grant_type", "refresh_token"],
        ["refresh_token", "rt_1"],
        ["client_id", BASIC_ID],
      ]),
    });
  });

  test("a reply without refresh_token keeps the old one and keeps idToken/scope from the previous tokens", async () => {
    const f = new FakeFetch(json(200, { access_token: "at_2", token_type: "bearer" }));
    const t = await refreshAccessToken(
      publicClient,
      { accessToken: "at_1", tokenType: "Bearer", refreshToken: "rt_1", idToken: "id_1", scope: "openid" },
      deps(f, new FakeClock(T0)),
    );
    assert.deepEqual(t, { accessToken: "at_2", tokenType: "Bearer", refreshToken: "rt_1", idToken: "id_1", scope: "openid" });
  });

  test("a reply's own idToken and scope replace the previous ones", async () => {
    const f = new FakeFetch(json(200, { access_token: "at_2", id_token: "id_2", scope: "email" }));
    const t = await refreshAccessToken(
      publicClient,
      { accessToken: "at_1", tokenType: "Bearer", refreshToken: "rt_1", idToken: "id_1", scope: "openid" },
      deps(f, new FakeClock(T0)),
    );
    assert.equal(t.idToken, "id_2");
    assert.equal(t.scope, "email");
  });

  test("invalid_grant from the server is invalid_grant", async () => {
    const f = new FakeFetch(json(400, { error: "invalid_grant", error_description: "Grant expired" }));
    const e = await rejectsWith(refreshAccessToken(publicClient, "rt_1", deps(f, new FakeClock(T0))), {
      code: "invalid_grant",
      status: 400,
      serverCode: "invalid_grant",
    });
    assert.match(e.message, /Grant expired/, "the server's description may appear");
  });
});

describe("rfc8628 revokeToken", () => {
  test("RFC 7009 form token, token_type_hint, client_id to the revocation endpoint", async () => {
    const f = new FakeFetch({ status: 200 });
    await revokeToken(publicClient, "rt_x", deps(f, new FakeClock(T0)));
    assertWire(f.calls[0], {
      url: `${IDP}/revoke`,
      headers: { ...FORM_HEADERS, ...UA },
      body: "token=rt_x&token_type_hint=refresh_token&client_id=cli-public",
    });
  });

  test("revocation authenticates confidential clients (post and basic)", async () => {
    let f = new FakeFetch({ status: 200 });
    await revokeToken(postClient, "rt_x", deps(f, new FakeClock(T0)));
    assertWire(f.calls[0], {
      url: `${IDP}/revoke`,
      headers: FORM_HEADERS,
      body: `token=rt_x&token_type_hint=refresh_token&client_id=cli-post&client_secret=${SECRET}`,
    });
    f = new FakeFetch({ status: 204 });
    await revokeToken(basicClient, "rt_x", deps(f, new FakeClock(T0)));
    assertWire(f.calls[0], {
      url: `${IDP}/revoke`,
      headers: { ...FORM_HEADERS, Authorization: basicAuth },
      body: form([
        ["token", "rt_x"],
        ["token_type_hint", "refresh_token"],
        ["client_id", BASIC_ID],
      ]),
    });
  });

  test("a 200 with any body is success, and an error status is classified", async () => {
    let f = new FakeFetch(json(200, {}));
    assert.equal(await revokeToken(publicClient, "rt", deps(f, new FakeClock(T0))), undefined);
    f = new FakeFetch(json(400, { error: "unsupported_token_type" }));
    await rejectsWith(revokeToken(publicClient, "rt", deps(f, new FakeClock(T0))), {
      code: "oauth_error",
      status: 400,
      serverCode: "unsupported_token_type",
    });
  });

  test("no revocationEndpoint is invalid_config with no request", async () => {
    const { revocationEndpoint: _drop, ...noRevoke } = base;
    const p = rfc8628Provider(noRevoke);
    const f = new FakeFetch();
    await rejectsWith(revokeToken(p, "rt", deps(f, new FakeClock(T0))), { code: "invalid_config" });
    assert.equal(f.calls.length, 0);
  });
});

describe("provider validation is not skipped by the module's provider cache", () => {
  test("a provider object changed in place after a successful call is validated again (insecure_endpoint, no request)", async () => {
    const provider: OAuthProvider = rfc8628Provider({ ...base });
    const ok = new FakeFetch(json(200, { access_token: "at_1", expires_in: 60 }));
    await refreshAccessToken(provider, "rt_1", deps(ok, new FakeClock(T0)));
    assert.equal(ok.calls.length, 1);
    provider.tokenEndpoint = "http://idp.example.com/token";
    const f = new FakeFetch(json(200, { access_token: "at_2" }));
    await rejectsWith(refreshAccessToken(provider, "rt_1", deps(f, new FakeClock(T0))), { code: "insecure_endpoint", retryable: false });
    assert.equal(f.calls.length, 0, "no request to the changed endpoint");
  });
});
