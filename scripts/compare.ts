/**
 * `npm run compare`: runs every shared case against the WebAssembly module and the TypeScript
 * baseline and writes the result into docs/side-by-side.md, so that the document a reader opens is
 * the table the suite produces. The file's hand-written header (everything up to the marker line)
 * is kept; the rest (summary by group, the documented differences, totals, every case) is
 * generated. The table holds no timings or dates, so the same tree always writes the same file.
 *
 *   npm run compare               rewrite docs/side-by-side.md; exit 1 when a cell fails
 *   npm run compare -- --check    write nothing; exit 1 when the file differs from what would be
 *                                 written (`npm test` runs this), or when a cell fails
 *   npm run compare -- --summary  print the summary to stdout; write nothing
 *
 * The cases and the table live under tests/ts/shared/ (type-checked with the tests).
 */
import { readFile, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { compareTable } from "../tests/ts/shared/compare.ts";

const DOC = fileURLToPath(new URL("../docs/side-by-side.md", import.meta.url));
const DOC_NAME = "docs/side-by-side.md";
const MARKER =
  "<!-- Everything below is written by `npm run compare` (scripts/compare.ts): edit the cases, not this file. -->";
/** The header written when the file has none yet; the document's own header replaces it afterwards. */
const DEFAULT_HEADER = `# Side by side with the TypeScript baseline\n\n${MARKER}`;
/** Where the per-case table ends and the summary begins in compareTable's text. */
const SUMMARY_START = "| group | cases |";

/** The document: the kept header, then the summary, the differences and totals, then every case. */
function sideBySideDocument(header: string, table: string): string {
  const at = table.indexOf(SUMMARY_START);
  const rows = at > 0 ? table.slice(0, at).trim() : "";
  const summary = (at >= 0 ? table.slice(at) : table).trim();
  const parts = [header.trimEnd(), "", "## Summary", "", "Case x implementation: pass / documented difference / fail.", "", summary, ""];
  if (rows) parts.push("## Every case", "", "<details><summary>All cases</summary>", "", rows, "", "</details>", "");
  return parts.join("\n");
}

/** Everything up to and including the marker line of the current file, or the default header. */
async function currentHeader(): Promise<{ header: string; current: string | undefined }> {
  let current: string | undefined;
  try {
    current = await readFile(DOC, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
  const at = current?.indexOf(MARKER) ?? -1;
  if (current !== undefined && at < 0) {
    throw new Error(`${DOC_NAME} has no generator marker line; put this line after its header:\n${MARKER}`);
  }
  return { header: current === undefined ? DEFAULT_HEADER : current.slice(0, at + MARKER.length), current };
}

const args = process.argv.slice(2);
const unknown = args.filter((a) => a !== "--check" && a !== "--summary");
if (unknown.length > 0) {
  console.error(`compare: unknown argument ${unknown.join(" ")} (usage: npm run compare [-- --check | --summary])`);
  process.exit(2);
}

if (args.includes("--summary")) {
  const { text, ok } = await compareTable(true);
  console.log(text);
  process.exitCode = ok ? 0 : 1;
} else {
  const { text, ok } = await compareTable(false);
  const { header, current } = await currentHeader();
  const next = sideBySideDocument(header, text);
  const failures = text.split("\n").filter((l) => l.startsWith("FAIL "));
  if (args.includes("--check")) {
    if (current !== next) {
      console.error(`${DOC_NAME} is stale: run npm run compare (then commit the file)`);
      process.exitCode = 1;
    } else {
      console.log(`compare: ${DOC_NAME} is up to date (${text.split("\n").find((l) => l.startsWith("Totals:")) ?? ""})`);
    }
  } else {
    if (current !== next) await writeFile(DOC, next);
    console.log(`compare: ${current === next ? "unchanged" : "wrote"} ${DOC_NAME}`);
  }
  for (const f of failures) console.error(f);
  if (!ok) process.exitCode = 1;
}
