// Parsing and matching pino-style log lines.
import { describe, expect, it } from "vitest";
import { describeMatcher, matchesEntry, parseLogLine } from "./json-lines.js";

describe("parseLogLine", () => {
  it("parses JSON objects and skips everything else", () => {
    expect(parseLogLine('{"level":30,"msg":"ready"}')).toEqual({ level: 30, msg: "ready" });
    expect(parseLogLine('  {"a":1}  ')).toEqual({ a: 1 });
    expect(parseLogLine("plain text")).toBeUndefined();
    expect(parseLogLine("[1,2]")).toBeUndefined();
    expect(parseLogLine("{broken")).toBeUndefined();
    expect(parseLogLine("")).toBeUndefined();
  });
});

describe("matchesEntry", () => {
  const entry = { level: 30, msg: "rack enrolled", name: "rack-1", stats: { cpu: 1 } };

  it("matches by example with deep equality and RegExp fields", () => {
    expect(matchesEntry(entry, { msg: "rack enrolled" })).toBe(true);
    expect(matchesEntry(entry, { msg: /enrolled$/, stats: { cpu: 1 } })).toBe(true);
    expect(matchesEntry(entry, { msg: "rack enrolled", name: "rack-2" })).toBe(false);
    expect(matchesEntry(entry, { level: /30/ })).toBe(false);
    expect(matchesEntry(entry, { missing: undefined })).toBe(true);
  });

  it("matches by predicate", () => {
    expect(matchesEntry(entry, (e) => e.level === 30)).toBe(true);
  });

  it("describes matchers readably", () => {
    expect(describeMatcher(/ready/)).toBe("/ready/");
    expect(describeMatcher({ msg: /x/ })).toBe('{"msg":"/x/"}');
    expect(describeMatcher(function isReady() {})).toBe("predicate isReady");
  });
});
