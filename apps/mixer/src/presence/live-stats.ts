// A Rack's latest heartbeat stats held in one object per Rack, overwritten in place: no garbage kept per heartbeat.
import { HEARTBEAT_STATUSES, type Heartbeat, type HeartbeatStatus, RackStatsSchema } from "@fluxrig/wire";
import type { z } from "zod";

/**
 * One key of a stats schema: a number, an object of numbers, or a list of records; optional or not. Read from the
 * schema once, at load: a field added to the wire's stats schema is copied, stored and written with no change here.
 */
interface StatsGroup {
  key: string;
  /** The keys of an object of numbers; null when the key holds a number itself or a list. */
  leaves: readonly string[] | null;
  /** Set for a list of records (e.g. the per-gear list): how its items are copied. */
  list: ListLayout | null;
  /** Set in `LiveStats.present` when an optional key was sent; 0 for a required key (always present). */
  bit: number;
  /** Index of the group's first number in `LiveStats.values`, or of its rows in `LiveStats.lists`. */
  at: number;
  /** The JSON text before each number of the group, e.g. `"cpu":{"process_pct":` then `,"host_pct":`. */
  texts: readonly string[];
  /** The JSON text after the group's last number: `}` for an object, nothing for a number. */
  close: string;
}

/** A list's item: an object whose fields are scalars (numbers, strings, enums) or objects of scalars. */
interface ListLayout {
  fields: readonly { key: string; leaves: readonly string[] | null }[];
  /** Copies a heartbeat's list into the Rack's rows, reusing the rows and every string equal to the one held. */
  copy: (rows: ListRow[], list: readonly Record<string, unknown>[]) => void;
}

/** One item of a list as LiveStats keeps it: every field of the item's schema, undefined when not sent. */
type ListRow = Record<string, unknown>;

/** The numbers of a stats schema, in schema order: where each is kept and how it is written back. */
export interface StatsLayout {
  groups: readonly StatsGroup[];
  size: number;
  /** How many list groups: `LiveStats.lists` holds one array of rows for each. */
  lists: number;
  /** Copies a heartbeat's stats into `values` and `lists` and returns the bits of the optional keys it sent. */
  copy: (values: number[], stats: object, lists: ListRow[][]) => number;
}

/**
 * Reads the layout of a stats schema: an object whose keys are numbers, objects of numbers or lists of records, any of
 * them optional.
 */
