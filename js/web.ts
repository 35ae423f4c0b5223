/**
 * The package's entry for Cloudflare Workers (`workerd`) and browsers: everything the main entry
 * has except the file store, which needs `node:fs`. package.json "exports" picks it by condition;
 * scripts/bundleWeb.ts bundles it into dist/web.js with js/fileStoreUnavailable.ts standing in for
 * js/fileStore.ts, so that the bundle imports nothing from `node:`.
 *
 * @packageDocumentation
 */
export * from "./oauthDeviceFlow.ts";
// Named re-exports take precedence over the star's names of the same name.
export { createFileStore, FILE_STORE_SCHEMA_VERSION } from "./fileStoreUnavailable.ts";
