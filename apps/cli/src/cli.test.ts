// Whole command lines run in-process against a scripted fetch: output, JSON, exit codes, prompts, settings.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { stateFluxText } from "@fluxrig/passport";
import { tempDir } from "@fluxrig/testkit";
import { describe, expect, test } from "vitest";
import { apiError, fakeFetch, json, runInProcess } from "../test/support/in-process.js";
import { tamperedPassport, writePassportFixture } from "../test/support/passport-fixture.js";
import { sampleRack } from "../test/support/sample-bodies.js";
import type { FetchLike } from "./api-client.js";

const page = (names: string[], next: string | null) => ({
  items: names.map((name) => sampleRack({ name })),
  next,
});

describe("racks list", () => {
  test("a table on stdout; --json prints the API body as is", async () => {
    const body = page(["rack-nyc-01", "rack-nyc-02"], null);
    const fetch = fakeFetch({ "GET /api/v1/racks": () => json(200, body) });
    const table = await runInProcess(["racks", "list", "--status", "pending", "--limit", "5"], { fetch });
    expect(table).toMatchObject({ code: 0, stderr: "" });
    expect(table.stdout.split("\n")[0]).toMatch(/^NAME +STATUS +MID +ENTITY ID/);
    expect(table.stdout).toContain("rack-nyc-02");
    expect(fetch.seen[0]?.url.search).toBe("?status=pending&limit=5");
    const asJson = await runInProcess(["racks", "list", "--json"], { fetch });
    expect(JSON.parse(asJson.stdout)).toEqual(body);
  });

  test("--all follows next until the last page", async () => {
    const fetch = fakeFetch({
      "GET /api/v1/racks": (req) =>
        json(200, req.url.searchParams.get("after") === "r2" ? page(["r3"], null) : page(["r1", "r2"], "r2")),
    });
    const r = await runInProcess(["racks", "list", "--all", "--json"], { fetch });
    expect(JSON.parse(r.stdout).items.map((x: { name: string }) => x.name)).toEqual(["r1", "r2", "r3"]);
    expect(fetch.seen.map((s) => s.url.searchParams.get("limit"))).toEqual(["1000", "1000"]);
  });

  test("a first page with more says how to get the rest, on stderr", async () => {
    const fetch = fakeFetch({ "GET /api/v1/racks": () => json(200, page(["r1"], "r1")) });
    const r = await runInProcess(["racks", "list"], { fetch });
    expect(r.stderr).toBe("more Racks after r1: add --all, or raise --limit\n");
  });

  test("colour only on a terminal, and never with NO_COLOR", async () => {
    const fetch = fakeFetch({ "GET /api/v1/racks": () => json(200, page(["r1"], null)) });
    expect((await runInProcess(["racks", "list"], { fetch, stdoutIsTTY: true })).stdout).toContain("\x1b[");
    const plain = await runInProcess(["racks", "list"], { fetch, stdoutIsTTY: true, env: { NO_COLOR: "1" } });
    expect(plain.stdout).not.toContain("\x1b[");
  });
});

