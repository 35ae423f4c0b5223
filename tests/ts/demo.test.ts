/**
 * The demo CLI as a newcomer runs it: a child process (`node --import tsx demo/main.ts`) for
 * both providers, checked on its exit status and output lines, and on never printing a token whole.
 * With `--issuer` pointing at a mock this test owns, the test plays the person (approves or denies)
 * and knows every token the server issued, so it can check that none of them reached the output.
 * Real time: each run takes a few seconds (1 s poll interval), so the runs go in parallel.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer as createHttpServer } from "node:http";
import { createServer } from "node:net";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { startMockServer, type MockServer } from "../../demo/mockServer.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const RUN_LIMIT_MS = 20_000;

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the demo; `onOutput` sees stdout as it grows (to act like the person at the screen). */
function demo(args: string[], onOutput?: (stdout: string) => void): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "demo/main.ts", ...args], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    const killer = setTimeout(() => child.kill("SIGKILL"), RUN_LIMIT_MS);
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
      onOutput?.(stdout);
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    child.on("error", reject);
    child.on("close", (status) => {
      clearTimeout(killer);
      resolve({ status, stdout, stderr });
    });
  });
}

/** Every token the mock handed out (from its log of replies) and every one a client sent back. */
function issuedSecrets(mock: MockServer): string[] {
  const secrets = new Set<string>();
  for (const entry of mock.log) {
    for (const text of [entry.reply, entry.body]) {
      for (const match of text.matchAll(/"(?:access_token|refresh_token|id_token|device_auth_id|device_code|authorization_code|code_verifier)":"([^"]+)"/g)) {
        if (match[1]) secrets.add(match[1]);
      }
    }
  }
  return [...secrets];
}

function assertNoSecretPrinted(run: Run, secrets: readonly string[], atLeast: number): void {
  assert.ok(secrets.length >= atLeast, `the run issued ${atLeast}+ secrets to look for (found ${secrets.length})`);
  for (const s of secrets) {
    assert.ok(!run.stdout.includes(s) && !run.stderr.includes(s), `the demo printed a secret (${s.slice(0, 6)}...)`);
  }
}

/** A token-shaped word: 24+ base64url characters (docs/behaviour.md's definition for redaction). */
const TOKEN_SHAPED = /[A-Za-z0-9_-]{24,}/;

/** Approves (or denies) through the mock as soon as the demo prints the code. */
function personAt(mock: MockServer, action: "approve" | "deny"): (stdout: string) => void {
  let done = false;
  return (stdout) => {
    const code = /enter {2}([A-Z]{4}-[A-Z]{4})/.exec(stdout)?.[1];
    if (done || !code) return;
    done = true;
    assert.equal(action === "approve" ? mock.approve(code) : mock.deny(code), true);
  };
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return typeof address === "object" && address ? address.port : 1;
}

