// The bootstrap path's reply: what a reply on the inbox every bootstrap holder reads may say.
import type { HelloReply } from "@fluxrig/wire";
import { describe, expect, test } from "vitest";
import { isBootstrapInbox, minimalReply } from "./hello-handler.js";

const full: HelloReply = {
  v: 1,
  status: "active",
  entity_id: "216173881624166400",
  machine_id: 12,
  cluster_public_key: "A".repeat(43),
  cluster_key_id: "ed25519:AAAAAAAAAAAAAAAA",
  heartbeat_interval_ms: 10_000,
  passport: { payload: "cGF5bG9hZA", sig: "c2ln" } as HelloReply["passport"] & object,
  bus_credential: { jwt: "a.b.c", expires_at: "2026-12-07T12:00:00.000Z" },
};

describe("isBootstrapInbox", () => {
  test.each([
    ["_INBOX._bootstrap.abc.1", true],
    ["_INBOX._bootstrap", false],
    ["_INBOX._bootstrapx.abc", false],
    ["_INBOX.rack-1.abc", false],
    ["_INBOX.abc", false],
    [undefined, false],
  ])("%s: %s", (subject, expected) => {
    expect(isBootstrapInbox(subject)).toBe(expected);
  });
});

describe("minimalReply", () => {
  test("keeps the status, the Cluster key, the interval and the credential; never the entity id, MachineID or passport", () => {
    expect(minimalReply(full)).toEqual({
      v: 1,
      status: "active",
      cluster_public_key: full.cluster_public_key,
      cluster_key_id: full.cluster_key_id,
      heartbeat_interval_ms: 10_000,
      bus_credential: full.bus_credential,
    });
  });

  test("a refusal keeps its error; a reply without a credential (none mode) has no credential key", () => {
    const { bus_credential: _, entity_id: __, machine_id: ___, passport: ____, ...rest } = full;
    const refused: HelloReply = { ...rest, status: "refused", error: { code: "conflict", message: "x" } };
    expect(minimalReply(refused)).toEqual({ ...rest, status: "refused", error: refused.error });
    expect(Object.keys(minimalReply({ ...rest, status: "pending" }))).not.toContain("bus_credential");
  });
});