describe("exit codes", () => {
  test("2 for usage errors, and nothing is sent", async () => {
    const fetch = fakeFetch({});
    for (const argv of [
      ["nope"],
      ["racks"],
      ["racks", "list", "--stauts", "pending"],
      ["racks", "list", "--limit", "0"],
      ["racks", "show", "Bad_Ref"],
      ["racks", "adopt"],
      ["events", "--since", "last tuesday"],
      ["racks", "list", "--api-url", "ftp://x"],
    ]) {
      const r = await runInProcess(argv, { fetch });
      expect(r.code, argv.join(" ")).toBe(2);
      expect(r.stderr, argv.join(" ")).toMatch(/error: .* \(usage\)\n|^Usage: fluxrig racks/);
    }
    expect(fetch.seen).toEqual([]);
  });

  test("1 when the Mixer refuses, with its message and code", async () => {
    const fetch = fakeFetch({
      "GET /api/v1/racks/rack-9": () => apiError(404, "not_found", "no Rack rack-9"),
    });
    const r = await runInProcess(["racks", "show", "rack-9"], { fetch });
    expect(r).toEqual({ code: 1, stdout: "", stderr: "error: no Rack rack-9 (not_found)\n" });
    const asJson = await runInProcess(["racks", "show", "rack-9", "--json"], { fetch });
    expect(JSON.parse(asJson.stdout)).toEqual({ error: { code: "not_found", message: "no Rack rack-9" } });
    expect(asJson.code).toBe(1);
  });

  test("3 when the Mixer cannot be reached or refuses the token", async () => {
    const refused: FetchLike = () =>
      Promise.reject(
        new TypeError("fetch failed", { cause: Object.assign(new Error("x"), { code: "ECONNREFUSED" }) }),
      );
    const down = await runInProcess(["cluster", "info"], { fetch: refused });
    expect(down.code).toBe(3);
    expect(down.stderr).toBe(
      "error: cannot reach the Mixer at http://mixer.test:8090: connection refused, ECONNREFUSED (unreachable)\n",
    );
    const fetch = fakeFetch({
      "GET /api/v1/cluster": () => apiError(401, "unauthorized", "invalid bearer token"),
    });
    const auth = await runInProcess(["cluster", "info"], { fetch });
    // Its own code: a script retrying exit 3 must not retry a bad token forever.
    expect(auth.code).toBe(4);
    expect(auth.stderr).toContain("the token from FLUXRIG_API_TOKEN was refused");
  });

  test("0 for help and version", async () => {
    const help = await runInProcess(["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("Exit codes:");
    expect((await runInProcess(["racks", "rm", "--help"])).stdout).toContain("Examples:");
    expect((await runInProcess(["help", "racks"])).code).toBe(0);
    expect((await runInProcess(["--version"])).stdout).toMatch(/^fluxrig 0\.1\.0\+/);
  });
});

describe("racks adopt", () => {
  test("several refs: one request each; a refusal does not stop the others but makes the exit 1", async () => {
    const fetch = fakeFetch({
      "POST /api/v1/racks/r1/adopt": () => json(200, sampleRack({ name: "r1", status: "active" })),
      "POST /api/v1/racks/r2/adopt": () => apiError(404, "not_found", "no Rack r2"),
      "POST /api/v1/racks/r3/adopt": () => json(200, sampleRack({ name: "r3", status: "active" })),
    });
    const r = await runInProcess(["racks", "adopt", "r1", "r2", "r3", "r1", "--reason", "OPS-1"], { fetch });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^r1 .*active\nr3 .*active\n$/);
    expect(r.stderr).toBe("error: no Rack r2 (not_found)\n");
    expect(fetch.seen.map((s) => s.body)).toEqual(Array(3).fill('{"reason":"OPS-1"}'));
  });

  test("--pattern --dry-run uses the bulk endpoint", async () => {
    const result = {
      dry_run: true,
      adopted: [{ name: "rack-nyc-01", entity_id: "1", from: "pending" }],
      skipped: [],
    };
    const fetch = fakeFetch({ "POST /api/v1/racks/adopt": () => json(200, result) });
    const r = await runInProcess(["racks", "adopt", "--pattern", "rack-nyc-*", "--dry-run", "--json"], {
      fetch,
    });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(result);
    expect(JSON.parse(fetch.seen[0]?.body ?? "")).toEqual({ pattern: "rack-nyc-*", dry_run: true });
  });
});

describe("racks rm", () => {
  const routes = () =>
    fakeFetch({
      "GET /api/v1/racks/rack-1": () => json(200, sampleRack({ name: "rack-1" })),
      "DELETE /api/v1/racks/rack-1": () => json(200, { name: "rack-1", entity_id: "1", machine_id: 100 }),
    });

  test("refuses without --yes when stdin is not a terminal", async () => {
    const fetch = routes();
    const r = await runInProcess(["racks", "rm", "rack-1"], { fetch, stdinIsTTY: false });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/refusing to delete rack-1 without --yes/);
    expect(fetch.seen).toEqual([]);
  });

  test("asks on a terminal: no keeps it (exit 1), yes deletes it", async () => {
    const questions: string[] = [];
    const no = routes();
    const kept = await runInProcess(["racks", "rm", "rack-1"], {
      fetch: no,
      stdinIsTTY: true,
      confirm: async (q) => {
        questions.push(q);
        return false;
      },
    });
    expect(kept.code).toBe(1);
    expect(no.seen.map((s) => s.method)).toEqual(["GET"]);
    expect(questions[0]).toMatch(/^Delete Rack rack-1 \(0x0300640000000000, pending, MachineID 100\)\?/);
    const yes = routes();
    const gone = await runInProcess(["racks", "rm", "rack-1"], {
      fetch: yes,
      stdinIsTTY: true,
      confirm: async () => true,
    });
    expect(gone.code).toBe(0);
    expect(yes.seen.map((s) => s.method)).toEqual(["GET", "DELETE"]);
  });

  test("--yes deletes without asking", async () => {
    const fetch = routes();
    const r = await runInProcess(["racks", "rm", "rack-1", "--yes"], { fetch });
    expect(r).toMatchObject({ code: 0, stdout: "deleted rack-1 (1, MachineID 100)\n" });
    expect(fetch.seen.map((s) => s.method)).toEqual(["DELETE"]);
  });
});

