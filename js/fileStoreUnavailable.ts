/**
 * Stands in for fileStore.ts in the Workers/browser entry (js/web.ts, bundled into dist/web.js):
 * there is no file system there. Its types say so at compile time (`never`, so a call does not
 * type-check); at run time a JavaScript caller still gets an `invalid_config` that says what to
 * use instead.
 */
import { invalidConfig } from "./errors.ts";

/** Not in Workers and browsers (no file system): use `createMemoryStore` or your own `TokenStore`. */
export const createFileStore: never = function createFileStore(): never {
  throw invalidConfig(
    "createFileStore needs a file system (Node, Deno or Bun); in Workers and browsers use createMemoryStore or your own TokenStore.",
  );
} as never;

/** Not in Workers and browsers: it belongs to the file store. */
export const FILE_STORE_SCHEMA_VERSION: never = undefined as never;
