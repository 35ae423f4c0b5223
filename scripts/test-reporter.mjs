// A node:test reporter for the test command's screen: one summary line when everything passes, and
// the full story of each failure (name, file, error, the file's own stderr) when something does not.
// The complete TAP goes to a file by a second reporter (scripts/test.sh), so nothing is lost.
//
// Why a reporter of our own: the built-in ones print every test (about ten thousand lines here),
// which buries the one line a reader needs.

/** Leaf tests only: `describe` blocks and files report as suites and are not counted. */
const isSuite = (data) => data.details?.type === "suite";

/** A file-level failure (a file that crashed or exited early) has no nesting and no parent test. */
const where = (data) => (data.file ? ` (${data.file}${data.line ? `:${data.line}` : ""})` : "");

function describeError(error) {
  if (error === undefined || error === null) return "";
  const cause = error.cause ?? error;
  const lines = [];
  if (cause.failureType && cause.failureType !== "testCodeFailure") lines.push(`failure type: ${cause.failureType}`);
  const text = cause.stack ?? cause.message ?? String(cause);
  lines.push(String(text));
  if (cause.actual !== undefined || cause.expected !== undefined) {
    lines.push(`actual:   ${safeJson(cause.actual)}`);
    lines.push(`expected: ${safeJson(cause.expected)}`);
  }
  return lines.join("\n");
}

function safeJson(v) {
  try {
    const s = JSON.stringify(v);
    return s === undefined ? String(v) : s.length > 2000 ? `${s.slice(0, 2000)}...` : s;
  } catch {
    return String(v);
  }
}

export default async function* summary(source) {
  const counts = { pass: 0, fail: 0, skip: 0, todo: 0 };
  const failures = [];
  const output = new Map(); // file -> captured stdout/stderr lines of that file's process
  const started = Date.now();
  for await (const event of source) {
    const { type, data } = event;
    if (type === "test:stdout" || type === "test:stderr") {
      const key = data.file ?? "(unknown file)";
      const list = output.get(key) ?? [];
      list.push(data.message);
      if (list.length > 400) list.shift();
      output.set(key, list);
    } else if (type === "test:pass" && !isSuite(data)) {
      if (data.skip !== undefined) counts.skip++;
      else if (data.todo !== undefined) counts.todo++;
      else counts.pass++;
    } else if (type === "test:fail") {
      // A suite fails when a test inside it does: count and show only the leaf, unless the suite
      // itself failed (a hook threw), which has no leaf to show.
      const suiteOnly = isSuite(data) && data.details?.error?.failureType === "subtestsFailed";
      if (!suiteOnly) {
        if (!isSuite(data)) counts.fail++;
        failures.push(data);
      }
    }
  }
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (failures.length > 0) {
    yield `\n${failures.length} failure(s):\n`;
    const files = new Set();
    for (const f of failures) {
      yield `\n--- FAIL: ${f.name}${where(f)}\n${describeError(f.details?.error)}\n`;
      if (f.file) files.add(f.file);
    }
    for (const file of files) {
      const lines = output.get(file);
      if (lines?.length) yield `\n--- output of ${file} (last ${lines.length} lines):\n${lines.join("")}\n`;
    }
  }
  yield `tests ${counts.pass + counts.fail}, pass ${counts.pass}, fail ${counts.fail}, skipped ${counts.skip}, todo ${counts.todo} (${seconds}s)\n`;
}
