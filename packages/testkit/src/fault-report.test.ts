import { afterEach, describe, expect, test } from "vitest";
import { FaultReport, faultSeed, SeededRandom } from "./fault-report.js";

describe("SeededRandom", () => {
  test("the same seed gives the same sequence; another seed another", () => {
    const a = new SeededRandom(42);
    const b = new SeededRandom(42);
    const seqA = Array.from({ length: 20 }, () => a.next());
    expect(Array.from({ length: 20 }, () => b.next())).toEqual(seqA);
    const c = new SeededRandom(43);
    expect(Array.from({ length: 20 }, () => c.next())).not.toEqual(seqA);
    for (const x of seqA) expect(x >= 0 && x < 1).toBe(true);
  });

  test("int stays in its bounds and reaches both; shuffle is a permutation", () => {
    const r = new SeededRandom(7);
    const seen = new Set(Array.from({ length: 500 }, () => r.int(1, 4)));
    expect([...seen].sort()).toEqual([1, 2, 3, 4]);
    const items = ["a", "b", "c", "d", "e"];
    expect(r.shuffle(items).sort()).toEqual(items);
    expect(items).toEqual(["a", "b", "c", "d", "e"]);
  });
});

describe("faultSeed", () => {
  const saved = process.env.FLUXRIG_FAULT_SEED;
  afterEach(() => {
    if (saved === undefined) delete process.env.FLUXRIG_FAULT_SEED;
    else process.env.FLUXRIG_FAULT_SEED = saved;
  });

  test("FLUXRIG_FAULT_SEED replays a seed; a bad one is refused", () => {
    process.env.FLUXRIG_FAULT_SEED = "123";
    expect(faultSeed()).toBe(123);
    process.env.FLUXRIG_FAULT_SEED = "-1";
    expect(() => faultSeed()).toThrow(/FLUXRIG_FAULT_SEED/);
    delete process.env.FLUXRIG_FAULT_SEED;
    expect(Number.isInteger(faultSeed())).toBe(true);
  });
});

describe("FaultReport.attach", () => {
  test("a failing test marks the record failed and the file's end writes it", () => {
    const report = new FaultReport({ scenario: "attach-probe", file: "probe", iterations: 1 });
    let atEnd: (() => void) | undefined;
    let eachTest: ((ctx: { onTestFailed: (h: () => void) => void }) => void) | undefined;
    const written: string[] = [];
    report.write = () => {
      written.push(report.record.scenario);
      return "";
    };
    report.attach({ afterAll: (fn) => (atEnd = fn), beforeEach: (fn) => (eachTest = fn) });
    const failHandlers: Array<() => void> = [];
    eachTest!({ onTestFailed: (h) => failHandlers.push(h) });
    // One handler prints logs, one marks the record.
    expect(failHandlers).toHaveLength(2);
    expect(report.record.passed).toBe(true);
    failHandlers[1]!();
    expect(report.record.passed).toBe(false);
    atEnd!();
    expect(written).toEqual(["attach-probe"]);
  });
});
