// Scenario YAML (SPEC §10): parsed, validated with errors that carry line numbers, and split into per-Rack pushes.
import { GEAR_TYPE_NAMES, type GearTypeName } from "@fluxrig/wire";
import { isMap, isSeq, LineCounter, parseDocument, type Node as YamlNode } from "yaml";
import { z } from "zod";
import { gearConfigProblems, PORT_REF, referenceProblems, type ScenarioProblem } from "./scenario-checks.js";

export { wireName } from "./scenario-checks.js";

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const label = (what: string) => z.string().regex(LABEL, `expected a lowercase DNS label for ${what}`);

/** The largest scenario document accepted, in bytes. */
export const MAX_SCENARIO_BYTES = 256 * 1024;

const MetaSchema = z.strictObject({
  name: label("the scenario name"),
  version: z.union([z.string().min(1).max(64), z.number()]).transform(String),
  description: z.string().max(1000).optional(),
});

const RackEntrySchema = z.strictObject({
  name: label("a Rack name"),
  /** Issue 16: activation records it as the name's expected key (racks expect), so only that key is adopted. */
  key: z
    .string()
    .regex(/^SHA256:[A-Za-z0-9+/]{43}$/, "expected a key fingerprint as racks show prints it (SHA256:...)")
    .optional(),
});

const GearEntrySchema = z.strictObject({
  name: label("a gear name"),
  type: z.enum(GEAR_TYPE_NAMES as [GearTypeName, ...GearTypeName[]], {
    error: (issue) =>
      `${typeof issue.input === "string" ? `unknown gear type "${issue.input}": ` : ""}expected one of ${GEAR_TYPE_NAMES.join(", ")}`,
  }),
  deploy: label("the Rack a gear is deployed to"),
  // The shape only: each gear's config is checked against its type's schema by parseScenarioYaml (gearConfigProblems).
  config: z.record(z.string(), z.unknown()).default({}),
});

const WireEntrySchema = z.strictObject({
  name: label("a wire name").optional(),
  from: z.string().regex(PORT_REF, "expected gear.port, such as tick.out"),
  to: z.string().regex(PORT_REF, "expected gear.port, such as sink.in"),
});

/** The shape of a scenario; {@link parseScenarioYaml} also checks each gear's config and the references. */
export const ScenarioSpecSchema = z.strictObject({
  meta: MetaSchema,
  racks: z.array(RackEntrySchema).max(10_000).default([]),
  gears: z.array(GearEntrySchema).max(10_000).default([]),
  wires: z.array(WireEntrySchema).max(10_000).default([]),
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
  // One pass, every problem: the shape, each gear's config, the references; each at its line, in document order.
  const parsed = ScenarioSpecSchema.safeParse(data ?? {});
  const problems = [
    ...(parsed.success ? [] : shapeProblems(parsed.error.issues)),
    ...gearConfigProblems(data),
    ...referenceProblems(data),
  ];
  if (problems.length === 0 && parsed.success) return { ok: true, spec: parsed.data };
  const issues = problems.map((p): ScenarioIssue => {
    const node = nodeAt(doc.contents as YamlNode | null, p.pathParts, p.atKey === true);
    const offset = node?.range?.[0];
    const pos = offset === undefined ? undefined : lineCounter.linePos(offset);
    return {
      path: formatPath(p.pathParts),
      message: p.message,
      ...(pos ? { line: pos.line, column: pos.col } : {}),
    };
  });
  return { ok: false, issues: inDocumentOrder(issues) };
}

/** The keys a mapping of the scenario takes, by where it sits (for the message of an unknown key). */
function keysTakenAt(path: (string | number)[]): readonly string[] {
  const [section, index, ...rest] = path;
  if (section === undefined) return Object.keys(ScenarioSpecSchema.shape);
  if (rest.length > 0) return [];
  if (section === "meta" && index === undefined) return Object.keys(MetaSchema.shape);
  if (typeof index !== "number") return [];
  if (section === "racks") return Object.keys(RackEntrySchema.shape);
  if (section === "gears") return Object.keys(GearEntrySchema.shape);
  if (section === "wires") return Object.keys(WireEntrySchema.shape);
  return [];
}

/** Zod's issues as problems; an unknown key is one problem of its own, at that key, naming the keys taken there. */
function shapeProblems(issues: readonly z.core.$ZodIssue[]): ScenarioProblem[] {
  return issues.flatMap((issue): ScenarioProblem[] => {
    const path = issue.path.map((p) => (typeof p === "symbol" ? String(p) : p));
    if (issue.code !== "unrecognized_keys") return [{ pathParts: path, message: issue.message }];
    const taken = keysTakenAt(path);
    const hint = taken.length > 0 ? ` (expected ${taken.join(", ")})` : "";
    return issue.keys.map((key) => ({
      pathParts: [...path, key],
      message: `unknown key "${key}"${hint}`,
      atKey: true,
    }));
  });
}

/** Issues sorted by line and column (stable), those without a position last. */
function inDocumentOrder(issues: ScenarioIssue[]): ScenarioIssue[] {
  const line = (i: ScenarioIssue) => i.line ?? Number.POSITIVE_INFINITY;
  const column = (i: ScenarioIssue) => i.column ?? 0;
  // Stable: Array.prototype.sort keeps equal elements in their order (ES2019).
  return [...issues].sort((a, b) => {
    const byLine = line(a) - line(b);
    return Number.isNaN(byLine) || byLine === 0 ? column(a) - column(b) : byLine;
  });
}

function formatPath(path: (string | number)[]): string {
  return path.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? p : `.${p}`)).join("");
}

function nodeAt(root: YamlNode | null, path: (string | number)[], atKey = false): YamlNode | null {
  let node: unknown = root;
  let last: YamlNode | null = root;
  for (const [depth, key] of path.entries()) {
    if (isMap(node)) {
      const pair = node.items.find((p) => (p.key as { value?: unknown } | null)?.value === key);
      const wantKey = atKey && depth === path.length - 1;
      node = (wantKey ? pair?.key : pair?.value) ?? pair?.key ?? null;
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
