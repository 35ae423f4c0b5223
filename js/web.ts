/**
 * The package's entry for Cloudflare Workers (`workerd`) and browsers: everything the main entry
 * has except the file store, which needs `node:fs`. package.json "exports" picks it by condition;
 * scripts/bundleWeb.ts bundles it into dist/web.js with js/fileStoreUnavailable.ts standing in for
 * js/fileStore.ts, so that the bundle imports nothing from `node:`.
 */
export * from "./oauthDeviceFlow.ts";

/** Not in Workers and browsers (no file system): use `createMemoryStore` or your own `TokenStore`. */
export declare const createFileStore: never;
/** Not in Workers and browsers: it belongs to the file store. */
export declare const FILE_STORE_SCHEMA_VERSION: never;
