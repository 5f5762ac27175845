// A rebuilt machine with the real Rack and the real Mixer: its new key claims a taken name, the operator replaces,
// and the new Rack holds the passport the replace answered, with its hardware evidence on record.
import { hostname } from "node:os";
import { MixerHarness, waitFor } from "@fluxrig/testkit";
import { afterAll, beforeAll, expect, test } from "vitest";
import {
  fastMixerEnv,
  type RackView,
  rackAction,
  spawnWatchedRack,
  waitForRack,
} from "./support/real-fleet.js";

let h: MixerHarness;

beforeAll(async () => {
  h = await MixerHarness.create({ env: fastMixerEnv() });
});
afterAll(async () => {
  await h?.[Symbol.asyncDispose]();
});

interface AuditEvent {
  kind: string;
  cause: string;
  details: { serial?: number } | null;
}

test("racks replace: the new Rack (no Cluster Key pinned yet) holds serial 1, as printed, and its evidence", async () => {
  const name = "rack-rebuilt-01";
  await using old = await spawnWatchedRack(h, { name, label: `${name}-old` });
  await waitForRack(h, name, (r) => r.status === "pending", { message: "pending" });
  await rackAction(h, name, "adopt");
  await old.rack.waitForJson({ msg: "passport: stored state.flux" });
  await old.rack.stop();

  // The rebuilt machine: a fresh state dir, so a new key and no pinned Cluster Key. Its hellos are refused.
  await using rebuilt = await spawnWatchedRack(h, { name, label: `${name}-new` });
  await rebuilt.rack.waitForJson({ msg: /^hello refused: name_taken/ });
  await waitFor(
    async () =>
      (await h.api<{ items: unknown[] }>(`/api/v1/conflicts?name=${name}`)).body.items.length > 0 ||
      undefined,
    { message: "the claim is recorded" },
  );
  const replaced = await h.api<{ new: RackView & { attributes: Record<string, unknown> } }>(
    `/api/v1/racks/${name}/replace`,
    { method: "POST", json: {} },
  );
  expect(replaced.status).toBe(200);
  const created = replaced.body.new;
  expect(created).toMatchObject({ status: "active", passport: { serial: 1 } });
  // What the new machine reported in its refused hellos is its row's evidence (immutable from now on).
  expect(created.attributes).toMatchObject({ hostname: hostname().slice(0, 253), arch: process.arch });
  expect(created.attributes.addresses).toBeUndefined();

  // It could not verify the pushed passport (no pin yet), asked, and got that same passport: serial 1.
  const stored = await rebuilt.rack.waitForJson({ msg: "passport: stored state.flux" });
  expect(stored).toMatchObject({ entity_id: created.entity_id, serial: 1 });
  await waitForRack(h, name, (r) => r.stats?.rack_status === "active", { message: "the new Rack runs" });
  const events = await h.api<{ items: AuditEvent[] }>("/api/v1/events?limit=1000");
  const enrolled = events.body.items.findIndex((e) => e.kind === "rack_enrolled" && e.cause === "replaced");
  const issued = events.body.items.slice(enrolled).filter((e) => e.kind === "passport_issued");
  expect(issued.map((e) => e.details?.serial)).toEqual([1]);
});
