// CommonJS: `require` of the package (ES modules loaded synchronously: Node >= 20.19 / 22.12, Deno, Bun).
"use strict";
const oauth = require("oauth-device-flow-wasm");

const tokens = { accessToken: "at", tokenType: "Bearer", expiresAt: 1_000_000 };
if (oauth.isAccessTokenExpired(tokens, () => 1_000_000 - 60_000) !== true) throw new Error("expiry check");
if (oauth.OPENAI_CODEX.kind !== "openai-codex") throw new Error("OPENAI_CODEX");
let refused;
try {
  oauth.rfc8628Provider({ clientId: "", deviceAuthorizationEndpoint: "https://idp.example.com/device", tokenEndpoint: "https://idp.example.com/token" });
} catch (e) {
  refused = e;
}
if (!(refused instanceof oauth.OAuthDeviceFlowError) || refused.code !== "invalid_config") throw new Error(`instanceof: ${refused}`);
console.log(JSON.stringify({ require: "ok" }));
