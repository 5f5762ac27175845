// Scenario operations over a real registry: a scenario name that is not found is answered with the closest ones.
import { generateKeyPair, keyFingerprint, publicKeyToBase64url } from "@fluxrig/passport";
import { wireMessageSubject } from "@fluxrig/wire";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type LifecycleHarness, openLifecycleHarness } from "../../test/support/lifecycle-test-harness.js";
import type { BusCredentials, CredentialSubject } from "../bus-auth/bus-credentials.js";
import { rackPermissions } from "../bus-auth/permissions.js";
import { ScenarioService } from "./scenario-service.js";

const alice = { actor: "api:alice" };
let h: LifecycleHarness;
let scenarios: ScenarioService;

beforeEach(async () => {
  h = await openLifecycleHarness();
  scenarios = new ScenarioService({
    racks: h.directory,
    writer: h.writer,
    catalog: h.catalog,
    clock: h.t.clock.now,
  });
  scenarios.attach(h.lifecycle);
});

afterEach(async () => {
  await h.close();
});

const yaml = (name: string) =>
  `meta:\n  name: ${name}\n  version: 1\nracks:\n  - name: rack-a\ngears: []\nwires: []\n`;

describe("activating a scenario that is not there", () => {
  it("suggests the closest stored names, only when close", async () => {
    for (const name of ["lab-demo", "lab-demo-2", "factory"]) {
      await scenarios.import(yaml(name), { ...alice, dryRun: false, activate: false });
    }
    await expect(scenarios.activate("lab-dmeo", alice)).rejects.toMatchObject({
      code: "not_found",
      message: "no scenario named lab-dmeo; did you mean lab-demo?",
      details: { suggestions: ["lab-demo"] },
    });
    const far = await scenarios.activate("warehouse", alice).catch((err: unknown) => err);
    expect(far).toMatchObject({ code: "not_found", message: "no scenario named warehouse" });
    expect((far as { details?: unknown }).details).toBeUndefined();
  });
});

describe("activation and the bus", () => {
  const issued: CredentialSubject[] = [];
  const recording: BusCredentials = {
    mode: "jwt",
    issue: (rack, now) => {
      issued.push(rack);
      return { jwt: `jwt-${issued.length}`, expires_at: new Date(now.getTime() + 60_000).toISOString() };
    },
    pushRevocations: async () => {},
    close: async () => {},
  };

  beforeEach(async () => {
    await h.close();
    issued.length = 0;
    // The lifecycle reads the scenario pushes from the service, which needs the lifecycle: wired after both exist.
    let service: ScenarioService | undefined;
    h = await openLifecycleHarness({
      credentials: recording,
      scenarios: { pushFor: (name, now) => service!.pushFor(name, now) },
    });
    service = new ScenarioService({
      racks: h.directory,
      writer: h.writer,
      catalog: h.catalog,
      clock: h.t.clock.now,
    });
    service.attach(h.lifecycle);
    scenarios = service;
  });

  const enroll = (name: string, adopt: boolean) =>
    h.lifecycle.enroll({
      name,
      publicKey: publicKeyToBase64url(generateKeyPair().publicKey),
      version: "1.0.0",
      attributes: {},
      source: null,
      machineIdRange: { min: 1, max: 65_535 },
      ...(adopt ? { adopt: { cause: "operator", actor: "test" } } : {}),
    });

  /** What the credential last issued to `name` lets it publish and subscribe. */
  const grant = (name: string) => {
    const subject = issued.filter((s) => s.name === name).at(-1);
    return subject && rackPermissions(subject);
  };

  const DEMO = `meta:\n  name: demo\n  version: 1\nracks:\n  - name: rack-a\n  - name: rack-b
gears:
  - { name: tick, type: ticker, deploy: rack-a, config: { interval: 1s } }
  - { name: tally, type: counter, deploy: rack-b, config: { every: 5 } }
wires:
  - { name: ticks, from: tick.out, to: tally.in }
`;
  const OTHER = `meta:\n  name: other\n  version: 1\nracks:\n  - name: rack-b
gears:
  - { name: tally, type: counter, deploy: rack-b, config: { every: 5 } }
wires: []
`;

  it("re-issues each affected Rack's credential with the wires of its gears, including Racks switched off", async () => {
    await enroll("rack-a", true);
    await enroll("rack-b", false);
    issued.length = 0;
    await scenarios.import(DEMO, { ...alice, dryRun: false, activate: true });
    const wire = wireMessageSubject("demo", "ticks");
    // rack-a (adopted before): a credential push, then its scenario; rack-b (adopted by the activation): the
    // credential rides with its passport.
    expect(grant("rack-a")?.pub.allow).toContain(wire);
    expect(grant("rack-a")?.sub.allow).not.toContain(wire);
    expect(grant("rack-b")?.sub.allow).toContain(wire);
    expect(grant("rack-b")?.pub.allow).not.toContain(wire);
    const kinds = h.messages
      .filter((m) => m.subject.endsWith(".passport"))
      .map((m) => `${m.subject.split(".")[2]}:${String(m.body.kind)}:${"bus_credential" in m.body}`);
    expect(kinds).toContain("rack-a:credential:true");
    expect(kinds).toContain("rack-b:issued:true");

    issued.length = 0;
    await scenarios.import(OTHER, { ...alice, dryRun: false, activate: true });
    // rack-a is no longer named: told at once, with a credential that grants no wire any more.
    expect(grant("rack-a")?.pub.allow.filter((s) => s.startsWith("fluxrig.msg."))).toEqual([]);
    expect(grant("rack-b")?.sub.allow.filter((s) => s.startsWith("fluxrig.msg."))).toEqual([]);
  });
});

describe("a plan and a dry run say what activation will do with expected keys", () => {
  it("a pending Rack whose name expects another key waits, in the plan, the dry run and the activation alike", async () => {
    const key = () => publicKeyToBase64url(generateKeyPair().publicKey);
    const pending = (name: string, publicKey: string) =>
      h.lifecycle.enroll({
        name,
        publicKey,
        version: "1.0.0",
        attributes: {},
        source: null,
        machineIdRange: { min: 1, max: 65_535 },
      });
    const other = generateKeyPair();
    await pending("rack-a", key());
    await pending("rack-b", key());
    // rack-b's name expects a key it does not have, through the scenario's own `key:`.
    const spec = `meta:\n  name: keyed\n  version: 1\nracks:\n  - name: rack-a\n  - name: rack-b\n    key: ${keyFingerprint(other.publicKey)}\ngears: []\nwires: []\n`;
    const plan = await scenarios.plan(spec);
    expect(plan.racks.map((r) => [r.name, r.action])).toEqual([
      ["rack-a", "adopt"],
      ["rack-b", "wait"],
    ]);
    const dry = await scenarios.import(spec, { ...alice, dryRun: true, activate: true });
    expect(dry.activation).toMatchObject({ adopted: ["rack-a"], waiting: ["rack-b"] });
    await scenarios.import(spec, { ...alice, dryRun: false, activate: false });
    const done = await scenarios.activate("keyed", alice);
    expect(done.activation).toMatchObject({ adopted: ["rack-a"], waiting: ["rack-b"] });
    expect(h.directory.rackByName("rack-b")?.status).toBe("pending");
  });
});
