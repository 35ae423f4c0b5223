/** The synchronous token helpers: isAccessTokenExpired, decodeTokenClaims, codexAuthHeaders. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  codexAuthHeaders,
  decodeTokenClaims,
  isAccessTokenExpired,
  type OAuthTokens,
} from "../../js/oauthDeviceFlow.ts";
import { FakeClock, T0, jwt, throwsWith } from "./support/fakes.ts";

const AUTH = "https://api.openai.com/auth";
const PROFILE = "https://api.openai.com/profile";
const tokens = (t: Partial<OAuthTokens>): OAuthTokens => ({ accessToken: "opaque", tokenType: "Bearer", ...t });

describe("isAccessTokenExpired", () => {
  test("expired iff reading + skewMs >= expiresAt, default skew 60 000 ms", () => {
    const t = tokens({ expiresAt: T0 + 120_000 });
    assert.equal(isAccessTokenExpired(t, () => T0), false);
    assert.equal(isAccessTokenExpired(t, () => T0 + 59_999), false);
    assert.equal(isAccessTokenExpired(t, () => T0 + 60_000), true, "boundary counts as expired");
    assert.equal(isAccessTokenExpired(t, () => T0 + 500_000), true);
  });

  test("a custom skewMs, including 0", () => {
    const t = tokens({ expiresAt: T0 + 120_000 });
    assert.equal(isAccessTokenExpired(t, () => T0, 0), false);
    assert.equal(isAccessTokenExpired(t, () => T0 + 119_999, 0), false);
    assert.equal(isAccessTokenExpired(t, () => T0 + 120_000, 0), true);
    assert.equal(isAccessTokenExpired(t, () => T0, 300_000), true, "Codex-style 5-minute margin");
  });

  test("without expiresAt it uses the access token's JWT exp", () => {
    const t = tokens({ accessToken: jwt({ exp: (T0 + 120_000) / 1000 }) });
    assert.equal(isAccessTokenExpired(t, () => T0), false);
    assert.equal(isAccessTokenExpired(t, () => T0 + 60_000), true);
  });

  test("tokens.expiresAt wins over the JWT exp", () => {
    const t = tokens({ accessToken: jwt({ exp: (T0 - 1000) / 1000 }), expiresAt: T0 + 3_600_000 });
    assert.equal(isAccessTokenExpired(t, () => T0), false);
  });

  test("neither expiresAt nor a JWT exp: false (rely on a 401)", () => {
    assert.equal(isAccessTokenExpired(tokens({}), () => T0), false);
    assert.equal(isAccessTokenExpired(tokens({ accessToken: jwt({ sub: "x" }) }), () => 8.64e15), false);
  });

  test("reads the clock exactly once, and a bad reading throws invalid_config even when nothing is known", () => {
    const c = new FakeClock(T0);
    isAccessTokenExpired(tokens({ expiresAt: T0 }), c.clock);
    assert.equal(c.reads, 1);
    const c2 = new FakeClock(T0);
    isAccessTokenExpired(tokens({}), c2.clock);
    assert.equal(c2.reads, 1);
    for (const bad of [NaN, -1, "1700000000000", undefined, Infinity]) {
      throwsWith(() => isAccessTokenExpired(tokens({}), () => bad as number), { code: "invalid_config" });
    }
  });
});

describe("decodeTokenClaims", () => {
  const idToken = jwt({
    email: "user@example.com",
    [AUTH]: { chatgpt_account_id: "acc-id", chatgpt_plan_type: "plus", chatgpt_user_id: "user-id" },
  });
  const accessToken = jwt({
    exp: 1_800_000_000,
    aud: ["https://api.openai.com/v1"],
    [AUTH]: { chatgpt_account_id: "acc-access", chatgpt_plan_type: "free", chatgpt_user_id: "user-access" },
  });

  test("reads account, plan and user from the id token, email from the id token, exp and audience from the access token", () => {
    assert.deepEqual(decodeTokenClaims(tokens({ accessToken, idToken })), {
      accountId: "acc-id",
      planType: "plus",
      email: "user@example.com",
      userId: "user-id",
      expiresAt: 1_800_000_000_000,
      audience: ["https://api.openai.com/v1"],
    });
  });

  test("falls back to the access token's auth claim without an id token", () => {
    assert.deepEqual(decodeTokenClaims(tokens({ accessToken })), {
      accountId: "acc-access",
      planType: "free",
      userId: "user-access",
      expiresAt: 1_800_000_000_000,
      audience: ["https://api.openai.com/v1"],
    });
  });

  test("falls back per field when the id token's auth claim lacks it", () => {
    const id = jwt({ [AUTH]: { chatgpt_plan_type: "pro" } });
    const c = decodeTokenClaims(tokens({ accessToken, idToken: id }));
    assert.equal(c.accountId, "acc-access");
    assert.equal(c.planType, "pro");
    assert.equal(c.userId, "user-access");
  });

  test("email from the profile claim when the id token has no top-level email; never from the access token", () => {
    const id = jwt({ [PROFILE]: { email: "p@example.com" } });
    assert.equal(decodeTokenClaims(tokens({ idToken: id })).email, "p@example.com");
    const at = jwt({ email: "at@example.com" });
    assert.equal(decodeTokenClaims(tokens({ accessToken: at })).email, undefined);
  });

  test("a string aud becomes a one-element array", () => {
    assert.deepEqual(decodeTokenClaims(tokens({ accessToken: jwt({ aud: "aud-1" }) })), { audience: ["aud-1"] });
  });

  test("a token that is not a JWT gives no fields (no throw)", () => {
    for (const accessToken of ["opaque", "a.b", "a.b.c.d", "x.!!!.y", `x.${Buffer.from("[1]").toString("base64url")}.y`, ""]) {
      assert.deepEqual(decodeTokenClaims(tokens({ accessToken, idToken: accessToken })), {}, accessToken);
    }
  });

  test("decodes without verifying the signature and has no keys for absent claims", () => {
    const c = decodeTokenClaims(tokens({ accessToken: jwt({ exp: 1 }).replace(/\.[^.]*$/, ".forged") }));
    assert.deepEqual(c, { expiresAt: 1000 });
    assert.deepEqual(Object.keys(c), ["expiresAt"]);
  });
});

describe("codexAuthHeaders", () => {
  test("an opaque token gives only Authorization: Bearer", () => {
    assert.deepEqual(codexAuthHeaders(tokens({ accessToken: "at_opaque" })), { Authorization: "Bearer at_opaque" });
  });

  test("adds ChatGPT-Account-ID from the id token", () => {
    const idToken = jwt({ [AUTH]: { chatgpt_account_id: "acc-1" } });
    assert.deepEqual(codexAuthHeaders(tokens({ accessToken: "at_x", idToken })), {
      Authorization: "Bearer at_x",
      "ChatGPT-Account-ID": "acc-1",
    });
  });

  test("falls back to the access token's account id", () => {
    const accessToken = jwt({ [AUTH]: { chatgpt_account_id: "acc-2" } });
    assert.deepEqual(codexAuthHeaders(tokens({ accessToken })), {
      Authorization: `Bearer ${accessToken}`,
      "ChatGPT-Account-ID": "acc-2",
    });
  });

  test("throws invalid_config for tokens without an access token", () => {
    throwsWith(() => codexAuthHeaders({ tokenType: "Bearer" } as OAuthTokens), { code: "invalid_config" });
  });
});
