/**
 * The host's own OAuth device-flow module, the file the package replaces. Here it stands for the
 * hand-written original by re-exporting the project's TypeScript baseline (same names, same types).
 * scripts/host-check.sh swaps this file for `export * from "oauth-device-flow-wasm";` and runs the
 * same tests and tsc again.
 */
export * from "../../../../../baseline/oauthDeviceFlow.ts";
