// The leader gate's two forms: a single Mixer always leads; a flag tells its listeners once per change.
import { describe, expect, test } from "vitest";
import { ALWAYS_LEADING, LeaderFlag } from "./leader-gate.js";

describe("leader gates", () => {
  test("ALWAYS_LEADING leads and never changes", () => {
    expect(ALWAYS_LEADING.leading).toBe(true);
    const unsubscribe = ALWAYS_LEADING.onChange(() => {
      throw new Error("never called");
    });
    unsubscribe();
    expect(Object.isFrozen(ALWAYS_LEADING)).toBe(true);
  });

  test("a flag tells each listener once per change, in order; a failing listener does not silence the others", () => {
    const errors: unknown[] = [];
    const flag = new LeaderFlag(false, { onListenerError: (e) => errors.push(e) });
    const heard: string[] = [];
    flag.onChange(() => {
      throw new Error("boom");
    });
    const off = flag.onChange((l) => heard.push(`first ${l}`));
    flag.onChange((l) => heard.push(`second ${l} (leading=${flag.leading})`));
    flag.set(false);
    flag.set(true);
    flag.set(true);
    off();
    flag.set(false);
    expect(heard).toEqual(["first true", "second true (leading=true)", "second false (leading=false)"]);
    expect(errors).toHaveLength(2);
  });
});
