// Shared by the Mixer's disk-fault files: a scripted fleet whose acknowledgements are kept, one fault cycle against
// a running Mixer, starts on a faulty data dir, and checks of the DuckDB file against what was acknowledged.
import {
  type FaultReport,
  type FsFault,
  type MixerHarness,
  ScriptedRack,
  spawnBinary,
  TEST_TOKEN,
  waitFor,
} from "@fluxrig/testkit";
import type { NatsConnection } from "@nats-io/transport-node";
import { expect, onTestFinished } from "vitest";
import { type RegistrySnapshot, snapshotRegistry } from "./registry-snapshot.js";

export const TMPFS_BYTES = 16 * 1024 * 1024;
/** Fast presence; presence transitions are not under test here. */
export const STORAGE_ENV = {
  FLUXRIG_PRESENCE_HEARTBEAT_INTERVAL: "200ms",
  FLUXRIG_PRESENCE_FLUSH_INTERVAL: "200ms",
  FLUXRIG_PRESENCE_MISSED_HEARTBEATS: "50",
  FLUXRIG_ENROLLMENT_AUTO_ADOPT: "false",
};
const ENV = STORAGE_ENV;

export interface RackBody {
  name: string;
  entity_id: string;
  status: string;
  passport: { serial: number } | null;
}
export interface ErrorBody {
  error?: { code?: string; message?: string };
}

