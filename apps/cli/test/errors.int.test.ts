// Exit codes scripts can trust: unreachable and timeouts (3), a refused token (3), refusals (1), bad usage (2).
import { mkdir, writeFile } from "node:fs/promises";
import { createServer, type Socket } from "node:net";
import { join } from "node:path";
import { freePort, MixerHarness, TEST_TOKEN, tempDir } from "@fluxrig/testkit";
import { describe, expect, test } from "vitest";
import { cliFor, runFluxrig } from "./support/fluxrig-cli.js";

describe("without a Mixer", () => {
  test("nothing listening: exit 3, naming the URL and the reason", async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const r = await runFluxrig(["racks", "list"], { env: { FLUXRIG_API_URL: url, FLUXRIG_API_TOKEN: "x" } });
    expect(r.code).toBe(3);
    expect(r.stderr).toBe(
      `error: cannot reach the Mixer at ${url}: connection refused, ECONNREFUSED (unreachable)\n`,
    );
  });

  test("a server that accepts and never answers: exit 3 at --timeout", async () => {
    const sockets = new Set<Socket>();
    const server = createServer((s) => sockets.add(s));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = server.address() as { port: number };
      const r = await runFluxrig(["cluster", "info", "--timeout", "300ms"], {
        env: { FLUXRIG_API_URL: `http://127.0.0.1:${port}`, FLUXRIG_API_TOKEN: "x" },
      });
      expect(r.code).toBe(3);
      expect(r.stderr).toMatch(
        /^error: no answer from the Mixer at http:\/\/127\.0\.0\.1:\d+ within 300ms \(timeout\)\n/,
      );
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  test("bad usage: exit 2 before anything is sent", async () => {
    const offline = { env: { FLUXRIG_API_URL: "http://127.0.0.1:9" } };
    for (const args of [
      ["racks", "frobnicate"],
      ["racks", "show"],
      ["racks", "list", "--limit", "0"],
      ["racks", "list", "--stauts", "pending"],
      ["events", "--since", "yesterday"],
      ["nope"],
    ]) {
      const r = await runFluxrig(args, offline);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr, args.join(" ")).toMatch(/^error: .* \(usage\)$/m);
    }
    const help = await runFluxrig(["racks", "adopt", "--help"], offline);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("Examples:");
    expect(help.stdout).toContain("Exit codes: 0 ok, 1 refused, 2 usage, 3 unreachable");
  });
});

test("with a Mixer: a wrong or missing token is exit 4, an unknown ref exit 1; settings from cli.json", async () => {
  await using h = await MixerHarness.create();
  using dir = tempDir("cli-errors");
  const fluxrig = cliFor(h);

  const wrong = await fluxrig(["racks", "list", "--token", "not-the-token"]);
  expect(wrong.code).toBe(4);
  expect(wrong.stderr).toMatch(/\(unauthorized\)\n {2}the token from --token was refused\n$/);
  const none = await fluxrig(["racks", "list"], { env: { FLUXRIG_API_TOKEN: undefined } });
  expect(none.code).toBe(4);
  expect(none.stderr).toContain("no token is set: pass --token, set FLUXRIG_API_TOKEN");

  const unknown = await fluxrig(["racks", "show", "rack-nobody"]);
  expect(unknown).toMatchObject({ code: 1, stderr: "error: no Rack rack-nobody (not_found)\n" });
  const unknownHex = await fluxrig(["racks", "revoke", "0x03ffff0000000000"]);
  expect(unknownHex.code).toBe(1);

  // Flags > env > file: the file alone is enough, and a flag beats it.
  await mkdir(join(dir.path, "fluxrig"));
  await writeFile(
    join(dir.path, "fluxrig", "cli.json"),
    JSON.stringify({ api_url: h.apiUrl, token: TEST_TOKEN }),
    {
      mode: 0o600,
    },
  );
  const fromFile = await runFluxrig(["racks", "list", "--json"], { env: { XDG_CONFIG_HOME: dir.path } });
  expect(fromFile.code).toBe(0);
  expect(fromFile.json()).toEqual({ items: [], next: null });
  const flagWins = await runFluxrig(["racks", "list", "--token", "nope"], {
    env: { XDG_CONFIG_HOME: dir.path },
  });
  expect(flagWins.code).toBe(4);
});
