// The installed package from CommonJS: `require` of the package's ES modules (Node >= 20.19 / 22.12).
"use strict";
const assert = require("node:assert/strict");
const m = require("oauth-device-flow-wasm");

const tokens = { accessToken: "at", tokenType: "Bearer", expiresAt: 1_000_000 };
assert.equal(m.isAccessTokenExpired(tokens, () => 1_000_000 - 60_000), true);
assert.equal(m.isAccessTokenExpired(tokens, () => 1_000_000 - 60_001), false);
assert.deepEqual(m.codexAuthHeaders(tokens), { Authorization: "Bearer at" });
assert.equal(m.OPENAI_CODEX.kind, "openai-codex");
assert.equal(typeof m.createTokenSession, "function");
console.log("smoke.cjs: ok");
