// Scenario YAML (SPEC §10): parsed, validated with errors that carry line numbers, and split into per-Rack pushes.
import { isMap, isSeq, LineCounter, parseDocument, type Node as YamlNode } from "yaml";
import { z } from "zod";

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const PORT_REF = /^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)\.([a-z][a-z0-9_-]{0,31})$/;
const label = (what: string) => z.string().regex(LABEL, `expected a lowercase DNS label for ${what}`);

/** Gear types every Rack's runtime knows. */
export const BUILTIN_GEAR_TYPES = ["ticker", "transform", "counter"] as const;

/** The largest scenario document accepted, in bytes. */
export const MAX_SCENARIO_BYTES = 256 * 1024;

export const ScenarioSpecSchema = z.strictObject({
  meta: z.strictObject({
    name: label("the scenario name"),
    version: z.union([z.string().min(1).max(64), z.number()]).transform(String),
    description: z.string().max(1000).optional(),
  }),
  racks: z
    .array(z.strictObject({ name: label("a Rack name") }))
    .max(10_000)
    .default([]),
  gears: z
    .array(
      z.strictObject({
        name: label("a gear name"),
        type: z.enum(BUILTIN_GEAR_TYPES, { error: `expected one of ${BUILTIN_GEAR_TYPES.join(", ")}` }),
        deploy: label("the Rack a gear is deployed to"),
        config: z.record(z.string(), z.unknown()).default({}),
      }),
    )
    .max(10_000)
    .default([]),
  wires: z
    .array(
      z.strictObject({
        name: label("a wire name").optional(),
        from: z.string().regex(PORT_REF, "expected gear.port, such as tick.out"),
        to: z.string().regex(PORT_REF, "expected gear.port, such as sink.in"),
      }),
    )
    .max(10_000)
    .default([]),
});

export type ScenarioSpec = z.output<typeof ScenarioSpecSchema>;

export interface ScenarioIssue {
  path: string;
  message: string;
  line?: number;
  column?: number;
}

export type ScenarioParseResult = { ok: true; spec: ScenarioSpec } | { ok: false; issues: ScenarioIssue[] };

/**
 * The deepest nesting accepted, as bounded by {@link yamlNestingBound}. Real scenarios nest under 10 deep. The
 * `yaml` library recurses once per level (parser and composer); a few thousand levels overflow the stack, and a
 * stack overflow there can later abort the whole process (V8 fails compiling a regexp near the stack limit).
 */
export const MAX_SCENARIO_DEPTH = 64;

/**
 * An upper bound of how deep YAML text nests, without parsing it (no recursion). A line nests at most one level
 * below the deepest point of the line that encloses it (the last line with less indentation), plus the block
 * indicators on it (`- `, `? `, one `key:`) and the flow collections (`[`, `{`) it opens. Quoted text and comments
 * are skipped. It overestimates (a mapping level costs two), never underestimates. Returns the bound, or where it
 * first passes `limit` (1-based line and column).
 */
export function yamlNestingBound(
  text: string,
  limit: number,
): { depth: number; line?: number; column?: number } {
  // Enclosing lines: their indentation and the deepest point they reached.
  const stack: Array<{ indent: number; depth: number }> = [];
  let flow = 0;
  let max = 0;
  const lines = text.split(/\r?\n/);
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!;
    let i = 0;
    while (i < line.length && (line[i] === " " || line[i] === "\t")) i++;
    if (i === line.length || line[i] === "#") continue;
    const inFlow = flow > 0;
    if (!inFlow) while (stack.length > 0 && stack[stack.length - 1]!.indent >= i) stack.pop();
    // Inside a flow collection that spans lines, the line that opened it already counted its brackets.
    const base = inFlow ? (stack[stack.length - 1]?.depth ?? 0) : (stack[stack.length - 1]?.depth ?? 0) + 1;
    const flowAtStart = flow;
    let indicators = 0;
    let colon = 0;
    let quote: string | null = null;
    let lineMax = base;
    for (let at = i; at < line.length; at++) {
      const c = line[at]!;
      if (quote !== null) {
        if (c === "\\" && quote === '"') at++;
        else if (c === quote) quote = null;
        continue;
      }
      const next = line[at + 1];
      const spaced = next === undefined || next === " " || next === "\t";
      if (c === '"' || c === "'") quote = c;
      else if (c === "#" && (line[at - 1] === " " || line[at - 1] === "\t")) break;
      else if (c === "[" || c === "{") flow++;
      else if (c === "]" || c === "}") flow = Math.max(0, flow - 1);
      else if (flow === 0 && (c === "-" || c === "?") && spaced) indicators++;
      else if (flow === 0 && c === ":" && spaced) colon = 1;
      const depth = base + indicators + colon + Math.max(0, flow - flowAtStart);
      if (depth > lineMax) lineMax = depth;
      if (depth > limit) return { depth, line: n + 1, column: at + 1 };
    }
    if (lineMax > max) max = lineMax;
    if (inFlow) {
      const top = stack[stack.length - 1];
      if (top !== undefined) top.depth = Math.max(top.depth, lineMax);
      else stack.push({ indent: i, depth: lineMax });
    } else {
      stack.push({ indent: i, depth: lineMax });
    }
  }
  return { depth: max };
}

