/**
 * The module against an RFC 8628 server the team did not write: `oidc-provider` (a certified OpenID
 * provider, from the npm registry) with its device flow on, on loopback. The test plays the person
 * by driving the provider's own pages over HTTP (user-code form, confirm, login and consent
 * interactions, with its cookies and xsrf token), so the device flow, denial, expiry, refresh
 * rotation and revocation are the real server's, not our mock's.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import {
  decodeTokenClaims,
  pollDeviceToken,
  refreshAccessToken,
  requestDeviceCode,
  revokeToken,
  rfc8628Provider,
  waitForDeviceToken,
  type DeviceFlowEvent,
  type OAuthProvider,
} from "../../js/oauthDeviceFlow.ts";
import { rejectsWith } from "./support/fakes.ts";
import { NOW, realDeps } from "./support/mockSupport.ts";

// The provider prints deployment advice (dev keys, in-memory adapter, Node version) through the
// console; it is meant for whoever deploys it, not for this test's output.
for (const level of ["info", "warn"] as const) {
  const original = console[level].bind(console);
  console[level] = (...args: unknown[]) => {
    if (typeof args[0] === "string" && args[0].startsWith("oidc-provider ")) return;
    original(...args);
  };
}

interface OidcProvider {
  callback(): (req: unknown, res: unknown) => void;
}
type OidcProviderClass = new (issuer: string, configuration: Record<string, unknown>) => OidcProvider;
// Imported by a computed name: the package ships no type declarations, and this test needs only
// its constructor and request handler.
const PACKAGE: string = "oidc-provider";
const { default: Provider } = (await import(PACKAGE)) as { default: OidcProviderClass };

const CLIENT = "device-cli";
/** A client whose device codes live 1 s, to reach the server's own expired_token. */
const SHORT_CLIENT = "device-cli-short";
const DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code";
const ROOT = fileURLToPath(new URL("../..", import.meta.url));

let server: Server;
let issuer = "";
let metadata: Record<string, string> = {};

before(async () => {
  server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = (id: string) => ({
    client_id: id,
    token_endpoint_auth_method: "none",
    grant_types: [DEVICE_GRANT, "refresh_token"],
    response_types: [],
    redirect_uris: [],
  });
  const provider = new Provider(issuer, {
    clients: [client(CLIENT), client(SHORT_CLIENT)],
    features: { deviceFlow: { enabled: true }, revocation: { enabled: true } },
    issueRefreshToken: async () => true,
    rotateRefreshToken: true,
    findAccount: async (_ctx: unknown, sub: string) => ({ accountId: sub, claims: async () => ({ sub }) }),
    ttl: {
      AccessToken: 3600,
      IdToken: 3600,
      RefreshToken: 86_400,
      Grant: 86_400,
      Session: 3600,
      Interaction: 600,
      DeviceCode: (_ctx: unknown, _token: unknown, c: { clientId: string }) => (c.clientId === SHORT_CLIENT ? 1 : 600),
    },
  });
  server.on("request", provider.callback());
  const res = await fetch(`${issuer}/.well-known/openid-configuration`);
  metadata = (await res.json()) as Record<string, string>;
});

