// Cluster mode's operations: `npm run lab -- --cluster` runs three routed nats-servers (JWT bus, sync_interval always),
// two Mixers in cluster mode and the lab's Racks until SIGINT, and docker-compose.yml's `cluster` profile describes the
// same topology.
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import {
  CLUSTER_FIRST_RACK_MACHINE_ID,
  configVariables,
  loadLabMixerConfig,
} from "../../../tooling/lab/lab-config.js";
import { parseLabOptions } from "../../../tooling/lab/lab-options.js";
import { attachLogsOnFailure, repoRoot, startProcess, tempDir, waitFor } from "../src/index.js";

const { parse: parseYaml } = createRequire(join(repoRoot(), "apps/mixer/package.json"))("yaml") as {
  parse(text: string): unknown;
};

describe("npm run lab -- --cluster", () => {
  test("takes the lab's Rack and port options", () => {
    const options = parseLabOptions(["--cluster", "--racks", "2", "--api-port", "0"], "/repo");
    expect(options.cluster).toBe(true);
    expect(options.extraRacks).toBe(2);
    expect(options.apiPort).toBe(0);
    expect(parseLabOptions([], "/repo").cluster).toBe(false);
  });

  test("starts three nats-servers, two Mixers in cluster mode and the Racks; stops them all on SIGINT", async ({
    onTestFailed,
  }) => {
    await using dir = tempDir("lab-cluster");
    const proc = startProcess({
      command: "bash",
      args: [
        join(repoRoot(), "tooling/lab.sh"),
        "--no-setup",
        "--no-build",
        "--cluster",
        "--nats-port",
        "0",
        "--api-port",
        "0",
        "--lab-dir",
        dir.path,
      ],
      cwd: repoRoot(),
      label: "lab-cluster",
      stopGraceMs: 60_000,
    });
    // The lab's own output says why it stopped or failed to start: printed under a failure (it has exited by then).
    attachLogsOnFailure(onTestFailed, { only: [proc], tail: 200 });
    let pids: number[] = [];
    let reachedStop = false;
    try {
      await proc.waitForLine(/fluxrig lab --cluster is running/, { timeoutMs: 180_000 });
      await proc.waitForLine(/Ctrl-C stops the Racks/, { timeoutMs: 5_000 });
      const output = proc.output();
      expect(output).toMatch(/bus auth: jwt/);
      const monitors = [...output.matchAll(/monitoring (http:\/\/127\.0\.0\.1:\d+)\/jsz/g)].map((m) => m[1]!);
      expect(monitors).toHaveLength(3);
      // Every member counts three peers and names the same meta leader: bounded, as a member may learn of the third
      // peer a moment after the lab reports the cluster routed and led (seen once under a full CI run).
      await waitFor(
        async () => {
          const metas = await Promise.all(
            monitors.map(async (url) => {
              const jsz = (await (await fetch(`${url}/jsz`)).json()) as {
                meta_cluster: { cluster_size: number; leader: string };
              };
              return jsz.meta_cluster;
            }),
          );
          expect(metas.map((m) => m.cluster_size)).toEqual([3, 3, 3]);
          expect(new Set(metas.map((m) => m.leader)).size).toBe(1);
          expect(metas[0]?.leader).toBeTruthy();
          return true;
        },
        { timeoutMs: 30_000, intervalMs: 200, message: "three members in one meta group with one leader" },
      );
      for (const name of ["nats-1", "nats-2", "nats-3"]) {
        const config = readFileSync(join(dir.path, "cluster", name, "nats-server.conf"), "utf8");
        expect(config).toContain("sync_interval: always");
        expect(config).toContain('include "auth.conf"');
        expect(readFileSync(join(dir.path, "cluster", name, "auth.conf"), "utf8")).toContain(
          JSON.stringify(join(dir.path, "cluster", name, "jwt")),
        );
      }

      // Two Mixers, one cluster: the same name and Cluster Key, their own machine ids, each answering its API.
      const apis = [...output.matchAll(/mixer-[ab] +API (http:\/\/[^ ]+)/g)].map((m) => m[1]!);
      expect(apis).toHaveLength(2);
      const token = readFileSync(join(dir.path, "token"), "utf8").trim();
      const get = async <T>(api: string, path: string): Promise<T> => {
        const res = await fetch(`${api}${path}`, { headers: { authorization: `Bearer ${token}` } });
        expect(res.status).toBe(200);
        return (await res.json()) as T;
      };
      type Info = { cluster: string; key_id: string; mixer: { machine_id: number } };
      const infos = await Promise.all(apis.map((api) => get<Info>(api, "/api/v1/cluster")));
      expect(infos.map((i) => i.cluster)).toEqual(["mixer-lab", "mixer-lab"]);
      expect(infos[1]?.key_id).toBe(infos[0]?.key_id);
      expect(infos.map((i) => i.mixer.machine_id)).toEqual([1, 2]);
      // One registry in KV: each Mixer lists the lab's three Racks, whichever answered their hellos, with the same
      // MachineIDs, from 16 up.
      await waitFor(
        async () => {
          const lists = await Promise.all(
            apis.map((api) =>
              get<{ items: Array<{ name: string; machine_id: number }> }>(api, "/api/v1/racks?limit=100"),
            ),
          );
          const views = lists.map((l) =>
            JSON.stringify(
              l.items
                .filter((r) => r.name.startsWith("rack-"))
                .map((r) => `${r.name}:${r.machine_id}`)
                .sort(),
            ),
          );
          const racks = (lists[0]?.items ?? []).filter((r) => r.name.startsWith("rack-"));
          return (
            ["rack-scenario", "rack-manual", "rack-edge-01"].every((n) => racks.some((r) => r.name === n)) &&
            views[0] === views[1] &&
            racks.every((r) => r.machine_id >= 16)
          );
        },
        { timeoutMs: 60_000, intervalMs: 500, message: "both Mixers listing the lab's three Racks alike" },
      );
      const lock = JSON.parse(readFileSync(join(dir.path, "lab.lock"), "utf8")) as {
        children: Array<{ name: string; pid: number }>;
      };
      expect(lock.children.map((c) => c.name).sort()).toEqual(
        [
          "mixer-a",
          "mixer-b",
          "nats-1",
          "nats-2",
          "nats-3",
          "rack-edge-01",
          "rack-manual",
          "rack-scenario",
        ].sort(),
      );
      pids = lock.children.map((c) => c.pid);
      // Failover as the banner suggests: kill -9 mixer-a; the lab says so, restarts nothing, and mixer-b answers.
      const mixerA = lock.children.find((c) => c.name === "mixer-a")?.pid ?? 0;
      process.kill(mixerA, "SIGKILL");
      await proc.waitForLine(/mixer-a exited on its own \(signal SIGKILL\); the others keep running/, {
        timeoutMs: 15_000,
      });
      expect((await get<Info>(apis[1]!, "/api/v1/cluster")).mixer.machine_id).toBe(2);
      expect(proc.running).toBe(true);
      reachedStop = true;
    } finally {
      proc.kill("SIGINT");
      const exit = await proc.waitForExit({ timeoutMs: 60_000 });
      // After an earlier failure the exit code would only hide that failure's own error.
      if (reachedStop) expect(exit.code).toBe(0);
    }
    expect(proc.output()).toMatch(/nats-3 stopped/);
    expect(pids).toHaveLength(8);
    for (const pid of pids) expect(alive(pid)).toBe(false);
  });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("docker-compose.yml, profile cluster", () => {
  test("adds three nats-server 2.10 members and two Mixers in cluster mode under the profile, each with its own store", async (ctx) => {
    const compose = [["docker-compose"], ["docker", "compose"]].find(
      ([bin = "", ...args]) => spawnSync(bin, [...args, "version"], { stdio: "ignore" }).status === 0,
    );
    if (compose === undefined) {
      ctx.skip("neither docker-compose nor `docker compose` is installed");
      return;
    }
    const [bin = "", ...args] = compose;
    const envFile = join(repoRoot(), ".reports", "compose-empty.env");
    writeFileSync(envFile, "");
    const config = (profile: string[]) =>
      parseYaml(
        execFileSync(
          bin,
          [
            ...args,
            ...profile,
            "-f",
            join(repoRoot(), "docker-compose.yml"),
            "--env-file",
            envFile,
            "config",
          ],
          {
            encoding: "utf8",
          },
        ),
      ) as {
        services: Record<
          string,
          {
            image?: string;
            profiles?: string[];
            volumes?: Array<string | { source?: string; target: string }>;
            environment?: Record<string, string | number | boolean | null>;
            entrypoint?: string[];
            depends_on?: Record<string, { condition: string }>;
            ports?: Array<string | { published?: number | string; target?: number }>;
          }
        >;
      };
    const { services } = config(["--profile", "cluster"]);
    const members = ["nats-c1", "nats-c2", "nats-c3"];
    const stores = new Set<string>();
    for (const name of members) {
      const service = services[name];
      expect(service?.image).toBe("nats:2.10-alpine");
      expect(service?.profiles).toEqual(["cluster"]);
      const data = (service?.volumes ?? []).find((v) =>
        typeof v === "string" ? /:\/data(:rw)?$/.test(v) : v.target === "/data",
      );
      stores.add(typeof data === "string" ? (data.split(":")[0] ?? "") : (data?.source ?? ""));
    }
    expect(stores.size).toBe(3);
    const conf = readFileSync(join(repoRoot(), "examples/lab/nats-cluster.conf"), "utf8");
    expect(conf).toContain("sync_interval: always");
    for (const name of members) expect(conf).toContain(`nats-route://${name}:6222`);

    // Two Mixers in cluster mode: the lab Mixer's settings, each its own member, machine_id and data volume.
    const volumeOf = (name: string, target: string) => {
      const v = (services[name]?.volumes ?? []).find((x) =>
        typeof x === "string" ? x.split(":")[1] === target : x.target === target,
      );
      return typeof v === "string" ? v.split(":")[0] : v?.source;
    };
    const known = configVariables("mixer");
    const cliOnly = new Set(["FLUXRIG_API_URL", "FLUXRIG_API_TOKEN"]);
    const single = await loadLabMixerConfig(stringEnv(services.mixer?.environment), null);
    for (const [i, name] of ["mixer-a", "mixer-b"].entries()) {
      const service = services[name];
      expect(service?.profiles).toEqual(["cluster"]);
      const env = stringEnv(service?.environment);
      expect(Object.keys(env).filter((k) => !known.has(k) && !cliOnly.has(k))).toEqual([]);
      const config = await loadLabMixerConfig(env, null);
      expect(config.cluster.enabled).toBe(true);
      expect(config.cluster.member).toBe(name);
      expect(config.mixer.machine_id).toBe(i + 1);
      expect(config.mixer.name).toBe(single.mixer.name);
      expect(config.enrollment.machine_id_min).toBe(CLUSTER_FIRST_RACK_MACHINE_ID);
      expect(config.nats.url.split(",")).toEqual(members.map((m) => `nats://${m}:4222`));
      // Everything else as the lab's (single) Mixer.
      const rest = (c: typeof config) => ({
        ...c,
        mixer: { ...c.mixer, machine_id: 0 },
        enrollment: { ...c.enrollment, machine_id_min: 0 },
        nats: { ...c.nats, url: "" },
        cluster: { ...c.cluster, enabled: false, member: undefined },
      });
      expect(rest(config)).toEqual(rest(single));
      expect(volumeOf(name, "/data")).toMatch(new RegExp(`${name}-data$`));
      // Its key job writes into its volume before it starts.
      const keys = services[`${name}-keys`];
      expect(keys?.profiles).toEqual(["cluster"]);
      expect(volumeOf(`${name}-keys`, "/data")).toBe(volumeOf(name, "/data"));
      expect(service?.depends_on?.[`${name}-keys`]?.condition).toBe("service_completed_successfully");
    }
    // mixer-a's bus keys come from the volume nats-auth wrote them to; mixer-b's key material from mixer-a, healthy.
    expect(volumeOf("mixer-a-keys", "/from")).toBe(volumeOf("mixer", "/data"));
    expect(volumeOf("mixer-b-keys", "/from")).toBe(volumeOf("mixer-a", "/data"));
    expect(services["mixer-b-keys"]?.depends_on?.["mixer-a"]?.condition).toBe("service_healthy");
    expect(services["mixer-b-keys"]?.entrypoint?.join(" ")).toMatch(/cluster\.key cluster\.pub bus/);
    expect(volumeOf("mixer-a", "/data")).not.toBe(volumeOf("mixer-b", "/data"));
    // Without the profile, the single lab only.
    const plain = config([]).services;
    for (const name of ["mixer-a", "mixer-b", "mixer-a-keys", "mixer-b-keys"]) {
      expect(plain[name]?.profiles ?? ["cluster"]).toEqual(["cluster"]);
    }
  });
});

/** A compose environment as strings (compose may give numbers or booleans; null means "from the shell", none here). */
function stringEnv(
  env: Record<string, string | number | boolean | null> | undefined,
): Record<string, string> {
  return Object.fromEntries(Object.entries(env ?? {}).map(([k, v]) => [k, v === null ? "" : String(v)]));
}
