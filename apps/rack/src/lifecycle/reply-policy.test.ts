// Hello replies mapped to decisions: statuses, refusals by wire code, and a foreign cluster key.
import type { HelloReply } from "@fluxrig/wire";
import { describe, expect, test } from "vitest";
import { decideReply } from "./reply-policy.js";

const PIN = "vkrr4WukSs-v5HXOHNCTUGLmgvCidN3YtD_XEX4Mb2A";
const base: HelloReply = {
  v: 1,
  status: "pending",
  cluster_public_key: PIN,
  cluster_key_id: "ed25519:AAAAAAAAAAAAAAAA",
  heartbeat_interval_ms: 5_000,
};
const refused = (code: NonNullable<HelloReply["error"]>["code"]): HelloReply => ({
  ...base,
  status: "refused",
  error: { code, message: `because ${code}` },
});

describe("decideReply", () => {
  test("a reply naming another cluster key is refused before anything else is read", () => {
    const other = { ...base, status: "active" as const, cluster_public_key: "A".repeat(43) };
    expect(decideReply(other, PIN)).toMatchObject({
      kind: "foreign_cluster",
      offeredKeyId: base.cluster_key_id,
    });
  });

  test("without a pin any cluster key is accepted (trust on first enrollment)", () => {
    expect(decideReply(base, null)).toMatchObject({ kind: "pending" });
  });

  test("statuses map to their decisions", () => {
    expect(decideReply(base, PIN).kind).toBe("pending");
    expect(decideReply({ ...base, status: "active" }, PIN)).toMatchObject({
      kind: "active",
      passport: undefined,
    });
    expect(decideReply({ ...base, status: "rejected" }, PIN).kind).toBe("rejected");
    expect(decideReply({ ...base, status: "revoked" }, PIN).kind).toBe("revoked");
  });

  test("refusals are mapped by code, never by message text", () => {
    expect(decideReply(refused("passport_invalid"), PIN).kind).toBe("passport_refused");
    expect(decideReply(refused("revoked"), PIN).kind).toBe("revoked");
    expect(decideReply(refused("rejected"), PIN).kind).toBe("rejected");
    expect(decideReply(refused("replay"), PIN)).toMatchObject({
      kind: "retry",
      pace: "enroll",
      level: "warn",
    });
    // Another key holds the name (this machine was replaced): passive, not merely retried.
    expect(decideReply(refused("name_taken"), PIN)).toMatchObject({ kind: "name_taken" });
    expect(decideReply(refused("registry_full"), PIN)).toMatchObject({ kind: "retry", pace: "refused" });
    const stale = decideReply(refused("stale"), PIN);
    expect(stale.kind === "retry" && stale.reason).toMatch(/clock/);
  });
});
