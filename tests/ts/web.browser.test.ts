/**
 * The admin page in a real browser, as an admin uses it: Debian's headless Chromium, driven by
 * playwright-core, opens the reference host (demo/web/), presses "Sign in with ChatGPT", reads the
 * code from the modal, approves it on the mock's verification page in a second tab (as a person
 * would), sees "connected", runs a chat turn that reaches the mock Codex backend with the session's
 * headers and streams into the page, shows a usage limit's reset time in words, switches the page to German, and in a second flow denies, which shows the denied state.
 * It also checks that no secret the mock issued (device code, tokens) ever reached the browser.
 *
 * Real time (1 s poll interval): about 10 s. Screenshots go to target/screenshots/ (printed).
 * Chromium must be at /usr/bin/chromium (scripts/test.sh installs it when it can); without it this
 * test fails, it never skips.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { openaiCodexProvider } from "../../js/oauthDeviceFlow.ts";
import { startMockServer, type MockServer } from "../../demo/mockServer.ts";
import { startWebHost, type WebHost } from "../../demo/web/server.ts";

/**
 * The part of playwright-core this test uses. Its own .d.ts needs the DOM library, which the
 * project's tsconfig (shared by Node code) leaves out on purpose, so the module is loaded by a
 * specifier tsc does not follow and typed here.
 */
interface Locator {
  click(): Promise<void>;
  fill(value: string): Promise<void>;
  waitFor(): Promise<void>;
  textContent(): Promise<string | null>;
  getAttribute(name: string): Promise<string | null>;
  isVisible(): Promise<boolean>;
  locator(selector: string): Locator;
}
interface Page {
  goto(url: string): Promise<unknown>;
  reload(): Promise<unknown>;
  close(): Promise<void>;
  locator(selector: string): Locator;
  getByRole(role: "button", options: { name: string }): Locator;
  evaluate(expression: string): Promise<unknown>;
  waitForFunction(expression: string): Promise<unknown>;
  screenshot(options: { path: string; fullPage?: boolean }): Promise<unknown>;
}
interface BrowserContext {
  pages(): Page[];
  newPage(): Promise<Page>;
  close(): Promise<void>;
  setDefaultTimeout(ms: number): void;
  grantPermissions(permissions: string[], options: { origin: string }): Promise<void>;
  on(event: "response", listener: (res: { url(): string; text(): Promise<string> }) => void): void;
}
interface Playwright {
  chromium: {
    launchPersistentContext(
      userDataDir: string,
      options: { executablePath: string; headless: boolean; args: string[]; viewport: { width: number; height: number }; locale: string },
    ): Promise<BrowserContext>;
  };
}
const PLAYWRIGHT: string = "playwright-core";
const { chromium } = (await import(PLAYWRIGHT)) as Playwright;

const CHROMIUM = process.env["CHROMIUM_PATH"] || "/usr/bin/chromium";
/** Debian's Chromium headless as root in a container: no sandbox, no GPU, nothing fetched in the background. */
const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const SHOTS = join(ROOT, "target", "screenshots");
const STEP_MS = 20_000;

let mock: MockServer;
let host: WebHost;
let context: BrowserContext;
let userDataDir: string;
/** Every body the host sent to the browser. */
const bodiesSeen: string[] = [];

before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: install Debian's chromium package (scripts/test.sh does so as root)`);
  mkdirSync(SHOTS, { recursive: true });
  mock = await startMockServer({ intervalSec: 1 });
  host = await startWebHost({ provider: openaiCodexProvider({ issuer: mock.url }), backendUrl: mock.url, timeoutMs: 5_000 });
  userDataDir = mkdtempSync(join(tmpdir(), "admin-page-chromium-"));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    viewport: { width: 1100, height: 900 },
    locale: "en-US",
  });
  context.setDefaultTimeout(STEP_MS);
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: host.url });
  context.on("response", (res) => {
    if (!res.url().startsWith(host.url)) return;
    res.text().then(
      (text) => bodiesSeen.push(text),
      () => {},
    );
  });
});

after(async () => {
  await context?.close();
  await host?.stop();
  await mock?.stop();
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
});

async function adminPage(): Promise<Page> {
  const page = context.pages()[0] ?? (await context.newPage());
  return page;
}

