// Tests of per-key serialization.
import { expect, test } from "vitest";
import { KeyedMutex } from "./keyed-mutex.js";

test("work for one key runs in order, one at a time, even when a callback fails", async () => {
  const mutex = new KeyedMutex();
  const log: string[] = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => {
    release = r;
  });
  const first = mutex.run("k", async () => {
    log.push("a-start");
    await gate;
    log.push("a-end");
    throw new Error("a failed");
  });
  const second = mutex.run("k", async () => {
    log.push("b");
    return 2;
  });
  const other = mutex.run("other", async () => {
    log.push("c");
    return 3;
  });
  expect(await other).toBe(3);
  expect(log).toEqual(["a-start", "c"]);
  release();
  await expect(first).rejects.toThrow("a failed");
  expect(await second).toBe(2);
  expect(log).toEqual(["a-start", "c", "a-end", "b"]);
  expect(mutex.size).toBe(0);
});
