// Shared by the Mixer's disk-fault files: a scripted fleet whose acknowledgements are kept, one fault cycle against
// a running Mixer, starts on a faulty data dir, and checks of the DuckDB file against what was acknowledged.
import { mkdir } from "node:fs/promises";
import {
  describeFsFaultSupport,
  type FaultHooks,
  type FsFault,
  fsFaultSupport,
  MixerHarness,
  mountTmpfs,
  OPEN_BUS_ENV,
  openFaultScenario,
  ScriptedRack,
  spawnBinary,
  TEST_TOKEN,
  waitFor,
} from "@fluxrig/testkit";
import type { NatsConnection } from "@nats-io/transport-node";
import { expect, onTestFinished } from "vitest";
import { type RegistrySnapshot, snapshotRegistry } from "./registry-snapshot.js";

const TMPFS_BYTES = 16 * 1024 * 1024;
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
export interface RemovedBody {
  name: string;
  entity_id: string;
  machine_id: number;
}
type ApiResult<T> = { status: number; body: T & ErrorBody };
type RackStatus = "pending" | "active" | "rejected" | "revoked";
type Change = "adopt" | "reject" | "revoke";
const CHANGED_TO: Record<Change, RackStatus> = { adopt: "active", reject: "rejected", revoke: "revoked" };

/**
 * Opens a disk-fault file's scenario (its report notes how this machine makes the faults) and returns the helpers,
 * bound to that report and iteration count.
 */
