// The lab banner says what is true for the options given and the Racks the registry already knows.
import { describe, expect, test } from "vitest";
import { type BannerInfo, bannerLines, rackFate } from "../../../tooling/lab/lab-banner.js";

const LAB_RACKS = ["rack-scenario", "rack-manual", "rack-edge-01"];

function info(overrides: Partial<BannerInfo> = {}): BannerInfo {
  return {
    labDir: ".lab",
    apiUrl: "http://127.0.0.1:8090",
    token: "lab_T",
    tokenFile: ".lab/token",
    envFile: ".lab/env",
    natsUrl: "nats://127.0.0.1:4222",
    logsDir: ".lab/logs",
    scenario: {
      action: "activated",
      name: "lab-demo",
      version: "1",
      racks: ["rack-scenario", "rack-edge-01"],
      adopted: [],
      pushed: [],
      waiting: ["rack-scenario", "rack-edge-01"],
    },
    scenarioFile: "examples/lab/demo-scenario.yaml",
    autoAdopt: false,
    manualRack: "rack-manual",
    cliBuilt: true,
    racks: LAB_RACKS,
    extraRacks: 0,
    known: new Map(),
    ...overrides,
  };
}

const text = (i: BannerInfo): string => bannerLines(i).join("\n");
const line = (i: BannerInfo, prefix: string): string =>
  bannerLines(i).find((l) => l.startsWith(prefix)) ?? `(no line starting with ${JSON.stringify(prefix)})`;

describe("lab banner", () => {
  test("a fresh lab: rack-manual waits, adopted with the CLI after sourcing the env file, or curl", () => {
    const lines = bannerLines(info());
    const c = lines.findIndex((l) => l.startsWith("  Path C"));
    expect(lines.slice(c, c + 6)).toEqual([
      "  Path C  rack-manual waits in pending until you adopt it:",
      "            source .lab/env",
      "            fluxrig racks adopt rack-manual",
      "          or with curl:",
      '            curl -X POST -H "Authorization: Bearer lab_T" http://127.0.0.1:8090/api/v1/racks/rack-manual/adopt',
      "  Path A  off: restart with --auto-adopt (and --racks 2 for new Racks) to adopt every new Rack at once.",
    ]);
    expect(line(info(), "  CLI")).toBe(
      "  CLI       source .lab/env   (puts fluxrig on PATH with this API and token), then: fluxrig racks list",
    );
    expect(text(info())).not.toContain("node apps/cli/dist/fluxrig.js");
  });

  test("--auto-adopt on a fresh lab: rack-manual is adopted by Path A, nothing waits", () => {
    const i = info({ autoAdopt: true });
    expect(rackFate(i, "rack-manual")).toEqual({ kind: "auto-adopted" });
    expect(line(i, "  Path C")).toBe(
      "  Path C  rack-manual is adopted at once by Path A (--auto-adopt); to try Path C, run without --auto-adopt and with --reset.",
    );
    expect(text(i)).not.toContain("waits in pending");
    expect(text(i)).not.toContain("racks adopt");
    expect(line(i, "  Path A")).toBe(
      "  Path A  on (--auto-adopt): the Mixer adopts every new Rack as it enrolls, here rack-manual; --racks 2 starts new ones.",
    );
  });

  test("--auto-adopt --racks 2 on a lab where rack-manual is already pending: it still waits, and says why", () => {
    const i = info({
      autoAdopt: true,
      racks: [...LAB_RACKS, "rack-lab-01", "rack-lab-02"],
      extraRacks: 2,
      known: new Map([
        ["rack-manual", "pending"],
        ["rack-scenario", "active"],
        ["rack-edge-01", "active"],
      ]),
    });
    expect(line(i, "  Path C")).toBe(
      "  Path C  rack-manual waits in pending until you adopt it (it enrolled before --auto-adopt, which applies only at enrollment):",
    );
    // The --racks hint is gone: they were given.
    expect(line(i, "  Path A")).toBe(
      "  Path A  on (--auto-adopt): the Mixer adopts every new Rack as it enrolls, here rack-lab-01, rack-lab-02.",
    );
  });

  test("--racks 2 without --auto-adopt: the new Racks wait with rack-manual, and no --racks hint", () => {
    const i = info({ racks: [...LAB_RACKS, "rack-lab-01", "rack-lab-02"], extraRacks: 2 });
    expect(line(i, "  Path C")).toBe(
      "  Path C  rack-manual, rack-lab-01, rack-lab-02 wait in pending until you adopt them:",
    );
    expect(line(i, "  Path A")).toBe(
      "  Path A  off: restart with --auto-adopt to adopt every new Rack at once.",
    );
  });

  test("a resumed lab where rack-manual was adopted: no adopt command for it", () => {
    const i = info({ known: new Map([["rack-manual", "active"]]) });
    expect(line(i, "  Path C")).toBe(
      "  Path C  rack-manual was adopted in an earlier run; --reset starts over with it pending.",
    );
    expect(text(i)).not.toContain("racks adopt");
    const revoked = info({ known: new Map([["rack-manual", "revoked"]]) });
    expect(line(revoked, "  Path C")).toBe(
      "  Path C  rack-manual is revoked (from an earlier run); --reset starts over with it pending.",
    );
  });

  test("rack-manual adopted earlier while new Racks wait: both are said, the command names a waiting Rack", () => {
    const i = info({
      racks: [...LAB_RACKS, "rack-lab-01"],
      extraRacks: 1,
      known: new Map([["rack-manual", "active"]]),
    });
    const lines = bannerLines(i);
    const c = lines.findIndex((l) => l.startsWith("  Path C"));
    expect(lines.slice(c, c + 4)).toEqual([
      "  Path C  rack-manual was adopted in an earlier run; --reset starts over with it pending.",
      "          rack-lab-01 waits in pending until you adopt it:",
      "            source .lab/env",
      "            fluxrig racks adopt rack-lab-01",
    ]);
  });

  test("--auto-adopt on a resumed lab: none is new", () => {
    const known = new Map(LAB_RACKS.map((name) => [name, "active"]));
    expect(line(info({ autoAdopt: true, known }), "  Path A")).toBe(
      "  Path A  on (--auto-adopt): the Mixer adopts every new Rack as it enrolls; none here is new (all enrolled earlier); --racks 2 starts new ones.",
    );
  });

  test("a scenario that names rack-manual adopts it (Path B)", () => {
    const i = info({
      scenario: {
        action: "kept",
        name: "ops",
        version: "3",
        racks: ["rack-manual"],
        adopted: [],
        pushed: [],
        waiting: [],
      },
    });
    expect(rackFate(i, "rack-manual")).toEqual({ kind: "scenario" });
    expect(line(i, "  Path C")).toBe(
      "  Path C  rack-manual is named by the scenario ops, which adopts it (Path B).",
    );
  });

  test("without a built CLI: curl only, and the CLI line says how to build it", () => {
    const i = info({ cliBuilt: false });
    expect(text(i)).not.toContain("fluxrig racks adopt");
    expect(text(i)).toContain("          with curl (the CLI is not built yet):");
    expect(line(i, "  CLI")).toBe(
      "  CLI       not built (apps/cli/dist/fluxrig.js is missing): run pnpm build, then source .lab/env",
    );
  });
});