export function statsLayout(schema: z.ZodObject): StatsLayout {
  const groups: StatsGroup[] = [];
  let size = 0;
  let lists = 0;
  let optionals = 0;
  for (const [key, field] of Object.entries(schema.shape)) {
    let inner = field as z.ZodType;
    const optional = inner.def.type === "optional";
    if (optional) inner = (inner as z.ZodOptional).unwrap() as z.ZodType;
    const bit = optional ? 1 << optionals++ : 0;
    if (optionals > 31) throw new Error("a stats schema may have at most 31 optional keys");
    if (inner.def.type === "number") {
      groups.push({
        key,
        leaves: null,
        list: null,
        bit,
        at: size,
        texts: [`${JSON.stringify(key)}:`],
        close: "",
      });
      size += 1;
      continue;
    }
    if (inner.def.type === "array") {
      const list = listLayout(key, (inner as z.ZodArray).element as z.ZodType);
      groups.push({ key, leaves: null, list, bit, at: lists, texts: [`${JSON.stringify(key)}:`], close: "" });
      lists += 1;
      continue;
    }
    if (inner.def.type !== "object")
      throw new Error(`stats key ${key}: expected a number, an object of numbers or a list of objects`);
    const leaves = Object.keys((inner as z.ZodObject).shape);
    for (const leaf of leaves) {
      const type = ((inner as z.ZodObject).shape[leaf] as z.ZodType).def.type;
      if (type !== "number") throw new Error(`stats key ${key}.${leaf}: expected a number, got ${type}`);
    }
    const texts = leaves.map(
      (leaf, i) => `${i === 0 ? `${JSON.stringify(key)}:{` : ","}${JSON.stringify(leaf)}:`,
    );
    groups.push({ key, leaves, list: null, bit, at: size, texts, close: "}" });
    size += leaves.length;
  }
  return { groups, size, lists, copy: compileCopy(groups) };
}

const SCALARS = new Set(["number", "string", "enum", "boolean"]);

/** The layout of a list's items: an object of scalars and objects of scalars, any of them optional. */
function listLayout(key: string, element: z.ZodType): ListLayout {
  if (element.def.type !== "object") throw new Error(`stats key ${key}: expected a list of objects`);
  const fields: { key: string; leaves: readonly string[] | null }[] = [];
  for (const [field, schema] of Object.entries((element as z.ZodObject).shape)) {
    let inner = schema as z.ZodType;
    if (inner.def.type === "optional") inner = (inner as z.ZodOptional).unwrap() as z.ZodType;
    if (SCALARS.has(inner.def.type)) {
      fields.push({ key: field, leaves: null });
      continue;
    }
    if (inner.def.type !== "object")
      throw new Error(`stats key ${key}[].${field}: expected a scalar or an object of scalars`);
    const leaves = Object.keys((inner as z.ZodObject).shape);
    for (const leaf of leaves) {
      const type = ((inner as z.ZodObject).shape[leaf] as z.ZodType).def.type;
      if (!SCALARS.has(type))
        throw new Error(`stats key ${key}[].${field}.${leaf}: expected a scalar, got ${type}`);
    }
    fields.push({ key: field, leaves });
  }
  return { fields, copy: compileListCopy(fields) };
}

/**
 * The per-heartbeat copy of a list, generated like the stats copy: a Rack's rows are reused from one heartbeat to the
 * next, and a field keeps the string it holds while the heartbeat's is equal, so a steady Rack retains nothing new; an
 * object field (a gear's last error) is replaced only when it changed.
 */
function compileListCopy(fields: ListLayout["fields"]): ListLayout["copy"] {
  const k = (key: string) => `[${JSON.stringify(key)}]`;
  const blank = `{ ${fields.map((f) => `${JSON.stringify(f.key)}: undefined`).join(", ")} }`;
  const lines = [
    "const n = list.length;",
    "for (let i = 0; i < n; i++) {",
    "  const item = list[i];",
    "  let row = rows[i];",
    `  if (row === undefined) { row = ${blank}; rows.push(row); }`,
    "  let v; let held;",
  ];
  for (const f of fields) {
    lines.push(`  v = item${k(f.key)};`);
    if (f.leaves === null) {
      lines.push(`  if (row${k(f.key)} !== v) row${k(f.key)} = v;`);
      continue;
    }
    const same = f.leaves.map((leaf) => `held${k(leaf)} === v${k(leaf)}`).join(" && ");
    const fresh = `{ ${f.leaves.map((leaf) => `${JSON.stringify(leaf)}: v${k(leaf)}`).join(", ")} }`;
    lines.push(
      `  held = row${k(f.key)};`,
      `  if (v === undefined) row${k(f.key)} = undefined;`,
      `  else if (held === undefined || !(${same})) row${k(f.key)} = ${fresh};`,
    );
  }
  lines.push("}", "rows.length = n;");
  return new Function("rows", "list", lines.join("\n")) as ListLayout["copy"];
}

/**
 * The per-heartbeat copy, generated from the layout: one property read per number with the key written out, as a
 * hand-written copy has it. A loop over the keys instead reads each through a lookup by a key that varies, which V8
 * cannot specialise: 450 ns per heartbeat against 60 ns for this (7 keys, 14 numbers; 2 cores). The keys come from
 * our own schema and are written as JSON string literals, so nothing but property names can end up in the code.
 */
function compileCopy(groups: readonly StatsGroup[]): StatsLayout["copy"] {
  const lines = ["let present = 0;", "let group;"];
  const listCopies: ListLayout["copy"][] = [];
  for (const g of groups) {
    lines.push(`group = stats[${JSON.stringify(g.key)}];`);
    if (g.list !== null) {
      lines.push(
        `if (group !== undefined) { present |= ${g.bit}; copyList[${listCopies.length}](lists[${g.at}], group); }`,
      );
      listCopies.push(g.list.copy);
      continue;
    }
    const copies =
      g.leaves === null
        ? [`values[${g.at}] = group;`]
        : g.leaves.map((leaf, i) => `values[${g.at + i}] = group[${JSON.stringify(leaf)}];`);
    lines.push(`if (group !== undefined) { present |= ${g.bit}; ${copies.join(" ")} }`);
  }
  lines.push("return present;");
  // A closure over the list copies, so the copy itself is one direct function, as before lists existed.
  const make = new Function(
    "copyList",
    `return function copy(values, stats, lists) {\n${lines.join("\n")}\n};`,
  );
  return make(listCopies) as StatsLayout["copy"];
}

/** The layout of the wire's heartbeat stats: the one place LiveStats learns its fields. */
export const RACK_STATS_LAYOUT = statsLayout(RackStatsSchema);

/**
 * At 10,000 heartbeats a second, keeping each heartbeat's decoded stats (five small objects that live one interval)
 * promoted them all to V8's old generation and held the Mixer's heap near 200 MB between major collections. The
 * numbers are copied here instead, into one array of numbers allocated at a Rack's first heartbeat, and turned back
 * into the stored JSON only when presence is flushed or read.
 */
export class LiveStats {
  readonly #layout: StatsLayout;
  /** Every number of the stats, at the index its group's layout says. */
  readonly values: number[];
  /** The rows of each list group (the per-gear list), at the index its group's layout says. */
  readonly lists: ListRow[][];
  /** The optional keys the latest heartbeat sent (their groups' bits). */
  present = 0;
  rackStatus: HeartbeatStatus = "active";
  /** The scenario the Rack says its gears run (name, version); empty while it runs none. */
  scenarioName = "";
  scenarioVersion = "";
  session = "";
  seq = 0;
  flaps = 0;
  /**
   * The JSON text of `session` and of the scenario, for `toJSONText`, with the strings they were made from: made again
   * only when those change (a Rack's restart, a new scenario), not per Rack per flush (JSON.stringify of a session is
   * about 170 ns; the flush writes every Rack every second).
   */
  #sessionJSONOf = "";
  #sessionJSON = '""';
  #scenarioJSONOf: readonly [string, string] = ["", ""];
  #scenarioJSON = "";

  constructor(layout: StatsLayout = RACK_STATS_LAYOUT) {
    this.#layout = layout;
    this.values = new Array<number>(layout.size).fill(0);
    this.lists = Array.from({ length: layout.lists }, () => []);
  }

  /** Copies a heartbeat in. `session` keeps the string it already holds when equal, so nothing new is retained. */
  take(hb: Heartbeat, flaps: number): void {
    this.present = this.#layout.copy(this.values, hb.stats, this.lists);
    this.rackStatus = internStatus(hb.status);
    // Kept, not replaced, while equal: a steady Rack retains no new strings per heartbeat.
    const scenario = hb.scenario;
    const name = scenario?.name ?? "";
    const version = scenario?.version ?? "";
    if (this.scenarioName !== name) this.scenarioName = name;
    if (this.scenarioVersion !== version) this.scenarioVersion = version;
    if (this.session !== hb.session) this.session = hb.session;
    this.seq = hb.seq;
    this.flaps = flaps;
  }

  /**
   * The stored form (the `stats` column): the heartbeat's stats as sent, plus `scenario: { name, version }` (what
   * the Rack runs, when it runs one), `rack_status` and `presence: { flaps, session, seq }`.
   */
  toJSON(): Record<string, unknown> {
    const stats: Record<string, unknown> = {};
    for (const group of this.#layout.groups) {
      if (!this.#sent(group)) continue;
      if (group.list !== null) {
        stats[group.key] = rowsToJSON(group.list, this.lists[group.at]!);
        continue;
      }
      const leaves = group.leaves;
      if (leaves === null) {
        stats[group.key] = this.values[group.at];
        continue;
      }
      const numbers: Record<string, number> = {};
      for (let i = 0; i < leaves.length; i++) numbers[leaves[i]!] = this.values[group.at + i]!;
      stats[group.key] = numbers;
    }
    if (this.scenarioName !== "") stats.scenario = { name: this.scenarioName, version: this.scenarioVersion };
    stats.rack_status = this.rackStatus;
    stats.presence = { flaps: this.flaps, session: this.session, seq: this.seq };
    return stats;
  }

  /**
   * The stored form as JSON text, written straight from the numbers: exactly `JSON.stringify(this.toJSON())` (the
   * test holds it to that), without the objects `toJSON` builds. The presence flush calls it once per Rack.
   */
  toJSONText(): string {
    let text = "{";
    for (const group of this.#layout.groups) {
      if (!this.#sent(group)) continue;
      if (text.length > 1) text += ",";
      if (group.list !== null) {
        // Rows hold their fields in schema order and undefined for those not sent, which JSON.stringify leaves out.
        text += group.texts[0]! + JSON.stringify(this.lists[group.at]!);
        continue;
      }
      for (let i = 0; i < group.texts.length; i++) text += group.texts[i]! + num(this.values[group.at + i]!);
      text += group.close;
    }
    if (this.scenarioName !== "") text += `${text.length > 1 ? "," : ""}${this.#scenarioText()}`;
    const status = STATUS_JSON.get(this.rackStatus) ?? JSON.stringify(this.rackStatus);
    return (
      `${text}${text.length > 1 ? "," : ""}"rack_status":${status},` +
      `"presence":{"flaps":${num(this.flaps)},"session":${this.#sessionText()},"seq":${num(this.seq)}}}`
    );
  }

  #sessionText(): string {
    if (this.#sessionJSONOf !== this.session) {
      this.#sessionJSONOf = this.session;
      this.#sessionJSON = JSON.stringify(this.session);
    }
    return this.#sessionJSON;
  }

  #scenarioText(): string {
    const [name, version] = this.#scenarioJSONOf;
    if (name !== this.scenarioName || version !== this.scenarioVersion || this.#scenarioJSON === "") {
      this.#scenarioJSONOf = [this.scenarioName, this.scenarioVersion];
      this.#scenarioJSON =
        `"scenario":{"name":${JSON.stringify(this.scenarioName)},` +
        `"version":${JSON.stringify(this.scenarioVersion)}}`;
    }
    return this.#scenarioJSON;
  }

  #sent(group: StatsGroup): boolean {
    return group.bit === 0 || (this.present & group.bit) !== 0;
  }
}

/** A list's rows as plain objects, the fields not sent left out (what `toJSON` gives). */
function rowsToJSON(list: ListLayout, rows: readonly ListRow[]): Record<string, unknown>[] {
  return rows.map((row) => {
    const out: Record<string, unknown> = {};
    for (const field of list.fields) {
      const value = row[field.key];
      if (value === undefined) continue;
      out[field.key] = field.leaves === null ? value : { ...(value as object) };
    }
    return out;
  });
}

/** A number as JSON.stringify writes it: the shortest round-trip digits, and null for NaN and the infinities. */
function num(n: number): string {
  return Number.isFinite(n) ? String(n) : "null";
}

/** Each heartbeat status as JSON text, made once. */
const STATUS_JSON: ReadonlyMap<string, string> = new Map(
  HEARTBEAT_STATUSES.map((s) => [s, JSON.stringify(s)]),
);

function internStatus(status: HeartbeatStatus): HeartbeatStatus {
  return HEARTBEAT_STATUSES.find((s) => s === status) ?? status;
}
