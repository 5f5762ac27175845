// Every relative link of the repository's Markdown resolves to a file inside the repository (and every `#anchor` to a
// heading of its target), so the docs stay readable from a fresh clone with nothing beside it.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../src/index.js";

const ROOT = resolve(repoRoot());
/** Folders that hold no docs of ours: dependencies, build output, local runs. */
const SKIPPED_DIRS = new Set(["node_modules", "dist", "bench-results"]);

function markdownFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (entry.name.startsWith(".") || SKIPPED_DIRS.has(entry.name)) return [];
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return markdownFiles(path);
    return entry.name.endsWith(".md") ? [path] : [];
  });
}

/** The text a reader sees as prose: fenced blocks and inline code spans blanked (a regex there is no link). */
function prose(markdown: string): string {
  return markdown.replace(/^```[\s\S]*?^```/gm, "").replace(/`[^`\n]*`/g, "``");
}

/** GitHub's heading anchor: lowercase, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");
}

function anchorsOf(path: string): Set<string> {
  const headings = prose(readFileSync(path, "utf8")).matchAll(/^#{1,6}\s+(.+)$/gm);
  return new Set([...headings].map((m) => slug((m[1] ?? "").replace(/`/g, ""))));
}

/** `[text](target)` links that are not web addresses, with the problem each has, if any. */
function brokenLinks(file: string, markdown = readFileSync(file, "utf8")): string[] {
  const problems: string[] = [];
  const text = prose(markdown);
  for (const match of text.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
    const target = match[1] ?? "";
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue;
    const [pathPart = "", anchor] = target.split("#", 2);
    const resolved = pathPart === "" ? file : resolve(dirname(file), pathPart);
    const where = `${relative(ROOT, file)}: (${target})`;
    if (resolved !== ROOT && !resolved.startsWith(ROOT + sep))
      problems.push(`${where} leaves the repository`);
    else if (!existsSync(resolved)) problems.push(`${where} names no file`);
    else if (anchor !== undefined && statSync(resolved).isFile() && !anchorsOf(resolved).has(anchor)) {
      problems.push(`${where} names no heading`);
    }
  }
  return problems;
}

describe("Markdown links", () => {
  const files = markdownFiles(ROOT);

  it("finds the docs (README, ARCHITECTURE, docs/, package READMEs)", () => {
    const names = files.map((f) => relative(ROOT, f).split(sep).join("/"));
    expect(names).toEqual(
      expect.arrayContaining(["README.md", "ARCHITECTURE.md", "docs/api.md", "apps/rack/README.md"]),
    );
  });

  it("resolve inside the repository, to a file and heading that exist", () => {
    expect(files.flatMap((file) => brokenLinks(file))).toEqual([]);
  });

  it("are checked: a link out of the repository, to no file or to no heading, is reported", () => {
    const readme = join(ROOT, "README.md");
    const links =
      "[out](../shared/SPEC.md) [gone](docs/nope.md) [no heading](docs/cli.md#nope) `[code](nope.md)`";
    const fine = "[ok](docs/cli.md#racks-reject-racks-revoke) [web](https://example.com) [here](#tests)";
    expect(brokenLinks(readme, `${links}\n${fine}\n\n## Tests\n`)).toEqual([
      "README.md: (../shared/SPEC.md) leaves the repository",
      "README.md: (docs/nope.md) names no file",
      "README.md: (docs/cli.md#nope) names no heading",
    ]);
  });
});
