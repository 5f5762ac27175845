// Replies queued in one loop turn go out together, in order, and a flush on shutdown sends what is left.
import { describe, expect, test } from "vitest";
import { ReplyBatcher } from "./reply-batcher.js";

function recorder() {
  const sent: string[] = [];
  const to = (name: string) => ({
    respond: (data: Uint8Array) => {
      sent.push(`${name}:${new TextDecoder().decode(data)}`);
      return true;
    },
  });
  return { sent, to };
}

describe("ReplyBatcher", () => {
  test("replies queued in one turn are sent together after it, in order", async () => {
    const b = new ReplyBatcher();
    const { sent, to } = recorder();
    b.respond(to("a"), new TextEncoder().encode("1"));
    await Promise.resolve();
    b.respond(to("b"), new TextEncoder().encode("2"));
    expect(sent).toEqual([]);
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(sent).toEqual(["a:1", "b:2"]);
    expect(b.stats).toEqual({ sent: 2, flushes: 1 });
  });

  test("flush sends what is queued at once and cancels the pending turn", async () => {
    const b = new ReplyBatcher();
    const { sent, to } = recorder();
    b.respond(to("a"), new TextEncoder().encode("x"));
    expect(b.flush()).toBe(1);
    expect(sent).toEqual(["a:x"]);
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(b.stats).toEqual({ sent: 1, flushes: 1 });
    expect(b.flush()).toBe(0);
  });
});