describe("events", () => {
  test("--since 10m is sent as an ISO time counted from now", async () => {
    const fetch = fakeFetch({ "GET /api/v1/events": () => json(200, { items: [], next: null }) });
    const r = await runInProcess(["events", "--since", "10m", "--rack", "rack-1"], { fetch });
    expect(r).toMatchObject({ code: 0, stderr: "no events match\n" });
    expect(Object.fromEntries(fetch.seen[0]?.url.searchParams ?? [])).toEqual({
      rack: "rack-1",
      since: "2025-06-01T11:50:00.000Z",
      limit: "100",
    });
  });

  test("verify: 0 when unbroken, 1 naming the first broken link", async () => {
    const ok = fakeFetch({ "GET /api/v1/events/verify": () => json(200, { ok: true, count: 12 }) });
    expect(await runInProcess(["events", "verify"], { fetch: ok })).toMatchObject({
      code: 0,
      stdout: "audit log verified: 12 events, chain unbroken\n",
    });
    const broken = fakeFetch({
      "GET /api/v1/events/verify": () => json(200, { ok: false, broken_at: 17, reason: "hash mismatch" }),
    });
    const r = await runInProcess(["events", "verify", "--json"], { fetch: broken });
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toEqual({ ok: false, broken_at: 17, reason: "hash mismatch" });
    expect(r.stderr).toMatch(/^error: audit log chain broken at event 17: hash mismatch \(chain_broken\)\n/);
  });
});

test("scenario apply from stdin shows the Mixer's issues against the text", async () => {
  const issues = [
    { path: "gears.0.type", message: "expected one of ticker, transform, counter", line: 2, column: 22 },
  ];
  const fetch = fakeFetch({
    "POST /api/v1/scenarios": () => apiError(422, "schema", "scenario is invalid", { issues }),
  });
  const yaml = "meta: { name: x, version: 1 }\ngears: [{ name: t, type: tickr, deploy: r }]\n";
  const r = await runInProcess(["scenario", "apply", "-"], { fetch, stdin: yaml });
  expect(r.code).toBe(1);
  expect(r.stderr).toBe(
    [
      "error: scenario is invalid (schema)",
      "  <stdin>:2:22: gears.0.type: expected one of ticker, transform, counter",
      "      2 | gears: [{ name: t, type: tickr, deploy: r }]",
      "        |                      ^",
      "",
    ].join("\n"),
  );
  expect(JSON.parse(fetch.seen[0]?.body ?? "")).toEqual({ yaml, dry_run: false, activate: false });
});

