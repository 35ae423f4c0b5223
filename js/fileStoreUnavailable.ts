/**
 * Stands in for fileStore.ts in the Workers/browser entry (dist/web.js, see js/web.ts): there is no
 * file system there. Its types say so at compile time (`never`); this says it at run time to
 * JavaScript callers, with what to use instead.
 */
import { OAuthDeviceFlowError } from "./errors.ts";

/** Always throws `invalid_config`: the file store needs `node:fs` (Node, Deno, Bun). */
export function createFileStore(): never {
  throw new OAuthDeviceFlowError(
    "invalid_config",
    "createFileStore needs a file system (Node, Deno or Bun); in Workers and browsers use createMemoryStore or your own TokenStore.",
  );
}

/** Absent here: it describes the file store's files. */
export const FILE_STORE_SCHEMA_VERSION: undefined = undefined;
