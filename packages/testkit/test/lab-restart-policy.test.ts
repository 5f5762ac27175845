// The lab's restart policy for nats-server and the Mixer: restart after a pause, stop on a crash loop.
import { describe, expect, test } from "vitest";
import { LAB_RESTART_POLICY, RestartPolicy } from "../../../tooling/lab/restart-policy.js";

describe("RestartPolicy", () => {
  const options = { delayMs: 1_000, maxExits: 5, windowMs: 60_000 };

  test("restarts after the delay up to maxExits within the window, then calls it a crash loop", () => {
    const policy = new RestartPolicy(options);
    for (let i = 0; i < 5; i++)
      expect(policy.onExit("mixer", i * 1_000)).toEqual({ restart: true, delayMs: 1_000 });
    expect(policy.onExit("mixer", 5_000)).toEqual({ restart: false, exits: 6 });
  });

  test("forgets exits older than the window", () => {
    const policy = new RestartPolicy(options);
    for (let i = 0; i < 5; i++) policy.onExit("mixer", i * 10_000);
    // The first exit (at 0) is 60 s old at 60 000: out of the window, so this is the fifth within it.
    expect(policy.onExit("mixer", 60_000)).toEqual({ restart: true, delayMs: 1_000 });
    expect(policy.onExit("mixer", 60_001)).toEqual({ restart: false, exits: 6 });
  });

  test("counts each process on its own", () => {
    const policy = new RestartPolicy(options);
    for (let i = 0; i < 5; i++) policy.onExit("mixer", i);
    expect(policy.onExit("nats-server", 5)).toEqual({ restart: true, delayMs: 1_000 });
  });

  test("the lab's defaults: a sixth exit within a minute stops the lab", () => {
    expect(LAB_RESTART_POLICY).toEqual({ delayMs: 1_000, maxExits: 5, windowMs: 60_000 });
  });
});
