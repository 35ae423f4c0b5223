/**
 * The one module that owns the WebAssembly instance: every other file imports the module's
 * functions from here, never from `../pkg/` directly.
 *
 * Why here and synchronously: several exports of the package are synchronous (the provider
 * factories, `isAccessTokenExpired`, `codexAuthHeaders`, `decodeTokenClaims`) and `OPENAI_CODEX`
 * is built at import, so the instance must exist once this module has been evaluated; and a
 * top-level `await` would make `require()` of the package fail. `#wasm-module` (package.json
 * "imports") resolves per runtime to a loader that hands over the compiled module: read from the
 * file next to it (Node, Deno, Bun), imported as a compiled module (Cloudflare Workers), or
 * decoded from embedded base64 (browsers); scripts/wasm-loaders.mjs writes them into pkg/.
 */
import { initSync } from "../pkg/oauth_device_flow.js";
import wasmModule from "#wasm-module";

initSync({ module: wasmModule });

export * from "../pkg/oauth_device_flow.js";
