import { describe, expect, it } from "vitest";
import { catchUpVerdict } from "./nats-cluster.js";

describe("catchUpVerdict", () => {
  it("calls a replica unchanged for 5 s or more stalled, and says for how long", () => {
    expect(catchUpVerdict({ since: 1_000, history: [[1_000, 98]] }, 61_000)).toBe(
      "STALLED: unchanged for the last 60.0 s",
    );
    expect(catchUpVerdict({ since: 0, history: [[0, 5]] }, 5_000)).toMatch(/^STALLED/);
  });

  it("calls a replica that changed lately advancing, with what it gained in the last 10 s", () => {
    const history: Array<[number, number]> = [
      [0, 10],
      [5_000, 100],
      [12_000, 400],
      [14_000, 700],
    ];
    expect(catchUpVerdict({ since: 14_000, history }, 15_000)).toBe("advancing: 600 msgs in the last 10 s");
    expect(catchUpVerdict({ since: 1_000, history: [[1_000, 3]] }, 2_000)).toBe(
      "advancing: 0 msgs in the last 10 s",
    );
  });
});
