// Micro-benchmarks of the hot paths: every heartbeat and REST lookup parses or formats an id.
import { bench, describe } from "vitest";
import { decodeEntityId, encodeEntityId } from "./entity-id-codec.js";
import { formatEntityId, formatEntityIdHex, parseEntityId } from "./entity-id-text.js";

const parts = { typeId: 4, machineId: 55, sequence: 2n ** 40n - 1n };
const id = encodeEntityId(parts);
const decimal = formatEntityId(id);
const hex = formatEntityIdHex(id);
// A sink the optimiser cannot drop.
let sink: unknown;

const cases: Array<[string, () => unknown]> = [
  ["encodeEntityId", () => encodeEntityId(parts)],
  ["decodeEntityId", () => decodeEntityId(id)],
  ["parseEntityId (decimal)", () => parseEntityId(decimal)],
  ["parseEntityId (hex)", () => parseEntityId(hex)],
  ["formatEntityId (decimal)", () => formatEntityId(id)],
  ["formatEntityIdHex", () => formatEntityIdHex(id)],
];

describe("entity-id", () => {
  for (const [name, run] of cases) {
    bench(name, () => {
      sink = run();
    });
  }
});

export { sink };