after(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function providerFor(clientId = CLIENT): OAuthProvider {
  return rfc8628Provider({
    clientId,
    deviceAuthorizationEndpoint: metadata.device_authorization_endpoint ?? "",
    tokenEndpoint: metadata.token_endpoint ?? "",
    revocationEndpoint: metadata.revocation_endpoint ?? "",
    scope: "openid offline_access",
  });
}

/**
 * A person at a browser: enters the code on the provider's /device page, then either aborts or
 * confirms and walks through the login and consent interactions. Returns the last page's text.
 */
async function person(userCode: string, choice: "approve" | "deny"): Promise<string> {
  const jar = new Map<string, string>();
  const go = async (method: "GET" | "POST", path: string, form?: Record<string, string>) => {
    const headers: Record<string, string> = {};
    if (jar.size) headers.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join("; ");
    if (form) headers["content-type"] = "application/x-www-form-urlencoded";
    const res = await fetch(new URL(path, issuer), {
      method,
      headers,
      redirect: "manual",
      ...(form ? { body: new URLSearchParams(form).toString() } : {}),
    });
    for (const cookie of res.headers.getSetCookie()) {
      const pair = cookie.split(";")[0] ?? "";
      const eq = pair.indexOf("=");
      jar.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
    return { status: res.status, location: res.headers.get("location"), text: await res.text() };
  };
  const entry = await go("GET", "/device");
  const xsrf = /name="xsrf" value="([^"]+)"/.exec(entry.text)?.[1] ?? "";
  assert.ok(xsrf, "the user-code page carries an xsrf token");
  const confirm = await go("POST", "/device", { xsrf, user_code: userCode });
  assert.match(confirm.text, /Confirm Device/);
  if (choice === "deny") return (await go("POST", "/device", { xsrf, user_code: userCode, abort: "yes" })).text;
  let page = await go("POST", "/device", { xsrf, user_code: userCode, confirm: "yes" });
  for (let step = 0; step < 8 && page.location; step += 1) {
    const path = new URL(page.location, issuer).pathname;
    if (path.startsWith("/interaction/")) {
      const view = await go("GET", path);
      const prompt = /name="prompt" value="([^"]+)"/.exec(view.text)?.[1] ?? "";
      page = await go("POST", path, prompt === "login" ? { prompt, login: "user-1", password: "any" } : { prompt });
    } else {
      page = await go("GET", path);
    }
  }
  return page.text;
}