export function openStorageScenario(fileUrl: string, hooks: FaultHooks) {
  const { report, iterations } = openFaultScenario(fileUrl, hooks);
  const support = fsFaultSupport();
  report.note(describeFsFaultSupport(support));

  /**
   * What the API acknowledged: enrollments (hello replies), then each Rack's status as last acknowledged (2xx to an
   * adoption, a rejection or a revocation) and its removal, by name.
   */
  class Acks {
    /** Every acknowledged enrollment's entity id; kept after a removal, whose row must stay gone. */
    readonly enrolled = new Map<string, string>();
    /** The status last acknowledged: pending (enrollment), active (adoption), rejected, revoked. */
    readonly status = new Map<string, RackStatus>();
    readonly removed = new Set<string>();
    readonly racks: ScriptedRack[] = [];
    #next = 0;

    constructor(readonly nc: NatsConnection) {}

    async enroll(): Promise<{ rack: ScriptedRack; status: string; code: string | undefined }> {
      const rack = new ScriptedRack(this.nc, `disk-${this.#next++}`);
      this.racks.push(rack);
      const reply = await rack.hello();
      if (reply.entity_id !== undefined && reply.status === "pending") {
        this.enrolled.set(rack.name, reply.entity_id);
        this.status.set(rack.name, "pending");
      }
      return { rack, status: reply.status, code: reply.error?.code };
    }

    async adopt(h: MixerHarness, name: string): Promise<ApiResult<RackBody>> {
      return this.change(h, name, "adopt");
    }

    /** An operator's adoption, rejection or revocation; a 200 is recorded as the Rack's acknowledged status. */
    async change(h: MixerHarness, name: string, change: Change): Promise<ApiResult<RackBody>> {
      const res = await h.api<RackBody & ErrorBody>(`/api/v1/racks/${name}/${change}`, {
        method: "POST",
        json: { reason: "disk fault test" },
      });
      if (res.status === 200) this.status.set(name, CHANGED_TO[change]);
      return res;
    }

    /** `DELETE /api/v1/racks/{name}`; a 200 is recorded: the row must never come back. */
    async remove(h: MixerHarness, name: string): Promise<ApiResult<RemovedBody>> {
      const res = await h.api<RemovedBody & ErrorBody>(`/api/v1/racks/${name}`, {
        method: "DELETE",
        json: { reason: "disk fault test" },
      });
      if (res.status === 200) {
        this.removed.add(name);
        this.status.delete(name);
      }
      return res;
    }

    /** Names whose acknowledged status is one of `statuses`, in enrollment order. */
    withStatus(...statuses: RackStatus[]): string[] {
      return [...this.status].filter(([, s]) => statuses.includes(s)).map(([name]) => name);
    }

    pending(): string[] {
      return this.withStatus("pending");
    }

    /** Violations of what was acknowledged, in a snapshot of the file. */
    check(snap: RegistrySnapshot): { messages: string[]; lost: number } {
      const messages: string[] = [];
      let lost = 0;
      for (const [name, entityId] of this.enrolled) {
        const row = snap.racks.get(name);
        if (this.removed.has(name)) {
          if (row) {
            lost++;
            messages.push(
              `${name}: removal acknowledged, file still has it (${row.entityId}, ${row.status})`,
            );
          }
          continue;
        }
        const want = this.status.get(name);
        if (row?.entityId !== entityId) {
          lost++;
          messages.push(`${name}: acknowledged as ${entityId}, file has ${row?.entityId ?? "no row"}`);
        } else if (row.status !== want) {
          lost++;
          messages.push(`${name}: ${want} acknowledged, file says ${row.status}`);
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

  /** Notes how a write refused under a fault was answered, once per kind. */
  function noteRefusal(label: string, kind: string, res: ApiResult<unknown>): void {
    const line = `${label}: refused ${kind} answered ${res.status} ${res.body.error?.code}`;
    if (!report.record.notes.includes(line)) report.note(line);
  }

  /** The Mixer process must outlive every request: a DuckDB abort takes it down mid-answer. */
  function expectRunning(h: MixerHarness, what: string): void {
    const mixer = h.mixer;
    if (mixer?.running === true) return;
    report.record.crashes++;
    // DuckDB's FATAL line, if that is what took it down.
    const stderr = (mixer?.lines({ stream: "stderr" }) ?? []).join("\n").slice(0, 600);
    expect.fail(`the Mixer died after ${what} (${JSON.stringify(mixer?.exitStatus)}): ${stderr}`);
  }

  /** `request`'s answer; no answer at all fails with why the Mixer went (a DuckDB abort drops the connection). */
  async function answered<T>(h: MixerHarness, what: string, request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (error) {
      await waitFor(() => h.mixer?.running !== true, { timeoutMs: 5000, message: "the Mixer gone" }).catch(
        () => undefined,
      );
      expectRunning(h, `${what}, which got no answer (${String(error)})`);
      throw error;
    }
  }

  /**
   * One operator write on `name` while the disk is faulty. Refused: 503 `unavailable`, and the Rack as it was (same
   * status, still listed). Acknowledged: it must show at once, and be in the file after the restart (`acks`).
   */
  async function writeUnderFault<T>(
    h: MixerHarness,
    label: string,
    kind: "rejection" | "revocation" | "removal",
    name: string,
    write: () => Promise<ApiResult<T>>,
  ): Promise<boolean> {
    const before = await h.api<RackBody>(`/api/v1/racks/${name}`);
    expect(before.status, `${name} before the ${kind}`).toBe(200);
    const res = await answered(h, `a ${kind} of ${name}`, write);
    report.count(`${label}.${kind}s_tried`);
    expectRunning(h, `a ${kind} of ${name} under a ${label} disk`);
    const after = await h.api<RackBody>(`/api/v1/racks/${name}`);
    const listed = await h.api<{ items: RackBody[] }>("/api/v1/racks?limit=1000");
    const inList = listed.body.items.find((r) => r.name === name);
    if (res.status === 200) {
      if (kind === "removal") {
        expect(after.status, `an acknowledged removal of ${name}`).toBe(404);
        expect(inList, `an acknowledged removal of ${name} is not listed`).toBeUndefined();
      } else {
        expect(after.body.status).toBe(kind === "rejection" ? "rejected" : "revoked");
        expect(inList?.status).toBe(after.body.status);
      }
      return true;
    }
    report.count(`${label}.${kind}s_refused`);
    // The registry could not be written: 503 unavailable with the cause, the transaction rolled back.
    expect(res.status, JSON.stringify(res.body)).toBe(503);
    expect(res.body.error?.code).toBe("unavailable");
    expect(after.status, `a refused ${kind} leaves ${name} in place`).toBe(200);
    expect(after.body.entity_id).toBe(before.body.entity_id);
    expect(after.body.status, `a refused ${kind} leaves ${name} ${before.body.status}`).toBe(
      before.body.status,
    );
    expect(inList?.status, `a refused ${kind} leaves ${name} listed`).toBe(before.body.status);
    noteRefusal(label, kind, res);
    return false;
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
    // The operators' writes, on Racks the fleet already has: a rejection of a pending Rack, a revocation of an
    // active one, and a removal of one rejected or revoked earlier (a pending one in the first cycle).
    const [target, rejectTarget, spare] = acks.pending();
    const revokeTarget = acks.withStatus("active")[0];
    const removeTarget = acks.withStatus("rejected", "revoked")[0] ?? spare;
    if (!target || !rejectTarget || !revokeTarget || !removeTarget)
      throw new Error(
        `${label}: the fleet ran out of Racks to write to (${JSON.stringify([...acks.status])})`,
      );
    const retry: Array<() => Promise<ApiResult<unknown>>> = [];
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
      const adopted = await answered(h, `an adoption of ${target}`, () => acks.adopt(h, target));
      report.count(`${label}.adoptions_tried`);
      expectRunning(h, `an adoption under a ${label} disk`);
      if (adopted.status !== 200) {
        report.count(`${label}.adoptions_refused`);
        // The registry could not be written: 503 unavailable with the cause, the transaction rolled back.
        expect(adopted.status, JSON.stringify(adopted.body)).toBe(503);
        expect(adopted.body.error?.code).toBe("unavailable");
        const rack = await h.api<RackBody>(`/api/v1/racks/${target}`);
        expect(rack.body.status, "a refused adoption leaves the Rack pending").toBe("pending");
        expect(rack.body.passport).toBeNull();
        noteRefusal(label, "adoption", adopted);
      }
      // The other operator writes: each refused the same way with the Rack untouched, or acknowledged and durable.
      // What was refused is tried again once the disk is fixed.
      const writes = [
        ["rejection", rejectTarget, () => acks.change(h, rejectTarget, "reject")],
        ["revocation", revokeTarget, () => acks.change(h, revokeTarget, "revoke")],
        ["removal", removeTarget, () => acks.remove(h, removeTarget)],
      ] as const;
      for (const [kind, name, write] of writes) {
        if (!(await writeUnderFault<unknown>(h, label, kind, name, write))) retry.push(write);
      }
      // A new Rack's hello: refused with a reason the Rack can act on (retry), or acknowledged and then durable.
      const hello = await acks.enroll();
      if (hello.status !== "pending") {
        report.count(`${label}.hellos_refused`);
        expect(hello.status).toBe("refused");
        // The same answer the API gives a storage failure (one mapping, errors/wire-refusal.ts): retry later.
        expect(hello.code).toBe("unavailable");
      }
      // Reads still work, and the process is alive.
      expect((await h.api("/api/v1/racks?limit=1000")).status).toBe(200);
      expectRunning(h, `a ${label} disk`);
    } finally {
      await fault.undo();
    }
    // Fixed: presence flushes succeed again, and so do adoptions, enrollments and the writes refused above.
    await waitFor(async () => (await counter(h, "presence.flush_failed")) > failedBefore, {
      timeoutMs: 5000,
      message: "flush failures counted",
    });
    const flushedBefore = await counter(h, "presence.flushed_rows");
    await waitFor(async () => (await counter(h, "presence.flushed_rows")) > flushedBefore, {
      timeoutMs: 10_000,
      message: `${label}: presence flushes succeed again`,
    });
    // The refused writes first: the adoption below takes the first pending Rack, which may be the rejection's.
    for (const write of retry) {
      const again = await answered(h, "a write refused under the fault, tried again", write);
      expect(again.status, JSON.stringify(again.body)).toBe(200);
    }
    const next = acks.pending()[0]!;
    const res = await acks.adopt(h, next);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect((await acks.enroll()).status).toBe("pending");
    expectRunning(h, `the ${label} disk was fixed`);
  }

  async function runningFleet(h: MixerHarness): Promise<Acks> {
    const acks = new Acks(await h.client());
    for (let i = 0; i < 4 + 2 * iterations; i++) expect((await acks.enroll()).status).toBe("pending");
    // One active Rack from the start, so the first fault cycle has a revocation to try.
    const first = acks.pending()[0]!;
    expect((await acks.adopt(h, first)).status).toBe(200);
    const beat = setInterval(() => {
      for (const r of acks.racks) {
        const status = acks.status.get(r.name);
        // Rejected, revoked and removed Racks stay quiet (a real one stops its runtime).
        if (!r.entityId || (status !== "pending" && status !== "active")) continue;
        try {
          r.heartbeat({ status });
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
    // Acknowledged rejections and revocations are served as such (presence never moves them).
    const settled = new Set(acks.withStatus("rejected", "revoked"));
    const served = listed.body.items.filter((r) => settled.has(r.name)).map((r) => `${r.name} ${r.status}`);
    expect(served.sort()).toEqual([...settled].map((name) => `${name} ${acks.status.get(name)}`).sort());
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
        ...OPEN_BUS_ENV,
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

  /** A Mixer with fast presence (not started when `start: false`). */
  function storageMixer(opts: { start?: boolean } = {}): Promise<MixerHarness> {
    return MixerHarness.create({ ...opts, env: ENV });
  }

  /** Mounts a small tmpfs on a harness's data dir before its Mixer starts; dispose it before the harness. */
  async function tmpfsDataDir(h: MixerHarness): Promise<FsFault> {
    await mkdir(h.dataDir, { recursive: true });
    return mountTmpfs(h.dataDir, TMPFS_BYTES);
  }

  return {
    report,
    iterations,
    support,
    storageMixer,
    tmpfsDataDir,
    Acks,
    answered,
    counter,
    expectRunning,
    faultCycle,
    runningFleet,
    verifyAfterRestart,
    verifyFileThenStart,
    startUnder,
  };
}
