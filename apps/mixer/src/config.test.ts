// The Mixer's config: defaults, environment overrides and clear refusals for the keys whose form is not obvious.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { configFileToRead, DEFAULT_CONFIG_FILE, loadMixerConfig } from "./config.js";

describe("loadMixerConfig", () => {
  test("defaults: DuckDB capped, admission control on, signature workers only with cores to spare", async () => {
    const { config } = await loadMixerConfig({ env: {} });
    expect(config.mixer.db_memory_limit).toBe("256MB");
    expect(config.mixer.heap_soft_limit_mb).toBe(64);
    expect(config.mixer.heap_optimize_for_size).toBe(false);
    expect(config.enrollment.max_inflight_hellos).toBe(4096);
    const cores = availableParallelism();
    expect(config.enrollment.verify_threads).toBe(cores >= 4 ? Math.min(4, cores - 2) : 0);
    // New clusters run the credentialed bus (SPEC §11).
    expect(config.nats.auth).toBe("jwt");
  });

  test("environment overrides reach the new keys", async () => {
    const { config } = await loadMixerConfig({
      env: {
        FLUXRIG_MIXER_DB_MEMORY_LIMIT: "1GiB",
        FLUXRIG_MIXER_HEAP_SOFT_LIMIT_MB: "0",
        FLUXRIG_MIXER_HEAP_OPTIMIZE_FOR_SIZE: "true",
        FLUXRIG_ENROLLMENT_MAX_INFLIGHT_HELLOS: "16",
        FLUXRIG_ENROLLMENT_VERIFY_THREADS: "2",
        FLUXRIG_NATS_AUTH: "none",
      },
    });
    expect(config.nats.auth).toBe("none");
    expect(config.mixer.db_memory_limit).toBe("1GiB");
    expect(config.mixer.heap_soft_limit_mb).toBe(0);
    expect(config.mixer.heap_optimize_for_size).toBe(true);
    expect(config.enrollment.max_inflight_hellos).toBe(16);
    expect(config.enrollment.verify_threads).toBe(2);
  });

  test.each([
    ["FLUXRIG_MIXER_DB_MEMORY_LIMIT", "lots", /db_memory_limit/],
    ["FLUXRIG_MIXER_HEAP_SOFT_LIMIT_MB", "-1", /heap_soft_limit_mb/],
    ["FLUXRIG_MIXER_HEAP_OPTIMIZE_FOR_SIZE", "small", /heap_optimize_for_size/],
    ["FLUXRIG_ENROLLMENT_MAX_INFLIGHT_HELLOS", "0", /max_inflight_hellos/],
    ["FLUXRIG_ENROLLMENT_VERIFY_THREADS", "99", /verify_threads/],
    ["FLUXRIG_NATS_AUTH", "token", /nats\.auth/],
    ["FLUXRIG_CLUSTER_REPLICAS", "2", /cluster\.replicas/],
    ["FLUXRIG_CLUSTER_MEMBER", "Mixer A", /cluster\.member/],
  ])("%s=%s is refused, naming the key", async (key, value, named) => {
    await expect(loadMixerConfig({ env: { [key]: value } })).rejects.toThrow(named);
  });
});

describe("cluster mode", () => {
  test("off by default; on, it names this Mixer among the cluster's", async () => {
    const { config: single } = await loadMixerConfig({ env: {} });
    expect(single.cluster).toMatchObject({ enabled: false, replicas: 3, lease_ttl: 10_000 });
    const { config } = await loadMixerConfig({
      env: {
        FLUXRIG_CLUSTER_ENABLED: "true",
        FLUXRIG_CLUSTER_MEMBER: "mixer-a",
        FLUXRIG_CLUSTER_LEASE_TTL: "4s",
        FLUXRIG_CLUSTER_REPLICAS: "1",
        FLUXRIG_ENROLLMENT_MACHINE_ID_MIN: "16",
      },
    });
    expect(config.cluster).toMatchObject({ enabled: true, member: "mixer-a", lease_ttl: 4_000, replicas: 1 });
  });

  test("enabled without a member, or with the cluster's own name, is refused naming the key", async () => {
    await expect(loadMixerConfig({ env: { FLUXRIG_CLUSTER_ENABLED: "true" } })).rejects.toThrow(
      /cluster\.member/,
    );
    await expect(
      loadMixerConfig({
        env: {
          FLUXRIG_CLUSTER_ENABLED: "true",
          FLUXRIG_CLUSTER_MEMBER: "mixer-1",
          FLUXRIG_ENROLLMENT_MACHINE_ID_MIN: "16",
        },
      }),
    ).rejects.toThrow(/other than \[mixer\] name/);
  });
});

describe("configFileToRead", () => {
  test("./fluxrig-mixer.toml is read when nothing names a file, and only when it exists", async () => {
    const dir = mkdtempSync(join(tmpdir(), "fluxrig-mixer-config-"));
    try {
      expect(configFileToRead({ named: undefined, cwd: dir })).toBeUndefined();
      const file = join(dir, DEFAULT_CONFIG_FILE);
      writeFileSync(file, '[mixer]\nname = "from-cwd"\n');
      expect(configFileToRead({ named: undefined, cwd: dir })).toBe(file);
      const { config } = await loadMixerConfig({
        file: configFileToRead({ named: undefined, cwd: dir }),
        env: {},
      });
      expect(config.mixer.name).toBe("from-cwd");
      // A named file wins, even when the default exists.
      expect(configFileToRead({ named: "/etc/other.toml", cwd: dir })).toBe("/etc/other.toml");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
