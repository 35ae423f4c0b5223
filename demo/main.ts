/**
 * The main job, end to end through the WebAssembly module: sign in with a device code, wait for
 * approval, refresh the rotated token, and make one model call with it. By default everything runs
 * against the embedded mock (demo/mockServer.ts) on loopback, so a newcomer sees the whole story
 * with no account and no network; `--issuer` points the same flow at a real server instead.
 *
 *   node --import tsx demo/main.ts [--provider openai-codex|rfc8628] [--interactive]
 *                                     [--issuer URL [--client-id ID] [--scope S]]
 *
 * Exit status: 0 success, 1 the flow failed (the message says why), 2 bad usage, 130 interrupted.
 * Tokens are only ever printed redacted (demo/terminal.ts).
 */
import { parseArgs } from "node:util";
import {
  OAuthDeviceFlowError,
  createCodexFetch,
  createMemoryStore,
  createTokenSession,
  decodeTokenClaims,
  openaiCodexProvider,
  refreshAccessToken,
  requestDeviceCode,
  revokeToken,
  rfc8628Provider,
  streamCodexResponse,
  waitForDeviceToken,
  type DeviceFlowDeps,
  type FetchLike,
  type OAuthProvider,
  type OAuthTokens,
} from "../js/oauthDeviceFlow.ts";
import { DiscoveryError, ISSUER_HELP, discover, issuerProblem } from "./discovery.ts";
import { startMockServer, type MockServer } from "./mockServer.ts";
import { ProgressLine, qrCode, redact, resetInWords } from "./terminal.ts";

const USAGE = `usage: npm run demo -- [--provider openai-codex|rfc8628] [--interactive]
                     [--issuer URL [--client-id ID] [--scope SCOPE]] [--simulate-usage-limit]
  --provider     which protocol to run (default openai-codex)
  --interactive  wait for a person to approve on the printed URL instead of approving automatically
  --issuer       a real authorization server instead of the embedded mock (implies --interactive):
                 an https: URL such as https://idp.example.com (http: only on loopback);
                 rfc8628 reads its endpoints from the issuer's discovery document (no redirects,
                 its "issuer" must match, every endpoint must pass the same rules)
  --client-id    the client id registered at --issuer (rfc8628: required)
  --scope        rfc8628 scope to request (default "openid offline_access")
  --simulate-usage-limit  the embedded mock answers the model call with a usage limit (429)`;

/** How long the demo waits before approving on the mock's page, as a person would. */
const AUTO_APPROVE_MS = 1500;
/** Without a person in the loop, the demo gives up after this long. */
const UNATTENDED_LIMIT_MS = 30_000;
const PROMPT = "Say hello to a newcomer in one short sentence.";

class UsageError extends Error {}
class DemoError extends Error {}

interface Options {
  kind: "openai-codex" | "rfc8628";
  interactive: boolean;
  issuer?: string;
  clientId?: string;
  scope: string;
  simulateUsageLimit: boolean;
}

function parseOptions(argv: string[]): Options | "help" {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        provider: { type: "string", default: "openai-codex" },
        interactive: { type: "boolean", default: false },
        issuer: { type: "string" },
        "client-id": { type: "string" },
        scope: { type: "string", default: "openid offline_access" },
        "simulate-usage-limit": { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    }));
  } catch (e) {
    throw new UsageError(e instanceof Error ? e.message : String(e));
  }
  if (values.help) return "help";
  const kind = values.provider;
  if (kind !== "openai-codex" && kind !== "rfc8628") {
    throw new UsageError(`--provider must be openai-codex or rfc8628, not "${kind}"`);
  }
  if (values.issuer === undefined && values["client-id"] !== undefined) throw new UsageError("--client-id needs --issuer");
  if (values.issuer !== undefined && kind === "rfc8628" && values["client-id"] === undefined) {
    throw new UsageError("--provider rfc8628 with --issuer needs --client-id");
  }
  if (values.issuer !== undefined) {
    // The module's own endpoint rules: the issuer decides where the device code and tokens go.
    const problem = issuerProblem(values.issuer.replace(/\/+$/, ""));
    if (problem !== undefined) throw new UsageError(`--issuer ${JSON.stringify(values.issuer)} is not usable: ${problem}\n  ${ISSUER_HELP}`);
  }
  return {
    kind,
    interactive: values.interactive || values.issuer !== undefined,
    ...(values.issuer === undefined ? {} : { issuer: values.issuer.replace(/\/+$/, "") }),
    ...(values["client-id"] === undefined ? {} : { clientId: values["client-id"] }),
    scope: values.scope,
    simulateUsageLimit: values["simulate-usage-limit"],
  };
}

