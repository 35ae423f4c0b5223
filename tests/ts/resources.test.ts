/**
 * Resource bounds of the WebAssembly module (docs/hardening.md, resource bounds): inputs over
 * their caps are refused before they are copied into the module's memory (which never shrinks),
 * memory stays flat over many distinct providers, and a trap (here a real out-of-memory: the
 * test grows the module's memory to the 4 GiB maximum, so the next large allocation fails)
 * settles every pending call with a typed error and leaves the module usable: it is
 * re-instantiated. The drop-in is loaded after `WebAssembly.Instance` is wrapped, to reach the
 * instance's memory; nothing in the module exists for the test.
 */
import assert from "node:assert/strict";
import { test } from "node:test";

interface WasmMemory {
  grow(pages: number): number;
  readonly buffer: ArrayBuffer;
}
interface WasmInstance {
  readonly exports: Record<string, unknown>;
}
const W = (globalThis as unknown as { WebAssembly: { Instance: new (...args: unknown[]) => WasmInstance } }).WebAssembly;
const instances: WasmInstance[] = [];
W.Instance = new Proxy(W.Instance, {
  construct(target, args) {
    const instance = Reflect.construct(target, args) as WasmInstance;
    instances.push(instance);
    return instance;
  },
});
const m = await import("../../js/oauthDeviceFlow.ts");
const glue = (await import("../../js/wasm.ts")) as unknown as { wasmMemoryBytes(): number; opCount(): number };

const MiB = 1024 * 1024;
const T0 = 1_700_000_000_000;
const clock = () => T0;
type Fetch = import("../../js/oauthDeviceFlow.ts").FetchLike;
const reply = (body: string) => ({ status: 200, headers: { get: () => null }, text: async () => body });
const okFetch: Fetch = async () => reply(JSON.stringify({ access_token: "at_new", expires_in: 3600 }));
const rfc = (extra: Record<string, unknown> = {}) => ({
  kind: "rfc8628" as const,
  clientId: "cli",
  deviceAuthorizationEndpoint: "https://idp.example.com/device",
  tokenEndpoint: "https://idp.example.com/token",
  ...extra,
});

test("inputs over their caps are refused before they reach the module's memory", async (t) => {
  await m.refreshAccessToken(rfc(), "rt", { fetch: okFetch, clock }); // warm up
  const before = glue.wasmMemoryBytes();
  const huge = "x".repeat(50_000_000);
  for (const call of [
    () => m.refreshAccessToken(rfc({ clientId: huge }), "rt", { fetch: okFetch, clock }),
    () => m.refreshAccessToken(rfc({ junk: huge }), "rt", { fetch: okFetch, clock }),
    () => m.refreshAccessToken(rfc(), huge, { fetch: okFetch, clock }),
    () => m.revokeToken(rfc({ revocationEndpoint: "https://idp.example.com/revoke" }), huge, { fetch: okFetch, clock }),
    () => m.pollDeviceToken(rfc(), { deviceCode: huge, userCode: "U", verificationUri: "https://x.example", intervalMs: 5000, expiresAt: T0 + 1e6 }, { fetch: okFetch, clock }),
  ]) {
    await assert.rejects(call(), { code: "invalid_config" });
  }
  assert.throws(() => m.rfc8628Provider({ ...rfc(), kind: undefined, scope: huge } as never), { code: "invalid_config" });
  assert.throws(() => m.isAccessTokenExpired({ accessToken: huge, tokenType: "Bearer" }, clock), { code: "invalid_config" });
  assert.throws(() => m.codexAuthHeaders({ accessToken: huge, tokenType: "Bearer" }), { code: "invalid_config" });
  assert.deepEqual(m.decodeTokenClaims({ accessToken: huge, tokenType: "Bearer", idToken: huge }), {});
  const after = glue.wasmMemoryBytes();
  t.diagnostic(`wasm memory ${(before / MiB).toFixed(2)} MiB before, ${(after / MiB).toFixed(2)} MiB after ten 50-million-character inputs`);
  assert.equal(after, before, "not one page more");
});

