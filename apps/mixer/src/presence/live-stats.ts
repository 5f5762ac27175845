// A Rack's latest heartbeat stats held in one object per Rack, overwritten in place: no garbage kept per heartbeat.
import { HEARTBEAT_STATUSES, type Heartbeat, type HeartbeatStatus, RackStatsSchema } from "@fluxrig/wire";
import type { z } from "zod";

/**
 * One key of a stats schema: a number, or an object of numbers; optional or not. Read from the schema once, at load:
 * a field added to the wire's stats schema is copied, stored and written with no change here.
 */
interface StatsGroup {
  key: string;
  /** The keys of an object of numbers; null when the key holds a number itself. */
  leaves: readonly string[] | null;
  /** Set in `LiveStats.present` when an optional key was sent; 0 for a required key (always present). */
  bit: number;
  /** Index of the group's first number in `LiveStats.values`. */
  at: number;
  /** The JSON text before each number of the group, e.g. `"cpu":{"process_pct":` then `,"host_pct":`. */
  texts: readonly string[];
  /** The JSON text after the group's last number: `}` for an object, nothing for a number. */
  close: string;
}

/** The numbers of a stats schema, in schema order: where each is kept and how it is written back. */
export interface StatsLayout {
  groups: readonly StatsGroup[];
  size: number;
  /** Copies a heartbeat's stats into `values` and returns the bits of the optional keys it sent. */
  copy: (values: number[], stats: object) => number;
}

/** Reads the layout of a stats schema: an object whose keys are numbers or objects of numbers, any of them optional. */
export function statsLayout(schema: z.ZodObject): StatsLayout {
  const groups: StatsGroup[] = [];
  let size = 0;
  let optionals = 0;
  for (const [key, field] of Object.entries(schema.shape)) {
    let inner = field as z.ZodType;
    const optional = inner.def.type === "optional";
    if (optional) inner = (inner as z.ZodOptional).unwrap() as z.ZodType;
    const bit = optional ? 1 << optionals++ : 0;
    if (optionals > 31) throw new Error("a stats schema may have at most 31 optional keys");
    if (inner.def.type === "number") {
      groups.push({ key, leaves: null, bit, at: size, texts: [`${JSON.stringify(key)}:`], close: "" });
      size += 1;
      continue;
    }
    if (inner.def.type !== "object")
      throw new Error(`stats key ${key}: expected a number or an object of numbers`);
    const leaves = Object.keys((inner as z.ZodObject).shape);
    for (const leaf of leaves) {
      const type = ((inner as z.ZodObject).shape[leaf] as z.ZodType).def.type;
      if (type !== "number") throw new Error(`stats key ${key}.${leaf}: expected a number, got ${type}`);
    }
    const texts = leaves.map(
      (leaf, i) => `${i === 0 ? `${JSON.stringify(key)}:{` : ","}${JSON.stringify(leaf)}:`,
    );
    groups.push({ key, leaves, bit, at: size, texts, close: "}" });
    size += leaves.length;
  }
  return { groups, size, copy: compileCopy(groups) };
}

/**
 * The per-heartbeat copy, generated from the layout: one property read per number with the key written out, as a
 * hand-written copy has it. A loop over the keys instead reads each through a lookup by a key that varies, which V8
 * cannot specialise: 450 ns per heartbeat against 60 ns for this (7 keys, 14 numbers; 2 cores). The keys come from
 * our own schema and are written as JSON string literals, so nothing but property names can end up in the code.
 */
function compileCopy(groups: readonly StatsGroup[]): StatsLayout["copy"] {
  const lines = ["let present = 0;", "let group;"];
  for (const g of groups) {
    lines.push(`group = stats[${JSON.stringify(g.key)}];`);
    const copies =
      g.leaves === null
        ? [`values[${g.at}] = group;`]
        : g.leaves.map((leaf, i) => `values[${g.at + i}] = group[${JSON.stringify(leaf)}];`);
    lines.push(`if (group !== undefined) { present |= ${g.bit}; ${copies.join(" ")} }`);
  }
  lines.push("return present;");
  return new Function("values", "stats", lines.join("\n")) as StatsLayout["copy"];
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
  /** The optional keys the latest heartbeat sent (their groups' bits). */
  present = 0;
  rackStatus: HeartbeatStatus = "active";
  /** The scenario the Rack says its gears run (name, version); empty while it runs none. */
  scenarioName = "";
  scenarioVersion = "";
  session = "";
  seq = 0;
  flaps = 0;

  constructor(layout: StatsLayout = RACK_STATS_LAYOUT) {
    this.#layout = layout;
    this.values = new Array<number>(layout.size).fill(0);
  }

  /** Copies a heartbeat in. `session` keeps the string it already holds when equal, so nothing new is retained. */
  take(hb: Heartbeat, flaps: number): void {
    this.present = this.#layout.copy(this.values, hb.stats);
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
      for (let i = 0; i < group.texts.length; i++) text += group.texts[i]! + num(this.values[group.at + i]!);
      text += group.close;
    }
    if (this.scenarioName !== "") {
      text +=
        `${text.length > 1 ? "," : ""}"scenario":{"name":${JSON.stringify(this.scenarioName)},` +
        `"version":${JSON.stringify(this.scenarioVersion)}}`;
    }
    return (
      `${text}${text.length > 1 ? "," : ""}"rack_status":${JSON.stringify(this.rackStatus)},` +
      `"presence":{"flaps":${num(this.flaps)},"session":${JSON.stringify(this.session)},"seq":${num(this.seq)}}}`
    );
  }

  #sent(group: StatsGroup): boolean {
    return group.bit === 0 || (this.present & group.bit) !== 0;
  }
}

/** A number as JSON.stringify writes it: the shortest round-trip digits, and null for NaN and the infinities. */
function num(n: number): string {
  return Number.isFinite(n) ? String(n) : "null";
}

function internStatus(status: HeartbeatStatus): HeartbeatStatus {
  return HEARTBEAT_STATUSES.find((s) => s === status) ?? status;
}
