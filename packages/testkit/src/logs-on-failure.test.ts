// attachLogsOnFailure prints the right logs only when the test fails; formatLogs titles each source.
import { afterAll, describe, expect, it } from "vitest";
import { attachLogsOnFailure, formatLogs, type HasOutput } from "./logs-on-failure.js";

const source = (label: string | undefined, lines: string[]): HasOutput => ({
  label,
  output: (tail) => (tail === undefined ? lines : lines.slice(-tail)).join("\n"),
});

describe("formatLogs", () => {
  it("prints one titled section per source, tail lines only", () => {
    const report = formatLogs([source("nats-server:4222", ["a", "b", "c"]), source(undefined, [])], 2);
    expect(report).toBe(
      [
        "──── nats-server:4222 (last 2 lines) ────",
        "b",
        "c",
        "──── source 2 (last 2 lines) ────",
        "(no output)",
      ].join("\n"),
    );
  });
});

describe("attachLogsOnFailure", () => {
  it("registers a handler that prints the given sources when called", async () => {
    let handler: (() => void | Promise<void>) | undefined;
    const printed: string[] = [];
    attachLogsOnFailure((h) => (handler = h), {
      only: [source("rack", ["enrolled"])],
      print: (r) => printed.push(r),
    });
    expect(printed).toEqual([]);
    await handler?.();
    expect(printed).toHaveLength(1);
    expect(printed[0]).toContain("rack");
    expect(printed[0]).toContain("enrolled");
  });

  // With vitest's real hook: a test expected to fail must trigger the report.
  const printedByVitest: string[] = [];
  it.fails("runs from vitest's onTestFailed when the test fails", ({ onTestFailed }) => {
    attachLogsOnFailure(onTestFailed, {
      only: [source("mixer", ["boom"])],
      print: (r) => printedByVitest.push(r),
    });
    expect("failing on purpose").toBe("passing");
  });
  afterAll(() => {
    expect(printedByVitest.join("")).toContain("boom");
  });
});
