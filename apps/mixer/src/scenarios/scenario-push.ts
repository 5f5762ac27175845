// Splits a scenario into the execution logic of one Rack: its gears and the wires that touch them.
import { type ScenarioPush, wireMessageSubject } from "@fluxrig/wire";
import { type ScenarioSpec, wireName } from "./scenario-spec.js";

/** The Racks a scenario names (and so adopts when it is activated). */
export function scenarioRackNames(spec: ScenarioSpec): string[] {
  return spec.racks.map((r) => r.name);
}

/**
 * The push for one Rack. Wires keep both ends so a gear knows whether it publishes or subscribes; each wire's
 * subject is fluxrig.msg.<scenario>.<wire>, so gears on different Racks meet on the bus.
 */
export function scenarioPushFor(spec: ScenarioSpec, rackName: string, now: Date): ScenarioPush {
  const gears = spec.gears.filter((g) => g.deploy === rackName);
  const local = new Set(gears.map((g) => g.name));
  const wires = spec.wires
    .map((w, i) => ({ w, name: wireName(w, i) }))
    .filter(({ w }) => local.has(gearOf(w.from)) || local.has(gearOf(w.to)))
    .map(({ w, name }) => ({
      name,
      from: w.from,
      to: w.to,
      subject: wireMessageSubject(spec.meta.name, name),
    }));
  return {
    v: 1,
    scenario: { name: spec.meta.name, version: spec.meta.version },
    gears: gears.map((g) => ({ name: g.name, type: g.type, config: g.config })),
    wires,
    ts: now.toISOString(),
  };
}

/**
 * The gears and wires of every Rack the scenario deploys to, in one pass (what {@link scenarioPushFor} gives one Rack,
 * for all of them: a plan over thousands of Racks must not scan the whole scenario once per Rack).
 */
export function scenarioPushesByRack(spec: ScenarioSpec): Map<string, Pick<ScenarioPush, "gears" | "wires">> {
  const byRack = new Map<string, Pick<ScenarioPush, "gears" | "wires">>();
  const of = (rack: string) => {
    const held = byRack.get(rack);
    if (held) return held;
    const push: Pick<ScenarioPush, "gears" | "wires"> = { gears: [], wires: [] };
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
