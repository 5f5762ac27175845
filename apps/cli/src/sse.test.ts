import { describe, expect, test } from "vitest";
import { SseParser } from "./sse.js";

describe("SseParser", () => {
  test("messages with id, event and data; the id persists; comments are counted", () => {
    const p = new SseParser();
    expect(p.push(': hello\nid: 7\nevent: audit\ndata: {"seq":7}\n\ndata: plain\n\n')).toEqual([
      { event: "audit", data: '{"seq":7}', id: "7" },
      { event: "message", data: "plain", id: "7" },
    ]);
    expect(p.comments).toBe(1);
    expect(p.lastEventId).toBe("7");
  });

  test("an id-only message dispatches nothing but moves the last event id", () => {
    const p = new SseParser();
    expect(p.push("id: 42\n\n")).toEqual([]);
    expect(p.lastEventId).toBe("42");
    // An empty id resets it; an id with a NUL is ignored.
    p.push("id\n\n");
    expect(p.lastEventId).toBe("");
    p.push("id: 4\u00002\n\n");
    expect(p.lastEventId).toBe("");
  });

  test("multi-line data is joined with LF; one leading space is stripped, no more; a field without a colon is empty", () => {
    const p = new SseParser();
    expect(p.push("data: a\ndata:  b\ndata\ndata:c\n\n")).toEqual([
      { event: "message", data: "a\n b\n\nc", id: "" },
    ]);
  });

  test("CRLF and CR line ends, a CR at the end of a chunk and its LF in the next", () => {
    const p = new SseParser();
    expect(p.push("id: 1\r\nevent: audit\r\ndata: x\r")).toEqual([]);
    expect(p.push("\n\r")).toEqual([{ event: "audit", data: "x", id: "1" }]);
    expect(p.push("\ndata: y\r\rdata: z\n\n")).toEqual([
      { event: "message", data: "y", id: "1" },
      { event: "message", data: "z", id: "1" },
    ]);
  });

  test("split anywhere, byte by byte, it gives the same messages", () => {
    const stream =
      '\uFEFFid: 3\nevent: audit\ndata: {"a":1}\n\n: keep-alive\n\nid: 4\ndata: two\ndata: lines\n\n';
    const whole = new SseParser().push(stream);
    const p = new SseParser();
    const pieces = [...stream].flatMap((ch) => p.push(ch));
    expect(pieces).toEqual(whole);
    expect(whole).toEqual([
      { event: "audit", data: '{"a":1}', id: "3" },
      { event: "message", data: "two\nlines", id: "4" },
    ]);
  });

  test("retry is read when it is digits; unknown fields and an unfinished message are ignored", () => {
    const p = new SseParser();
    expect(p.push("retry: 1500\nfoo: bar\n\nretry: soon\n\ndata: unfinished")).toEqual([]);
    expect(p.retryMs).toBe(1500);
  });
});
