// A scenario split per Rack: all Racks at once gives exactly what one Rack's push carries.
import { expect, test } from "vitest";
import { scenarioPushesByRack, scenarioPushFor } from "./scenario-push.js";
import { parseScenarioYaml } from "./scenario-spec.js";

const YAML = `meta: { name: split, version: 1 }
racks: [{ name: r1 }, { name: r2 }, { name: r3 }]
gears:
  - { name: tick, type: ticker, deploy: r1, config: { interval: 1s } }
  - { name: local, type: counter, deploy: r1 }
  - { name: far, type: counter, deploy: r2 }
wires:
  - { from: tick.out, to: local.in }
  - { name: cross, from: tick.out, to: far.in }
`;

test("scenarioPushesByRack gives each Rack the gears and wires scenarioPushFor gives it, in order", () => {
  const parsed = parseScenarioYaml(YAML);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  const now = new Date("2030-01-01T00:00:00Z");
  const all = scenarioPushesByRack(parsed.spec);
  for (const rack of ["r1", "r2", "r3"]) {
    const { gears, wires } = scenarioPushFor(parsed.spec, rack, now);
    expect(all.get(rack) ?? { gears: [], wires: [] }, rack).toEqual({ gears, wires });
  }
  // The cross-Rack wire is on both ends; a Rack with no gears has nothing.
  expect(all.get("r1")?.wires.map((w) => w.name)).toEqual(["w1", "cross"]);
  expect(all.get("r2")?.wires.map((w) => w.name)).toEqual(["cross"]);
  expect(all.has("r3")).toBe(false);
});
