// The Mixer's data dir read-only or full AT START, after a kill -9 left its lock file: a clear refusal (exit 1 with
// a typed reason, never a crash or a DuckDB abort), the same at every restart a supervisor would try, and once the
// disk is fixed a clean start with every acknowledged row intact.
//
// How the faults are made (see @fluxrig/testkit fs-faults): as root, a tmpfs on the data dir remounted read-only
// (EROFS) or filled (ENOSPC), and `chattr +i`; without root, `chmod a-w` only.
import { type FsFault, fillFilesystem, lockDirectory, remountReadOnly } from "@fluxrig/testkit";
import { afterAll, beforeEach, describe, expect, test } from "vitest";
import { openStorageScenario, type RackBody } from "./support/storage-fleet.js";

const {
  report,
  support: SUPPORT,
  storageMixer,
  tmpfsDataDir,
  runningFleet,
  verifyFileThenStart,
  startUnder,
} = openStorageScenario(import.meta.url, { afterAll, beforeEach });

describe("the Mixer's data dir read-only or full at start", () => {
  test("read-only or full at start, after a kill -9: a clear refusal (exit 1, no crash loop), then a clean recovery", async () => {
    await using h = await storageMixer({ start: false });
    await using _tmpfs = SUPPORT.tmpfs ? await tmpfsDataDir(h) : undefined;
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
