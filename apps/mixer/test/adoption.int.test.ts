// The three adoption paths, reject and revoke, end to end: REST API calls against a real Mixer, scripted Racks on NATS.
import { MixerHarness, ScriptedRack, waitFor } from "@fluxrig/testkit";
import { describe, expect, test } from "vitest";
import { readRegistry } from "./support/registry-file.js";

const SCENARIO = `meta:
  name: demo
  version: 3
racks:
  - name: rack-b1
  - name: rack-b2
gears:
  - name: tick
    type: ticker
    deploy: rack-b1
    config: { interval: 1s }
  - name: sink
    type: counter
    deploy: rack-b2
wires:
  - from: tick.out
    to: sink.in
`;

interface RackBody {
  status: string;
  entity_id: string;
  machine_id: number;
  passport: { serial: number } | null;
}

describe("adoption", () => {
  test("Path C: an operator adopts a pending Rack by name, hex or decimal id; the passport is pushed at once", async () => {
    await using h = await MixerHarness.create();
    const nc = await h.client();
    const racks = ["rack-c1", "rack-c2", "rack-c3"].map((n) => new ScriptedRack(nc, n).listen());
    const replies = await Promise.all(racks.map((r) => r.hello()));
    expect(replies.map((r) => r.status)).toEqual(["pending", "pending", "pending"]);

    const hex = `0x${BigInt(replies[1]!.entity_id!).toString(16).padStart(16, "0")}`;
    for (const ref of ["rack-c1", hex, replies[2]!.entity_id!]) {
      const res = await h.api<RackBody>(`/api/v1/racks/${ref}/adopt`, {
        method: "POST",
        json: { reason: "checked serial" },
      });
      expect(res.status, ref).toBe(200);
      expect(res.body).toMatchObject({ status: "active", passport: { serial: 1 } });
    }
    for (const r of racks) {
      await waitFor(() => r.passportPushes.find((p) => p.kind === "issued" && p.passport), {
        timeoutMs: 5000,
        message: `${r.name} passport push`,
      });
    }
    // Adopting again is idempotent; the next hello carries the same passport back.
    expect((await h.api<RackBody>("/api/v1/racks/rack-c1/adopt", { method: "POST" })).status).toBe(200);
    const again = await racks[0]!.hello();
    expect(again.status).toBe("active");
    const events = await h.api<{ items: Array<{ kind: string; cause: string }> }>(
      "/api/v1/events?rack=rack-c1",
    );
    expect(events.status).toBe(200);
    expect(events.body.items).toContainEqual(
      expect.objectContaining({ kind: "status_changed", cause: "operator" }),
    );
  });

  test("Path B: activating a scenario adopts the pending Racks it names and pushes their logic", async () => {
    await using h = await MixerHarness.create();
    const nc = await h.client();
    const b1 = new ScriptedRack(nc, "rack-b1").listen();
    const bystander = new ScriptedRack(nc, "rack-other").listen();
    expect((await b1.hello()).status).toBe("pending");
    expect((await bystander.hello()).status).toBe("pending");

    const imported = await h.api("/api/v1/scenarios", {
      method: "POST",
      body: SCENARIO,
      headers: { "content-type": "application/yaml" },
    });
    expect(imported.status).toBeLessThan(300);
    // A stored version never changes: the same file again is fine, other content under version 3 is refused.
    const yamlImport = (body: string) =>
      h.api<{ error?: { code: string; message: string } }>("/api/v1/scenarios", {
        method: "POST",
        body,
        headers: { "content-type": "application/yaml" },
      });
    expect((await yamlImport(SCENARIO)).status).toBeLessThan(300);
    const edited = await yamlImport(SCENARIO.replace("interval: 1s", "interval: 2s"));
    expect(edited.status).toBe(409);
    expect(edited.body.error).toMatchObject({ code: "conflict" });
    expect(edited.body.error?.message).toMatch(/version 3 is already stored with other content/);
    const activated = await h.api<{ activation: { adopted: string[]; waiting: string[] } }>(
      "/api/v1/scenarios/demo/activate",
      {
        method: "POST",
      },
    );
    expect(activated.status).toBe(200);
    expect(activated.body.activation).toMatchObject({ adopted: ["rack-b1"], waiting: ["rack-b2"] });

    await waitFor(() => b1.passportPushes.find((p) => p.kind === "issued"), {
      timeoutMs: 5000,
      message: "passport",
    });
    const push = await waitFor(() => b1.scenarioPushes[0], { timeoutMs: 5000, message: "scenario push" });
    expect(push).toMatchObject({
      scenario: { name: "demo", version: "3" },
      gears: [{ name: "tick", type: "ticker" }],
    });
    expect(push.wires).toEqual([
      { name: "w1", from: "tick.out", to: "sink.in", subject: "fluxrig.msg.demo.w1" },
    ]);

    // A Rack the active scenario names is adopted when it enrolls later; others stay pending.
    const b2 = new ScriptedRack(nc, "rack-b2").listen();
    expect((await b2.hello()).status).toBe("active");
    await waitFor(() => b2.scenarioPushes[0], { timeoutMs: 5000, message: "b2 scenario" });
    expect((await bystander.hello()).status).toBe("pending");

    // Switching to a scenario that no longer names rack-b1: it is told at once, with no gears, so its old ones stop;
    // and again at its next hello (a Rack that was away restarts its cached gears before the Mixer answers).
    const other = SCENARIO.replace("name: demo", "name: other")
      .replace("  - name: rack-b1\n", "")
      .replace("deploy: rack-b1", "deploy: rack-b2");
    const imported2 = await h.api("/api/v1/scenarios", {
      method: "POST",
      body: other,
      headers: { "content-type": "application/yaml" },
    });
    expect(imported2.status).toBeLessThan(300);
    const before = b1.scenarioPushes.length;
    const switched = await h.api<{ activation: { pushed: string[] } }>("/api/v1/scenarios/other/activate", {
      method: "POST",
    });
    expect(switched.status).toBe(200);
    expect(switched.body.activation.pushed).toEqual(["rack-b1", "rack-b2"]);
    const stop = await waitFor(() => b1.scenarioPushes[before], { timeoutMs: 5000, message: "stop push" });
    expect(stop).toMatchObject({ scenario: { name: "other", version: "3" }, gears: [], wires: [] });
    const b2Push = await waitFor(() => b2.scenarioPushes.find((p) => p.scenario.name === "other"), {
      timeoutMs: 5000,
      message: "b2 gets both gears",
    });
    expect(b2Push.gears.map((g) => g.name).sort()).toEqual(["sink", "tick"]);
    const afterSwitch = b1.scenarioPushes.length;
    expect((await b1.hello()).status).toBe("active");
    const again = await waitFor(() => b1.scenarioPushes[afterSwitch], {
      timeoutMs: 5000,
      message: "push at hello",
    });
    expect(again).toMatchObject({ scenario: { name: "other" }, gears: [] });
  });

  test("reject and revoke: refused from then on, illegal transitions are 409, and the old passport is not trusted", async () => {
    await using h = await MixerHarness.create({ env: { FLUXRIG_ENROLLMENT_AUTO_ADOPT: "false" } });
    const nc = await h.client();
    const bad = new ScriptedRack(nc, "rack-bad").listen();
    await bad.hello();
    expect((await h.api<RackBody>("/api/v1/racks/rack-bad/reject", { method: "POST" })).body.status).toBe(
      "rejected",
    );
    expect(await bad.hello()).toMatchObject({ status: "rejected", error: { code: "rejected" } });
    await waitFor(() => bad.passportPushes.find((p) => p.status === "rejected"), {
      timeoutMs: 5000,
      message: "reject push",
    });
    const illegal = await h.api<{ error: { code: string } }>("/api/v1/racks/rack-bad/adopt", {
      method: "POST",
    });
    expect(illegal.status).toBe(409);
    expect(illegal.body.error.code).toBe("invalid_transition");

    const good = new ScriptedRack(nc, "rack-good").listen();
    await good.hello();
    await h.api("/api/v1/racks/rack-good/adopt", { method: "POST" });
    // Hello with the pushed passport (a hello without one would be answered with a fresh passport, serial 2).
    await waitFor(() => good.passport, { timeoutMs: 5000, message: "adoption push" });
    const active = await good.hello();
    expect(active.passport?.payload).toBe(good.passportPushes[0]?.passport?.payload);
    const oldPassport = active.passport!;
    const revoked = await h.api<RackBody>("/api/v1/racks/rack-good/revoke", { method: "POST" });
    expect(revoked.body.status).toBe("revoked");
    expect((await h.api<RackBody>("/api/v1/racks/rack-good/revoke", { method: "POST" })).status).toBe(200);
    await waitFor(() => good.passportPushes.find((p) => p.kind === "revoked"), {
      timeoutMs: 5000,
      message: "revoke push",
    });
    const after = await good.hello({ passport: oldPassport });
    expect(after).toMatchObject({ status: "revoked", error: { code: "revoked" } });
    expect(after.passport).toBeUndefined();
    // Heartbeats of a revoked Rack change nothing.
    good.heartbeat();
    await nc.flush();

    // Re-adoption by an operator issues a new passport with a higher serial; the old one is superseded.
    const readopted = await h.api<RackBody>("/api/v1/racks/rack-good/adopt", { method: "POST" });
    expect(readopted.body).toMatchObject({ status: "active", passport: { serial: 2 } });
    const withOld = await good.hello({ passport: oldPassport });
    expect(withOld.status).toBe("active");
    expect(withOld.passport?.payload).not.toBe(oldPassport.payload);

    const gone = await h.api("/api/v1/racks/rack-bad", { method: "DELETE" });
    expect(gone.status).toBe(200);
    expect((await h.api("/api/v1/racks/rack-bad")).status).toBe(404);
    await h.stop();
    await readRegistry(h.dataDir, async (q) => {
      const tomb = await q("SELECT name FROM machine_id_tombstones");
      expect(tomb).toEqual([{ name: "rack-bad" }]);
    });
  });
});
