// Splits a scenario into the execution logic of one Rack: its gears and the wires that touch them.
import { type ScenarioPush, wireMessageSubject } from "@fluxrig/wire";
import { type ScenarioSpec, wireName } from "./scenario-spec.js";

/** The Racks a scenario names (and so adopts when it is activated). */
export function scenarioRackNames(spec: ScenarioSpec): string[] {
  return spec.racks.map((r) => r.name);
}

/** One Rack's gears and wires of a scenario (see {@link scenarioPushesByRack}). */
export type RackScenarioPart = Pick<ScenarioPush, "gears" | "wires">;

/** The push for one Rack: its part of the scenario (none: no gears, no wires) with the scenario's name and version. */
export function scenarioPush(
  spec: ScenarioSpec,
  part: RackScenarioPart | undefined,
  now: Date,
): ScenarioPush {
  return {
    v: 1,
    scenario: { name: spec.meta.name, version: spec.meta.version },
    gears: part?.gears ?? [],
    wires: part?.wires ?? [],
    ts: now.toISOString(),
  };
}

/**
 * The gears and wires of every Rack the scenario deploys to, split in one pass (an activation pushes to thousands of
 * Racks; none may scan the whole scenario once per Rack). Wires keep both ends so a gear knows whether it publishes or
 * subscribes; a wire between two Racks is in both parts; each wire's subject is fluxrig.msg.<scenario>.<wire>, so
 * gears on different Racks meet on the bus. A Rack with no gears has no part.
 */
export function scenarioPushesByRack(spec: ScenarioSpec): Map<string, Pick<ScenarioPush, "gears" | "wires">> {
  const byRack = new Map<string, Pick<ScenarioPush, "gears" | "wires">>();
  const of = (rack: string) => {
    const held = byRack.get(rack);
    if (held) return held;
    const push: RackScenarioPart = { gears: [], wires: [] };
    byRack.set(rack, push);
    return push;
  };
  const rackOfGear = new Map<string, string>();
  for (const g of spec.gears) {
    rackOfGear.set(g.name, g.deploy);
    of(g.deploy).gears.push({ name: g.name, type: g.type, config: g.config });
  }
  spec.wires.forEach((w, i) => {
    const name = wireName(w, i);
    const wire = { name, from: w.from, to: w.to, subject: wireMessageSubject(spec.meta.name, name) };
    const racks = new Set([rackOfGear.get(gearOf(w.from)), rackOfGear.get(gearOf(w.to))]);
    for (const rack of racks) if (rack !== undefined) of(rack).wires.push(wire);
  });
  return byRack;
}

function gearOf(ref: string): string {
  return ref.split(".")[0] ?? "";
}
