// How fluxrig-mixer starts and stops: clear refusals for broken config, unsafe keys, a held data dir, no NATS.
import { chmod, mkdir, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { freePort, MixerHarness, OPEN_BUS_ENV, runBinary, TEST_TOKEN, tempDir } from "@fluxrig/testkit";
import { describe, expect, test } from "vitest";
import { MIGRATIONS } from "../src/db/migrations/migration.js";
import { readRegistry } from "./support/registry-file.js";

describe("fluxrig-mixer start and stop", () => {
  test("a config error names the file and the key, and exits 2", async () => {
    await using dir = tempDir("mixer-config");
    const file = join(dir.path, "fluxrig-mixer.toml");
    await writeFile(file, '[enrollment]\nauto_adopt = "yes please"\n');
    const bad = await runBinary("fluxrig-mixer", ["--config", file], { timeoutMs: 20_000 });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(`${file}: enrollment.auto_adopt`);
    const typo = await runBinary("fluxrig-mixer", ["--config", join(dir.path, "missing.toml")], {
      timeoutMs: 20_000,
    });
    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(/missing\.toml: cannot read config: file not found/);
    const env = await runBinary("fluxrig-mixer", [], {
      timeoutMs: 20_000,
      env: { FLUXRIG_PRESENCE_MISSED_HEARTBEATS: "many" },
    });
    expect(env.code).toBe(2);
    expect(env.stderr).toMatch(/FLUXRIG_PRESENCE_MISSED_HEARTBEATS: expected a number/);
  });

  test("no API token and no dangerous opt-out: a config error (exit 2) naming the file and the key", async () => {
    await using dir = tempDir("mixer-noauth");
    const file = join(dir.path, "fluxrig-mixer.toml");
    await writeFile(file, `[mixer]\ndata_dir = ${JSON.stringify(join(dir.path, "data"))}\n`);
    const res = await runBinary("fluxrig-mixer", ["--config", file], {
      timeoutMs: 20_000,
      env: { FLUXRIG_API_AUTH_TOKEN: "" },
    });
    expect(res.code).toBe(2);
    expect(res.stderr).toContain(`${file}: api.auth_token: auth_token is empty`);
    // Nothing was opened: the data dir was never created.
    await expect(stat(join(dir.path, "data"))).rejects.toMatchObject({ code: "ENOENT" });
  });

  test("NATS unreachable past the bounded retry: a clear error and exit 1", async () => {
    await using dir = tempDir("mixer-nonats");
    const res = await runBinary("fluxrig-mixer", [], {
      timeoutMs: 30_000,
      env: {
        FLUXRIG_MIXER_DATA_DIR: join(dir.path, "data"),
        FLUXRIG_API_AUTH_TOKEN: TEST_TOKEN,
        ...OPEN_BUS_ENV,
        FLUXRIG_NATS_URL: `nats://127.0.0.1:${await freePort()}`,
        FLUXRIG_NATS_CONNECT_TIMEOUT: "1s",
      },
    });
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/stayed unreachable .*is nats-server running/);
  });

  test("a cluster key readable by others is refused with the fix; a second Mixer on the same data dir is refused", async () => {
    await using h = await MixerHarness.create();
    const second = await runBinary("fluxrig-mixer", [], {
      timeoutMs: 30_000,
      env: {
        FLUXRIG_MIXER_DATA_DIR: h.dataDir,
        FLUXRIG_API_AUTH_TOKEN: TEST_TOKEN,
        ...OPEN_BUS_ENV,
        FLUXRIG_NATS_URL: h.nats.url,
        FLUXRIG_API_LISTEN: `127.0.0.1:${await freePort()}`,
      },
    });
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/another fluxrig-mixer \(pid \d+\) is using data dir/);
    expect(h.mixer?.running).toBe(true);

    expect((await h.stop()).code).toBe(0);
    await chmod(join(h.dataDir, "cluster.key"), 0o644);
    const loose = await runBinary("fluxrig-mixer", [], {
      timeoutMs: 30_000,
      env: {
        FLUXRIG_MIXER_DATA_DIR: h.dataDir,
        FLUXRIG_API_AUTH_TOKEN: TEST_TOKEN,
        ...OPEN_BUS_ENV,
        FLUXRIG_NATS_URL: h.nats.url,
      },
    });
    expect(loose.code).toBe(1);
    expect(loose.stderr).toMatch(/readable by others \(mode 644\); run: chmod 600/);
    await chmod(join(h.dataDir, "cluster.key"), 0o600);
    await h.start();
  });

  test("first start creates the data dir, the key (0600) and its rows; SIGTERM exits 0 and a restart applies nothing twice", async () => {
    await using h = await MixerHarness.create({ start: false });
    await mkdir(h.dataDir, { recursive: true });
    const mixer = await h.start();
    expect(mixer.json().some((e) => e.msg === "cluster key created")).toBe(true);
    expect((await h.stop()).code).toBe(0);
    const again = await h.start();
    expect(again.json().some((e) => e.msg === "cluster key created")).toBe(false);
    expect(again.json().find((e) => e.msg === "registry ready")).toMatchObject({ applied: [] });
    expect((await h.stop()).code).toBe(0);
    const { stat } = await import("node:fs/promises");
    expect((await stat(join(h.dataDir, "cluster.key"))).mode & 0o777).toBe(0o600);
    await readRegistry(h.dataDir, async (q) => {
      expect(await q("SELECT type_id, name FROM registry ORDER BY type_id")).toEqual([
        { type_id: 2, name: "mixer-1" },
        { type_id: 8, name: "mixer-1-snake" },
      ]);
      expect(await q("SELECT version FROM schema_migrations ORDER BY version")).toEqual(
        MIGRATIONS.map((m) => ({ version: m.version })),
      );
    });
  });

  test("GET /health answers without a token; everything else needs it", async () => {
    await using h = await MixerHarness.create();
    expect((await h.api("/health", { headers: { authorization: "" } })).status).toBe(200);
    expect((await h.api("/api/v1/racks", { headers: { authorization: "" } })).status).toBe(401);
    expect((await h.api("/api/v1/racks", { headers: { authorization: "Bearer wrong" } })).status).toBe(401);
    const ok = await h.api<{ items: unknown[] }>("/api/v1/racks");
    expect(ok.status).toBe(200);
    expect(ok.body.items).toEqual([]);
    const info = await h.api<{ key_id: string; mixer: { machine_id: number } }>("/api/v1/cluster");
    expect(info.body).toMatchObject({ key_id: expect.stringMatching(/^ed25519:/), mixer: { machine_id: 1 } });
  });

  test("cluster info reports the Mixer's memory: RSS, V8's heap and DuckDB's own accounting", async () => {
    await using h = await MixerHarness.create();
    type Memory = Record<"rss_bytes" | "heap_used_bytes" | "heap_total_bytes" | "db_bytes", number> & {
      db_by_tag: Record<string, number>;
    };
    const { memory } = (await h.api<{ memory: Memory }>("/api/v1/cluster")).body;
    expect(memory.heap_used_bytes).toBeGreaterThan(0);
    expect(memory.heap_total_bytes).toBeGreaterThanOrEqual(memory.heap_used_bytes);
    expect(memory.rss_bytes).toBeGreaterThan(memory.heap_used_bytes);
    // The registry's tables and indexes are loaded: DuckDB holds something, and the total is the sum of its parts.
    expect(Object.keys(memory.db_by_tag).length).toBeGreaterThan(0);
    expect(memory.db_bytes).toBe(Object.values(memory.db_by_tag).reduce((a, b) => a + b, 0));
  });
});
