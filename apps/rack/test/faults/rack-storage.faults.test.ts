// A real fluxrig-rack whose state dir becomes unwritable, against a real Mixer: it says so clearly, never activates
// on a passport it could not store, never corrupts state.flux (the old bytes stay, no temp file is left), obeys a
// revocation anyway, and recovers once the dir is writable again.
//
// How the dir is made unwritable (see @fluxrig/testkit fs-faults): `chattr +i` on the dir and its files as root
// (root ignores mode bits), `chmod a-w` otherwise.
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { generateKeyPair, savePrivateKey } from "@fluxrig/passport";
import {
  type EntryMatcher,
  fsFaultSupport,
  lockDirectory,
  MixerHarness,
  openFaultScenario,
  runBinary,
  type SpawnedProcess,
  tempDir,
  waitFor,
} from "@fluxrig/testkit";
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { fastMixerEnv, HeartbeatTap, rackAction, spawnRack, waitForRack } from "../e2e/support/real-fleet.js";

const { report, iterations: ITERATIONS } = openFaultScenario(import.meta.url, { afterAll, beforeEach });
const SUPPORT = fsFaultSupport();
const CAN_LOCK = SUPPORT.lockMethod !== "none";
report.note(`state dir made unwritable with ${SUPPORT.lockMethod} (${SUPPORT.root ? "root" : "non-root"})`);

/** Files in the state dir that a failed atomic write could have left: temp files. */
async function leftovers(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((f) => f.endsWith(".tmp"));
}

/** `fluxrig-rack status`: exit 0 means state.flux verifies and is active. */
async function status(dir: string): Promise<{ code: number | null; verdict: unknown; serial: unknown }> {
  const res = await runBinary("fluxrig-rack", ["status", "--state-dir", dir, "--json"], {
    timeoutMs: 20_000,
  });
  const body = JSON.parse(res.stdout || "{}") as { verdict?: unknown; passport?: { serial?: unknown } };
  return { code: res.code, verdict: body.verdict, serial: body.passport?.serial };
}

function rackEnv(): Record<string, string | undefined> {
  // Telemetry is not under test here; the state dir is.
  return { FLUXRIG_TELEMETRY_OTLP_ENDPOINT: undefined, FLUXRIG_RACK_LOG_LEVEL: "info" };
}

/** Waits for the Rack's log line about a write the dir refused, and checks it names a permission or read-only error. */
async function expectWriteRefused(rack: SpawnedProcess, match: EntryMatcher, since?: number): Promise<void> {
  const entry = await rack.waitForJson(match, { since, timeoutMs: 15_000 });
  expect(JSON.stringify(entry.err)).toMatch(/EPERM|EACCES|EROFS/);
}

function expectAlive(rack: SpawnedProcess, what: string): void {
  if (!rack.running) report.record.crashes++;
  expect(rack.running, `${rack.label} alive ${what}`).toBe(true);
}