test("settings come from the file when flags and environment say nothing", async () => {
  using dir = tempDir("cli-settings");
  const file = join(dir.path, "cli.json");
  await writeFile(file, JSON.stringify({ api_url: "http://from-file:9000", token: "file-token" }), {
    mode: 0o600,
  });
  const fetch = fakeFetch({ "GET /api/v1/racks": () => json(200, page([], null)) });
  await runInProcess(["racks", "list"], {
    fetch,
    env: { FLUXRIG_API_URL: undefined, FLUXRIG_API_TOKEN: undefined, FLUXRIG_CLI_CONFIG: file },
  });
  expect(fetch.seen[0]?.url.origin).toBe("http://from-file:9000");
  expect(fetch.seen[0]?.headers.get("authorization")).toBe("Bearer file-token");
  await runInProcess(["racks", "list", "--api-url", "http://from-flag:1"], {
    fetch,
    env: { FLUXRIG_CLI_CONFIG: file },
  });
  expect(fetch.seen[1]?.url.origin).toBe("http://from-flag:1");
  expect(fetch.seen[1]?.headers.get("authorization")).toBe("Bearer t0ken");
});

test("passport inspect: offline, exit 1 with the reason for a tampered file", async () => {
  using dir = tempDir("cli-inspect");
  const f = await writePassportFixture({
    dir: dir.path,
    issuedAt: new Date("2025-06-01T11:00:00Z"),
    ttlMs: 86_400_000,
  });
  const good = await runInProcess(["passport", "inspect", f.path, "--cluster-key", f.clusterB64]);
  expect(good.code).toBe(0);
  expect(good.stdout).toMatch(/signature +valid: signed by cluster key ed25519:/);
  expect(good.stdout).toMatch(/expires +2025-06-02T11:00:00Z \(in 23h\)/);
  await writeFile(f.path, stateFluxText(tamperedPassport(f.env, (p) => (p.name = "rack-evil"))));
  const bad = await runInProcess(["passport", "inspect", f.path, "--cluster-key", f.clusterB64]);
  expect(bad.code).toBe(1);
  expect(bad.stdout).toMatch(/name +rack-evil/);
  expect(bad.stderr).toMatch(
    /^error: passport is not valid: the signature does not match .* \(passport_signature_invalid\)\n$/,
  );
});

describe("tokens", () => {
  const created = {
    name: "grafana",
    role: "viewer",
    created_at: "2030-01-01T00:00:00.000Z",
    created_by: "api",
    secret: "frt_abc",
  };

  test("create prints the secret alone on stdout, the rest on stderr", async () => {
    const fetch = fakeFetch({ "POST /api/v1/tokens": () => json(200, created) });
    const r = await runInProcess(["tokens", "create", "grafana", "--role", "viewer"], { fetch });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("frt_abc\n");
    expect(r.stderr).toMatch(/created token grafana \(viewer\); its secret is shown only now/);
    expect(JSON.parse(fetch.seen[0]?.body ?? "")).toEqual({ name: "grafana", role: "viewer" });
  });

  test("create refuses an unknown role before asking the Mixer", async () => {
    const fetch = fakeFetch({});
    const r = await runInProcess(["tokens", "create", "grafana", "--role", "root"], { fetch });
    expect(r.code).toBe(2);
    expect(fetch.seen).toHaveLength(0);
  });

  test("list shows names and roles; revoke names the token; a 403 exits 4", async () => {
    const { secret: _, ...view } = created;
    const fetch = fakeFetch({
      "GET /api/v1/tokens": () => json(200, [view]),
      "DELETE /api/v1/tokens/grafana": () => json(200, { ...view, revoked_at: view.created_at }),
      "DELETE /api/v1/tokens/other": () =>
        apiError(403, "forbidden", "this request needs the admin role; token alice has the operator role"),
    });
    const list = await runInProcess(["tokens", "list"], { fetch });
    expect(list.stdout).toMatch(
      /^NAME +ROLE +CREATED +BY\ngrafana +viewer +2030-01-01T00:00:00.000Z +api\n$/,
    );
    const revoked = await runInProcess(["tokens", "revoke", "grafana"], { fetch });
    expect(revoked.stdout).toBe("revoked token grafana (viewer)\n");
    const refused = await runInProcess(["tokens", "revoke", "other"], { fetch });
    // 403: the token lacks the right, like a refused token (exit 4): retrying cannot help.
    expect(refused.code).toBe(4);
    expect(refused.stderr).toContain("needs the admin role");
  });
});
