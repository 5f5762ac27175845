// The terminal views: tables, detail pages with evidence, stats, scenario issues and events.
import pc from "picocolors";
import { describe, expect, test } from "vitest";
import { sampleConflict, sampleEvent, sampleRack } from "../../test/support/sample-bodies.js";
import { clusterText } from "./cluster-views.js";
import { eventTable, eventWhat } from "./event-views.js";
import { formatBytes, formatHardware, formatStats } from "./rack-stats.js";
import { bulkAdoptText, changedLine, rackDetail, rackHints, rackTable } from "./rack-views.js";
import { importResultText, issueLines } from "./scenario-views.js";

const c = pc.createColors(false);
const now = new Date("2025-06-01T12:00:00.000Z");

describe("racks", () => {
  test("the list table", () => {
    expect(
      rackTable([sampleRack(), sampleRack({ name: "r2", status: "active", machine_id: 7 })], c, now),
    ).toBe(
      [
        "NAME         STATUS   MID  ENTITY ID           LAST SEEN  VERSION  HOST",
        "rack-nyc-01  pending  100  0x0300640000000000  12s ago    0.1.0    nyc-01",
        "r2           active     7  0x0300640000000000  12s ago    0.1.0    nyc-01",
      ].join("\n"),
    );
  });

  test("the detail page shows the evidence for a pending Rack, conflicts included", () => {
    const rack = sampleRack({
      evidence: { hello_count: 4, last_source: "10.0.0.7", conflicts: [sampleConflict()] },
    });
    const text = rackDetail(rack, c, now);
    expect(text).toContain("status       pending (since 2m ago)");
    expect(text).toContain("entity id    216282733276561408 (0x0300640000000000)");
    expect(text).toContain("key          SHA256:Zm9vYmFy");
    expect(text).toContain("hardware     hostname nyc-01, os linux, arch x64");
    expect(text).toContain("first seen   2025-06-01T11:58:00Z (2m ago)");
    expect(text).toContain("last seen    2025-06-01T11:59:48Z (12s ago)");
    expect(text).toContain("hellos       4");
    expect(text).toContain("last source  10.0.0.7");
    expect(text).toContain("conflicts    1 other key(s) claimed this name");
    expect(text).toMatch(/rack-nyc-01 +SHA256:b3RoZXI +3 +2h ago +1h ago +10\.0\.0\.9/);
    expect(rackHints(rack)).toEqual([
      "adopt it:  fluxrig racks adopt rack-nyc-01",
      "reject it: fluxrig racks reject rack-nyc-01",
      "hand the name to the newest claimant: fluxrig racks replace rack-nyc-01",
    ]);
  });

  test("the detail page lists each gear as the Rack reported it; a Rack with no list shows its totals only", () => {
    const rack = sampleRack({
      status: "active",
      stats: { gears: { running: 1, failed: 2, restarts: 7 }, messages: { in: 40, out: 12 } },
      gears: [
        { name: "tick", type: "ticker", state: "running", restarts: 0, in: 0, out: 12 },
        {
          name: "parse",
          type: "transform",
          state: "restarting",
          restarts: 7,
          in: 40,
          out: 0,
          last_error: {
            message: `Unexpected token in JSON\n at ${"x".repeat(80)}`,
            at: "2025-06-01T11:59:30.000Z",
          },
        },
        {
          name: "what",
          type: "teleporter",
          state: "failed",
          restarts: 0,
          in: 0,
          out: 0,
          last_error: { message: 'unknown gear type "teleporter"', at: "2025-06-01T10:00:00.000Z" },
        },
      ],
    });
    const text = rackDetail(rack, c, now);
    expect(text).toContain("gears       3 deployed, 2 failing (as of 12s ago)");
    expect(text).toContain("gears 1 running, 2 failed, 7 restarts, messages 40 in, 12 out");
    const table = text.slice(text.indexOf("GEAR "));
    expect(table.split("\n")).toEqual([
      "GEAR   TYPE        STATE       RESTARTS  IN  OUT  LAST ERROR                                                    AGE",
      "tick   ticker      running            0   0   12  -                                                             -",
      `parse  transform   restarting         7  40    0  Unexpected token in JSON at ${"x".repeat(31)}…  30s ago`,
      'what   teleporter  failed             0   0    0  unknown gear type "teleporter"                                2h ago',
    ]);

    // An older Rack (or an older Mixer): no per-gear list, the totals as before, no table.
    const older = rackDetail({ ...rack, gears: null }, c, now);
    expect(older).toContain("gears 1 running, 2 failed, 7 restarts");
    expect(older).not.toContain("GEAR ");
    expect(rackDetail({ ...rack, gears: undefined }, c, now)).not.toMatch(/^gears /m);
  });

  test("a pending Rack gone silent is flagged stale in the list, on its page and in the hints", () => {
    const rack = sampleRack({ stale: true, last_seen: "2025-06-01T11:55:00.000Z" });
    expect(rackTable([rack], c, now).split("\n")[1]).toMatch(
      /^rack-nyc-01 +pending \(stale\) +100 .* 5m ago /,
    );
    expect(rackDetail(rack, c, now)).toMatch(
      /^stale +no hello or heartbeat since 5m ago; the machine may be gone \(check it before adopting\)$/m,
    );
    expect(rackHints(rack)[0]).toBe(
      "it went silent: check the machine is up before you adopt it, or remove it: fluxrig racks rm rack-nyc-01",
    );
    expect(rackDetail(sampleRack(), c, now)).not.toContain("stale");
  });

  test("a revoked Rack's passport says it is revoked, not when it expires", () => {
    const passport = {
      serial: 2,
      issued_at: "2025-06-01T11:00:00.000Z",
      expires_at: "2025-06-01T12:55:00.000Z",
    };
    const active = rackDetail(sampleRack({ status: "active", passport }), c, now);
    expect(active).toMatch(/expires +2025-06-01T12:55:00Z \(in 55m\)/);
    const revoked = rackDetail(sampleRack({ status: "revoked", passport }), c, now);
    expect(revoked).toContain("REVOKED: not valid (it would have expired 2025-06-01T12:55:00Z (in 55m))");
    expect(revoked).not.toMatch(/^\s*expires /m);
  });

  test("a change line names the passport of an active Rack", () => {
    const rack = sampleRack({
      status: "active",
      passport: { serial: 1, issued_at: "2025-06-01T12:00:00.000Z", expires_at: "2025-06-02T12:00:00.000Z" },
    });
    expect(changedLine(rack, c, now)).toBe(
      "rack-nyc-01 (0x0300640000000000): active, passport serial 1, expires in 1d",
    );
  });

  test("a change that changed nothing says the Rack already was so", () => {
    expect(changedLine(sampleRack({ status: "active", unchanged: true }), c, now)).toBe(
      "rack-nyc-01 was already active",
    );
    expect(changedLine(sampleRack({ status: "offline", unchanged: true }), c, now)).toBe(
      "rack-nyc-01 was already adopted (offline)",
    );
    expect(changedLine(sampleRack({ status: "revoked", unchanged: true }), c, now)).toBe(
      "rack-nyc-01 was already revoked",
    );
  });

  test("bulk results say what a dry run would do and why refs were skipped", () => {
    expect(
      bulkAdoptText(
        {
          dry_run: true,
          adopted: [{ name: "rack-nyc-01", entity_id: "1", from: "pending" }],
          skipped: [{ ref: "rack-nyc-07", reason: "rack-nyc-07 is rejected", code: "invalid_transition" }],
        },
        c,
      ),
    ).toBe(
      [
        "would adopt rack-nyc-01 (was pending)",
        "skipped rack-nyc-07: rack-nyc-07 is rejected (invalid_transition)",
        "dry run: nothing was changed",
      ].join("\n"),
    );
  });
});