/** Parses and validates scenario YAML. Never throws: every problem comes back as an issue with its line. */
export function parseScenarioYaml(text: string): ScenarioParseResult {
  if (Buffer.byteLength(text, "utf8") > MAX_SCENARIO_BYTES) {
    return { ok: false, issues: [{ path: "", message: `scenario larger than ${MAX_SCENARIO_BYTES} bytes` }] };
  }
  // Before the parser sees it: hostile nesting must not reach the yaml library's recursion (see MAX_SCENARIO_DEPTH).
  const nesting = yamlNestingBound(text, MAX_SCENARIO_DEPTH);
  if (nesting.line !== undefined) {
    const message = `scenario nests deeper than ${MAX_SCENARIO_DEPTH} levels`;
    return { ok: false, issues: [{ path: "", message, line: nesting.line, column: nesting.column }] };
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      issues: doc.errors.map((e) => {
        const pos = e.linePos?.[0];
        return {
          path: "",
          message: e.message.split("\n")[0] ?? "invalid YAML",
          line: pos?.line,
          column: pos?.col,
        };
      }),
    };
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    return { ok: false, issues: [{ path: "", message: `invalid YAML: ${(err as Error).message}` }] };
  }
  const parsed = ScenarioSpecSchema.safeParse(data ?? {});
  const issues: ScenarioIssue[] = [];
  const locate = (path: (string | number)[]): Pick<ScenarioIssue, "line" | "column"> => {
    const node = nodeAt(doc.contents as YamlNode | null, path);
    const offset = node?.range?.[0];
    if (offset === undefined) return {};
    const pos = lineCounter.linePos(offset);
    return { line: pos.line, column: pos.col };
  };
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const path = issue.path.map((p) => (typeof p === "symbol" ? String(p) : p));
      issues.push({ path: formatPath(path), message: issue.message, ...locate(path) });
    }
    return { ok: false, issues };
  }
  for (const problem of crossCheck(parsed.data)) issues.push({ ...problem, ...locate(problem.pathParts) });
  return issues.length > 0 ? { ok: false, issues } : { ok: true, spec: parsed.data };
}

/** References between sections: unique names, gears deployed to listed Racks, wires between existing gears. */
function crossCheck(
  spec: ScenarioSpec,
): Array<{ path: string; pathParts: (string | number)[]; message: string }> {
  const problems: Array<{ path: string; pathParts: (string | number)[]; message: string }> = [];
  const add = (pathParts: (string | number)[], message: string) =>
    problems.push({ path: formatPath(pathParts), pathParts, message });
  const racks = new Set<string>();
  spec.racks.forEach((r, i) => {
    if (racks.has(r.name)) add(["racks", i, "name"], `Rack ${r.name} is listed twice`);
    racks.add(r.name);
  });
  const gears = new Set<string>();
  spec.gears.forEach((g, i) => {
    if (gears.has(g.name)) add(["gears", i, "name"], `gear ${g.name} is defined twice`);
    gears.add(g.name);
    if (!racks.has(g.deploy))
      add(["gears", i, "deploy"], `gear ${g.name} is deployed to ${g.deploy}, which is not in racks`);
  });
  const wireNames = new Set<string>();
  spec.wires.forEach((w, i) => {
    for (const end of ["from", "to"] as const) {
      const gear = w[end].split(".")[0] ?? "";
      if (!gears.has(gear)) add(["wires", i, end], `wire ${end} ${w[end]} names an unknown gear ${gear}`);
    }
    const name = wireName(w, i);
    if (wireNames.has(name)) add(["wires", i, "name"], `wire name ${name} is used twice`);
    wireNames.add(name);
  });
  return problems;
}

/** The wire's name: given, or `w<position>` (1-based). Used in its subject fluxrig.msg.<scenario>.<wire>. */
export function wireName(wire: { name?: string | undefined }, index: number): string {
  return wire.name ?? `w${index + 1}`;
}

function formatPath(path: (string | number)[]): string {
  return path.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? p : `.${p}`)).join("");
}

function nodeAt(root: YamlNode | null, path: (string | number)[]): YamlNode | null {
  let node: unknown = root;
  let last: YamlNode | null = root;
  for (const key of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => (p.key as { value?: unknown } | null)?.value === key);
      node = pair?.value ?? pair?.key ?? null;
    } else if (isSeq(node) && typeof key === "number") {
      node = node.items[key] ?? null;
    } else {
      break;
    }
    if (node) last = node as YamlNode;
    else break;
  }
  return last;
}