describe.skipIf(!CAN_LOCK)("a Rack's state dir unwritable", () => {
  let h: MixerHarness;
  beforeAll(async () => {
    h = await MixerHarness.create({ env: fastMixerEnv({ FLUXRIG_ENROLLMENT_AUTO_ADOPT: "false" }) });
  });
  afterAll(async () => {
    await h?.[Symbol.asyncDispose]();
  });

  test(`${ITERATIONS} cycles: adoption and revocation while the dir is unwritable, recovery once it is fixed`, async () => {
    await using state = tempDir("rack-storage");
    const name = "rack-disk-01";
    const tap = await HeartbeatTap.open(h, name);
    await using rack = spawnRack(h, { name, stateDir: state.path, env: rackEnv() });
    await rack.waitForJson({ event: "enrollment_pending" });
    await waitForRack(h, name, (r) => r.status === "pending", { message: "pending" });

    let lastSerial = 0;
    for (let i = 0; i < ITERATIONS; i++) {
      // 1. Adopted while the dir is unwritable: the passport cannot be stored, so the Rack does not activate.
      let mark = rack.mark();
      const before = await readFile(join(state.path, "state.flux")).catch(() => null);
      let fault = lockDirectory(state.path);
      try {
        await rackAction(h, name, "adopt");
        await expectWriteRefused(rack, { msg: "passport: could not store state.flux; not activating" }, mark);
        // It keeps asking (hello, then paced retries), each time refusing to run on an unstored passport.
        await waitFor(
          () =>
            rack
              .json({ since: mark })
              .filter((e) => e.msg === "passport: could not store state.flux; not activating").length >= 2,
          { timeoutMs: 15_000, message: "a second attempt to store the passport" },
        );
        expect(rack.json({ since: mark }).some((e) => e.event === "passport_accepted")).toBe(false);
        expectAlive(rack, "after a failed store");
        const onDisk = await readFile(join(state.path, "state.flux")).catch(() => null);
        expect(onDisk, "state.flux untouched while unwritable").toEqual(before);
        if (onDisk !== null && before === null) report.record.wronglyAdmitted++;
      } finally {
        await fault.undo();
      }
      expect(await leftovers(state.path)).toEqual([]);
      // Fixed: the next attempt stores the passport and the Rack activates.
      await rack.waitForJson({ msg: "passport: stored state.flux" }, { since: mark, timeoutMs: 30_000 });
      await rack.waitForJson({ event: "passport_accepted" }, { since: mark, timeoutMs: 5_000 });
      const active = await status(state.path);
      expect(active, "state.flux after recovery").toMatchObject({ code: 0, verdict: "active" });
      expect(Number(active.serial)).toBeGreaterThan(lastSerial);
      lastSerial = Number(active.serial);
      await waitForRack(h, name, (r) => r.status === "active" && r.stats?.rack_status === "active", {
        message: "active in the Mixer's view",
      });

      // 2. Revoked while the dir is unwritable: obeyed at once in memory, state.flux left as it was.
      mark = rack.mark();
      const held = await readFile(join(state.path, "state.flux"));
      fault = lockDirectory(state.path);
      try {
        await rackAction(h, name, "revoke");
        await expectWriteRefused(
          rack,
          { msg: "passport: dropped, but state.flux could not be set aside (is the state dir writable?)" },
          mark,
        );
        await rack.waitForJson({ event: "revoked", to: "revoked" }, { since: mark, timeoutMs: 10_000 });
        // Passive (issue 14): workloads and heartbeats stopped, still running and asking at the slow pace.
        await rack.waitForJson(
          { msg: /^telemetry: not started/, state: "revoked" },
          { since: mark, timeoutMs: 10_000 },
        );
        expectAlive(rack, "after a revocation it could not write down");
        expect(await readFile(join(state.path, "state.flux")), "state.flux bytes unchanged").toEqual(held);
      } finally {
        await fault.undo();
      }
      expect(await leftovers(state.path)).toEqual([]);
      await waitForRack(h, name, (r) => r.status === "revoked", { message: "revoked" });
    }
    // Revoked three times, and not one heartbeat said so: a passive Rack is silent.
    await tap.flush();
    expect(tap.with("revoked")).toEqual([]);
    report.count("cycles", ITERATIONS);
  });

  test("first start and first enrollment with an unwritable state dir: a clear error, then a normal enrollment", async () => {
    await using state = tempDir("rack-storage-first");
    const name = "rack-disk-02";

    // No key yet and nowhere to write one: the Rack refuses to start, saying where and why; nothing is created.
    let fault = lockDirectory(state.path);
    try {
      const first = await runBinary("fluxrig-rack", [], {
        timeoutMs: 20_000,
        env: {
          FLUXRIG_RACK_NAME: name,
          FLUXRIG_RACK_STATE_DIR: state.path,
          FLUXRIG_NATS_URL: h.nats.url,
        },
      });
      expect(first.code, first.stdout + first.stderr).toBe(1);
      const fatal = first.stdout
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l) as { msg?: string; err?: { message?: string } })
        .find((e) => e.msg === "rack: cannot start");
      expect(fatal?.err?.message).toMatch(/(EPERM|EACCES|EROFS).*rack\.key/);
      report.note(`first start in an unwritable state dir: exit 1, "${fatal?.err?.message}"`);
    } finally {
      await fault.undo();
    }
    expect(await readdir(state.path)).toEqual([]);

    // A key exists but rack.json cannot be written: the first enrollment's pin is refused, not kept in memory.
    await savePrivateKey(join(state.path, "rack.key"), generateKeyPair().privateKey);
    fault = lockDirectory(state.path);
    await using rack = spawnRack(h, { name, stateDir: state.path, env: rackEnv() });
    try {
      await expectWriteRefused(
        rack,
        (e) =>
          typeof e.msg === "string" && e.msg.startsWith("cluster: cannot store the Mixer's key in rack.json"),
      );
      // It stays unpinned and un-enrolled on its side, and asks again later (the paced hello that recovers below).
      expect(rack.json().some((e) => e.event === "enrollment_pending")).toBe(false);
      expect(rack.json().some((e) => typeof e.msg === "string" && e.msg.startsWith("cluster: pinned"))).toBe(
        false,
      );
      expectAlive(rack, "with an unwritable rack.json");
    } finally {
      await fault.undo();
    }
    await rack.waitForJson({ event: "enrollment_pending" }, { timeoutMs: 20_000 });
    expect(JSON.parse(await readFile(join(state.path, "rack.json"), "utf8"))).toMatchObject({
      pin_source: "enrollment",
    });
    await rackAction(h, name, "adopt");
    await rack.waitForJson({ msg: "passport: stored state.flux" });
    expect(await status(state.path)).toMatchObject({ code: 0, verdict: "active" });
    expect(await leftovers(state.path)).toEqual([]);
  });
});

if (!CAN_LOCK) report.skip("a Rack's state dir unwritable", "running as root without a working chattr");
