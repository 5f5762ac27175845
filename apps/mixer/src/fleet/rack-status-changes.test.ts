// The lifecycle over the group-commit writer and a real DuckDB file: adoption with its passport, replace, hello facts.
import { generateKeyPair, publicKeyToBase64url, verifyPassport } from "@fluxrig/passport";
import { waitFor } from "@fluxrig/testkit";
import type { BusCredential, ScenarioPush } from "@fluxrig/wire";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  DAY,
  type LifecycleHarness,
  openLifecycleHarness,
  TEST_CLUSTER_KEY,
} from "../../test/support/lifecycle-test-harness.js";
import type { TestRegistry } from "../../test/support/registry-test-harness.js";
import type { BusCredentials, CredentialSubject } from "../bus-auth/bus-credentials.js";
import { BusAuthError } from "../bus-auth/errors.js";
import type { RackDirectory } from "../registry/rack-directory.js";
import { UnexpectedStatusError } from "../registry/registry-errors.js";
import type { RegistryWriter } from "../registry/registry-writer.js";
import type { RevocationList } from "../registry/revocation-list.js";
import type { EnrollInput, RackStatusChanges } from "./rack-status-changes.js";

let h: LifecycleHarness;
let t: TestRegistry;
let directory: RackDirectory;
let writer: RegistryWriter;
let lifecycle: RackStatusChanges;
let pushes: string[];

beforeEach(async () => {
  h = await openLifecycleHarness();
  ({ t, directory, writer, lifecycle, pushes } = h);
});

afterEach(async () => {
  await h.close();
});

const rackKeys = new Map<number, string>();
/** A real Ed25519 public key per Rack number (passports name it, and the issuer checks its form). */
function rackKey(n: number): string {
  let key = rackKeys.get(n);
  if (key === undefined) {
    key = publicKeyToBase64url(generateKeyPair().publicKey);
    rackKeys.set(n, key);
  }
  return key;
}

function enrollInput(n: number, adopt = true): EnrollInput {
  return {
    name: `rack-${n}`,
    publicKey: rackKey(n),
    version: "1.0.0",
    attributes: { hostname: `host-${n}` },
    source: "test",
    machineIdRange: { min: 1, max: 65_535 },
    ...(adopt ? { adopt: { cause: "auto_adopt", actor: "mixer" } } : {}),
  };
}

