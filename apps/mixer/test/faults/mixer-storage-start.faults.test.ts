// The Mixer's data dir read-only or full AT START, after a kill -9 left its lock file: a clear refusal (exit 1 with
// a typed reason, never a crash or a DuckDB abort), the same at every restart a supervisor would try, and once the
// disk is fixed a clean start with every acknowledged row intact.
//
// How the faults are made (see @fluxrig/testkit fs-faults): as root, a tmpfs on the data dir remounted read-only
// (EROFS) or filled (ENOSPC), and `chattr +i`; without root, `chmod a-w` only.
import { mkdir } from "node:fs/promises";
import {
  describeFsFaultSupport,
  FaultReport,
  type FsFault,
  faultIterations,
  fillFilesystem,
  fsFaultSupport,
  lockDirectory,
  MixerHarness,
  mountTmpfs,
  remountReadOnly,
} from "@fluxrig/testkit";
import { afterAll, beforeEach, describe, expect, test } from "vitest";
import { STORAGE_ENV as ENV, type RackBody, storageKit, TMPFS_BYTES } from "./support/storage-fleet.js";

const ITERATIONS = faultIterations();
const SUPPORT = fsFaultSupport();

const report = new FaultReport({
  scenario: "mixer-storage-start",
  file: "apps/mixer/test/faults/mixer-storage-start.faults.test.ts",
  iterations: ITERATIONS,
}).attach({ afterAll, beforeEach }, { tail: 60 });
report.note(describeFsFaultSupport(SUPPORT));

const { runningFleet, verifyFileThenStart, startUnder } = storageKit(report, ITERATIONS);

describe("the Mixer's data dir read-only or full at start", () => {
  test("read-only or full at start, after a kill -9: a clear refusal (exit 1, no crash loop), then a clean recovery", async () => {
    await using h = await MixerHarness.create({ start: false, env: ENV });
    await mkdir(h.dataDir, { recursive: true });
    await using _tmpfs = SUPPORT.tmpfs ? mountTmpfs(h.dataDir, TMPFS_BYTES) : undefined;
    await h.start();
    const acks = await runningFleet(h);
    for (const name of acks.pending().slice(0, 3)) expect((await acks.adopt(h, name)).status).toBe(200);
    const before = await h.api<{ items: RackBody[] }>("/api/v1/racks?limit=1000");
    // A crash leaves its lock file behind; the disk then fails (ext4 remounts read-only after an I/O error).
    await h.kill9();

    const faults: Array<{ label: string; make: () => FsFault }> = [];
    if (SUPPORT.tmpfs)
      faults.push({ label: "read-only filesystem (EROFS)", make: () => remountReadOnly(h.dataDir) });
    if (SUPPORT.lockMethod !== "none")
      faults.push({ label: `unwritable dir (${SUPPORT.lockMethod})`, make: () => lockDirectory(h.dataDir) });
    if (SUPPORT.tmpfs)
      faults.push({ label: "full filesystem (ENOSPC)", make: () => fillFilesystem(h.dataDir) });
    for (const { label, make } of faults) {
      const fault = make();
      try {
        // A supervisor would start it again and again: each start refuses the same clear way (or, when DuckDB
        // still finds room, starts), never crashes, and changes nothing.
        for (let attempt = 0; attempt < (faults[0]?.label === label ? 2 : 1); attempt++) {
          const outcome = await startUnder(h, `${label} #${attempt}`);
          report.count(`start.${outcome.kind}`);
          const line = `start with ${label}: ${outcome.summary}`
            .replaceAll(h.dataDir, "<data_dir>")
            .replace(/pid \d+/, "pid N");
          if (!report.record.notes.includes(line)) report.note(line);
        }
      } finally {
        await fault.undo();
      }
    }
    // Fixed: the file holds everything acknowledged, and the Mixer starts and serves it.
    await verifyFileThenStart(h, acks);
    const after = await h.api<{ items: RackBody[] }>("/api/v1/racks?limit=1000");
    expect(after.body.items.map((r) => [r.name, r.entity_id, r.status]).sort()).toEqual(
      before.body.items.map((r) => [r.name, r.entity_id, r.status]).sort(),
    );
  });
});
