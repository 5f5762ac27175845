// Enrollment tokens against a real Mixer (issue 16 item 1): a token adopts the Racks whose names it admits on their
// first hello, never more than its uses even when they all hello at once; a refused token leaves the Rack pending with
// the reason in the audit log (once, not per hello); revoked at once; the secret nowhere but its one answer.
import { randomBytes } from "node:crypto";
import { MixerHarness, ScriptedRack } from "@fluxrig/testkit";
import { describe, expect, test } from "vitest";
import { readRegistry } from "./support/registry-file.js";

interface Created {
  id: string;
  pattern: string;
  uses: number;
  used: number;
  state: string;
  secret: string;
}
interface AuditPage {
  items: Array<{
    kind: string;
    actor: string;
    cause: string;
    name: string | null;
    to_status: string | null;
    details: Record<string, unknown> | null;
  }>;
}

describe("enrollment tokens", () => {
  test("adopt matching names on the first hello up to their uses; refusals leave Racks pending with the reason", async () => {
    await using h = await MixerHarness.create();
    const nc = await h.client();
    const create = async (pattern: string, uses: number) => {
      const res = await h.api<Created>("/api/v1/enrollment-tokens", {
        method: "POST",
        json: { pattern, uses, expires_in_seconds: 3600 },
      });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body).toMatchObject({ pattern, uses, used: 0, state: "usable" });
      expect(res.body.secret).toMatch(new RegExp(`^fet_${res.body.id}_[A-Za-z0-9_-]{43}$`));
      return res.body;
    };
    const edge = await create("edge-*", 2);
    const lab = await create("lab-??", 5);

    // Four Racks present the 2-use token at once: exactly two are adopted, two stay pending.
    const racks = ["edge-1", "edge-2", "edge-3", "edge-4"].map((n) => new ScriptedRack(nc, n).listen());
    const replies = await Promise.all(racks.map((r) => r.hello({ enrollmentToken: edge.secret })));
    const statuses = replies.map((r) => r.status).sort();
    expect(statuses).toEqual(["active", "active", "pending", "pending"]);
    for (const reply of replies.filter((r) => r.status === "active")) expect(reply.passport).toBeDefined();

    // A name the pattern does not admit, and a token nobody made: pending. A matching name: adopted.
    const lab100 = new ScriptedRack(nc, "lab-100").listen();
    expect((await lab100.hello({ enrollmentToken: lab.secret })).status).toBe("pending");
    const stranger = new ScriptedRack(nc, "lab-02").listen();
    const forged = `fet_${randomBytes(6).toString("hex")}_${randomBytes(32).toString("base64url")}`;
    expect((await stranger.hello({ enrollmentToken: forged })).status).toBe("pending");
    const lab01 = new ScriptedRack(nc, "lab-01").listen();
    expect((await lab01.hello({ enrollmentToken: lab.secret })).status).toBe("active");

    // A pending Rack hello-ing again with the same refused token adds no second audit event; the right token
    // adopts it on its next hello.
    expect((await lab100.hello({ enrollmentToken: lab.secret })).status).toBe("pending");
    expect((await stranger.hello({ enrollmentToken: lab.secret })).status).toBe("active");

    // Revoked: it adopts nobody from then on, and a second revoke is not_found.
    expect((await h.api(`/api/v1/enrollment-tokens/${lab.id}`, { method: "DELETE" })).status).toBe(200);
    expect((await h.api(`/api/v1/enrollment-tokens/${lab.id}`, { method: "DELETE" })).status).toBe(404);
    const late = new ScriptedRack(nc, "lab-03").listen();
    expect((await late.hello({ enrollmentToken: lab.secret })).status).toBe("pending");

    // The list: the used-up token with its state; the revoked one gone; no secrets.
    const listed = await h.api<Array<Omit<Created, "secret">>>("/api/v1/enrollment-tokens");
    expect(listed.body).toEqual([
      expect.objectContaining({ id: edge.id, used: 2, uses: 2, state: "used_up" }),
    ]);

    const events = await h.api<AuditPage>("/api/v1/events?limit=500");
    const used = events.body.items.filter((e) => e.kind === "enrollment_token_used");
    expect(used.map((e) => e.details?.token).sort()).toEqual([edge.id, edge.id, lab.id, lab.id].sort());
    expect(used.map((e) => e.name).sort()).toEqual(
      [
        ...replies.flatMap((r, i) => (r.status === "active" ? [racks[i]!.name] : [])),
        "lab-01",
        "lab-02",
      ].sort(),
    );
    const adoptions = events.body.items.filter(
      (e) => e.kind === "status_changed" && e.to_status === "active" && e.cause === "enrollment_token",
    );
    expect(adoptions).toHaveLength(4);
    const refused = events.body.items
      .filter((e) => e.kind === "enrollment_token_refused")
      .map((e) => [e.name, e.details?.reason, e.details?.token]);
    expect(refused).toEqual(
      expect.arrayContaining([
        ["lab-100", "name_mismatch", lab.id],
        ["lab-02", "unknown", null],
        ["lab-03", "unknown", null],
      ]),
    );
    // One per Rack and reason: lab-100's second hello added nothing; the two losers of the race say used_up.
    expect(refused.filter(([name]) => name === "lab-100")).toHaveLength(1);
    expect(refused.filter(([, reason]) => reason === "used_up")).toHaveLength(2);

    // The secret is nowhere but its one answer: not in the log, the audit log, the table or any list.
    const log = h.mixer!.output();
    await h.stop();
    await readRegistry(h.dataDir, async (q) => {
      const rows = await q("SELECT id, used FROM enrollment_tokens ORDER BY id");
      expect(rows).toEqual([{ id: edge.id, used: 2 }]);
      const all = JSON.stringify(
        [await q("SELECT * FROM audit_events"), await q("SELECT * FROM enrollment_tokens")],
        (_k, v) => (typeof v === "bigint" ? v.toString() : v),
      );
      for (const secret of [edge.secret, lab.secret]) expect(all).not.toContain(secret);
    });
    const text = log + JSON.stringify(events.body) + JSON.stringify(listed.body);
    expect(text).toContain("enrollment");
    for (const secret of [edge.secret, lab.secret, forged]) expect(text).not.toContain(secret);
  });

  test("bad input is refused with a clear error and nothing created", async () => {
    await using h = await MixerHarness.create();
    for (const json of [
      { pattern: "Edge-*", uses: 1, expires_in_seconds: 3600 },
      { pattern: "edge-*", uses: 0, expires_in_seconds: 3600 },
      { pattern: "edge-*", uses: 1, expires_in_seconds: 1 },
      { pattern: "edge-*", uses: 1 },
    ]) {
      const res = await h.api<{ error: { code: string } }>("/api/v1/enrollment-tokens", {
        method: "POST",
        json,
      });
      expect(res.status, JSON.stringify(json)).toBe(400);
    }
    expect((await h.api<unknown[]>("/api/v1/enrollment-tokens")).body).toEqual([]);
  });
});
