/**
 * Provider headers against the real thing: Node's own fetch (undici) to a loopback HTTP server.
 * Every header the module accepts must arrive exactly as configured (no request fails with a
 * `network_error`, nothing is trimmed, replaced or dropped), and the names and values it refuses
 * are ones this fetch refuses or rewrites. Checked on a fixed list at the edges and on generated
 * headers (fast-check), through the WebAssembly module and the baseline.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import fc from "fast-check";
import * as baseline from "../../baseline/oauthDeviceFlow.ts";
import * as wasmModule from "../../js/oauthDeviceFlow.ts";
import type { FetchLike } from "../../js/oauthDeviceFlow.ts";

const APIS = [
  ["module", wasmModule],
  ["baseline", baseline],
] as const;

let server: Server;
let base = "";
/** The raw headers of each request, as the server received them (names lowercased). */
const received: Array<Map<string, string>> = [];

before(async () => {
  server = createServer((req: IncomingMessage, res) => {
    const headers = new Map<string, string>();
    for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
      headers.set((req.rawHeaders[i] as string).toLowerCase(), req.rawHeaders[i + 1] as string);
    }
    received.push(headers);
    req.resume();
    req.on("end", () => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ device_code: "dc", user_code: "ABCD-EFGH", verification_uri: `${base}/device`, expires_in: 600, interval: 5 }));
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(() => {
  server.closeAllConnections();
  server.close();
});

const deps = () => ({ fetch: fetch as unknown as FetchLike, clock: Date.now, timeoutMs: 10_000 });

/** Sends one device request with `headers` through `api`; undefined when the provider is refused. */
async function send(api: (typeof APIS)[number][1], headers: Record<string, string>): Promise<Map<string, string> | "refused"> {
  let provider;
  try {
    provider = api.rfc8628Provider({ clientId: "cli", deviceAuthorizationEndpoint: `${base}/device`, tokenEndpoint: `${base}/token`, headers });
  } catch (e) {
    assert.equal((e as { code?: string }).code, "invalid_config");
    return "refused";
  }
  const before = received.length;
  await api.requestDeviceCode(provider, deps());
  assert.equal(received.length, before + 1, "one request reached the server");
  return received[before] as Map<string, string>;
}

function assertArrivedExactly(got: Map<string, string>, headers: Record<string, string>): void {
  for (const [name, value] of Object.entries(headers)) {
    assert.equal(got.get(name.toLowerCase()), value, `header ${JSON.stringify(name)} arrives exactly`);
  }
}

/** Every character fetch accepts in a value, and every token character in a name. */
const LATIN1_VALUE = `a\t !"#$%&'()*+,-./0123456789:;<=>?@AZ[\\]^_\`az{|}~\u00a0\u00e9\u00ff`;
const TOKEN_NAME = "X-!#$%&'*+-.^_`|~09AZaz";

describe("provider headers through Node's fetch", () => {
  for (const [name, api] of APIS) {
    test(`[${name}] accepted headers at the edges arrive exactly: every value character, every name character, 32 headers, the length caps`, async () => {
      const edge = {
        "User-Agent": "host/1.2.3 (linux; x64)",
        originator: "codex_cli_rs",
        [TOKEN_NAME]: LATIN1_VALUE,
        "X-Empty": "",
        "X-Inner-Blanks": "a \t b",
      };
      assertArrivedExactly((await send(api, edge)) as Map<string, string>, edge);
      const many: Record<string, string> = {};
      for (let i = 0; i < 32; i += 1) many[`X-H${i}`] = "v".repeat(100);
      assertArrivedExactly((await send(api, many)) as Map<string, string>, many);
      const long = { ["X-" + "n".repeat(254)]: "é".repeat(4096), "X-B": "b".repeat(8192 - 256 - 4096 - 3) };
      assertArrivedExactly((await send(api, long)) as Map<string, string>, long);
    });

    test(`[${name}] the names and values fetch refuses or rewrites are refused before any request`, async () => {
      const before = received.length;
      const refused: Array<Record<string, string>> = [
        { "Content-Length": "1" },
        { "Transfer-Encoding": "chunked" },
        { Connection: "close" },
        { Expect: "100-continue" },
        { Host: "evil.example" },
        { "Keep-Alive": "timeout=5" },
        { Upgrade: "websocket" },
        { "X-A": "a\u2028b" },
        { "X-A": "a\u007fb" },
        { "X-A": "\u20ac" },
        { "X-A": " padded " },
      ];
      for (const h of refused) {
        assert.equal(await send(api, h), "refused", JSON.stringify(h));
      }
      assert.equal(received.length, before, "no request was made");
    });
  }

  test("what the refused names and values do to Node's fetch itself: fail the request, or change what is sent", async () => {
    const direct = async (headers: Record<string, string>) => {
      try {
        const res = await fetch(`${base}/device`, { method: "POST", headers, body: "x" });
        await res.text();
        return received.at(-1) as Map<string, string>;
      } catch {
        return "failed" as const;
      }
    };
    const failing: Array<Record<string, string>> = [{ "Transfer-Encoding": "chunked" }, { Connection: "x" }, { Expect: "100-continue" }, { "Keep-Alive": "1" }, { Upgrade: "x" }, { "X-A": "a\u2028b" }, { "X-A": "a\u007fb" }];
    for (const h of failing) {
      assert.equal(await direct(h), "failed", `fetch refuses ${JSON.stringify(h)}`);
    }
    const host = await direct({ Host: "evil.example" });
    assert.notEqual(host === "failed" ? undefined : host.get("host"), "evil.example", "fetch replaces Host");
    const padded = await direct({ "X-A": " padded " });
    assert.equal(padded === "failed" ? undefined : padded.get("x-a"), "padded", "fetch trims the value");
  });

  test("generated headers: whatever validation accepts, Node's fetch sends exactly (module and baseline agree)", async () => {
    const tokenChar = fc.constantFrom(..."abcXYZ019-_!#$%&'*+.^`|~".split(""));
    const nameChar = fc.oneof({ weight: 12, arbitrary: tokenChar }, { weight: 1, arbitrary: fc.constantFrom(..." :;\"()/\u00e9".split("")) });
    const name = fc.oneof(
      { weight: 6, arbitrary: fc.string({ unit: nameChar, minLength: 1, maxLength: 12 }).map((s) => `X-${s}`) },
      {
        weight: 1,
        arbitrary: fc.constantFrom("Host", "Connection", "TE", "Trailer", "Content-Length", "Cookie", "Sec-X", "Proxy-Y", "User-Agent", "originator"),
      },
    );
    const valueChar = fc.oneof(
      { weight: 20, arbitrary: fc.constantFrom(..." \tabcXYZ09~!\"\\\u00a0\u00e9\u00ff".split("")) },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: 0x2fff }).map((c) => String.fromCharCode(c)) },
    );
    const value = fc.string({ unit: valueChar, maxLength: 20 });
    const headers = fc.dictionary(name, value, { minKeys: 1, maxKeys: 3 });
    let sent = 0;
    await fc.assert(
      fc.asyncProperty(headers, async (h) => {
        const m = await send(wasmModule, h);
        const b = await send(baseline, h);
        assert.equal(m === "refused", b === "refused", "module and baseline accept the same headers");
        if (m !== "refused" && b !== "refused") {
          sent += 1;
          assertArrivedExactly(m, h);
          assertArrivedExactly(b, h);
        }
      }),
      { numRuns: Number(process.env["PROPERTY_RUNS"] ?? 300), seed: 20261206 },
    );
    assert.ok(sent > 30, `enough accepted headers were sent (${sent})`);
  });
});
