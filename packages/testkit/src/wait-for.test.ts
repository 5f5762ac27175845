// waitFor and eventually: resolve with the value, retry through errors and falsy values, fail loudly at the deadline.
import { describe, expect, it } from "vitest";
import { WaitForTimeout } from "./errors.js";
import { eventually, waitFor } from "./wait-for.js";

/** The rejection of `promise`, which must reject with a WaitForTimeout. */
async function timeoutOf(promise: Promise<unknown>): Promise<WaitForTimeout> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(WaitForTimeout);
  return error as WaitForTimeout;
}

describe("waitFor", () => {
  it("resolves with the first truthy value", async () => {
    let n = 0;
    const value = await waitFor(() => (++n >= 3 ? { n } : undefined), { intervalMs: 1 });
    expect(value).toEqual({ n: 3 });
  });

  it("retries through thrown errors and async callbacks", async () => {
    let n = 0;
    const value = await waitFor(
      async () => {
        n += 1;
        if (n < 3) throw new Error("not yet");
        return "ready";
      },
      { intervalMs: 1 },
    );
    expect(value).toBe("ready");
  });

  it("times out with the message and the last error", async () => {
    const err = await timeoutOf(
      waitFor(
        () => {
          throw new Error("rack-1 is still pending");
        },
        { timeoutMs: 60, intervalMs: 5, message: "rack-1 to be active" },
      ),
    );
    expect(err.message).toMatch(/Timed out after 60 ms waiting for rack-1 to be active/);
    expect(err.message).toContain("last error: Error: rack-1 is still pending");
    expect(err.fields.attempts).toBeGreaterThan(1);
    expect(err.fields.what).toBe("rack-1 to be active");
    expect(err.cause).toBeInstanceOf(Error);
  });

  it("times out with the last value when the callback keeps returning a falsy one", async () => {
    const err = await timeoutOf(waitFor(() => 0, { timeoutMs: 30, intervalMs: 5, message: "a count" }));
    expect(err.message).toContain("last value: 0");
    expect(err.fields.lastValue).toBe(0);
    expect(err.fields.lastError).toBeUndefined();
  });

  it("hints at eventually() when the callback returns nothing", async () => {
    const err = await timeoutOf(waitFor(() => undefined, { timeoutMs: 20 }));
    expect(err.message).toContain("eventually()");
  });

  it("does not let a hanging attempt stretch the deadline", async () => {
    const err = await timeoutOf(waitFor(() => new Promise<boolean>(() => {}), { timeoutMs: 50 }));
    expect(err.message).toContain("still running at the deadline");
    expect(err.fields.attempts).toBe(1);
  });
});

describe("eventually", () => {
  it("resolves as soon as an assertion stops throwing, even with no return value", async () => {
    let n = 0;
    await eventually(
      () => {
        n += 1;
        expect(n).toBe(4);
      },
      { intervalMs: 1 },
    );
    expect(n).toBe(4);
  });

  it("rejects with the last assertion failure", async () => {
    const err = await timeoutOf(
      eventually(() => expect(1).toBe(2), { timeoutMs: 20, message: "one to be two" }),
    );
    expect(err.message).toContain("one to be two");
    expect(err.message).toContain("expected 1 to be 2");
  });
});