describe("stats and hardware", () => {
  test("known stats read as words, unknown keys as key=value", () => {
    expect(
      formatStats({
        cpu: { process_pct: 1.5, host_pct: 10 },
        mem: { rss_bytes: 50_000_000, heap_used_bytes: 20_000_000 },
        event_loop_lag_ms: 0.5,
        active_handles: 4,
        uptime_s: 7200,
        gears: { running: 2, failed: 0, restarts: 1 },
        rack_status: "active",
        presence: { flaps: 0, session: "s", seq: 9 },
        future: { x: 1 },
      }),
    ).toBe(
      "cpu 1.5% (host 10%), rss 47.7 MiB, heap 19.1 MiB, loop lag 0.5 ms, handles 4, up 2h, " +
        'gears 2 running, 0 failed, 1 restarts, reports active, heartbeat seq 9, 0 flaps, future={"x":1}',
    );
    expect(formatStats(null)).toBe("none yet");
  });

  test("hardware leaves the public key out and lists mac addresses", () => {
    expect(formatHardware({ public_key: "k", mac: ["a", "b"], arch: "arm64", cpus: 4 })).toBe(
      "arch arm64, mac a b, cpus 4",
    );
    expect(formatHardware({ public_key: "k" })).toBe("nothing reported");
    expect(formatBytes(512)).toBe("512 B");
  });
});

