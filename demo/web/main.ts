/**
 * `npm run demo:web`: the reference host with its admin page. By default it starts the embedded mock
 * (demo/mockServer.ts) and points the provider and the chat route at it, so the page works with no
 * account: open the printed URL, press "Sign in with ChatGPT", approve on the mock's page.
 *
 *   node --import tsx demo/web/main.ts [--port N] [--issuer URL]
 *
 * `--issuer` signs in against a real OpenAI-style issuer instead (no chat route then: there is no
 * model backend next to a real issuer). Exit status: 0 after Ctrl-C or SIGTERM, 1 failure, 2 bad usage.
 */
import { parseArgs } from "node:util";
import { openaiCodexProvider } from "../../js/oauthDeviceFlow.ts";
import { startMockServer, type MockServer } from "../mockServer.ts";
import { startWebHost } from "./server.ts";

const USAGE = `usage: npm run demo:web -- [--port N] [--issuer URL]
  --port    where the admin page listens on 127.0.0.1 (default 8787; 0 picks a free port)
  --issuer  a real "Sign in with ChatGPT" issuer instead of the embedded mock (no chat route then)`;

function parse(argv: string[]): { port: number; issuer?: string } | "help" {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      port: { type: "string", default: "8787" },
      issuer: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) return "help";
  const port = Number(values.port);
  if (!/^[0-9]{1,5}$/.test(values.port) || port > 65535) throw new Error(`--port must be 0..65535, not "${values.port}"`);
  return { port, ...(values.issuer === undefined ? {} : { issuer: values.issuer.replace(/\/+$/, "") }) };
}

async function main(): Promise<number> {
  let opts;
  try {
    opts = parse(process.argv.slice(2));
  } catch (e) {
    console.error(`demo:web: ${e instanceof Error ? e.message : String(e)}\n${USAGE}`);
    return 2;
  }
  if (opts === "help") {
    console.log(USAGE);
    return 0;
  }
  let mock: MockServer | undefined;
  try {
    mock = opts.issuer === undefined ? await startMockServer({ intervalSec: 2 }) : undefined;
    const provider = openaiCodexProvider({ issuer: mock?.url ?? opts.issuer });
    const host = await startWebHost({ provider, port: opts.port, ...(mock ? { backendUrl: mock.url } : {}) });
    // The admin token is in the fragment: only whoever reads this console can use the admin API.
    console.log(`admin page   ${host.adminUrl}`);
    console.log(mock ? `mock issuer  ${mock.url} (approve codes at ${mock.url}/codex/device)` : `issuer       ${opts.issuer}`);
    console.log("Ctrl-C stops.");
    await new Promise<void>((resolve) => {
      process.once("SIGINT", () => resolve());
      process.once("SIGTERM", () => resolve());
    });
    await host.stop();
    return 0;
  } catch (e) {
    console.error(`demo:web failed: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  } finally {
    await mock?.stop();
  }
}

process.exitCode = await main();
