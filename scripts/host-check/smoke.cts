// Type-check only: the package's types seen from a CommonJS TypeScript file (`import = require`).
import oauth = require("oauth-device-flow-wasm");

const tokens: oauth.OAuthTokens = { accessToken: "at", tokenType: "Bearer" };
const headers: Record<string, string> = oauth.codexAuthHeaders(tokens);
const kind: "openai-codex" | "rfc8628" = oauth.OPENAI_CODEX.kind;
export = { headers, kind };
