// LineLog: splits chunks into lines, keeps a bounded tail, and lets waits start from a mark.
import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { LineLog } from "./line-log.js";

const ended = (stream: PassThrough): Promise<void> => new Promise((resolve) => stream.on("end", resolve));

describe("LineLog", () => {
  it("splits chunks on newlines, handles CRLF, split UTF-8 and a trailing partial line", async () => {
    const log = new LineLog({ label: "t", echo: false });
    const out = new PassThrough();
    log.attach(out, "stdout");
    const euro = Buffer.from("€");
    out.write("first\r\nsec");
    out.write("ond\nthird ");
    out.write(euro.subarray(0, 1));
    out.write(euro.subarray(1));
    out.end("\nno newline");
    await ended(out);
    expect(log.lines().map((l) => l.text)).toEqual(["first", "second", "third €", "no newline"]);
  });

  it("keeps only the last maxLines and says how many it dropped", () => {
    const log = new LineLog({ label: "t", maxLines: 3, echo: false });
    for (let i = 0; i < 5; i++) log.push("stdout", `line ${i}`);
    expect(log.lines().map((l) => l.text)).toEqual(["line 2", "line 3", "line 4"]);
    expect(log.dropped).toBe(2);
    expect(log.text(2)).toBe("… 3 earlier lines not shown\nline 3\nline 4");
  });

  it("tags stderr and notes, and filters from a mark", () => {
    const log = new LineLog({ label: "t", echo: false });
    log.push("stdout", "before");
    const mark = log.mark();
    log.push("stderr", "oops");
    log.push("note", "restarted");
    expect(log.lines(mark).map((l) => l.text)).toEqual(["oops", "restarted"]);
    expect(log.text()).toBe("before\n[err] oops\n-- restarted --");
    expect(new LineLog({ label: "n", tagStderr: false }).text()).toBe("");
  });

  it("notifies listeners until they unsubscribe", () => {
    const log = new LineLog({ label: "t", echo: false });
    const seen: string[] = [];
    const off = log.onLine((l) => seen.push(l.text));
    log.push("stdout", "a");
    off();
    log.push("stdout", "b");
    expect(seen).toEqual(["a"]);
  });
});
