// The lab's bus mode: --auth, the nats-server config that includes the auth block, and what each child is told.
import { describe, expect, test } from "vitest";
import { type LabRuntime, mixerEnv, rackEnv } from "../../../tooling/lab/lab-config.js";
import { natsConfigText } from "../../../tooling/lab/lab-nats.js";
import { LabUsageError, parseLabOptions } from "../../../tooling/lab/lab-options.js";

const run = (auth: LabRuntime["auth"]): LabRuntime => ({
  labDir: "/lab",
  natsUrl: "nats://127.0.0.1:4222",
  apiListen: "127.0.0.1:8090",
  apiUrl: "http://127.0.0.1:8090",
  token: "t",
  telemetryToken: "tt",
  autoAdopt: false,
  auth,
  bootstrapCreds: "/lab/bootstrap.creds",
});

describe("the lab's bus mode", () => {
  test("--auth is jwt unless told none; anything else is a usage error", () => {
    expect(parseLabOptions([], "/repo").auth).toBe("jwt");
    expect(parseLabOptions(["--auth", "none"], "/repo").auth).toBe("none");
    expect(() => parseLabOptions(["--auth", "token"], "/repo")).toThrow(LabUsageError);
    expect(() => parseLabOptions(["--auth", "token"], "/repo")).toThrow(/expected jwt or none/);
  });

  test("jwt: nats-server includes the auth block, the Mixer runs jwt and each Rack gets the bootstrap creds", () => {
    const text = natsConfigText({ port: 4222, storeDir: "/lab/nats", include: "auth.conf" });
    expect(text).toMatch(/^include "auth\.conf"$/m);
    expect(mixerEnv(run("jwt"), "/lab/mixer").FLUXRIG_NATS_AUTH).toBe("jwt");
    expect(rackEnv(run("jwt"), "rack-1", "/lab/racks/rack-1").FLUXRIG_NATS_CREDS).toBe(
      "/lab/bootstrap.creds",
    );
  });

  test("none: no include, the Mixer runs an open bus and Racks get no creds", () => {
    expect(natsConfigText({ port: 4222, storeDir: "/lab/nats" })).not.toMatch(/include/);
    expect(mixerEnv(run("none"), "/lab/mixer").FLUXRIG_NATS_AUTH).toBe("none");
    expect(rackEnv(run("none"), "rack-1", "/lab/racks/rack-1").FLUXRIG_NATS_CREDS).toBeUndefined();
  });
});
