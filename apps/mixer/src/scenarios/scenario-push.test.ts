// A scenario split per Rack: each Rack's gears, and the wires touching them with their subjects, in scenario order.
import { expect, test } from "vitest";
import { scenarioPush, scenarioPushesByRack } from "./scenario-push.js";
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

test("each Rack gets its gears and every wire touching them; a wire between two Racks goes to both", () => {
  const parsed = parseScenarioYaml(YAML);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  const parts = scenarioPushesByRack(parsed.spec);
  const w1 = { name: "w1", from: "tick.out", to: "local.in", subject: "fluxrig.msg.split.w1" };
  const cross = { name: "cross", from: "tick.out", to: "far.in", subject: "fluxrig.msg.split.cross" };
  expect(parts.get("r1")).toEqual({
    gears: [
      { name: "tick", type: "ticker", config: { interval: "1s" } },
      { name: "local", type: "counter", config: {} },
    ],
    wires: [w1, cross],
  });
  expect(parts.get("r2")).toEqual({ gears: [{ name: "far", type: "counter", config: {} }], wires: [cross] });
  expect(parts.has("r3")).toBe(false);
  // A Rack with no part gets a push with no gears: it stops whatever it ran.
  const now = new Date("2030-01-01T00:00:00Z");
  expect(scenarioPush(parsed.spec, parts.get("r3"), now)).toEqual({
    v: 1,
    scenario: { name: "split", version: "1" },
    gears: [],
    wires: [],
    ts: "2030-01-01T00:00:00.000Z",
  });
});