function providerFor(opts: Options, mock: MockServer | undefined, deps: DeviceFlowDeps): Promise<OAuthProvider> | OAuthProvider {
  if (opts.kind === "openai-codex") {
    return openaiCodexProvider({
      issuer: mock?.url ?? opts.issuer,
      ...(opts.clientId === undefined ? {} : { clientId: opts.clientId }),
    });
  }
  if (mock) return rfc8628Provider({ clientId: mock.rfcClientId, ...mock.rfc8628, scope: opts.scope });
  return discover(opts.issuer ?? "", {
    clientId: opts.clientId ?? "",
    scope: opts.scope,
    ...(deps.signal === undefined ? {} : { signal: deps.signal }),
  });
}

/** Presses "Approve" on the mock's verification page over HTTP, exactly as a browser would post it. */
async function approveLikeAPerson(verificationUri: string, userCode: string, say: (line: string) => void): Promise<void> {
  const res = await fetch(verificationUri.split("?")[0] ?? verificationUri, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ user_code: userCode, action: "approve" }).toString(),
  });
  await res.text();
  say(`   approved on the verification page (HTTP ${res.status}), as a person would`);
}

function expiryText(expiresAt: number | undefined): string {
  if (expiresAt === undefined) return "expiry unknown";
  return `expires ${new Date(expiresAt).toISOString()} (in ${Math.round((expiresAt - Date.now()) / 60_000)} min)`;
}

function printTokens(tokens: OAuthTokens): void {
  console.log(`   access token   ${redact(tokens.accessToken)}, ${tokens.tokenType}, ${expiryText(tokens.expiresAt)}`);
  console.log(`   refresh token  ${redact(tokens.refreshToken)}`);
  if (tokens.idToken !== undefined) console.log(`   id token       ${redact(tokens.idToken)}`);
  if (tokens.scope !== undefined) console.log(`   scope          ${tokens.scope}`);
}

/**
 * One streamed chat turn against the mock Codex backend, as a host makes it: a token session over
 * the tokens, the module's fetch over the session, and the streaming helper; the text is printed
 * as it arrives.
 */
async function chatTurn(mock: MockServer, provider: OAuthProvider, tokens: OAuthTokens, deps: DeviceFlowDeps, simulateUsageLimit: boolean): Promise<void> {
  const session = createTokenSession({ provider, fetch: deps.fetch, clock: deps.clock, store: createMemoryStore(tokens) });
  const baseUrl = `${mock.url}/backend-api/codex`;
  const codexFetch = createCodexFetch(session, { baseUrl, originator: "oauth_device_flow_demo" });
  const auth = await session.authHeaders();
  console.log(`5. Model call: POST /backend-api/codex/responses with ${Object.keys(auth).join(" + ")}, streamed through createCodexFetch`);
  console.log(`   you    ${PROMPT}`);
  mock.knobs.eventDelayMs = 30; // the mock answers at once; a little pacing shows the stream
  if (simulateUsageLimit) mock.fault({ path: "/backend-api/codex/responses", codex: "usage_limit_reached", resetsInSec: 1800 });
  const request = {
    model: "gpt-5-codex",
    instructions: "You are a friendly assistant.",
    input: [{ type: "message", role: "user", content: [{ type: "input_text", text: PROMPT }] }],
  };
  let started = false;
  try {
    for await (const e of streamCodexResponse(codexFetch, request, { baseUrl, ...(deps.signal === undefined ? {} : { signal: deps.signal }), idleTimeoutMs: 10_000 })) {
      if (e.type === "text_delta") {
        if (!started) process.stdout.write("   model  ");
        started = true;
        process.stdout.write(e.delta);
      }
      if (e.type === "completed") {
        process.stdout.write("\n");
        if (e.usage) console.log(`   usage  ${e.usage.inputTokens} in, ${e.usage.outputTokens} out`);
      }
    }
  } catch (e) {
    if (started) process.stdout.write("\n"); // end the half-printed line before the error
    throw e;
  }
}