describe("demo CLI", { concurrency: true }, () => {
  test("openai-codex (the default): code, QR, progress, approval, tokens redacted, refresh with reuse refused, a streamed chat turn; exit 0", async () => {
    // What the screen showed while the model line was still being written.
    const partial: string[] = [];
    const run = await demo([], (stdout) => {
      const line = /\n {3}model {2}([^\n]*)$/.exec(stdout)?.[1];
      if (line !== undefined) partial.push(line);
    });
    assert.equal(run.status, 0, run.stderr);
    const out = run.stdout;
    assert.match(out, /against the embedded mock authorization server at http:\/\/127\.0\.0\.1:\d+/);
    assert.match(out, /open {3}http:\/\/127\.0\.0\.1:\d+\/codex\/device\n/);
    assert.match(out, /enter {2}[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}\n/);
    assert.match(out, /[▀▄█]{20,}/, "a QR code drawn with half blocks");
    assert.match(out, /waiting for approval: elapsed \d+\.\ds, next poll in 1\.0s, slow-downs 0, retries 0/);
    assert.match(out, /approved on the verification page \(HTTP 200\)/);
    assert.match(out, /access token {3}eyJhbG…\(\d+ chars\), Bearer, expires /);
    assert.match(out, /refresh token {2}rt_…?[A-Za-z0-9_-]{0,3}…\(35 chars\)/);
    assert.match(out, /account {8}acct_mock_4f2a \(plan plus\)/);
    assert.match(out, /email {10}newcomer@example\.com/);
    assert.match(out, /rotated {8}yes/);
    assert.match(out, /reuse refused {2}refresh_token_reused/);
    assert.match(out, /POST \/backend-api\/codex\/responses with Authorization \+ ChatGPT-Account-ID, streamed through createCodexFetch/);
    const answer = 'Hello! The mock Codex backend heard: "Say hello to a newcomer in one short sentence."';
    assert.ok(out.includes(`   model  ${answer}\n   usage  46 in, 15 out\n`));
    const growing = new Set(partial.filter((p) => p !== answer && answer.startsWith(p)));
    assert.ok(growing.size >= 2, `the answer was printed as it streamed (${growing.size} partial lines seen)`);
    assert.match(out, /Signed out: the refresh token is revoked/);
    assert.match(out, /\ndone in \d+\.\d s\n$/);
    assert.doesNotMatch(out, TOKEN_SHAPED, "no token-shaped word in the output");
    assert.equal(run.stderr, "");
  });

  test("--provider rfc8628: the complete URI in the QR code, a bearer-only chat turn, invalid_grant on reuse; exit 0", async () => {
    const run = await demo(["--provider", "rfc8628"]);
    assert.equal(run.status, 0, run.stderr);
    const out = run.stdout;
    assert.match(out, /demo: rfc8628 against the embedded mock/);
    assert.match(out, /open {3}http:\/\/127\.0\.0\.1:\d+\/device\n/);
    assert.match(out, /or scan the QR code of http:\/\/127\.0\.0\.1:\d+\/device\?user_code=[A-Z]{4}-[A-Z]{4}\n/);
    assert.match(out, /scope {10}openid offline_access/);
    assert.match(out, /account {8}none \(an rfc8628 token carries no ChatGPT account claim\)/);
    assert.match(out, /reuse refused {2}invalid_grant/);
    assert.match(out, /with Authorization, streamed through createCodexFetch\n/);
    assert.match(out, /model {2}Hello! The mock Codex backend heard/);
    assert.doesNotMatch(out, TOKEN_SHAPED);
  });

  test("--simulate-usage-limit: the model call's usage limit ends with exit 1 and the reset time in words", async () => {
    const run = await demo(["--simulate-usage-limit"]);
    assert.equal(run.status, 1);
    assert.match(run.stdout, /5\. Model call: /);
    assert.match(run.stderr, /demo failed: usage_limit_reached: .+\n {3}what to do: the ChatGPT usage limit is reached: try again at \d{2}:\d{2} UTC \(in 30 minutes\)\n$/);
    assert.doesNotMatch(run.stdout + run.stderr, TOKEN_SHAPED);
  });

  test("--issuer (openai-codex): no mock of its own, waits for the person, and prints none of the issued tokens", async () => {
    const mock = await startMockServer({ intervalSec: 1 });
    try {
      const run = await demo(["--issuer", mock.url], personAt(mock, "approve"));
      assert.equal(run.status, 0, run.stderr);
      assert.match(run.stdout, new RegExp(`demo: openai-codex against ${mock.url}\n`));
      assert.match(run.stdout, /waiting for a person to approve/);
      assert.match(run.stdout, /account {8}acct_mock_4f2a \(plan plus\)/);
      assert.match(run.stdout, /Model call: skipped/);
      assert.equal(mock.count("/oauth/revoke"), 1, "it signs out at the end");
      assert.equal(mock.count("/backend-api/codex/responses"), 0);
      // device_auth_id, authorization code, verifier, 2 x (access, refresh, id token)
      assertNoSecretPrinted(run, issuedSecrets(mock), 9);
    } finally {
      await mock.stop();
    }
  });

  test("a denial ends with exit 1 and says so; no secret in the message", async () => {
    const mock = await startMockServer({ intervalSec: 1 });
    try {
      const run = await demo(["--issuer", mock.url], personAt(mock, "deny"));
      assert.equal(run.status, 1);
      assert.match(run.stderr, /demo failed: access_denied: .+\n {3}what to do: the sign-in was denied on the verification page\n$/);
      assertNoSecretPrinted(run, issuedSecrets(mock), 1); // the device_auth_id
    } finally {
      await mock.stop();
    }
  });

  test("an unreachable --issuer ends with exit 1 and network_error", async () => {
    const run = await demo(["--issuer", `http://127.0.0.1:${await closedPort()}`]);
    assert.equal(run.status, 1);
    assert.match(run.stderr, /demo failed: network_error: /);
    assert.match(run.stderr, /what to do: a temporary problem: try again/);
  });

  test("bad usage exits 2 with the usage text: an unknown provider, an unknown flag, rfc8628 --issuer without --client-id", async () => {
    const bad = await demo(["--provider", "github"]);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /^demo: --provider must be openai-codex or rfc8628, not "github"\nusage: npm run demo -- /);
    const unknown = await demo(["--verbose"]);
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /--verbose/);
    const noClient = await demo(["--provider", "rfc8628", "--issuer", "http://127.0.0.1:9"]);
    assert.equal(noClient.status, 2);
    assert.match(noClient.stderr, /needs --client-id/);
  });
});