describe("scenarios", () => {
  test("issues point at the line and column in the file", () => {
    const source = "meta: { name: x, version: 1 }\ngears:\n  - { name: t, type: tickr, deploy: r }\n";
    expect(
      issueLines({
        file: "edge.yaml",
        source,
        issues: [
          {
            path: "gears.0.type",
            message: "expected one of ticker, transform, counter",
            line: 3,
            column: 22,
          },
          { path: "", message: "something without a place" },
        ],
      }),
    ).toEqual([
      "edge.yaml:3:22: gears.0.type: expected one of ticker, transform, counter",
      "    3 |   - { name: t, type: tickr, deploy: r }",
      "      |                      ^",
      "edge.yaml: something without a place",
    ]);
  });

  test("import results list adoption and pushes", () => {
    const scenario = {
      name: "edge-demo",
      version: "1",
      active: true,
      imported_at: "2025-06-01T12:00:00.000Z",
      activated_at: "2025-06-01T12:00:00.000Z",
      racks: ["rack-nyc-01"],
      gears: 1,
      wires: 0,
    };
    expect(
      importResultText(
        {
          dry_run: false,
          scenario,
          activation: { adopted: ["rack-nyc-01"], pushed: ["rack-nyc-01"], waiting: [] },
        },
        c,
        { verb: "imported and activated" },
      ),
    ).toBe(
      "imported and activated edge-demo version 1 (1 rack, 1 gear, 0 wires)\nadopted: rack-nyc-01\npushed to: rack-nyc-01",
    );
  });
});

test("events read as a status move", () => {
  expect(eventWhat({ kind: "status", from_status: "pending", to_status: "active" })).toBe(
    "status pending -> active",
  );
  expect(eventWhat({ kind: "rack_enrolled", from_status: null, to_status: "pending" })).toBe(
    "rack_enrolled -> pending",
  );
  expect(eventWhat({ kind: "rack_removed", from_status: "active", to_status: null })).toBe(
    "rack_removed active ->",
  );
  expect(eventWhat({ kind: "scenario_imported", from_status: null, to_status: null })).toBe(
    "scenario_imported",
  );
  expect(eventTable([sampleEvent()], c, now).split("\n")[1]).toBe(
    "  1  2025-06-01T11:59:00Z (1m ago)  rack-nyc-01  status pending -> active  operator  api:alice  reason=ticket OPS-42",
  );
});

describe("cluster", () => {
  const info = {
    cluster: "lab",
    public_key: "B".repeat(43),
    key_id: "k1",
    mixer: { entity_id: "1", entity_id_hex: "0x1", machine_id: 1, name: "mixer-1", version: "0.1.0" },
    counts: { pending: 1, active: 2, offline: 0, rejected: 0, revoked: 0, total: 3 },
    heartbeat_interval_ms: 10_000,
    counters: { "heartbeat.accepted": 12 },
  };

  test("the Mixer's memory, split into V8's heap, DuckDB and buffers", () => {
    const MiB = 1048576;
    const text = clusterText(
      {
        ...info,
        memory: {
          rss_bytes: 262 * MiB,
          heap_used_bytes: 54 * MiB,
          heap_total_bytes: 93 * MiB,
          external_bytes: 5 * MiB,
          db_bytes: 21 * MiB,
          db_by_tag: { BASE_TABLE: 21 * MiB },
        },
      },
      c,
      { apiUrl: "http://127.0.0.1:7300" },
    );
    expect(text).toContain(
      "memory      RSS 262.0 MiB: V8 heap 54.0 MiB used of 93.0 MiB, DuckDB 21.0 MiB, buffers 5.0 MiB",
    );
    expect(text).toContain("racks       3 total: 2 active, 1 pending, 0 offline, 0 rejected, 0 revoked");
  });

  test("a Mixer that does not report memory gets no memory line", () => {
    expect(clusterText(info, c, { apiUrl: "http://127.0.0.1:7300" })).not.toContain("memory");
  });
});