/** What a person should do about each error (the UI states of the error table in README.md). */
function advice(e: OAuthDeviceFlowError): string {
  switch (e.code) {
    case "access_denied":
      return "the sign-in was denied on the verification page";
    case "expired_token":
      return "the code expired: start again";
    case "device_flow_disabled":
      return "device login is off for this account";
    case "reauth_required":
    case "invalid_grant":
    case "refresh_token_expired":
    case "refresh_token_reused":
    case "refresh_token_invalidated":
      return "sign in again";
    case "aborted":
      return "stopped";
    case "usage_limit_reached":
      return e.resetsAt === undefined ? "the ChatGPT usage limit is reached: try again later" : `the ChatGPT usage limit is reached: try again ${resetInWords(e.resetsAt)}`;
    case "usage_not_included":
      return "this ChatGPT plan does not include Codex";
    default:
      return e.retryable ? "a temporary problem: try again" : "a configuration problem";
  }
}

async function run(opts: Options, signal: AbortSignal): Promise<void> {
  const started = Date.now();
  const mock = opts.issuer === undefined ? await startMockServer({ intervalSec: 1 }) : undefined;
  try {
    const deps: DeviceFlowDeps = { fetch: fetch as unknown as FetchLike, clock: Date.now, timeoutMs: 10_000, signal };
    console.log(
      mock
        ? `oauth-device-flow demo: ${opts.kind} against the embedded mock authorization server at ${mock.url}\n   (loopback only: no account, no network)\n`
        : `oauth-device-flow demo: ${opts.kind} against ${opts.issuer}\n`,
    );
    const provider = await providerFor(opts, mock, deps);

    const code = await requestDeviceCode(provider, deps);
    const link = code.verificationUriComplete ?? code.verificationUri;
    console.log("1. Device code");
    console.log(`   open   ${code.verificationUri}`);
    console.log(`   enter  ${code.userCode}`);
    if (code.verificationUriComplete) console.log(`   or scan the QR code of ${code.verificationUriComplete}`);
    else console.log("   or scan the QR code of that page");
    console.log(qrCode(link).replace(/^/gm, "   "));

    const auto = mock !== undefined && !opts.interactive;
    if (auto) console.log(`   (the demo approves on that page in ${AUTO_APPROVE_MS / 1000} s; --interactive waits for you)`);
    else console.log("   (waiting for a person to approve; Ctrl-C stops)");

    console.log("2. Waiting for approval");
    const progress = new ProgressLine(process.stdout);
    let approval: NodeJS.Timeout | undefined;
    let approvalDone: Promise<void> = Promise.resolve();
    if (auto) {
      approvalDone = new Promise<void>((resolve, reject) => {
        const press = () => approveLikeAPerson(code.verificationUri, code.userCode, (line) => progress.say(line));
        approval = setTimeout(() => press().then(resolve, reject), AUTO_APPROVE_MS);
      });
      approvalDone.catch(() => {}); // awaited after the wait; not an unhandled rejection meanwhile
    }
    let tokens: OAuthTokens;
    try {
      tokens = await waitForDeviceToken(provider, code, { ...deps, onEvent: (e) => progress.onEvent(e) });
    } finally {
      progress.stop();
      if (approval) clearTimeout(approval);
    }
    await approvalDone;

    const claims = decodeTokenClaims(tokens);
    console.log("3. Signed in");
    printTokens(tokens);
    if (claims.accountId !== undefined) console.log(`   account        ${claims.accountId} (plan ${claims.planType ?? "unknown"})`);
    if (claims.email !== undefined) console.log(`   email          ${claims.email}`);
    if (claims.accountId === undefined) {
      console.log(`   account        none (an ${opts.kind} token carries no ChatGPT account claim)`);
      if (claims.audience !== undefined) console.log(`   audience       ${claims.audience.join(", ")}`);
    }

    console.log("4. Refreshed");
    const refreshed = await refreshAccessToken(provider, tokens, deps);
    printTokens(refreshed);
    const rotated = refreshed.refreshToken !== tokens.refreshToken;
    console.log(`   rotated        ${rotated ? "yes: the old refresh token is spent, keep the new one" : "no: the server kept the refresh token"}`);
    if (mock && rotated) {
      try {
        await refreshAccessToken(provider, tokens, deps);
        throw new DemoError("the mock accepted a spent refresh token");
      } catch (e) {
        if (!(e instanceof OAuthDeviceFlowError)) throw e;
        console.log(`   reuse refused  ${e.code} (the spent refresh token no longer works)`);
      }
    }
    const after = decodeTokenClaims(refreshed);
    if (after.accountId !== undefined) console.log(`   account        ${after.accountId} (plan ${after.planType ?? "unknown"})`);

    if (mock) await chatTurn(mock, provider, refreshed, deps, opts.simulateUsageLimit);
    else console.log("5. Model call: skipped (no embedded model backend next to a real issuer)");

    if (provider.revocationEndpoint !== undefined && refreshed.refreshToken !== undefined) {
      await revokeToken(provider, refreshed.refreshToken, deps);
      console.log("6. Signed out: the refresh token is revoked");
    }
    console.log(`\ndone in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } finally {
    await mock?.stop();
  }
}

async function main(): Promise<number> {
  let opts: Options | "help";
  try {
    opts = parseOptions(process.argv.slice(2));
  } catch (e) {
    console.error(`demo: ${e instanceof Error ? e.message : String(e)}\n${USAGE}`);
    return 2;
  }
  if (opts === "help") {
    console.log(USAGE);
    return 0;
  }
  const interrupt = new AbortController();
  process.once("SIGINT", () => interrupt.abort());
  const signal = opts.interactive ? interrupt.signal : AbortSignal.any([interrupt.signal, AbortSignal.timeout(UNATTENDED_LIMIT_MS)]);
  try {
    await run(opts, signal);
    return 0;
  } catch (e) {
    if (e instanceof OAuthDeviceFlowError) {
      const limit = e.code === "aborted" && !interrupt.signal.aborted ? ` (no approval within ${UNATTENDED_LIMIT_MS / 1000} s)` : "";
      console.error(`\ndemo failed: ${e.code}: ${e.message}\n   what to do: ${advice(e)}${limit}`);
      return interrupt.signal.aborted ? 130 : 1;
    }
    if (e instanceof DemoError || e instanceof DiscoveryError) {
      console.error(`\ndemo failed: ${e.message}`);
      return 1;
    }
    // Anything else is a bug or a network failure outside the module: name its kind, not its data.
    console.error(`\ndemo failed: unexpected ${e instanceof Error ? e.name : "error"}${e instanceof Error && e.message ? `: ${e.message}` : ""}`);
    return 1;
  }
}

const status = await main();
process.exitCode = status;
// Idle keep-alive sockets to a real issuer must not hold the process open.
setTimeout(() => process.exit(status), 1000).unref();
