// The reconnect pacing: the NATS client asks for its delay on every pass of its dial loop, not once per dial.
import { AuthorizationError, UserAuthenticationExpiredError } from "@nats-io/transport-node";
import { describe, expect, test } from "vitest";
import { Backoff } from "./lifecycle/backoff.js";
import { dialPacer, isAuthError } from "./nats-link.js";

describe("dialPacer", () => {
  test("the delay grows once per elapsed delay, not once per call", () => {
    let now = 0;
    const pace = dialPacer(new Backoff({ initialMs: 500, maxMs: 30_000, factor: 2, jitter: 0 }), () => now);
    // The client's loop: ask, dial or wait out the rest; it asks again after every wait.
    expect([pace(), pace(), pace()]).toEqual([500, 500, 500]);
    now = 500;
    expect(pace()).toBe(1000);
    now = 1000;
    expect(pace()).toBe(1000);
    now = 1500;
    expect(pace()).toBe(2000);
  });

  test("a dial loop against a server that is down dials at growing intervals, far below the maximum", () => {
    let now = 0;
    const pace = dialPacer(new Backoff({ initialMs: 500, maxMs: 30_000, factor: 2, jitter: 0 }), () => now);
    // A model of @nats-io/nats-core's dodialLoop for one server whose last connect was long ago.
    let lastConnect = -1_000_000;
    const dials: number[] = [];
    while (now < 10_000) {
      const wait = pace();
      if (lastConnect + wait <= now) {
        dials.push(now);
        lastConnect = now;
      } else {
        now += Math.min(wait, lastConnect + wait - now);
      }
    }
    expect(dials.slice(0, 4)).toEqual([0, 1000, 3000, 7000]);
  });
});

describe("isAuthError", () => {
  test("knows the server's refusals of a credential, also wrapped, and nothing else", () => {
    expect(isAuthError(new AuthorizationError("'Authorization Violation'"))).toBe(true);
    expect(isAuthError(new UserAuthenticationExpiredError("user authentication expired"))).toBe(true);
    expect(isAuthError(new Error("connect failed", { cause: new Error("Authorization Violation") }))).toBe(
      true,
    );
    expect(isAuthError(new Error("ECONNREFUSED"))).toBe(false);
    expect(isAuthError(undefined)).toBe(false);
  });
});