describe("RackStatusChanges over the writer", () => {
  it("enrolls and adopts in ONE transaction: never active without its passport recorded", async () => {
    const { rack, passport } = await lifecycle.enroll(enrollInput(1));
    expect(writer.stats.batches).toBe(1);
    expect(
      verifyPassport(passport!, {
        clusterPublicKey: TEST_CLUSTER_KEY.publicKey,
        rackPublicKey: rackKey(1),
        name: "rack-1",
        now: t.clock.now(),
      }),
    ).toMatchObject({ serial: 1, status: "active" });
    expect(await t.store.getByEntityId(rack.entityId)).toMatchObject({
      status: "active",
      lifecycle: { passportSerial: 1, passportsValidUntil: new Date(t.clock.now().getTime() + DAY) },
    });
    const events = await t.store.listAudit({ limit: 10 });
    expect(events.map((e) => [e.kind, e.toStatus, e.cause])).toEqual([
      ["rack_enrolled", "pending", "enrollment"],
      ["status_changed", "active", "auto_adopt"],
      ["passport_issued", null, "auto_adopt"],
    ]);
    // The hello that enrolled it carries the passport: nothing is pushed (no scenario is active here).
    expect(pushes).toEqual([]);
  });

  it("commits a burst of enrollments together, each with a distinct MachineID and a valid chain", async () => {
    const enrolled = await Promise.all(
      Array.from({ length: 100 }, (_, i) => lifecycle.enroll(enrollInput(i))),
    );
    expect(writer.stats).toMatchObject({ batches: 1, writes: 100 });
    expect(new Set(enrolled.map((e) => e.rack.machineId)).size).toBe(100);
    expect(await t.store.verifyAuditChain()).toMatchObject({ ok: true, count: 300 });
    expect(await t.store.countByStatus()).toMatchObject({ active: 100 });
  });

  it("replaces a Rack's key in one write, keeping its MachineID and clearing the name's conflicts", async () => {
    const { rack: old } = await lifecycle.enroll(enrollInput(1));
    await lifecycle.recordNameConflict({
      name: "rack-1",
      claimedPublicKey: rackKey(99),
      holderEntityId: old.entityId,
      source: "x",
    });
    expect(await t.store.listConflicts("rack-1")).toHaveLength(1);
    pushes.length = 0;
    const created = await lifecycle.replace(old, {
      publicKey: rackKey(99),
      source: "x",
      attributes: { hostname: "rebuilt", os: "linux", arch: "arm64" },
      version: "2.0.0",
      keepMachineId: true,
      why: { cause: "operator", actor: "alice" },
    });
    expect(created).toMatchObject({ entityId: old.entityId, machineId: old.machineId, status: "pending" });
    // The claimant's report becomes the new row's evidence (adopted attributes never change afterwards).
    expect(directory.rackByName("rack-1")).toMatchObject({
      version: "2.0.0",
      attributes: { hostname: "rebuilt", os: "linux", arch: "arm64", public_key: rackKey(99) },
    });
    expect(directory.rackByName("rack-1")?.lifecycle.publicKey).toBe(rackKey(99));
    expect(directory.rackByPublicKey(rackKey(1))).toBeUndefined();
    expect(await t.store.listConflicts("rack-1")).toEqual([]);
    expect((await t.db.query("SELECT count(*) FROM machine_id_tombstones")).rows).toEqual([[0n]]);
    const kinds = (await t.store.listAudit({ afterSeq: 3, limit: 10 })).map((e) => `${e.kind}:${e.toStatus}`);
    expect(kinds).toEqual([
      "status_changed:revoked",
      "bus_key_revoked:null",
      "rack_deleted:null",
      "rack_enrolled:pending",
    ]);
    expect(pushes).toEqual(["fluxrig.rack.rack-1.passport", "fluxrig.rack.rack-1.passport"]);
  });

  it("an adopted Rack with no host evidence (replaced before schema 2) records its first report, once", async () => {
    const { rack: old } = await lifecycle.enroll(enrollInput(1));
    const created = await lifecycle.replace(old, {
      publicKey: rackKey(99),
      source: null,
      keepMachineId: false,
      why: { cause: "operator", actor: "alice" },
    });
    const { rack } = await lifecycle.activate(created, { cause: "replaced", actor: "alice", kind: "issued" });
    expect(rack.attributes).toEqual({ public_key: rackKey(99) });
    const report = { hostname: "rebuilt", os: "linux", arch: "arm64" };
    const now = new Date();
    await lifecycle.noteHello(rack, { version: "2.0.0", attributes: report, source: null, now });
    expect(directory.rackByName("rack-1")?.attributes).toEqual({ ...report, public_key: rackKey(99) });
    const events = await t.store.listAudit({ limit: 100 });
    expect(events.filter((e) => e.kind === "attributes_recorded")).toHaveLength(1);
    // From then on they are immutable like any adopted Rack's.
    const recorded = directory.rackByName("rack-1")!;
    await lifecycle.noteHello(recorded, {
      version: "2.0.0",
      attributes: { ...report, hostname: "x" },
      source: null,
      now,
    });
    expect(directory.rackByName("rack-1")?.attributes.hostname).toBe("rebuilt");
  });

  it("removes only what it expects: a Rack adopted meanwhile is left alone", async () => {
    const { rack } = await lifecycle.enroll(enrollInput(1, false));
    await lifecycle.activate(rack, { cause: "operator", actor: "alice" });
    const refused = await lifecycle
      .remove(rack, { cause: "pending_ttl", actor: "mixer", expectFrom: "pending" })
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(UnexpectedStatusError);
    expect(directory.rack(rack.entityId)?.status).toBe("active");
  });

  it("keeps hello facts in memory until the flush; a pending Rack's new attributes are written at once", async () => {
    const { rack } = await lifecycle.enroll(enrollInput(1, false));
    const later = t.clock.advance(1_000);
    const same = { hostname: "host-1" };
    await lifecycle.noteHello(rack, { version: "1.1.0", attributes: same, source: "y", now: later });
    expect(await t.store.getByEntityId(rack.entityId)).toMatchObject({
      version: "1.0.0",
      lifecycle: { helloCount: 1 },
    });
    expect(await lifecycle.flushHelloFacts()).toBe(1);
    expect(await t.store.getByEntityId(rack.entityId)).toMatchObject({
      version: "1.1.0",
      lifecycle: { helloCount: 2, lastSource: "y" },
    });
    const moved = { hostname: "moved" };
    const noted = await lifecycle.noteHello(rack, {
      version: "1.1.0",
      attributes: moved,
      source: "y",
      now: later,
    });
    expect(noted.attributes).toEqual({ hostname: "moved", public_key: rackKey(1) });
    expect(await t.store.getByEntityId(rack.entityId)).toMatchObject({ attributes: { hostname: "moved" } });
    // Adopted: attributes are immutable, a hello cannot change them any more.
    const { rack: adopted } = await lifecycle.activate(rack, { cause: "operator", actor: "alice" });
    const evil = { hostname: "evil" };
    const after = await lifecycle.noteHello(adopted, {
      version: "1.1.0",
      attributes: evil,
      source: "y",
      now: later,
    });
    expect(after.attributes.hostname).toBe("moved");
    await lifecycle.flushHelloFacts();
    expect(await t.store.getByEntityId(rack.entityId)).toMatchObject({
      attributes: { hostname: "moved" },
      lifecycle: { helloCount: 4 },
    });
  });
});

