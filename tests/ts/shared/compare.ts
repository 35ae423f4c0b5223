/**
 * The table behind `npm run compare` (scripts/compare.ts): runs every shared case (tests/ts/shared/cases.ts) against the WebAssembly
 * module and the TypeScript baseline and prints, as Markdown, case x implementation -> pass /
 * fail / documented difference, whether both sent identical requests, a summary by group and the
 * totals. Exits 1 when any cell fails. `--summary` leaves out the per-case rows.
 */
import { CASES } from "./cases.ts";
import { DIFFERENCES } from "./differences.ts";
import { assertSameBehaviour, observe, verdictFor, type Case, type Observation } from "./harness.ts";
import { IMPLEMENTATIONS, type ImplName } from "./implementations.ts";

type Cell = "pass" | "fail" | "documented difference";

interface Row {
  c: Case;
  cells: Record<ImplName, Cell>;
  wire: "identical" | "same requests" | "fail";
  why: string[];
}

async function run(c: Case): Promise<Row> {
  const obs = {} as Record<ImplName, Observation>;
  const cells = {} as Record<ImplName, Cell>;
  const why: string[] = [];
  for (const impl of IMPLEMENTATIONS) {
    try {
      obs[impl.name] = await observe(impl.api, c.scenario);
      verdictFor(c, impl.name, obs[impl.name]);
      cells[impl.name] = c.difference ? "documented difference" : "pass";
    } catch (e) {
      cells[impl.name] = "fail";
      why.push(`${impl.name}: ${String((e as Error).message).split("\n")[0]}`);
    }
  }
  let wire: Row["wire"] = "fail";
  if (obs.module && obs.baseline) {
    try {
      if (c.difference) {
        if (JSON.stringify(obs.module.wire) !== JSON.stringify(obs.baseline.wire)) throw new Error("requests differ");
        wire = "same requests";
      } else {
        assertSameBehaviour(obs.module, obs.baseline);
        wire = "identical";
      }
    } catch (e) {
      why.push(`both: ${String((e as Error).message).split("\n")[0]}`);
    }
  }
  return { c, cells, wire, why };
}

const md = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");

/** The Markdown report, and whether every cell passed or showed its documented difference. */
export async function compareTable(summaryOnly: boolean): Promise<{ text: string; ok: boolean }> {
  const rows: Row[] = [];
  for (const c of CASES) rows.push(await run(c));

  const out: string[] = [];
  if (!summaryOnly) {
    out.push("| # | group | case | module | baseline | both: requests and results |", "|---|---|---|---|---|---|");
    rows.forEach((r, i) => {
      const d = r.c.difference ? ` (${r.c.difference.id})` : "";
      out.push(`| ${i + 1} | ${r.c.group} | ${md(r.c.name)} | ${r.cells.module}${d} | ${r.cells.baseline}${d} | ${r.wire} |`);
    });
    out.push("");
  }

  out.push("| group | cases | module pass / difference / fail | baseline pass / difference / fail | identical (or same requests) |", "|---|---|---|---|---|");
  const groups = [...new Set(rows.map((r) => r.c.group))];
  const count = (rs: Row[], impl: ImplName, cell: Cell) => rs.filter((r) => r.cells[impl] === cell).length;
  const triple = (rs: Row[], impl: ImplName) =>
    `${count(rs, impl, "pass")} / ${count(rs, impl, "documented difference")} / ${count(rs, impl, "fail")}`;
  for (const g of [...groups, "total"]) {
    const rs = g === "total" ? rows : rows.filter((r) => r.c.group === g);
    const label = g === "total" ? "**total**" : g;
    out.push(`| ${label} | ${rs.length} | ${triple(rs, "module")} | ${triple(rs, "baseline")} | ${rs.filter((r) => r.wire !== "fail").length} |`);
  }
  out.push("");
  out.push("Documented differences (module vs baseline):");
  for (const d of Object.values(DIFFERENCES)) {
    const n = rows.filter((r) => r.c.difference?.id === d.id).length;
    out.push(`- \`${d.id}\` (${n} case${n === 1 ? "" : "s"}; right: ${d.right}): ${d.title}. Module: ${d.module}. Baseline: ${d.baseline}.`);
  }
  const failed = rows.filter((r) => r.why.length > 0);
  const cells = rows.length * 2;
  const fails = rows.reduce((n, r) => n + count([r], "module", "fail") + count([r], "baseline", "fail"), 0);
  const diffs = rows.reduce((n, r) => n + count([r], "module", "documented difference") + count([r], "baseline", "documented difference"), 0);
  out.push("");
  out.push(
    `Totals: ${rows.length} cases x 2 implementations = ${cells} cells: ${cells - fails - diffs} pass, ${diffs} documented difference, ${fails} fail; ` +
      `${rows.filter((r) => r.wire === "identical").length} cases identical on the wire and in every result, ` +
      `${rows.filter((r) => r.wire === "same requests").length} with the same requests and the documented difference, ` +
      `${rows.filter((r) => r.wire === "fail").length} diverging.`,
  );
  for (const r of failed) out.push(`FAIL ${r.c.group}: ${r.c.name}: ${r.why.join("; ")}`);
  return { text: out.join("\n"), ok: failed.length === 0 };
}
