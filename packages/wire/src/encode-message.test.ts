// encodeMessage writes JSON UTF-8 and refuses what receivers would refuse or what has no JSON form.
import { describe, expect, it } from "vitest";
import { DEFAULT_MAX_MESSAGE_BYTES } from "./bounded-json.js";
import { encodeMessage } from "./encode-message.js";
import { WireEncodeError } from "./wire-error.js";

describe("encodeMessage", () => {
  it("writes JSON as UTF-8", () => {
    const bytes = encodeMessage({ v: 1, name: "räck" });
    expect(Buffer.from(bytes).toString("utf8")).toBe('{"v":1,"name":"räck"}');
  });

  it("refuses values without a JSON form", () => {
    expect(() => encodeMessage({ n: 1n })).toThrow(WireEncodeError);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => encodeMessage(cyclic)).toThrow(expect.objectContaining({ code: "malformed" }));
  });

  it("refuses messages over the receivers' cap", () => {
    const big = { v: 1, pad: "x".repeat(DEFAULT_MAX_MESSAGE_BYTES) };
    expect(() => encodeMessage(big)).toThrow(expect.objectContaining({ code: "too_large" }));
    expect(() => encodeMessage({ pad: "x".repeat(100) }, { maxBytes: 50 })).toThrow(WireEncodeError);
  });
});
