// GET /metrics against a real Mixer: a scripted Rack's hello and heartbeats show in the Prometheus exposition.
import { eventually, MixerHarness, ScriptedRack } from "@fluxrig/testkit";
import { describe, expect, test } from "vitest";

const METRICS_TOKEN = "scrape-t0ken-for-tests";

/** One scrape with `token`: status and body. */
async function scrape(
  h: MixerHarness,
  token: string,
): Promise<{ status: number; type: string; text: string }> {
  const res = await fetch(`${h.apiUrl}/metrics`, { headers: { Authorization: `Bearer ${token}` } });
  return { status: res.status, type: res.headers.get("Content-Type") ?? "", text: await res.text() };
}

/** The value of one sample line (`name{labels} value`), or undefined when the exposition lacks it. */
function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe("the Mixer's Prometheus endpoint", () => {
  test("a hello and heartbeats show as Racks by status, hello and heartbeat counters; a wrong token is 401", async () => {
    await using h = await MixerHarness.create({
      env: {
        FLUXRIG_API_METRICS_TOKEN: METRICS_TOKEN,
        FLUXRIG_ENROLLMENT_AUTO_ADOPT: "true",
        FLUXRIG_PRESENCE_FLUSH_INTERVAL: "200ms",
      },
    });
    const nc = await h.client();
    const rack = new ScriptedRack(nc, "rack-prom-01");
    expect((await rack.hello()).status).toBe("active");
    rack.heartbeat();
    rack.heartbeat();
    // A Rack the Mixer never heard a hello from: its heartbeat is dropped as unknown_rack.
    new ScriptedRack(nc, "rack-prom-ghost").heartbeat();

    const text = await eventually(
      async () => {
        const res = await scrape(h, METRICS_TOKEN);
        expect(res.status).toBe(200);
        expect(res.type).toMatch(/^text\/plain; version=0\.0\.4/);
        expect(sample(res.text, "fluxrig_mixer_heartbeats_accepted_total")).toBe(2);
        expect(sample(res.text, 'fluxrig_mixer_heartbeats_dropped_total{reason="unknown_rack"}')).toBe(1);
        expect(sample(res.text, "fluxrig_mixer_presence_flush_duration_seconds_count")).toBeGreaterThan(0);
        return res.text;
      },
      { timeoutMs: 10_000, message: "the heartbeats and a flush in /metrics" },
    );
    expect(sample(text, 'fluxrig_mixer_racks{status="active"}')).toBe(1);
    expect(sample(text, 'fluxrig_mixer_racks{status="pending"}')).toBe(0);
    expect(sample(text, 'fluxrig_mixer_hellos_total{outcome="enrolled",code=""}')).toBe(1);
    expect(sample(text, "fluxrig_mixer_nats_link_up")).toBe(1);
    expect(sample(text, "fluxrig_mixer_registry_write_batches_total")).toBeGreaterThan(0);

    // The operator token scrapes too; a wrong or missing token does not.
    const operator = await h.api<string>("/metrics");
    expect(operator.status).toBe(200);
    expect(sample(operator.body, 'fluxrig_mixer_racks{status="active"}')).toBe(1);
    const wrong = await scrape(h, `${METRICS_TOKEN}x`);
    expect(wrong.status).toBe(401);
    expect(JSON.parse(wrong.text)).toMatchObject({ error: { code: "unauthorized" } });
    expect((await fetch(`${h.apiUrl}/metrics`)).status).toBe(401);
    // The metrics token opens nothing else.
    expect(
      (await h.api("/api/v1/racks", { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).status,
    ).toBe(401);
  });
});
