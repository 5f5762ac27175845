// SerialQueue: one job at a time, in order, and a failure does not stall the jobs behind it.
import { describe, expect, it } from "vitest";
import { SerialQueue } from "./serial-queue.js";

describe("SerialQueue", () => {
  it("runs jobs one at a time in the order they were queued", async () => {
    const queue = new SerialQueue();
    const log: string[] = [];
    let running = 0;
    const job = (name: string, ticks: number) => async () => {
      running++;
      expect(running).toBe(1);
      log.push(`start ${name}`);
      for (let i = 0; i < ticks; i++) await Promise.resolve();
      log.push(`end ${name}`);
      running--;
      return name;
    };
    const results = await Promise.all([
      queue.run(job("a", 5)),
      queue.run(job("b", 1)),
      queue.run(job("c", 3)),
    ]);
    expect(results).toEqual(["a", "b", "c"]);
    expect(log).toEqual(["start a", "end a", "start b", "end b", "start c", "end c"]);
  });

  it("keeps going after a failed job and reports the failure to its caller only", async () => {
    const queue = new SerialQueue();
    const failure = new Error("boom");
    const failed = queue.run(async () => {
      throw failure;
    });
    const next = queue.run(async () => "still runs");
    await expect(failed).rejects.toBe(failure);
    await expect(next).resolves.toBe("still runs");
    await queue.idle();
    expect(queue.pending).toBe(0);
  });
});
