// A Rack's own state key holds what the Mixer signed, or the Rack ignores it (cluster mode, docs/cluster.md): a value
// changed after signing is dropped, by the watch and by the read after a reconnect; an older value, signed but put
// back, never takes it back. Real Mixer in cluster mode (one JetStream node) on an open bus, so the test can write
// the bucket as an intruder with bus access would; real fluxrig-rack process.

import { waitFor } from "@fluxrig/testkit";
import {
  decodeRackState,
  decodeRackStateRecord,
  encodeMessage,
  rackStateDirectGetSubject,
  rackStateSubject,
} from "@fluxrig/wire";
import { Empty, type NatsConnection } from "@nats-io/transport-node";
import { describe, expect, test } from "vitest";
import { rackOnScenario, runs } from "./support/cut-fleet.js";
import {
  activateScenario,
  type RackView,
  showRack,
  tickerScenario,
  waitForRack,
} from "./support/real-fleet.js";

const NAME = "rack-state-refusals";
const seqOf = (r: RackView) => r.stats?.presence?.seq ?? -1;

/** Stores `bytes` as the key's value (a JetStream publish: the stream acknowledges it). */
async function put(nc: NatsConnection, bytes: Uint8Array): Promise<number> {
  const ack = await nc.request(rackStateSubject(NAME), bytes, { timeout: 5_000 });
  const parsed = JSON.parse(new TextDecoder().decode(ack.data)) as { seq?: number; error?: unknown };
  if (parsed.seq === undefined) throw new Error(`not stored: ${JSON.stringify(parsed)}`);
  return parsed.seq;
}

describe("a Rack refuses a state it cannot trust (cluster mode, real Mixer and Rack)", () => {
  test("a tampered value is dropped by the watch and after a reconnect; an older one never takes it back", async () => {
    const fleet = await rackOnScenario({ rack: NAME, scenario: "alpha", auth: "none", cluster: true });
    const { h, rack, cutter } = fleet;
    const nc = await h.client();
    // What the Mixer stored for it: alpha, signed.
    const stored = await nc.request(rackStateDirectGetSubject(NAME), Empty, { timeout: 5_000 });
    const record = decodeRackStateRecord(stored.data);
    if (!record.ok) throw record.error;
    const state = decodeRackState(Buffer.from(record.value.v.data, "base64url"));
    if (!state.ok) throw state.error;
    expect(state.value.scenario?.scenario.name).toBe("alpha");

    // Tampered: a newer version aiming its ticker elsewhere, under the old signature.
    const forged = encodeMessage({
      ...state.value,
      version: state.value.version + 100,
      scenario: { ...state.value.scenario, scenario: { name: "forged", version: "9" } },
    });
    const tampered = {
      w: "intruder",
      n: "x",
      v: { data: Buffer.from(forged).toString("base64url"), signature: record.value.v.signature },
    };
    let since = rack.mark();
    await put(nc, encodeMessage(tampered));
    await rack.waitForJson(
      { msg: "rack state: dropped (not signed by the pinned Cluster Key)", reason: "invalid" },
      { since },
    );
    // And again when the Rack reads it after its link comes back.
    since = rack.mark();
    cutter.cut();
    await rack.waitForJson({ msg: "nats: disconnected, reconnecting" }, { since, timeoutMs: 15_000 });
    cutter.restore();
    await rack.waitForJson({ msg: "nats: reconnected" }, { since, timeoutMs: 15_000 });
    await rack.waitForJson(
      { msg: "rack state: dropped (not signed by the pinned Cluster Key)", reason: "invalid" },
      { since, timeoutMs: 15_000 },
    );
    const back = await showRack(h, NAME);
    const still = await waitForRack(h, NAME, (r) => seqOf(r) >= seqOf(back) + 3, {
      message: "three heartbeats after the tampered value",
    });
    expect(still.stats?.scenario?.name).toBe("alpha");
    expect(rack.lines().some((l) => l.includes('"scenario":"forged"') && l.includes("applying"))).toBe(false);

    // The Mixer writes over the tampered value (its version not trusted) and the Rack takes it: the push first, then
    // the key's new value by the watch, which has nothing left to change.
    await activateScenario(h, tickerScenario("beta", [NAME]), "beta");
    await runs(h, NAME, "beta");
    await rack.waitForJson(
      { msg: "rack state: applying", source: "watch", scenario: "beta", apply_scenario: false },
      { since, timeoutMs: 15_000 },
    );
    const over = await nc.request(rackStateDirectGetSubject(NAME), Empty, { timeout: 5_000 });
    const overRecord = decodeRackStateRecord(over.data);
    if (!overRecord.ok) throw overRecord.error;
    expect(overRecord.value.v.signature).not.toBe(record.value.v.signature);

    // Older: alpha's value, validly signed, put back. The watch refuses it, and so does the read after a reconnect.
    since = rack.mark();
    await put(nc, stored.data);
    await rack.waitForJson(
      { msg: "rack state: older than the one held; ignored", source: "watch" },
      { since },
    );
    cutter.cut();
    await rack.waitForJson({ msg: "nats: disconnected, reconnecting" }, { since, timeoutMs: 15_000 });
    cutter.restore();
    await rack.waitForJson(
      { msg: "rack state: older than the one held; ignored", source: "read after reconnect" },
      { since, timeoutMs: 15_000 },
    );
    const after = await showRack(h, NAME);
    const kept = await waitForRack(h, NAME, (r) => seqOf(r) >= seqOf(after) + 3, {
      message: "three heartbeats after the older value",
    });
    expect(kept.stats?.scenario?.name).toBe("beta");

    // Not even a value of the Mixer's KV layer: the Rack drops it, and the Mixer's next write replaces it.
    since = rack.mark();
    await put(nc, new TextEncoder().encode("not json"));
    await rack.waitForJson({ msg: "rack state: dropped (does not match its schema)" }, { since });
    await activateScenario(h, tickerScenario("gamma", [NAME]), "gamma");
    await runs(h, NAME, "gamma");
    await rack.waitForJson(
      { msg: "rack state: applying", source: "watch", scenario: "gamma" },
      { since, timeoutMs: 15_000 },
    );
    // Stored, not only published: the key holds gamma, signed, again.
    await waitFor(
      async () => {
        const got = await nc.request(rackStateDirectGetSubject(NAME), Empty, { timeout: 5_000 });
        const rec = decodeRackStateRecord(got.data);
        if (!rec.ok) return false;
        const st = decodeRackState(Buffer.from(rec.value.v.data, "base64url"));
        return st.ok && st.value.scenario?.scenario.name === "gamma";
      },
      { timeoutMs: 15_000, message: "the key to hold gamma again" },
    );
  });
});
