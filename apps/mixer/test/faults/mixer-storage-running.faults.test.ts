// The Mixer's data dir full or read-only WHILE IT RUNS, with the real process and its real DuckDB file: the failure
// is named in the log and the API, the Mixer neither crashes nor loses what it had acknowledged, the file is not
// corrupted, and writes succeed again once the disk is fixed.
//
// How the faults are made (see @fluxrig/testkit fs-faults): as root (CI here), a tiny tmpfs mounted on the data dir
// and filled to ENOSPC; `chattr +i` on the data dir and its files for "read-only" (root ignores mode bits, and a
// read-only remount is refused while DuckDB holds its files open for writing). Without root both are out of reach
// (no mount; chmod does not stop writes through descriptors DuckDB already holds) and the tests are skipped.
import { fillFilesystem, lockDirectory } from "@fluxrig/testkit";
import { afterAll, beforeEach, describe, expect, test } from "vitest";
import { openStorageScenario, type RackBody } from "./support/storage-fleet.js";

const {
  report,
  iterations: ITERATIONS,
  support: SUPPORT,
  storageMixer,
  tmpfsDataDir,
  answered,
  expectRunning,
  faultCycle,
  runningFleet,
  verifyAfterRestart,
} = openStorageScenario(import.meta.url, { afterAll, beforeEach });
if (!SUPPORT.tmpfs) report.skip("disk full while running", "mount -t tmpfs is not available (not root)");
if (SUPPORT.lockMethod !== "chattr +i")
  report.skip(
    "read-only while running",
    "needs root and chattr: chmod does not stop writes through open descriptors",
  );

describe("the Mixer's data dir full or read-only while it runs", () => {
  test.skipIf(!SUPPORT.tmpfs)(
    `disk full while running (${ITERATIONS} times): writes refused and named, nothing lost, recovers when space returns`,
    async () => {
      await using h = await storageMixer({ start: false });
      // Disposed before the harness (reverse order): unmounted lazily if the Mixer still holds it.
      await using _tmpfs = await tmpfsDataDir(h);
      await h.start();
      const acks = await runningFleet(h);
      for (let i = 0; i < ITERATIONS; i++) {
        await faultCycle(h, acks, () => fillFilesystem(h.dataDir), /No space left on device/, "full");
      }
      await verifyAfterRestart(h, acks);
    },
  );

  test.skipIf(SUPPORT.lockMethod !== "chattr +i")(
    `data dir made read-only under the running Mixer (${ITERATIONS} times, chattr +i): writes refused, nothing lost, recovers`,
    async () => {
      await using h = await storageMixer();
      const acks = await runningFleet(h);
      for (let i = 0; i < ITERATIONS; i++) {
        await faultCycle(
          h,
          acks,
          () => lockDirectory(h.dataDir),
          /Operation not permitted|Permission denied/,
          "readonly",
        );
      }
      await verifyAfterRestart(h, acks);
    },
  );

  // A pending Rack's MachineID is free again as soon as it is removed, and its tombstone row stays in the file; the
  // next Rack to get that id, once removed, retires it again. That rewrite of an existing tombstone must not abort
  // DuckDB (and the Mixer) when its commit fails. Read-only, because every commit then fails.
  test.skipIf(SUPPORT.lockMethod !== "chattr +i")(
    "a Rack on a reused MachineID removed under a read-only data dir (chattr +i): refused, no DuckDB abort",
    async () => {
      await using h = await storageMixer();
      const acks = await runningFleet(h);
      const first = acks.pending()[0]!;
      const reusedId = acks.enrolled.get(first)!;
      expect((await acks.remove(h, first)).status).toBe(200);
      const { rack, status } = await acks.enroll();
      expect(status).toBe("pending");
      expect(rack.entityId, "the next Rack gets the removed Rack's MachineID").toBe(reusedId);

      const fault = lockDirectory(h.dataDir);
      try {
        const what = `a removal of ${rack.name} on a reused MachineID`;
        const res = await answered(h, what, () => acks.remove(h, rack.name));
        report.count("readonly.reused_id_removals_tried");
        expectRunning(h, what);
        expect(res.status, JSON.stringify(res.body)).toBe(503);
        expect(res.body.error?.code).toBe("unavailable");
        report.count("readonly.reused_id_removals_refused");
        expect((await h.api<RackBody>(`/api/v1/racks/${rack.name}`)).body.status).toBe("pending");
      } finally {
        await fault.undo();
      }
      expect((await acks.remove(h, rack.name)).status).toBe(200);
      await verifyAfterRestart(h, acks);
    },
  );
});
