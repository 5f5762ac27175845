// The event-stream parser against the shapes the Mixer's stream sends, cut at every byte.
import { describe, expect, test } from "vitest";
import { retryDelayMs, SseParser } from "./sse.js";

const STREAM =
  "id: 1283\n\n" +
  'id: 1284\nevent: audit\ndata: {"seq":1284}\n\n' +
  ": keep-alive\n\n" +
  'id: 1285\nevent: audit\ndata: {"seq":1285}\n\n';

describe("SseParser", () => {
  test("reads the cursor, the events and skips keep-alives", () => {
    expect(new SseParser().push(STREAM)).toEqual([
      { id: "1283", event: "message", data: null },
      { id: "1284", event: "audit", data: '{"seq":1284}' },
      { id: "1285", event: "audit", data: '{"seq":1285}' },
    ]);
  });

  test("gives the same messages however the text is cut", () => {
    const whole = new SseParser().push(STREAM);
    for (let cut = 1; cut < STREAM.length; cut += 1) {
      const p = new SseParser();
      expect([...p.push(STREAM.slice(0, cut)), ...p.push(STREAM.slice(cut))], `cut at ${cut}`).toEqual(whole);
    }
    const p = new SseParser();
    expect([...STREAM].flatMap((ch) => p.push(ch))).toEqual(whole);
  });

  test("CRLF and CR end lines too, and a CRLF split across chunks is one line end", () => {
    const crlf = STREAM.replaceAll("\n", "\r\n");
    const whole = new SseParser().push(STREAM);
    expect(new SseParser().push(crlf)).toEqual(whole);
    expect(new SseParser().push(STREAM.replaceAll("\n", "\r"))).toEqual(whole);
    const p = new SseParser();
    const at = crlf.indexOf("\r\n") + 1;
    expect([...p.push(crlf.slice(0, at)), ...p.push(crlf.slice(at))]).toEqual(whole);
  });

  test("several data lines join with a newline; a field without a colon is empty; unknown fields are ignored", () => {
    expect(new SseParser().push("data: a\ndata:b\ndata\nretry: 5\nfoo: bar\n\n")).toEqual([
      { id: undefined, event: "message", data: "a\nb\n" },
    ]);
  });

  test("the id carries over to later messages until changed; an id with NUL is ignored", () => {
    const p = new SseParser();
    expect(p.push("id: 7\ndata: x\n\ndata: y\n\nid: 8\0\ndata: z\n\n").map((m) => m.id)).toEqual([
      "7",
      "7",
      "7",
    ]);
  });

  test("blank lines with no field make no message; an unfinished message waits", () => {
    const p = new SseParser();
    expect(p.push("\n\n\nid: 1\ndata: x\n")).toEqual([]);
    expect(p.push("\n")).toEqual([{ id: "1", event: "message", data: "x" }]);
  });
});

describe("retryDelayMs", () => {
  test("doubles from 1 s up to 15 s", () => {
    expect([1, 2, 3, 4, 5, 6, 20].map(retryDelayMs)).toEqual([1000, 2000, 4000, 8000, 15000, 15000, 15000]);
  });
});
