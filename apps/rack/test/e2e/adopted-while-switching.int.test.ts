// An operator adopts a new Rack on a JWT bus in the moment between the Mixer's sealed "pending" answer to its bootstrap
// hello and the Rack's subscription as itself: the adoption push reaches no one. The Rack must still learn of it at
// once (the lab's "rack-manual" race: adopted in the API, never holding state.flux).
import { existsSync } from "node:fs";
import { join } from "node:path";
import { attachLogsOnFailure, MixerHarness, type SpawnedProcess, tempDir, waitFor } from "@fluxrig/testkit";
import { describe, expect, test } from "vitest";
import { fastMixerEnv, spawnRack, waitForRack } from "./support/real-fleet.js";

interface Connz {
  connections: Array<{ cid: number; in_msgs: number; name?: string; authorized_user?: string }>;
}

/** The Rack's log entries (it logs JSON lines at debug level here). */
function entries(lines: readonly string[]): Array<Record<string, unknown>> {
  return lines.flatMap((line) => {
    try {
      return [JSON.parse(line) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
}

describe("a new Rack adopted while it moves from the bootstrap connection to its own", () => {
  test("the adoption push it could not hear is not lost: its first hello as itself brings the passport", async ({
    onTestFailed,
  }) => {
    attachLogsOnFailure(onTestFailed, { tail: 120 });
    await using h = await MixerHarness.create({ auth: "jwt", env: fastMixerEnv() });
    const mixerPid = h.mixer?.pid ?? 0;
    expect(mixerPid).toBeGreaterThan(0);
    const name = "rack-switching";
    await using state = tempDir(name);
    let rack: SpawnedProcess | undefined;
    try {
      await adoptedWhileSwitching(h, mixerPid, name, state.path, (r) => {
        rack = r;
      });
    } finally {
      // Whatever happened, nothing is left stopped, then stopped for good.
      for (const pid of [mixerPid, rack?.pid ?? 0]) if (pid > 0) tryKill(pid, "SIGCONT");
      await rack?.stop();
    }
  }, 90_000);
});

async function adoptedWhileSwitching(
  h: MixerHarness,
  mixerPid: number,
  name: string,
  stateDir: string,
  started: (rack: SpawnedProcess) => void,
): Promise<void> {
  const before = new Set((await h.nats.monitor<Connz>("connz")).connections.map((c) => c.cid));

  // 1. The Mixer holds still: the Rack's bootstrap hello waits in nats-server, unanswered.
  process.kill(mixerPid, "SIGSTOP");
  const rack = spawnRack(h, { name, stateDir });
  started(rack);
  await waitFor(
    async () =>
      (await h.nats.monitor<Connz>("connz")).connections.some((c) => !before.has(c.cid) && c.in_msgs > 0),
    { timeoutMs: 20_000, intervalMs: 50, message: "the Rack's bootstrap hello to reach nats-server" },
  );
  // 2. The Rack holds still; the Mixer answers it "pending" (sealed), the answer waits in the Rack's socket.
  const rackPid = rack.pid ?? 0;
  expect(rackPid).toBeGreaterThan(0);
  process.kill(rackPid, "SIGSTOP");
  process.kill(mixerPid, "SIGCONT");
  await waitForRack(h, name, (r) => r.status === "pending", { message: "enrolled as pending" });
  // 3. Adopted now: the passport push goes to a subject nobody listens on (the Rack is on bootstrap, and frozen).
  const adopted = await h.api<{ status: string }>(`/api/v1/racks/${name}/adopt`, { method: "POST" });
  expect(adopted).toMatchObject({ status: 200, body: { status: "active" } });
  // 4. The Rack reads the stale "pending" answer, moves to its own connection, and must find out it is adopted.
  process.kill(rackPid, "SIGCONT");
  await rack.waitForJson({ msg: /^lifecycle: \w+ -> active$/ }, { timeoutMs: 30_000 });
  const log = entries(rack.lines());
  // The scenario above happened: the hello was answered (not timed out while frozen) with the sealed pending reply.
  expect(log.filter((e) => e.msg === "hello: failed")).toEqual([]);
  expect(log.some((e) => e.msg === "bus: own credential received; connecting as this Rack")).toBe(true);
  // It knew at its first hello as itself, not at the pending pace (5 s and more) after sitting pending meanwhile.
  const firstAsItself = log.find((e) => e.msg === "hello: reply" && e.bus === "self");
  expect(firstAsItself).toMatchObject({ why: "connected", status: "active" });
  expect(log.filter((e) => /^lifecycle: .* -> pending$/.test(String(e.msg)))).toEqual([]);
  expect(existsSync(join(stateDir, "state.flux"))).toBe(true);
  await waitForRack(h, name, (r) => r.status === "active" && r.stats?.rack_status === "active", {
    message: "active with active heartbeats",
  });
}

function tryKill(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone.
  }
}
