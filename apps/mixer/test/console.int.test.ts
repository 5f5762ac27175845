// The console and what it reads, against the real built Mixer: the page and its files on the API listener, who a
// token is, and a Rack's heartbeat stats over the last minutes, sampled by presence from real heartbeats.
import { MixerHarness, ScriptedRack, TEST_TOKEN, waitFor } from "@fluxrig/testkit";
import { describe, expect, test } from "vitest";

interface StatsHistory {
  name: string;
  step_seconds: number;
  samples: Array<{ cpu_pct: number | null; rss_bytes: number | null; messages_in: number | null }>;
}

describe("the console on a real Mixer", () => {
  test("the binary serves the page, its files, and /api/v1/session", async () => {
    await using h = await MixerHarness.create();
    const page = await fetch(`${h.apiUrl}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get("Content-Security-Policy")).toContain("script-src 'self'");
    expect(await page.text()).toContain("/console/app.js");
    for (const [file, type] of [
      ["app.js", "text/javascript"],
      ["app.css", "text/css"],
    ]) {
      const res = await fetch(`${h.apiUrl}/console/${file}`);
      expect(res.status).toBe(200);
      expect(res.headers.get("Content-Type")).toContain(type);
    }
    expect((await fetch(`${h.apiUrl}/console/nothing.js`)).status).toBe(404);
    const session = await fetch(`${h.apiUrl}/api/v1/session`, {
      headers: { Authorization: `Bearer ${TEST_TOKEN}` },
    });
    expect(await session.json()).toEqual({ name: "bootstrap", role: "admin" });
  });

  test("a Rack's heartbeat stats are kept for the chart, one sample per step", async () => {
    await using h = await MixerHarness.create({ env: { FLUXRIG_ENROLLMENT_AUTO_ADOPT: "true" } });
    const nc = await h.client();
    const rack = new ScriptedRack(nc, "rack-chart").listen();
    expect((await rack.hello()).status).toBe("active");
    const stats = rack.heartbeatMessage().stats;
    rack.heartbeat({
      stats: { ...stats, cpu: { process_pct: 12.5, host_pct: 30 }, messages: { in: 7, out: 3 } },
    });
    const history = await waitFor(
      async () => {
        const body = (await h.api<StatsHistory>("/api/v1/racks/rack-chart/stats")).body;
        return body.samples.length > 0 ? body : undefined;
      },
      { message: "the heartbeat's stats to be sampled" },
    );
    expect(history.name).toBe("rack-chart");
    expect(history.step_seconds).toBeGreaterThanOrEqual(10);
    expect(history.samples).toHaveLength(1);
    expect(history.samples[0]).toMatchObject({ cpu_pct: 12.5, messages_in: 7 });
    expect(history.samples[0]?.rss_bytes).toBe(stats.mem.rss_bytes);
    // A second heartbeat within the step is not a second sample; the Rack's live view has it at once.
    rack.heartbeat({ stats: { ...stats, cpu: { process_pct: 50, host_pct: 30 } } });
    await waitFor(
      async () =>
        ((await h.api<{ stats: { cpu?: { process_pct?: number } } }>("/api/v1/racks/rack-chart")).body.stats
          .cpu?.process_pct ?? 0) === 50,
      { message: "the second heartbeat to land" },
    );
    const again = (await h.api<StatsHistory>("/api/v1/racks/rack-chart/stats")).body;
    expect(again.samples.map((s) => s.cpu_pct)).toEqual([12.5]);
    expect((await h.api("/api/v1/racks/rack-nope/stats")).status).toBe(404);
  });
});