/**
 * A BusCredentials that records what it was asked: every credential issued (with the subject it was cut for), and
 * every revocation push with the list as committed when it ran. Pushes fail while `failing` is above zero and can be
 * held open with `hold`.
 */
class RecordingCredentials implements BusCredentials {
  readonly mode = "jwt" as const;
  readonly issued: CredentialSubject[] = [];
  /** Each push: the revoked keys it would have sent, sorted. */
  readonly pushed: string[][] = [];
  failing = 0;
  #gate: Promise<void> | undefined;
  #open: (() => void) | undefined;

  constructor(
    private readonly list: () => RevocationList,
    private readonly log: string[],
  ) {}

  issue(rack: CredentialSubject, now: Date): BusCredential {
    this.issued.push(rack);
    return {
      jwt: `jwt-${rack.name}-${this.issued.length}`,
      expires_at: new Date(now.getTime() + DAY).toISOString(),
    };
  }

  async pushRevocations(): Promise<void> {
    const keys = [...this.list().entries().keys()].sort();
    this.log.push(`revocations:${keys.length}`);
    this.pushed.push(keys);
    if (this.#gate) await this.#gate;
    if (this.failing > 0) {
      this.failing--;
      throw new BusAuthError("claims-update-refused", "nats-server refused the JWT: test");
    }
  }

  /** Holds every push until `release()` is called. */
  hold(): void {
    this.#gate = new Promise((resolve) => {
      this.#open = resolve;
    });
  }

  release(): void {
    this.#gate = undefined;
    this.#open?.();
  }

  async close(): Promise<void> {}
}