/** A loopback discovery server this test controls; counts every request by path. */
async function discoveryServer(answer: (path: string, base: string) => { status: number; headers?: Record<string, string>; body?: unknown }) {
  const hits: string[] = [];
  const server = createHttpServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    hits.push(path);
    const a = answer(path, base);
    res.writeHead(a.status, { "content-type": "application/json", ...a.headers });
    res.end(a.body === undefined ? "" : JSON.stringify(a.body));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const base = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
  return {
    base,
    hits,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const discoveryDoc = (issuer: string, base: string, extra: Record<string, unknown> = {}) => ({
  issuer,
  device_authorization_endpoint: `${base}/device`,
  token_endpoint: `${base}/token`,
  ...extra,
});

describe("demo CLI --issuer discovery against a server that lies", { concurrency: true }, () => {
  const rfc = (issuer: string) => ["--provider", "rfc8628", "--client-id", "cli", "--issuer", issuer];

  test("a document naming another issuer is refused (exit 1) before any device request", async () => {
    const s = await discoveryServer((_p, base) => ({ status: 200, body: discoveryDoc("https://idp.example.com", base) }));
    try {
      const run = await demo(rfc(s.base));
      assert.equal(run.status, 1, run.stderr);
      assert.match(run.stderr, /describes the issuer "https:\/\/idp\.example\.com", not http:\/\/127\.0\.0\.1:\d+: a discovery document must name the issuer it was fetched for/);
      assert.deepEqual(s.hits, ["/.well-known/openid-configuration"], "nothing but discovery was asked");
    } finally {
      await s.close();
    }
  });

  test("a redirect is never followed (exit 1): the server it points to is never asked", async () => {
    const target = await discoveryServer((_p, base) => ({ status: 200, body: discoveryDoc(base, base) }));
    const s = await discoveryServer(() => ({ status: 302, headers: { location: `${target.base}/.well-known/openid-configuration` } }));
    try {
      const run = await demo(rfc(s.base));
      assert.equal(run.status, 1, run.stderr);
      assert.match(run.stderr, /answered a redirect \(HTTP 302\): discovery is never redirected/);
      assert.deepEqual(target.hits, [], "the redirect target was never contacted");
    } finally {
      await s.close();
      await target.close();
    }
  });

  test("an endpoint in clear text to another host is refused (exit 1) before any request to it", async () => {
    const s = await discoveryServer((_p, base) => ({
      status: 200,
      body: discoveryDoc(base, base, { token_endpoint: "http://evil.example/token", userinfo_endpoint: `${base}/userinfo` }),
    }));
    try {
      const run = await demo(rfc(s.base));
      assert.equal(run.status, 1, run.stderr);
      assert.match(run.stderr, /token_endpoint of the discovery document is refused by the module's endpoint rules: .*https:/);
      assert.deepEqual(s.hits, ["/.well-known/openid-configuration"]);
    } finally {
      await s.close();
    }
  });

  test("an unused endpoint with userinfo in the URL is refused too; RFC 8414 metadata is found under its own well-known path", async () => {
    const s = await discoveryServer((path, base) =>
      path === "/.well-known/oauth-authorization-server"
        ? { status: 200, body: discoveryDoc(base, base, { registration_endpoint: `https://user@idp.example.com/register` }) }
        : { status: 404 },
    );
    try {
      const run = await demo(rfc(s.base));
      assert.equal(run.status, 1, run.stderr);
      assert.match(run.stderr, /registration_endpoint of the discovery document is refused/);
      assert.deepEqual(s.hits, ["/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"]);
    } finally {
      await s.close();
    }
  });

  test("an issuer the module's endpoint rules refuse is bad usage (exit 2) with what a valid issuer looks like, for both providers", async () => {
    const runs = await Promise.all([
      demo(rfc("not-a-url")),
      demo(rfc("http://idp.example.com")),
      demo(rfc("https://idp.example.com/?tenant=1")),
      demo(["--issuer", "ftp://idp.example.com"]),
      demo(["--issuer", "https://user@idp.example.com"]),
    ]);
    for (const run of runs) {
      assert.equal(run.status, 2, run.stderr);
      assert.match(run.stderr, /^demo: --issuer ".*" is not usable: /);
      assert.match(run.stderr, /an issuer is an absolute https: URL without query or fragment, e\.g\. https:\/\/idp\.example\.com/);
      assert.match(run.stderr, /usage: npm run demo -- /);
    }
  });
});
