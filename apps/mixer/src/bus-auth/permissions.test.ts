import type { ScenarioPush } from "@fluxrig/wire";
import { describe, expect, it } from "vitest";
import { bootstrapPermissions, mixerPermissions, rackPermissions } from "./permissions.js";

const push: Pick<ScenarioPush, "scenario" | "gears" | "wires"> = {
  scenario: { name: "demo", version: "1" },
  gears: [
    { name: "sensor", type: "mqtt.source", config: {} },
    { name: "filter", type: "filter", config: {} },
  ],
  wires: [
    { name: "raw", from: "sensor.out", to: "filter.in", subject: "fluxrig.msg.demo.raw" },
    { name: "clean", from: "filter.out", to: "sink.in", subject: "fluxrig.msg.demo.clean" },
    { name: "ctl", from: "remote.out", to: "sensor.ctl", subject: "fluxrig.msg.demo.ctl" },
  ],
};

describe("rackPermissions", () => {
  it("gives a pending Rack hello, its heartbeat, its inbox and its passport push, and nothing else", () => {
    expect(rackPermissions({ name: "rack-1", status: "pending", scenario: push })).toEqual({
      pub: { allow: ["fluxrig.agent.hello", "fluxrig.event.heartbeat.rack-1"], deny: [] },
      sub: { allow: ["_INBOX.rack-1.>", "fluxrig.rack.rack-1.passport"], deny: [] },
    });
  });

  it("adds the scenario push and exactly the wires its gears touch to an adopted Rack", () => {
    const perms = rackPermissions({ name: "rack-1", status: "active", scenario: push });
    expect(perms.pub.allow).toEqual([
      "fluxrig.agent.hello",
      "fluxrig.event.heartbeat.rack-1",
      "fluxrig.msg.demo.raw",
      "fluxrig.msg.demo.clean",
    ]);
    expect(perms.sub.allow).toEqual([
      "_INBOX.rack-1.>",
      "fluxrig.rack.rack-1.passport",
      "fluxrig.rack.rack-1.scenario",
      "fluxrig.msg.demo.raw",
      "fluxrig.msg.demo.ctl",
    ]);
  });

  it("takes each wire's subject from the names, not from what the push says", () => {
    const lying = { ...push, wires: [{ name: "raw", from: "sensor.out", to: "x.in", subject: "fluxrig.>" }] };
    const perms = rackPermissions({ name: "rack-1", status: "active", scenario: lying });
    expect(perms.pub.allow).toContain("fluxrig.msg.demo.raw");
    expect(perms.pub.allow).not.toContain("fluxrig.>");
  });

  it("keeps an offline adopted Rack's grants, gives an adopted Rack without scenario no wires", () => {
    const offline = rackPermissions({ name: "rack-1", status: "offline", scenario: push });
    expect(offline).toEqual(rackPermissions({ name: "rack-1", status: "active", scenario: push }));
    expect(rackPermissions({ name: "rack-2", status: "active" }).pub.allow).toEqual([
      "fluxrig.agent.hello",
      "fluxrig.event.heartbeat.rack-2",
    ]);
  });

  it("cluster mode: lets an adopted Rack read and watch its own state key, and nothing else of JetStream", () => {
    const adopted = rackPermissions(
      { name: "rack-1", status: "active", scenario: push },
      { rackState: true },
    );
    const single = rackPermissions({ name: "rack-1", status: "active", scenario: push });
    expect(adopted.pub.allow).toEqual([
      ...single.pub.allow,
      "$JS.API.DIRECT.GET.KV_fluxrig_rack_state.$KV.fluxrig_rack_state.rack-1",
    ]);
    expect(adopted.sub.allow).toEqual([...single.sub.allow, "$KV.fluxrig_rack_state.rack-1"]);
    // The same for an offline row (still adopted); a pending Rack runs no scenario and reads no state.
    expect(
      rackPermissions({ name: "rack-1", status: "offline", scenario: push }, { rackState: true }),
    ).toEqual(adopted);
    expect(rackPermissions({ name: "rack-1", status: "pending" }, { rackState: true })).toEqual(
      rackPermissions({ name: "rack-1", status: "pending" }),
    );
    // No wildcard reaches JetStream or another key.
    for (const subject of [...adopted.pub.allow, ...adopted.sub.allow]) {
      if (subject.startsWith("$")) expect(subject).not.toMatch(/[*>]/);
    }
  });

  it("issues nothing to a rejected or revoked Rack, and refuses a name that is not a subject token", () => {
    expect(rackPermissions({ name: "rack-1", status: "rejected" })).toBeNull();
    expect(rackPermissions({ name: "rack-1", status: "revoked" })).toBeNull();
    expect(() => rackPermissions({ name: ">", status: "pending" })).toThrow();
  });
});

describe("the Mixer and the bootstrap credential", () => {
  it("lets only the Mixer read hellos and heartbeats and publish pushes", () => {
    const mixer = mixerPermissions();
    expect(mixer.sub.allow).toEqual(["fluxrig.agent.hello", "fluxrig.event.heartbeat.>", "_INBOX._mixer.>"]);
    expect(mixer.pub.allow).toEqual([
      "fluxrig.rack.*.scenario",
      "fluxrig.rack.*.passport",
      "_INBOX.>",
      // Cluster mode: the JetStream API and the registry's KV buckets (docs/cluster.md).
      "$JS.API.>",
      "$JS.FC.>",
      "$KV.fluxrig_racks.>",
      "$KV.fluxrig_claims.>",
      "$KV.fluxrig_scenarios.>",
      "$KV.fluxrig_leases.>",
      "$KV.fluxrig_access.>",
      // the Racks' state, which each Rack reads and watches for its own key only (rackPermissions' rackState),
      "$KV.fluxrig_rack_state.>",
      // and the audit log's stream (docs/cluster.md, "Record layout").
      "fluxrig.audit.>",
    ]);
  });

  it("lets the bootstrap credential send hellos and read only the bootstrap inboxes", () => {
    expect(bootstrapPermissions()).toEqual({
      pub: { allow: ["fluxrig.agent.hello"], deny: [] },
      sub: { allow: ["_INBOX._bootstrap.>"], deny: [] },
    });
  });
});
