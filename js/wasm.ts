/**
 * The one module that owns the WebAssembly instance: every other file imports the module's
 * functions (and its generated types) from here, never from `../pkg/` directly.
 *
 * Why here and synchronously: several exports of the package are synchronous (the provider
 * factories, `isAccessTokenExpired`, `codexAuthHeaders`, `decodeTokenClaims`) and `OPENAI_CODEX`
 * is built at import, so the instance must exist once this module has been evaluated; and a
 * top-level `await` would make `require()` of the package fail. `#wasm-module` (package.json
 * "imports") resolves per runtime to a loader that hands over the compiled module: read from the
 * file next to it (Node, Deno, Bun), imported as a compiled module (Cloudflare Workers), or
 * decoded from embedded base64 (browsers); scripts/wasm-loaders.mjs writes them into pkg/.
 *
 * The module builds its errors through a factory: registered here, right after the instance is
 * made, so that no call can meet an instance without it (`restartAfterTrap` registers it again on
 * the fresh instance).
 */
import { initSync, scheduleReinit, setErrorFactory } from "../pkg/oauth_device_flow.js";
import wasmModule from "#wasm-module";
import { errorFromFields, type ErrorFields } from "./errors.ts";

/** What the module calls to build the host's error from its fields. */
const errorFactory = (f: ErrorFields) => errorFromFields(f);

initSync({ module: wasmModule });
setErrorFactory(errorFactory);

/**
 * After a trap: the instance is re-created before the next call, which finds the error factory
 * registered again. Never throws (a trap inside the glue leaves the next call to try again).
 */
export function restartAfterTrap(): void {
  try {
    scheduleReinit();
  } catch {
    // The flag is set by glue code around the export; a trap inside it leaves the next call to
    // try again.
  }
  try {
    // The first call after the schedule runs on the fresh instance, which needs the factory.
    setErrorFactory(errorFactory);
  } catch {
    // Nothing more to do here: the next call retries the restart.
  }
}

export * from "../pkg/oauth_device_flow.js";
