/**
 * The documents' link check (scripts/checkLinks.ts, run by `npm test`): it must name every broken
 * relative link and anchor and accept the ones GitHub resolves. (The repository's own documents
 * are checked by the test command's documents step.)
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { anchors, brokenLinks, documents, slug } from "../../scripts/checkLinks.ts";

function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "docs-links-"));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, ".."), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

test("headings slug as GitHub slugs them: code spans, punctuation, links, repeats", () => {
  assert.equal(slug("What `createCodexFetch` does"), "what-createcodexfetch-does");
  assert.equal(slug("Redis and PostgreSQL: several machines"), "redis-and-postgresql-several-machines");
  assert.equal(slug("The admin page: a [reference](x.md) host"), "the-admin-page-a-reference-host");
  assert.equal(slug("Token session, store_errors (exact)"), "token-session-store_errors-exact");
  assert.deepEqual([...anchors("# A\n## Tests\n```\n## Not a heading\n```\n## Tests\n")], ["a", "tests", "tests-1"]);
});

test("broken files and anchors are named with their line; good links, code and URLs pass", () => {
  const dir = tree({
    "README.md": [
      "# Top",
      "[ok](docs/a.md) [ok anchor](docs/a.md#the-thing) [self](#top) [web](https://example.com/x#y)",
      "[missing file](docs/nope.md)",
      "[missing anchor](docs/a.md#no-such-heading)",
      "`[in code](docs/gone.md)`",
      "```",
      "[in a fence](docs/gone.md)",
      "```",
      "[absolute](/docs/a.md) [outside](../x.md)",
    ].join("\n"),
    "docs/a.md": "# A\n\n## The `thing`\n\n[back](../README.md#top) [bad back](../README.md#bottom)\n",
  });
  try {
    assert.deepEqual(brokenLinks(dir, "README.md"), [
      "README.md:3: docs/nope.md (no such file: docs/nope.md)",
      "README.md:4: docs/a.md#no-such-heading (no heading with the anchor #no-such-heading in docs/a.md)",
      "README.md:9: /docs/a.md (absolute path: link relative to the document)",
      "README.md:9: ../x.md (points outside the repository)",
    ]);
    assert.deepEqual(brokenLinks(dir, "docs/a.md"), [
      "docs/a.md:5: ../README.md#bottom (no heading with the anchor #bottom in README.md)",
    ]);
    assert.deepEqual(documents(dir), ["README.md", "docs/a.md"]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
