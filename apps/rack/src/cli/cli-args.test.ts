// The command line: run is the default, status needs a state dir or config, mistakes are usage errors.
import { describe, expect, test } from "vitest";
import { RackUsageError } from "../rack-error.js";
import { parseRackArgs } from "./cli-args.js";

describe("parseRackArgs", () => {
  test("run, explicit or implied", () => {
    expect(parseRackArgs(["--config", "r.toml"])).toEqual({ command: "run", config: "r.toml" });
    expect(parseRackArgs(["run", "-c", "r.toml"])).toEqual({ command: "run", config: "r.toml" });
    expect(parseRackArgs([])).toEqual({ command: "run", config: undefined });
  });

  test("status", () => {
    expect(parseRackArgs(["status", "--state-dir", "/s", "--json"])).toEqual({
      command: "status",
      config: undefined,
      stateDir: "/s",
      json: true,
    });
  });

  test.each([[["status"]], [["frobnicate"]], [["--nope"]], [["run", "--json"]], [["run", "extra"]]])(
    "%j is a usage error",
    (argv) => {
      expect(() => parseRackArgs(argv)).toThrow(RackUsageError);
    },
  );
});
