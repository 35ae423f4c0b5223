/**
 * `npm run compare`: every shared case against the WebAssembly module and the TypeScript
 * baseline, printed as a Markdown table (case x implementation -> pass / fail / documented
 * difference) with totals; exit status 1 when a cell fails. `--summary` prints only the summary.
 * The cases and the table live under tests/ts/shared/ (type-checked with the tests).
 */
import { compareTable } from "../tests/ts/shared/compare.ts";

const { text, ok } = await compareTable(process.argv.includes("--summary"));
console.log(text);
process.exitCode = ok ? 0 : 1;