describe("real RFC 8628 server (oidc-provider)", { concurrency: true }, () => {
  test("its discovery document names the device, token and revocation endpoints on loopback", () => {
    assert.equal(metadata.issuer, issuer);
    assert.equal(metadata.device_authorization_endpoint, `${issuer}/device/auth`);
    assert.equal(metadata.token_endpoint, `${issuer}/token`);
    assert.equal(metadata.revocation_endpoint, `${issuer}/token/revocation`);
  });

  test("device flow: pending until the person approves on its pages, then tokens; the device code is then spent", async () => {
    const provider = providerFor();
    const code = await requestDeviceCode(provider, realDeps());
    assert.match(code.userCode, /^[A-Z]{4}-[A-Z]{4}$/);
    assert.equal(code.verificationUri, `${issuer}/device`);
    assert.equal(code.verificationUriComplete, `${issuer}/device?user_code=${code.userCode}`);
    assert.equal(code.intervalMs, 5000, "the server sends no interval: 5 s");
    assert.equal(code.expiresAt, NOW + 600_000);
    assert.deepEqual(await pollDeviceToken(provider, code, realDeps()), { status: "pending", intervalMs: 5000 });
    assert.match(await person(code.userCode, "approve"), /Sign-in Success/);
    const result = await pollDeviceToken(provider, code, realDeps());
    assert.equal(result.status, "success");
    if (result.status !== "success") return;
    const { tokens } = result;
    assert.equal(tokens.tokenType, "Bearer");
    assert.equal(tokens.scope, "openid offline_access");
    assert.equal(tokens.expiresAt, NOW + 3_600_000);
    assert.equal(typeof tokens.refreshToken, "string");
    assert.equal(tokens.idToken?.split(".").length, 3, "an OpenID id token");
    assert.equal(decodeTokenClaims(tokens).accountId, undefined);
    await rejectsWith(pollDeviceToken(provider, code, realDeps()), { code: "invalid_grant", status: 400, serverCode: "invalid_grant" });
  });

  test("waitForDeviceToken: the person approves during the first wait; one waiting event, then tokens", async () => {
    const provider = providerFor();
    const code = await requestDeviceCode(provider, realDeps());
    const events: DeviceFlowEvent[] = [];
    const tokens = await waitForDeviceToken(provider, code, {
      ...realDeps(),
      onEvent: (e) => events.push(e),
      sleep: async () => {
        if (events.length === 1) await person(code.userCode, "approve");
      },
    });
    assert.deepEqual(events, [{ type: "waiting", nextPollInMs: 5000, expiresAt: code.expiresAt }]);
    assert.equal(typeof tokens.accessToken, "string");
  });

  test("denial: the person aborts on the confirm page and the next poll rejects with access_denied", async () => {
    const provider = providerFor();
    const code = await requestDeviceCode(provider, realDeps());
    assert.match(await person(code.userCode, "deny"), /interrupted/);
    await rejectsWith(pollDeviceToken(provider, code, realDeps()), { code: "access_denied", status: 400, serverCode: "access_denied" });
  });

  test("expiry: after the code's 1 s lifetime the server itself answers expired_token", async () => {
    const provider = providerFor(SHORT_CLIENT);
    const code = await requestDeviceCode(provider, realDeps());
    assert.equal(code.expiresAt, NOW + 1000);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    // The module's clock is fixed before expiry, so the poll reaches the server.
    await rejectsWith(pollDeviceToken(provider, { ...code, expiresAt: NOW + 60_000 }, realDeps()), {
      code: "expired_token",
      status: 400,
      serverCode: "expired_token",
    });
  });

  test("refresh rotation: each refresh returns a new refresh token; reusing a spent one is invalid_grant", async () => {
    const provider = providerFor();
    const code = await requestDeviceCode(provider, realDeps());
    await person(code.userCode, "approve");
    const first = await pollDeviceToken(provider, code, realDeps());
    if (first.status !== "success") return assert.fail("signed in");
    const second = await refreshAccessToken(provider, first.tokens, realDeps());
    assert.notEqual(second.refreshToken, first.tokens.refreshToken, "rotated");
    assert.notEqual(second.accessToken, first.tokens.accessToken);
    assert.equal(second.idToken?.split(".").length, 3);
    const third = await refreshAccessToken(provider, second, realDeps());
    assert.notEqual(third.refreshToken, second.refreshToken, "the rotated token works once");
    await rejectsWith(refreshAccessToken(provider, first.tokens, realDeps()), { code: "invalid_grant", status: 400, serverCode: "invalid_grant" });
  });

  test("revocation (RFC 7009): after revokeToken the refresh token is invalid_grant", async () => {
    const provider = providerFor();
    const code = await requestDeviceCode(provider, realDeps());
    await person(code.userCode, "approve");
    const signedIn = await pollDeviceToken(provider, code, realDeps());
    if (signedIn.status !== "success") return assert.fail("signed in");
    await revokeToken(provider, signedIn.tokens.refreshToken ?? "", realDeps());
    await rejectsWith(refreshAccessToken(provider, signedIn.tokens, realDeps()), { code: "invalid_grant", status: 400, serverCode: "invalid_grant" });
  });

  test("the demo CLI with --issuer runs the whole rfc8628 flow against it (discovery, wait, refresh, sign-out)", async () => {
    let stdout = "";
    let stderr = "";
    let approving: Promise<string> | undefined;
    const status = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(
        process.execPath,
        ["--import", "tsx", "demo/main.ts", "--provider", "rfc8628", "--issuer", issuer, "--client-id", CLIENT],
        { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
      );
      const killer = setTimeout(() => child.kill("SIGKILL"), 20_000);
      child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
        stdout += chunk;
        const userCode = /enter {2}([A-Z]{4}-[A-Z]{4})/.exec(stdout)?.[1];
        if (userCode && !approving) approving = person(userCode, "approve");
      });
      child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
        stderr += chunk;
      });
      child.on("error", reject);
      child.on("close", (code) => {
        clearTimeout(killer);
        resolve(code);
      });
    });
    assert.match((await approving) ?? "", /Sign-in Success/);
    assert.equal(status, 0, stderr);
    assert.match(stdout, new RegExp(`demo: rfc8628 against ${issuer}\n`));
    assert.match(stdout, /waiting for approval: elapsed \d+\.\ds, next poll in 5\.0s/);
    assert.match(stdout, /rotated {8}yes/);
    assert.match(stdout, /Signed out: the refresh token is revoked/);
    assert.doesNotMatch(stdout, /[A-Za-z0-9_-]{24,}/, "no token-shaped word");
  });
});