/** The person's side: opens the link from the modal in a new tab, enters the code, presses a button. */
async function decideOnApprovalPage(link: string, userCode: string, action: "approve" | "deny"): Promise<string> {
  const tab = await context.newPage();
  try {
    await tab.goto(link);
    await tab.locator('input[name="user_code"]').fill(userCode);
    await tab.locator(`button[value="${action}"]`).click();
    return (await tab.locator("h1").textContent()) ?? "";
  } finally {
    await tab.close();
  }
}

/** Clicks the button and reads what the modal shows. */
async function startSignIn(page: Page): Promise<{ userCode: string; link: string }> {
  await page.getByRole("button", { name: "Sign in with ChatGPT" }).click();
  const dialog = page.locator("#device-modal");
  await dialog.locator('#flow-status[data-state="waiting"]').waitFor();
  const userCode = (await dialog.locator("#user-code").textContent()) ?? "";
  const link = (await dialog.locator("#verification-link").getAttribute("href")) ?? "";
  return { userCode, link };
}

function shot(name: string): string {
  return join(SHOTS, name);
}

test("admin page: sign in with the device-code modal, approve on the verification page, connected, one chat turn", async (t) => {
  const page = await adminPage();
  await page.goto(host.adminUrl);
  assert.match((await page.locator("#terms-notice").textContent()) ?? "", /experimental and a grey area of OpenAI's terms of use/);
  assert.equal(await page.locator("#connection").textContent(), "Not connected");

  const { userCode, link } = await startSignIn(page);
  assert.match(userCode, /^[A-Z0-9]{4}-[A-Z0-9]{4,5}$/, "the modal shows the user code the mock issued");
  assert.equal(link, `${mock.url}/codex/device`, "the link is the provider's verification page");
  assert.equal(await page.locator("#verification-link").textContent(), link);
  assert.match((await page.locator("#countdown").textContent()) ?? "", /^1[45]:[0-5][0-9]$/, "a 15-minute countdown");
  assert.equal(await page.locator("#flow-status").textContent(), "Waiting for approval…");

  // The label says "Copied" once the clipboard write has resolved, and "Copy" again 2 s later. On a
  // busy machine a poll of the label can miss that window, so the page records every label the
  // button takes (a MutationObserver set up before the click) and the test waits for that record.
  await page.evaluate(`{
    const button = document.getElementById("copy-code");
    window.copyLabels = [];
    new MutationObserver(() => window.copyLabels.push(button.textContent)).observe(button, { childList: true, characterData: true, subtree: true });
  }`);
  await page.locator("#copy-code").click();
  await page.waitForFunction(`window.copyLabels.includes("Copied")`);
  assert.equal(await page.evaluate(`window.copyLabels[0]`), "Copied", "the first label after the click is Copied");
  assert.equal(await page.evaluate("navigator.clipboard.readText()"), userCode, "the copy button puts the code on the clipboard");
  await page.screenshot({ path: shot("admin-modal-waiting.png") });

  assert.equal(await decideOnApprovalPage(link, userCode, "approve"), "Device connected");
  await page.locator('#flow-status[data-state="connected"]').waitFor();
  assert.equal(await page.locator("#flow-status").textContent(), "Connected. You can close this window.");
  await page.locator('#connection[data-connected="true"]').waitFor();
  assert.equal(await page.locator("#connection").textContent(), "Connected");
  assert.equal(await page.locator("#account-line").textContent(), `Signed in as ${mock.account.email} · plan ${mock.account.planType}`);
  assert.equal(mock.count("/oauth/token"), 1, "the authorization code was redeemed once");

  await page.getByRole("button", { name: "Close" }).click();
  await page.locator("#chat-input").fill("Hello from the admin page");
  await page.getByRole("button", { name: "Send" }).click();
  await page.locator('#chat-output[data-ok="true"]').waitFor();
  assert.equal(await page.locator("#chat-output").textContent(), 'Hello! The mock Codex backend heard: "Hello from the admin page"');
  const [call] = mock.log.filter((e) => e.path === "/backend-api/codex/responses");
  assert.ok(call, "the chat turn reached the Codex backend");
  assert.equal(call.status, 200);
  assert.match(call.headers["authorization"] ?? "", /^Bearer eyJ/);
  assert.equal(call.headers["chatgpt-account-id"], mock.account.accountId);

  // The answer streams into the page: the output grows piece by piece before it is complete.
  mock.knobs.eventDelayMs = 40;
  await page.evaluate(`(() => {
    const out = document.getElementById("chat-output");
    window.__chatSeen = [];
    new MutationObserver(() => window.__chatSeen.push(out.dataset.ok + "|" + out.textContent)).observe(out, { childList: true, characterData: true, subtree: true, attributes: true });
  })()`);
  await page.locator("#chat-input").fill("Stream this");
  await page.getByRole("button", { name: "Send" }).click();
  const streamed = 'Hello! The mock Codex backend heard: "Stream this"';
  await page.locator(`#chat-output[data-ok="true"]:text-is('${streamed}')`).waitFor();
  mock.knobs.eventDelayMs = 0;
  const seen = (await page.evaluate("window.__chatSeen")) as string[];
  const partial = [...new Set(seen.filter((v) => v.startsWith("streaming|") && v.length > "streaming|".length).map((v) => v.slice("streaming|".length)))];
  for (const text of partial) assert.ok(streamed.startsWith(text), `"${text}" is a beginning of the answer`);
  assert.ok(partial.filter((text) => text !== streamed).length >= 3, `the page showed the answer growing (${partial.length} texts while streaming)`);

  // A usage limit shows the reset time in words.
  mock.fault({ path: "/backend-api/codex/responses", codex: "usage_limit_reached", resetsInSec: 1800 });
  await page.locator("#chat-input").fill("Over the limit");
  await page.getByRole("button", { name: "Send" }).click();
  await page.locator('#chat-output[data-ok="false"]').waitFor();
  assert.match((await page.locator("#chat-output").textContent()) ?? "", /^The ChatGPT usage limit is reached: try again at \d{2}:\d{2} (AM |PM )?\(in 30 minutes\)\.$/);

  const path = shot("admin-page-connected.png");
  await page.screenshot({ path, fullPage: true });
  t.diagnostic(`screenshot: ${path}`);
  console.log(`screenshot: ${path}`);
});

test("admin page: the language switch shows the page and the terms notice in German and back in English", async (t) => {
  const page = await adminPage();
  await page.getByRole("button", { name: "Deutsch" }).click();
  assert.equal(await page.locator("html").getAttribute("lang"), "de");
  assert.match((await page.locator("#terms-notice").textContent()) ?? "", /experimentell und eine Grauzone der Nutzungsbedingungen von OpenAI/);
  assert.equal(await page.locator("#sign-in").textContent(), "Mit ChatGPT anmelden");
  assert.equal(await page.locator("#connection").textContent(), "Verbunden");
  const path = shot("admin-page-de.png");
  await page.screenshot({ path, fullPage: true });
  t.diagnostic(`screenshot: ${path}`);
  await page.reload();
  assert.equal(await page.locator("#sign-in").textContent(), "Mit ChatGPT anmelden", "the choice survives a reload");
  await page.getByRole("button", { name: "English" }).click();
  assert.equal(await page.locator("#sign-in").textContent(), "Sign in with ChatGPT");
});

test("admin page: a second sign-in denied on the verification page shows the denied state and offers to start again", async (t) => {
  const page = await adminPage();
  const { userCode, link } = await startSignIn(page);
  assert.equal(await decideOnApprovalPage(link, userCode, "deny"), "Request denied");
  await page.locator('#flow-status[data-state="denied"]').waitFor();
  assert.equal(await page.locator("#flow-status").textContent(), "Denied: the sign-in was declined.");
  assert.equal(await page.locator("#restart").isVisible(), true, "a denied flow offers Start again");
  const path = shot("admin-modal-denied.png");
  await page.screenshot({ path });
  t.diagnostic(`screenshot: ${path}`);
  // The denial ended the flow: no more polls for it.
  const polls = mock.count("/api/accounts/deviceauth/token");
  await new Promise((resolve) => setTimeout(resolve, 1500));
  assert.equal(mock.count("/api/accounts/deviceauth/token"), polls, "the page stops polling once denied");
});

test("admin page: no device code and no token the mock issued ever reached the browser", () => {
  const secrets = new Set<string>();
  for (const entry of mock.log) {
    for (const match of entry.reply.matchAll(/"(?:access_token|refresh_token|id_token|device_auth_id|authorization_code|code_verifier)":"([^"]+)"/g)) {
      if (match[1]) secrets.add(match[1]);
    }
  }
  assert.ok(secrets.size >= 6, "the flows issued device codes and tokens");
  assert.ok(bodiesSeen.length > 5, "the browser's traffic was recorded");
  for (const body of bodiesSeen) {
    for (const secret of secrets) assert.ok(!body.includes(secret), "a secret reached the browser");
  }
});
