// The lab's env file and CLI shim: shell words quoted, PATH extended once, the token and URL exported.
import { describe, expect, test } from "vitest";
import { cliShimText, envFileText, shellQuote } from "../../../tooling/lab/lab-env-file.js";

describe("lab env file", () => {
  test("quotes any text as one shell word", () => {
    expect(shellQuote("/tmp/a b")).toBe("'/tmp/a b'");
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
  });

  test("puts the bin dir on PATH only when it is not there yet, and exports the CLI's URL and token", () => {
    const text = envFileText({
      labDir: "/r/.lab",
      binDir: "/r/.lab/bin",
      apiUrl: "http://127.0.0.1:8090",
      token: "lab_T",
    });
    expect(text.split("\n")).toEqual(
      expect.arrayContaining([
        `case ":$PATH:" in *:'/r/.lab/bin':*) ;; *) PATH='/r/.lab/bin':"$PATH" ;; esac`,
        "export PATH",
        "export FLUXRIG_API_URL='http://127.0.0.1:8090'",
        "export FLUXRIG_API_TOKEN='lab_T'",
      ]),
    );
  });

  test("the shim runs the lab's node on the CLI bundle and says so when the bundle is missing", () => {
    const text = cliShimText({ node: "/usr/bin/node", cliBundle: "/r/apps/cli/dist/fluxrig.js" });
    expect(text.startsWith("#!/bin/sh\n")).toBe(true);
    expect(text).toContain(`if [ ! -f '/r/apps/cli/dist/fluxrig.js' ]; then`);
    expect(text).toContain(`exec '/usr/bin/node' '/r/apps/cli/dist/fluxrig.js' "$@"`);
  });
});
