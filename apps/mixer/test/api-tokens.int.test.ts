// Named API tokens against a real Mixer (issue 16 item 2): roles enforced per route, the token's name as the audit
// actor, revocation effective at once, tokens surviving a restart, and the secret nowhere but its one answer.
import { createHash } from "node:crypto";
import { MixerHarness, ScriptedRack } from "@fluxrig/testkit";
import { describe, expect, test } from "vitest";
import { readRegistry } from "./support/registry-file.js";

interface Created {
  name: string;
  role: string;
  secret: string;
}
interface ErrorBody {
  error: { code: string; message: string };
}
interface AuditPage {
  items: Array<{ kind: string; actor: string; details: Record<string, unknown> | null }>;
}

const bearer = (secret: string) => ({ authorization: `Bearer ${secret}` });

describe("named API tokens", () => {
  test("viewer reads, operator adopts as itself, admin revokes at once; tokens outlive a restart; secrets never leak", async () => {
    await using h = await MixerHarness.create();
    const nc = await h.client();
    const rack = new ScriptedRack(nc, "rack-t1").listen();
    expect((await rack.hello()).status).toBe("pending");

    // The bootstrap token ([api] auth_token) is the first admin.
    const create = async (name: string, role: string) => {
      const res = await h.api<Created>("/api/v1/tokens", { method: "POST", json: { name, role } });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body).toMatchObject({ name, role, created_by: "api" });
      expect(res.body.secret).toMatch(/^frt_[A-Za-z0-9_-]{43}$/);
      return res.body.secret;
    };
    const viewer = await create("dashboard", "viewer");
    const operator = await create("alice", "operator");
    const duplicate = await h.api<ErrorBody>("/api/v1/tokens", {
      method: "POST",
      json: { name: "alice", role: "admin" },
    });
    expect(duplicate.status).toBe(409);

    // A viewer reads everything and changes nothing.
    expect((await h.api("/api/v1/racks", { headers: bearer(viewer) })).status).toBe(200);
    expect((await h.api("/api/v1/events", { headers: bearer(viewer) })).status).toBe(200);
    const denied = await h.api<ErrorBody>("/api/v1/racks/rack-t1/adopt", {
      method: "POST",
      headers: bearer(viewer),
    });
    expect(denied.status).toBe(403);
    expect(denied.body.error).toMatchObject({ code: "forbidden" });
    expect(denied.body.error.message).toContain("needs the operator role");

    // An operator adopts; the audit event's actor is its name, whatever actor header it sends.
    const adopted = await h.api<{ status: string }>("/api/v1/racks/rack-t1/adopt", {
      method: "POST",
      headers: { ...bearer(operator), "x-fluxrig-actor": "mallory" },
    });
    expect(adopted.status).toBe(200);
    expect(adopted.body.status).toBe("active");
    const rackEvents = await h.api<AuditPage>("/api/v1/events?rack=rack-t1", { headers: bearer(operator) });
    expect(rackEvents.body.items).toContainEqual(
      expect.objectContaining({ kind: "status_changed", actor: "alice" }),
    );
    // ... but revoking a Rack and managing tokens are an admin's.
    expect(
      (await h.api("/api/v1/racks/rack-t1/revoke", { method: "POST", headers: bearer(operator) })).status,
    ).toBe(403);
    expect((await h.api("/api/v1/tokens", { headers: bearer(operator) })).status).toBe(403);

    // An admin revokes the viewer: refused on its very next request, no restart.
    const revoked = await h.api<{ name: string }>("/api/v1/tokens/dashboard", { method: "DELETE" });
    expect(revoked.status).toBe(200);
    const after = await h.api<ErrorBody>("/api/v1/racks", { headers: bearer(viewer) });
    expect(after.status).toBe(401);
    expect(after.body.error.code).toBe("unauthorized");

    // The audit log names each token and role; no answer after creation carries a secret.
    const events = await h.api<AuditPage>("/api/v1/events?limit=500");
    const tokenEvents = events.body.items.filter((e) => e.kind.startsWith("api_token_"));
    expect(tokenEvents.map((e) => [e.kind, e.actor, e.details?.token, e.details?.role])).toEqual([
      ["api_token_created", "api", "dashboard", "viewer"],
      ["api_token_created", "api", "alice", "operator"],
      ["api_token_revoked", "api", "dashboard", "viewer"],
    ]);
    const listed = await h.api<Array<{ name: string }>>("/api/v1/tokens");
    expect(listed.body.map((t) => t.name)).toEqual(["alice"]);
    for (const text of [JSON.stringify(events.body), JSON.stringify(listed.body)]) {
      expect(text).not.toContain(viewer);
      expect(text).not.toContain(operator);
    }

    // A restart loads the tokens from DuckDB: the operator still works, the revoked viewer still does not.
    const firstLog = h.mixer!.output();
    await h.stop();
    await readRegistry(h.dataDir, async (q) => {
      const rows = await q("SELECT name, role, secret_sha256 FROM api_tokens ORDER BY name");
      expect(rows).toEqual([
        {
          name: "alice",
          role: "operator",
          secret_sha256: createHash("sha256").update(operator).digest("hex"),
        },
      ]);
      const audit = JSON.stringify(await q("SELECT * FROM audit_events"), (_k, v) =>
        typeof v === "bigint" ? v.toString() : v,
      );
      expect(audit).not.toContain(operator);
      expect(audit).not.toContain(viewer);
    });
    await h.start();
    expect((await h.api("/api/v1/racks", { headers: bearer(operator) })).status).toBe(200);
    expect((await h.api("/api/v1/racks", { headers: bearer(viewer) })).status).toBe(401);

    // Nothing the Mixer logged, before or after the restart, holds a secret (its requests were logged).
    const log = firstLog + h.mixer!.output();
    expect(log).toContain("/api/v1/tokens");
    expect(log).not.toContain(viewer);
    expect(log).not.toContain(operator);
  });

  test("a revoked token's open event stream ends, before the revocation's own event", async () => {
    await using h = await MixerHarness.create();
    const created = await h.api<Created>("/api/v1/tokens", {
      method: "POST",
      json: { name: "wallboard", role: "viewer" },
    });
    const res = await fetch(`${h.apiUrl}/api/v1/events/stream`, { headers: bearer(created.body.secret) });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = decoder.decode((await reader.read()).value);
    expect(text).toMatch(/^id: \d+/);

    expect((await h.api("/api/v1/tokens/wallboard", { method: "DELETE" })).status).toBe(200);
    // Bounded: the revocation's event wakes the stream within the feed's poll; a stream left open fails here.
    const deadline = AbortSignal.timeout(10_000);
    for (;;) {
      const chunk = await Promise.race([
        reader.read(),
        new Promise<never>((_, reject) =>
          deadline.addEventListener("abort", () => reject(new Error("stream still open 10 s after revoke"))),
        ),
      ]);
      if (chunk.done) break;
      text += decoder.decode(chunk.value);
    }
    expect(text).not.toContain("api_token_revoked");
  });
});
