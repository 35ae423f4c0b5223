/**
 * Bundles the Workers/browser entry (js/web.ts) into dist/web.js, run by scripts/dist.sh after tsc.
 * Why a bundle: the main entry re-exports the file store, whose module imports `node:fs`, and a
 * relative import cannot be chosen by condition. The bundle holds the TypeScript modules with
 * js/fileStoreUnavailable.ts in place of js/fileStore.ts; it keeps as imports what must stay shared
 * or be resolved by the host's bundler: the wasm-bindgen glue (`../pkg/...`, the same file the Node
 * entry loads), `#wasm-module` (package.json "imports": the loader for the host's runtime) and the
 * npm dependencies. The result is checked to import nothing from `node:`.
 */
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import * as esbuild from "esbuild";

const ROOT = resolve(import.meta.dirname, "..");
const OUT = join(ROOT, "dist/web.js");

await esbuild.build({
  entryPoints: [join(ROOT, "js/web.ts")],
  outfile: OUT,
  bundle: true,
  format: "esm",
  platform: "neutral",
  target: "es2022",
  packages: "external",
  logLevel: "warning",
  legalComments: "none",
  plugins: [
    {
      name: "web-entry",
      setup(build) {
        build.onResolve({ filter: /^#wasm-module$/ }, (args) => ({ path: args.path, external: true }));
        // dist/ and pkg/ are siblings, as js/ and pkg/ are: the specifier stays as written.
        build.onResolve({ filter: /^\.\.\/pkg\// }, (args) => ({ path: args.path, external: true }));
        build.onResolve({ filter: /^\.\/fileStore\.ts$/ }, () => ({ path: join(ROOT, "js/fileStoreUnavailable.ts") }));
      },
    },
  ],
});

const text = readFileSync(OUT, "utf8");
const nodeImports = [...text.matchAll(/\bfrom\s*["'](node:[^"']+)["']|\bimport\s*\(?\s*["'](node:[^"']+)["']/g)].map((m) => m[1] ?? m[2]);
if (nodeImports.length > 0) {
  console.error(`bundleWeb: dist/web.js imports ${[...new Set(nodeImports)].join(", ")}; the Workers/browser entry must not`);
  process.exit(1);
}
console.log(`bundleWeb: dist/web.js ${text.length} bytes`);
