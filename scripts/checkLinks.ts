/**
 * Checks the relative links of the project's documents (README.md, CONTRIBUTING.md, docs/*.md):
 * every link to a file must name one that exists, and every `#anchor` must name a heading of the
 * target Markdown file, slugged as GitHub slugs headings. Links with a scheme (https:, mailto:)
 * are not fetched. Prints each broken link as `file:line: target (why)` and exits 1 when there is
 * one. Run by `npm test` (the documents step) and by hand: `node --import tsx scripts/checkLinks.ts`.
 *
 * Hand-written rather than a Markdown toolchain: the documents use inline links and ATX headings
 * only, and the slug rule is three lines.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** The documents whose links are checked, relative to the repository root. */
export function documents(root: string): string[] {
  const docs = existsSync(join(root, "docs"))
    ? readdirSync(join(root, "docs"))
        .filter((f) => f.endsWith(".md"))
        .sort()
        .map((f) => `docs/${f}`)
    : [];
  return ["README.md", "CONTRIBUTING.md", ...docs].filter((f) => existsSync(join(root, f)));
}

/** The lines of a Markdown text outside fenced code blocks, with their 1-based numbers. */
function proseLines(text: string): { line: string; no: number }[] {
  const out: { line: string; no: number }[] = [];
  let fence: string | undefined;
  text.split("\n").forEach((line, i) => {
    const m = /^\s*(```|~~~)/.exec(line);
    if (m) {
      if (fence === undefined) fence = m[1];
      else if (m[1] === fence) fence = undefined;
      return;
    }
    if (fence === undefined) out.push({ line, no: i + 1 });
  });
  return out;
}

/** GitHub's anchor for a heading: the rendered text, lowercased, punctuation dropped, spaces as hyphens. */
export function slug(heading: string): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1") // a link shows its text
    .replace(/<[^>]+>/g, "") // inline HTML
    .replace(/[`*]/g, ""); // code spans and emphasis marks
  return text
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, "")
    .replace(/ /g, "-");
}

/** Every anchor a Markdown text defines: its headings' slugs (repeats get -1, -2, ...). */
export function anchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const { line } of proseLines(text)) {
    const m = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m || m[1] === undefined) continue;
    const base = slug(m[1]);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** The link targets of a Markdown text outside code: inline links and images, with line numbers. */
export function links(text: string): { target: string; no: number }[] {
  const out: { target: string; no: number }[] = [];
  for (const { line, no } of proseLines(text)) {
    const prose = line.replace(/`[^`]*`/g, ""); // code spans hold examples, not links
    for (const m of prose.matchAll(/\]\(\s*<?([^)\s>]*)>?(?:\s+"[^"]*")?\s*\)/g)) {
      if (m[1] !== undefined) out.push({ target: m[1], no });
    }
  }
  return out;
}

/** The broken relative links of one document, as `file:line: target (why)`. */
export function brokenLinks(root: string, file: string): string[] {
  const text = readFileSync(join(root, file), "utf8");
  const broken: string[] = [];
  for (const { target, no } of links(text)) {
    if (target === "" || /^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:, ...
    const hash = target.indexOf("#");
    const pathPart = decodeURIComponent(hash >= 0 ? target.slice(0, hash) : target);
    const anchor = hash >= 0 ? decodeURIComponent(target.slice(hash + 1)) : undefined;
    const where = `${file}:${no}: ${target}`;
    if (pathPart.startsWith("/")) {
      broken.push(`${where} (absolute path: link relative to the document)`);
      continue;
    }
    const resolved = pathPart === "" ? join(root, file) : resolve(dirname(join(root, file)), pathPart);
    if (relative(root, resolved).startsWith("..")) {
      broken.push(`${where} (points outside the repository)`);
      continue;
    }
    if (!existsSync(resolved)) {
      broken.push(`${where} (no such file: ${relative(root, resolved)})`);
      continue;
    }
    if (anchor === undefined || anchor === "") continue;
    if (!resolved.endsWith(".md") || !statSync(resolved).isFile()) {
      broken.push(`${where} (an anchor into a file that is not Markdown)`);
      continue;
    }
    if (!anchors(readFileSync(resolved, "utf8")).has(anchor)) {
      broken.push(`${where} (no heading with the anchor #${anchor} in ${relative(root, resolved)})`);
    }
  }
  return broken;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const files = documents(ROOT);
  const broken = files.flatMap((f) => brokenLinks(ROOT, f));
  const count = files.reduce((n, f) => n + links(readFileSync(join(ROOT, f), "utf8")).length, 0);
  if (broken.length > 0) {
    for (const b of broken) console.error(b);
    console.error(`links: ${broken.length} broken link(s) in ${files.length} documents`);
    process.exitCode = 1;
  } else {
    console.log(`links: ${count} links in ${files.length} documents, none broken`);
  }
}
