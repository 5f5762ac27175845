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

describe("entity-id", () => {
  bench("encodeEntityId", () => {
    sink = encodeEntityId(parts);
  });
  bench("decodeEntityId", () => {
    sink = decodeEntityId(id);
  });
  bench("parseEntityId (decimal)", () => {
    sink = parseEntityId(decimal);
  });
  bench("parseEntityId (hex)", () => {
    sink = parseEntityId(hex);
  });
  bench("formatEntityId (decimal)", () => {
    sink = formatEntityId(id);
  });
  bench("formatEntityIdHex", () => {
    sink = formatEntityIdHex(id);
  });
});

export { sink };