/** The helpers, bound to a file's report and iteration count. */
export function storageKit(report: FaultReport, iterations: number) {
  /** What the API acknowledged: enrollments (hello replies) and adoptions (2xx), by name. */
  class Acks {
    readonly enrolled = new Map<string, string>();
    readonly adopted = new Set<string>();
    readonly racks: ScriptedRack[] = [];
    #next = 0;

    constructor(readonly nc: NatsConnection) {}

    async enroll(): Promise<{ rack: ScriptedRack; status: string; code: string | undefined }> {
      const rack = new ScriptedRack(this.nc, `disk-${this.#next++}`);
      this.racks.push(rack);
      const reply = await rack.hello();
      if (reply.entity_id !== undefined && reply.status === "pending")
        this.enrolled.set(rack.name, reply.entity_id);
      return { rack, status: reply.status, code: reply.error?.code };
    }

    async adopt(h: MixerHarness, name: string): Promise<{ status: number; body: RackBody & ErrorBody }> {
      const res = await h.api<RackBody & ErrorBody>(`/api/v1/racks/${name}/adopt`, {
        method: "POST",
        json: { reason: "disk fault test" },
      });
      if (res.status === 200) this.adopted.add(name);
      return res;
    }

    pending(): string[] {
      return [...this.enrolled.keys()].filter((n) => !this.adopted.has(n));
    }

    /** Violations of what was acknowledged, in a snapshot of the file. */
    check(snap: RegistrySnapshot): { messages: string[]; lost: number } {
      const messages: string[] = [];
      let lost = 0;
      for (const [name, entityId] of this.enrolled) {
        const row = snap.racks.get(name);
        if (row?.entityId !== entityId) {
          lost++;
          messages.push(`${name}: acknowledged as ${entityId}, file has ${row?.entityId ?? "no row"}`);
        } else if (this.adopted.has(name) && row.status !== "active") {
          lost++;
          messages.push(`${name}: adoption acknowledged, file says ${row.status}`);
        }
      }
      for (const s of snap.sharedMachineIds) messages.push(`MachineID ${s.machineId} held by ${s.rows} rows`);
      for (const r of snap.halfAdopted)
        messages.push(`${r.name} half adopted (${r.status}, serial ${r.passportSerial})`);
      if (snap.orphans > 0) messages.push(`${snap.orphans} orphan lifecycle rows`);
      return { messages, lost };
    }
  }

  async function counter(h: MixerHarness, name: string): Promise<number> {
    const res = await h.api<{ counters: Record<string, number> }>("/api/v1/cluster");
    return res.body.counters[name] ?? 0;
  }

  /**
   * One fault cycle against a running Mixer: apply the fault, see the writes refused (named in the log and the API,
   * nothing half done), the Mixer still up and serving reads; undo it, see writes succeed again.
   */
  async function faultCycle(
    h: MixerHarness,
    acks: Acks,
    apply: () => FsFault,
    cause: RegExp,
    label: string,
  ): Promise<void> {
    const mixer = h.mixer!;
    const mark = mixer.mark();
    const failedBefore = await counter(h, "presence.flush_failed");
    const fault = apply();
    try {
      // Heartbeats keep coming: the next presence flush meets the fault, says why, and keeps its rows for later.
      const logged = await mixer.waitForJson(
        (e) => e.msg === "presence flush failed; will retry" && cause.test(String(e.err)),
        { since: mark, timeoutMs: 10_000 },
      );
      expect(String(logged.err)).toMatch(cause);
      // An adoption now: refused with the JSON error shape (nothing half done), or, if DuckDB still had room in a
      // page of its WAL, acknowledged (and then it must be in the file like any other).
      const target = acks.pending()[0]!;
      const adopted = await acks.adopt(h, target);
      report.count(`${label}.adoptions_tried`);
      if (adopted.status !== 200) {
        report.count(`${label}.adoptions_refused`);
        // The registry could not be written: 503 unavailable with the cause, the transaction rolled back.
        expect(adopted.status, JSON.stringify(adopted.body)).toBe(503);
        expect(adopted.body.error?.code).toBe("unavailable");
        const rack = await h.api<RackBody>(`/api/v1/racks/${target}`);
        expect(rack.body.status, "a refused adoption leaves the Rack pending").toBe("pending");
        expect(rack.body.passport).toBeNull();
        report.record.notes.includes(
          `${label}: refused adoption answered ${adopted.status} ${adopted.body.error?.code}`,
        ) || report.note(`${label}: refused adoption answered ${adopted.status} ${adopted.body.error?.code}`);
      }
      // A new Rack's hello: refused with a reason the Rack can act on (retry), or acknowledged and then durable.
      const hello = await acks.enroll();
      if (hello.status !== "pending") {
        report.count(`${label}.hellos_refused`);
        expect(hello.status).toBe("refused");
        expect(hello.code).toBe("internal");
      }
      // Reads still work, and the process is alive.
      expect((await h.api("/api/v1/racks?limit=1000")).status).toBe(200);
      expect(mixer.running).toBe(true);
    } finally {
      await fault.undo();
    }
    // Fixed: presence flushes succeed again, and so do adoptions and enrollments.
    await waitFor(async () => (await counter(h, "presence.flush_failed")) > failedBefore, {
      timeoutMs: 5000,
      message: "flush failures counted",
    });
    const flushedBefore = await counter(h, "presence.flushed_rows");
    await waitFor(async () => (await counter(h, "presence.flushed_rows")) > flushedBefore, {
      timeoutMs: 10_000,
      message: `${label}: presence flushes succeed again`,
    });
    const next = acks.pending()[0]!;
    const res = await acks.adopt(h, next);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect((await acks.enroll()).status).toBe("pending");
    if (!mixer.running) report.record.crashes++;
    expect(mixer.running).toBe(true);
  }

  async function runningFleet(h: MixerHarness): Promise<Acks> {
    const acks = new Acks(await h.client());
    for (let i = 0; i < 4 + 2 * iterations; i++) expect((await acks.enroll()).status).toBe("pending");
    const beat = setInterval(() => {
      for (const r of acks.racks) {
        if (!r.entityId) continue;
        try {
          r.heartbeat({ status: acks.adopted.has(r.name) ? "active" : "pending" });
        } catch {
          // Closing.
        }
      }
    }, 200);
    onTestFinished(() => clearInterval(beat));
    return acks;
  }

  /** Stops the Mixer cleanly, checks the file against what was acknowledged, starts it again and checks the API. */
  async function verifyAfterRestart(h: MixerHarness, acks: Acks): Promise<void> {
    const exit = await h.stop();
    if (exit.code !== 0) report.record.crashes++;
    expect(exit, "SIGTERM after the disk was fixed").toEqual({ code: 0, signal: null });
    await verifyFileThenStart(h, acks);
  }

  /** With the Mixer stopped: checks the file against what was acknowledged, then starts it and checks the API. */
  async function verifyFileThenStart(h: MixerHarness, acks: Acks): Promise<void> {
    const snap = await snapshotRegistry(h.dataDir);
    const found = acks.check(snap);
    report.record.rowsLost += found.lost;
    expect(found.messages).toEqual([]);
    await h.start();
    const listed = await h.api<{ items: RackBody[] }>("/api/v1/racks?limit=1000");
    expect(listed.body.items.map((r) => r.name).sort()).toEqual([...snap.racks.keys()].sort());
    expect((await h.api<{ ok: boolean }>("/api/v1/events/verify")).body).toMatchObject({ ok: true });
  }

  /**
   * Starts the Mixer on the faulty data dir and waits until it is either up or gone. Gone must be a refusal: exit 1
   * with one line naming the data dir or the disk's error and a typed `cannot start` log entry, never a signal, a
   * stack trace or a DuckDB abort. Up is stopped again with SIGTERM, which must exit 0.
   */
  async function startUnder(
    h: MixerHarness,
    label: string,
  ): Promise<{ kind: "refused" | "started"; summary: string }> {
    const mixer = spawnBinary("fluxrig-mixer", {
      label: `mixer (${label})`,
      env: {
        FLUXRIG_NATS_URL: h.nats.url,
        FLUXRIG_MIXER_DATA_DIR: h.dataDir,
        FLUXRIG_API_LISTEN: `127.0.0.1:${h.apiPort}`,
        FLUXRIG_API_AUTH_TOKEN: TEST_TOKEN,
        ...ENV,
      },
    });
    await waitFor(() => !mixer.running || mixer.json().some((e) => e.msg === "mixer ready"), {
      timeoutMs: 30_000,
      message: `${label}: the Mixer up or gone`,
    });
    const stderr = mixer.lines({ stream: "stderr" }).join("\n");
    if (mixer.running) {
      const exit = await mixer.stop({ graceMs: 20_000 });
      if (exit.code !== 0) report.record.crashes++;
      expect(exit, `${label}: SIGTERM of a Mixer started on a faulty disk`).toMatchObject({
        code: 0,
        signal: null,
      });
      return { kind: "started", summary: "started (DuckDB still had room); SIGTERM exit 0" };
    }
    const exit = mixer.exitStatus;
    if (exit?.code !== 1) report.record.crashes++;
    expect(exit, `${label}: ${stderr}`).toMatchObject({ code: 1, signal: null });
    expect(stderr, label).not.toMatch(/unexpected error|terminate called|FATAL|\n\s+at /);
    expect(stderr, label).toMatch(
      /^fluxrig-mixer: .*(data dir .+: cannot |No space left on device|Read-only file system|not permitted)/,
    );
    const fatal = mixer.json<{ msg?: string; code?: string }>().find((e) => e.msg === "cannot start");
    expect(fatal?.code, `${label}: a typed cannot-start entry`).toMatch(/^[a-z_]+$/);
    return { kind: "refused", summary: `exit 1 (${fatal?.code}): "${stderr.split("\n")[0]}"` };
  }

  return { Acks, counter, faultCycle, runningFleet, verifyAfterRestart, verifyFileThenStart, startUnder };
}
