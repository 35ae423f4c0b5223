/**
 * Counts the package's documented exports: `node scripts/apiDocCount.mjs` (`npm run docs:count`).
 *
 * Prints two figures from TypeDoc's own model of the entry points in typedoc.json (the same one
 * `npm run docs` renders and the test command validates): the top-level exports (each name once,
 * across the entries) with a TSDoc comment, and every item TypeDoc's `notDocumented` check looks at
 * (exports, interface members and options, members of object types in type aliases, call
 * signatures; not the members inherited from the platform) with one. The test command fails on any undocumented item; this only measures.
 */
import { readFileSync } from "node:fs";
import { Application, DeclarationReflection, ReflectionKind, ReflectionType } from "typedoc";

const app = await Application.bootstrapWithPlugins({
  options: "typedoc.json",
  validation: { notDocumented: false, notExported: false, invalidLink: false, invalidPath: false },
  logLevel: "Error",
});
const project = await app.convert();
if (project === undefined) {
  console.error("apiDocCount: TypeDoc could not convert the entry points");
  process.exit(1);
}

/** The reflection or, for a function, one of its signatures carries a comment. */
/** @param {import("typedoc").Reflection} r */
function documented(r) {
  if (r.hasComment()) return true;
  if (r instanceof DeclarationReflection) {
    const signatures = r.type instanceof ReflectionType ? r.type.declaration.getNonIndexSignatures() : r.getNonIndexSignatures();
    return signatures.some((s) => s.hasComment());
  }
  return false;
}

/** Entry modules' direct exports, each name once (a re-exported name is the same export). */
/** @param {import("typedoc").ProjectReflection} p @returns {Map<string, boolean>} */
function topLevel(p) {
  const names = new Map();
  const modules = p.children?.filter((c) => c.kindOf(ReflectionKind.Module)) ?? [];
  for (const m of modules) {
    for (const c of m.children ?? []) {
      if (c.kindOf(ReflectionKind.Reference)) continue;
      names.set(c.name, (names.get(c.name) ?? false) || documented(c));
    }
  }
  return names;
}

const PACKAGE = JSON.parse(readFileSync("package.json", "utf8")).name;

const REQUIRED =
  ReflectionKind.Variable |
  ReflectionKind.Function |
  ReflectionKind.Class |
  ReflectionKind.Interface |
  ReflectionKind.Property |
  ReflectionKind.Method |
  ReflectionKind.Accessor |
  ReflectionKind.TypeAlias;

/** Every item the `notDocumented` check requires (parameters' own types excluded, as it does). */
/** @param {import("typedoc").ProjectReflection} p */
function items(p) {
  let total = 0;
  let withDocs = 0;
  for (const r of p.getReflectionsByKind(REQUIRED)) {
    let parent = r.parent;
    let inParameter = false;
    while (parent !== undefined) {
      if (parent.kindOf(ReflectionKind.Parameter)) inParameter = true;
      parent = parent.parent;
    }
    // Members inherited from the platform (`Error`'s `message`, `stack`) are documented there.
    if (inParameter || p.getSymbolIdFromReflection(r)?.packageName !== PACKAGE) continue;
    total += 1;
    if (documented(r) || (r.kindOf(ReflectionKind.SomeSignature) && r.parent?.hasComment() === true)) withDocs += 1;
  }
  return { total, withDocs };
}

const names = topLevel(project);
const top = [...names.values()];
const all = items(project);
console.log(`api docs: ${top.filter(Boolean).length} of ${top.length} exported symbols documented`);
console.log(`api docs: ${all.withDocs} of ${all.total} items documented (exports, members, options)`);
const missing = [...names].filter(([, d]) => !d).map(([n]) => n);
if (missing.length > 0) console.log(`api docs: without documentation: ${missing.join(", ")}`);