test("memory stays flat over 1300 distinct providers, small and at the caps", async (t) => {
  const start = glue.wasmMemoryBytes();
  for (let i = 0; i < 1000; i += 1) {
    await m.refreshAccessToken(rfc({ clientId: `client-${i}` }), "rt", { fetch: okFetch, clock });
  }
  const afterSmall = glue.wasmMemoryBytes();
  const big = (i: number) =>
    rfc({
      clientId: `c${i}`.padEnd(512, "c"),
      scope: "s".repeat(4096),
      clientAuth: "client_secret_post",
      clientSecret: `k${i}`.padEnd(4096, "k"),
      headers: { "X-A": "a".repeat(4000), "X-B": "b".repeat(4000) },
      extraParams: Object.fromEntries(Array.from({ length: 32 }, (_, j) => [`p${j}`.padEnd(256, "p"), "v".repeat(4096)])),
    });
  for (let i = 0; i < 300; i += 1) {
    await m.refreshAccessToken(big(i), "rt", { fetch: okFetch, clock });
  }
  const end = glue.wasmMemoryBytes();
  t.diagnostic(
    `wasm memory ${(start / MiB).toFixed(2)} MiB at the start, ${(afterSmall / MiB).toFixed(2)} MiB after 1000 small providers, ${(end / MiB).toFixed(2)} MiB after 300 more at every cap`,
  );
  assert.ok(afterSmall - start <= 1 * MiB, "small providers: at most 1 MiB more");
  assert.ok(end - start <= 4 * MiB, "providers at the caps: at most 4 MiB more");
  assert.equal(glue.opCount(), 0, "no operation left behind");
});

test("a trap (out of memory) settles every pending call with invalid_config, and the next call works on a fresh instance", async (t) => {
  const instance = instances.at(-1) as WasmInstance;
  const memory = instance.exports["memory"] as WasmMemory;
  // A second call that stays pending on the same instance: it must settle too.
  let releaseOther: (v: ReturnType<typeof reply>) => void = () => {};
  const otherFetch: Fetch = () => new Promise((resolve) => (releaseOther = resolve));
  const other = m.refreshAccessToken(rfc(), "rt_other", { fetch: otherFetch, clock });
  // The trapping call: its fetch grows the memory to the maximum; its reply then needs more.
  const bigBody = `{"access_token":[${"0,".repeat(30_000)}0]}`;
  const trapping = m.refreshAccessToken(rfc(), "rt", {
    clock,
    fetch: async () => {
      memory.grow(65_536 - memory.buffer.byteLength / 65_536);
      return reply(bigBody);
    },
  });
  const [a, b] = await Promise.allSettled([trapping, other]);
  for (const outcome of [a, b]) {
    assert.equal(outcome.status, "rejected");
    const e = (outcome as PromiseRejectedResult).reason as { code?: string; retryable?: boolean; message?: string };
    assert.ok(e instanceof m.OAuthDeviceFlowError, "a typed error");
    assert.equal(e.code, "invalid_config");
    assert.equal(e.retryable, false);
    assert.match(String(e.message), /failed internally/);
  }
  releaseOther(reply("{}")); // the old instance's promise settling later changes nothing
  assert.equal(instances.length, 2, "the module was re-instantiated once");
  const tokens = await m.refreshAccessToken(rfc(), "rt", { fetch: okFetch, clock });
  assert.equal(tokens.accessToken, "at_new", "the next call works");
  assert.deepEqual(m.openaiCodexProvider().clientId, "app_EMoamEEZ73f0CkXaXp7hrann");
  assert.throws(() => m.rfc8628Provider({} as never), (e: unknown) => e instanceof m.OAuthDeviceFlowError, "errors are the typed class again");
  t.diagnostic(`wasm memory after the restart: ${(glue.wasmMemoryBytes() / MiB).toFixed(2)} MiB`);
  assert.ok(glue.wasmMemoryBytes() < 16 * MiB, "the fresh instance does not carry the old memory");
});
