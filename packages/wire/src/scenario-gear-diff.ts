// When a gear of a scenario push runs exactly as before: one rule for the Rack (which keeps such gears running across
// a new push) and the Mixer (whose scenario plan says which gears would start, stop, restart or stay).
import type { ScenarioPush } from "./push-schemas.js";

type PushGear = ScenarioPush["gears"][number];
type PushWire = ScenarioPush["wires"][number];

/** JSON with object keys sorted, so two equal specs give one string whatever order their keys came in. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

const gearOfEndpoint = (endpoint: string): string => endpoint.slice(0, endpoint.indexOf("."));

/**
 * What a gear runs from: its spec (name, type, config) and every wire touching it (with its subject, which names the
 * scenario). Equal keys mean the gear would run exactly the same, so it is kept running.
 */
export function scenarioGearKey(gear: PushGear, wires: readonly PushWire[]): string {
  const touching = wires
    .filter((w) => gearOfEndpoint(w.from) === gear.name || gearOfEndpoint(w.to) === gear.name)
    .map((w) => canonicalJson(w))
    .sort();
  return canonicalJson({ spec: { name: gear.name, type: gear.type, config: gear.config }, wires: touching });
}

/** What applying `next` after `previous` does to one Rack's gears, each list sorted by name. */
export interface ScenarioGearChanges {
  start: string[];
  stop: string[];
  /** Held by both with another type, config or wires: stopped and started again. */
  restart: string[];
  unchanged: string[];
}

/** The gear changes from one push to the next for the same Rack (`previous` undefined: nothing runs yet). */
export function scenarioGearChanges(
  previous: Pick<ScenarioPush, "gears" | "wires"> | undefined,
  next: Pick<ScenarioPush, "gears" | "wires">,
): ScenarioGearChanges {
  const before = new Map(
    (previous?.gears ?? []).map((g) => [g.name, scenarioGearKey(g, previous?.wires ?? [])]),
  );
  const changes: ScenarioGearChanges = { start: [], stop: [], restart: [], unchanged: [] };
  const kept = new Set<string>();
  for (const gear of next.gears) {
    kept.add(gear.name);
    const key = before.get(gear.name);
    if (key === undefined) changes.start.push(gear.name);
    else if (key === scenarioGearKey(gear, next.wires)) changes.unchanged.push(gear.name);
    else changes.restart.push(gear.name);
  }
  for (const name of before.keys()) if (!kept.has(name)) changes.stop.push(name);
  for (const list of Object.values(changes)) list.sort();
  return changes;
}
