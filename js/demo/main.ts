/**
 * The main job, end to end through the WebAssembly module: an OpenAI-style authorization server
 * runs in this process on loopback (ephemeral port), and the demo signs in with a device code,
 * waits for approval (granted automatically after a few polls), refreshes the rotated token, and
 * shows that the spent refresh token is refused. No account, no network.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import {
  OAuthDeviceFlowError,
  codexAuthHeaders,
  decodeTokenClaims,
  isAccessTokenExpired,
  openaiCodexProvider,
  refreshAccessToken,
  requestDeviceCode,
  waitForDeviceToken,
  type FetchLike,
} from "../oauthDeviceFlow.ts";

const b64url = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
const jwt = (claims: Record<string, unknown>) => `${b64url({ alg: "none" })}.${b64url(claims)}.sig`;
const auth = { chatgpt_account_id: "acct_demo", chatgpt_plan_type: "plus", chatgpt_user_id: "user_demo" };

function fakeOpenAI() {
  let polls = 0;
  let serial = 0;
  const liveRefresh = new Set<string>();
  const tokens = () => {
    serial += 1;
    const refresh = `rt_demo_${serial}`;
    liveRefresh.add(refresh);
    const exp = Math.floor(Date.now() / 1000) + 3600;
    return {
      access_token: jwt({ exp, aud: ["https://api.openai.com/v1"], "https://api.openai.com/auth": auth }),
      id_token: jwt({ email: "demo@example.com", "https://api.openai.com/auth": auth }),
      refresh_token: refresh,
      expires_in: 3600,
    };
  };
  const send = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { "content-type": "application/json" }).end(body === "" ? "" : JSON.stringify(body));
  };
  return async (req: IncomingMessage, res: ServerResponse) => {
    let raw = "";
    for await (const chunk of req) raw += chunk;
    switch (req.url) {
      case "/api/accounts/deviceauth/usercode":
        return send(res, 200, { device_auth_id: "deviceauth_demo", user_code: "DEMO-1234", interval: "1" });
      case "/api/accounts/deviceauth/token":
        polls += 1;
        if (polls < 3) return send(res, 403, "");
        return send(res, 200, { authorization_code: "ac_demo", code_verifier: "cv_demo", code_challenge: "cc" });
      case "/oauth/token": {
        if (req.headers["content-type"] === "application/x-www-form-urlencoded") {
          const form = new URLSearchParams(raw);
          if (form.get("code") !== "ac_demo" || form.get("code_verifier") !== "cv_demo") {
            return send(res, 400, { error: "invalid_grant" });
          }
          return send(res, 200, tokens());
        }
        const body = JSON.parse(raw) as { refresh_token?: string };
        if (!body.refresh_token || !liveRefresh.delete(body.refresh_token)) {
          return send(res, 401, { error: { code: "refresh_token_reused", message: "already used" } });
        }
        return send(res, 200, tokens());
      }
      default:
        return send(res, 404, { error: "not_found" });
    }
  };
}

const server = createServer(fakeOpenAI());
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
const { port } = server.address() as AddressInfo;
const provider = openaiCodexProvider({ issuer: `http://127.0.0.1:${port}` });
const deps = { fetch: fetch as unknown as FetchLike, clock: Date.now, timeoutMs: 10_000 };

try {
  console.log(`mock authorization server on http://127.0.0.1:${port}\n`);
  const code = await requestDeviceCode(provider, deps);
  console.log(`1. open ${code.verificationUri} and enter the code ${code.userCode}`);
  const tokens = await waitForDeviceToken(provider, code, {
    ...deps,
    onEvent: (e) => {
      if (e.type === "waiting") console.log(`   waiting for approval, next poll in ${e.nextPollInMs} ms`);
    },
  });
  const claims = decodeTokenClaims(tokens);
  console.log(`2. signed in: ${claims.email} (plan ${claims.planType}, account ${claims.accountId})`);
  console.log(`   access token expired? ${isAccessTokenExpired(tokens, Date.now)}`);
  console.log(`   Codex backend headers: ${Object.keys(codexAuthHeaders(tokens)).join(", ")}`);
  const next = await refreshAccessToken(provider, tokens, deps);
  console.log(`3. refreshed: the refresh token rotated (${next.refreshToken !== tokens.refreshToken ? "yes" : "no"})`);
  try {
    await refreshAccessToken(provider, tokens, deps);
  } catch (e) {
    if (!(e instanceof OAuthDeviceFlowError)) throw e;
    console.log(`4. the spent refresh token is refused: ${e.code} (retryable: ${e.retryable})`);
  }
  console.log("\ndone");
} finally {
  server.close();
}