describe("RackStatusChanges and the bus", () => {
  let bus: RecordingCredentials;
  let log: string[];
  let active: ScenarioPush | null;

  /** The push the fake scenario source gives `name`: a gear and a wire of its own while `active` is set. */
  const scenarioFor = (name: string, now: Date): ScenarioPush | null =>
    active && {
      ...active,
      gears: [{ name: `${name}-src`, type: "test.source", config: {} }],
      ts: now.toISOString(),
    };

  beforeEach(async () => {
    await h.close();
    log = [];
    active = null;
    bus = new RecordingCredentials(() => h.revocations, log);
    h = await openLifecycleHarness({
      credentials: bus,
      scenarios: { pushFor: scenarioFor },
      revocations: { retryMs: 10, retryMaxMs: 20 },
    });
    ({ t, directory, writer, lifecycle, pushes } = h);
    const publish = h.messages.push.bind(h.messages);
    // Every push published, in one log with the revocation pushes, to check their order.
    h.messages.push = (...items) => {
      for (const item of items) log.push(`publish:${item.subject}:${String(item.body.kind ?? "scenario")}`);
      return publish(...items);
    };
  });

  const passportPushes = () => h.messages.filter((m) => m.subject.endsWith(".passport")).map((m) => m.body);

  it("reject, revoke, rm and replace each push the revocation list after the commit, before they resolve", async () => {
    const { rack: pending } = await lifecycle.enroll(enrollInput(1, false));
    const { rack: adopted } = await lifecycle.enroll(enrollInput(2));
    const { rack: removed } = await lifecycle.enroll(enrollInput(3));
    const { rack: old } = await lifecycle.enroll(enrollInput(4));
    expect(bus.pushed).toEqual([]);
    log.length = 0;

    await lifecycle.setStatus(pending, "rejected", { cause: "operator", actor: "alice" });
    // The Rack is told first (it may still hear it), then the bus cuts it off; resolved only after that.
    expect(log).toEqual(["publish:fluxrig.rack.rack-1.passport:status", "revocations:1"]);
    expect(bus.pushed.at(-1)).toEqual([rackKey(1)]);

    await lifecycle.setStatus(adopted, "revoked", { cause: "operator", actor: "alice" });
    expect(bus.pushed.at(-1)).toEqual([rackKey(1), rackKey(2)].sort());

    await lifecycle.remove(removed, { cause: "operator", actor: "alice" });
    expect(bus.pushed.at(-1)).toContain(rackKey(3));

    await lifecycle.replace(old, {
      publicKey: rackKey(99),
      source: null,
      keepMachineId: true,
      why: { cause: "operator", actor: "alice" },
    });
    expect(bus.pushed).toHaveLength(4);
    expect(bus.pushed.at(-1)).toEqual([rackKey(1), rackKey(2), rackKey(3), rackKey(4)].sort());
    expect(bus.pushed.at(-1)).not.toContain(rackKey(99));
    expect(h.counters.get("bus.revocation_pushed")).toBe(4);
    // Refusals earn no credential.
    expect(bus.issued.map((s) => s.status)).not.toContain("rejected");
    expect(bus.issued.map((s) => s.status)).not.toContain("revoked");
  });

  it("offline, back online and a refused change push nothing", async () => {
    const { rack } = await lifecycle.enroll(enrollInput(1));
    const offline = await lifecycle.setStatus(rack, "offline", { cause: "presence", actor: "mixer" });
    await lifecycle.setStatus(offline, "active", { cause: "presence", actor: "mixer" });
    // Stale: the Rack is active again, so this "revoke from offline" is refused, with nothing written or pushed.
    await expect(
      lifecycle.setStatus(offline, "revoked", { cause: "operator", actor: "alice" }),
    ).rejects.toBeInstanceOf(UnexpectedStatusError);
    await lifecycle
      .remove(rack, { cause: "pending_ttl", actor: "mixer", expectFrom: "pending" })
      .catch(() => {});
    expect(bus.pushed).toEqual([]);
    expect(h.revocations.size).toBe(0);
  });

  it("a failed push does not fail the operation: it is logged, counted and retried until the bus has it", async () => {
    const { rack } = await lifecycle.enroll(enrollInput(1));
    bus.failing = 2;
    const revoked = await lifecycle.setStatus(rack, "revoked", { cause: "operator", actor: "alice" });
    expect(revoked.status).toBe("revoked");
    expect(directory.rack(rack.entityId)?.status).toBe("revoked");
    expect(h.counters.get("bus.revocation_push_failed")).toBe(1);
    await waitFor(() => h.counters.get("bus.revocation_pushed") === 1, {
      message: "the revocation push retried until accepted",
      timeoutMs: 5_000,
    });
    expect(h.counters.get("bus.revocation_push_failed")).toBe(2);
    expect(bus.pushed).toEqual([[rackKey(1)], [rackKey(1)], [rackKey(1)]]);
  });

  it("concurrent cut-offs share pushes, and each resolves only after a push that carries its key", async () => {
    const racks = await Promise.all([1, 2, 3, 4, 5].map((n) => lifecycle.enroll(enrollInput(n, false))));
    bus.hold();
    const first = lifecycle.setStatus(racks[0]!.rack, "rejected", { cause: "operator", actor: "alice" });
    await waitFor(() => bus.pushed.length === 1, { message: "the first push started", timeoutMs: 5_000 });
    let settled = 0;
    const rest = racks
      .slice(1)
      .map(({ rack }) =>
        lifecycle.setStatus(rack, "rejected", { cause: "operator", actor: "alice" }).then(() => settled++),
      );
    // The four commit together and wait behind the push in flight, which cannot carry their keys.
    await waitFor(() => h.revocations.size === 5, { message: "all five committed", timeoutMs: 5_000 });
    expect(settled).toBe(0);
    bus.release();
    await Promise.all([first, ...rest]);
    expect(bus.pushed).toEqual([[rackKey(1)], racks.map((_, i) => rackKey(i + 1)).sort()]);
  });

  it("adoption carries the credential of the Rack's new grant with its passport, then its scenario", async () => {
    active = { v: 1, scenario: { name: "demo", version: "1" }, gears: [], wires: [], ts: "" };
    const { rack } = await lifecycle.enroll(enrollInput(1, false));
    log.length = 0;
    await lifecycle.activate(rack, { cause: "operator", actor: "alice", kind: "issued" });
    expect(log).toEqual([
      "publish:fluxrig.rack.rack-1.passport:issued",
      "publish:fluxrig.rack.rack-1.scenario:scenario",
    ]);
    expect(bus.issued).toEqual([
      {
        name: "rack-1",
        status: "active",
        publicKey: rackKey(1),
        scenario: expect.objectContaining({ gears: [expect.objectContaining({ name: "rack-1-src" })] }),
      },
    ]);
    expect(passportPushes().at(-1)).toMatchObject({
      kind: "issued",
      status: "active",
      passport: expect.any(Object),
      bus_credential: { jwt: "jwt-rack-1-1", expires_at: expect.any(String) },
    });
    // Enrolled and adopted at once (auto-adopt, Path B): the hello's reply carries the passport and its credential,
    // so no passport is pushed and no credential issued for a push; its scenario is pushed.
    const issuedBefore = bus.issued.length;
    log.length = 0;
    await lifecycle.enroll(enrollInput(2));
    expect(log).toEqual(["publish:fluxrig.rack.rack-2.scenario:scenario"]);
    expect(bus.issued).toHaveLength(issuedBefore);
    // Renewal: a fresh credential too.
    await lifecycle.activate(directory.rackByName("rack-1")!, {
      cause: "renewal",
      actor: "mixer",
      kind: "renewed",
    });
    expect(passportPushes().at(-1)).toMatchObject({
      kind: "renewed",
      bus_credential: { jwt: "jwt-rack-1-2" },
    });
    expect(bus.pushed).toEqual([]);
  });

  it("a scenario change pushed to an adopted Rack follows a credential push for its new grant", async () => {
    const { rack } = await lifecycle.enroll(enrollInput(1));
    await lifecycle.enroll(enrollInput(2, false));
    lifecycle.pushScenarioChange("rack-1");
    // No scenario active: nothing to push, no credential (enrolling with adoption issued none either: its hello's
    // reply carries it).
    expect(bus.issued).toHaveLength(0);
    active = { v: 1, scenario: { name: "demo", version: "2" }, gears: [], wires: [], ts: "" };
    log.length = 0;
    lifecycle.pushScenarioChange("rack-1");
    expect(log).toEqual([
      "publish:fluxrig.rack.rack-1.passport:credential",
      "publish:fluxrig.rack.rack-1.scenario:scenario",
    ]);
    expect(passportPushes().at(-1)).toEqual({
      v: 1,
      kind: "credential",
      status: "active",
      bus_credential: { jwt: "jwt-rack-1-1", expires_at: expect.any(String) },
      ts: expect.any(String),
    });
    expect(bus.issued.at(-1)).toMatchObject({ status: "active", scenario: { scenario: { version: "2" } } });
    // An offline Rack is still adopted: the same.
    await lifecycle.setStatus(rack, "offline", { cause: "presence", actor: "mixer" });
    lifecycle.pushScenarioChange("rack-1");
    expect(bus.issued.at(-1)).toMatchObject({ status: "offline" });
    expect(passportPushes().at(-1)).toMatchObject({ kind: "credential", status: "active" });
    // A pending Rack earns no scenario grant: its scenario push goes alone.
    log.length = 0;
    lifecycle.pushScenarioChange("rack-2");
    expect(log).toEqual(["publish:fluxrig.rack.rack-2.scenario:scenario"]);
    // A hello's session recovery pushes the scenario as it is: its reply carries the credential, and a credential
    // push would make the Rack reconnect.
    log.length = 0;
    const issuedBefore = bus.issued.length;
    lifecycle.pushScenario("rack-1");
    expect(log).toEqual(["publish:fluxrig.rack.rack-1.scenario:scenario"]);
    expect(bus.issued).toHaveLength(issuedBefore);
  });

  it("in none mode nothing is issued: passports and scenarios go without a credential", async () => {
    await h.close();
    h = await openLifecycleHarness({
      scenarios: {
        pushFor: (_name, now) => ({
          v: 1,
          scenario: { name: "demo", version: "1" },
          gears: [],
          wires: [],
          ts: now.toISOString(),
        }),
      },
    });
    ({ lifecycle } = h);
    await lifecycle.enroll(enrollInput(1));
    lifecycle.pushScenarioChange("rack-1");
    expect(h.messages.map((m) => `${m.subject}:${String(m.body.kind ?? "scenario")}`)).toEqual([
      "fluxrig.rack.rack-1.scenario:scenario",
      "fluxrig.rack.rack-1.scenario:scenario",
    ]);
    expect(h.messages.some((m) => "bus_credential" in m.body)).toBe(false);
  });

  it("prunes expired revocations and pushes the shorter list; nothing to prune pushes nothing", async () => {
    const { rack } = await lifecycle.enroll(enrollInput(1, false));
    await lifecycle.setStatus(rack, "rejected", { cause: "operator", actor: "alice" });
    expect(await lifecycle.pruneRevocations()).toBe(0);
    expect(bus.pushed).toHaveLength(1);
    // The harness's passports live one day: the horizon.
    t.clock.advance(DAY + 2_000);
    expect(await lifecycle.pruneRevocations()).toBe(1);
    expect(h.revocations.size).toBe(0);
    expect(bus.pushed).toEqual([[rackKey(1)], []]);
    expect(h.counters.get("bus.revocation_pruned")).toBe(1);
  });
});
