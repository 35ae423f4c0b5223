/**
 * The package's public names at run time, entry by entry: js/oauthDeviceFlow.ts is a list of
 * re-exports from the modules that own each name, so a name dropped from that list (or one that
 * leaks in from an internal module) shows here. The types are checked by tests/ts/host.typecheck.ts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";

/** Every value the main entry exports (the drop-in, the token session, the file store, the model calls). */
const MAIN = [
  "CODEX_BASE_URL",
  "DEFAULT_CLIENT_VERSION",
  "FILE_STORE_SCHEMA_VERSION",
  "OAuthDeviceFlowError",
  "OPENAI_CODEX",
  "codexAuthHeaders",
  "createCodexFetch",
  "createFileStore",
  "createMemoryStore",
  "createTokenSession",
  "decodeTokenClaims",
  "isAccessTokenExpired",
  "listCodexModels",
  "openaiCodexProvider",
  "pollDeviceToken",
  "refreshAccessToken",
  "requestDeviceCode",
  "revokeToken",
  "rfc8628Provider",
  "streamCodexResponse",
  "waitForDeviceToken",
];

const names = (m: object) => Object.keys(m).sort();

test("the main entry exports exactly the public values", async () => {
  assert.deepEqual(names(await import("../../js/oauthDeviceFlow.ts")), MAIN);
});

test("the Workers/browser entry exports the same names, with a file store that refuses", async () => {
  const web = await import("../../js/web.ts");
  assert.deepEqual(names(web), MAIN);
  assert.equal(web.FILE_STORE_SCHEMA_VERSION, undefined);
  assert.throws(() => (web.createFileStore as unknown as () => unknown)(), { name: "OAuthDeviceFlowError", code: "invalid_config" });
  // Everything else is the main entry's own value.
  const main = await import("../../js/oauthDeviceFlow.ts");
  for (const name of MAIN.filter((n) => n !== "createFileStore" && n !== "FILE_STORE_SCHEMA_VERSION")) {
    assert.equal((web as Record<string, unknown>)[name], (main as Record<string, unknown>)[name], name);
  }
});

test("the store subpaths export their factory only", async () => {
  assert.deepEqual(names(await import("../../js/redisStore.ts")), ["createRedisStore"]);
  assert.deepEqual(names(await import("../../js/postgresStore.ts")), ["createPostgresStore"]);
});
