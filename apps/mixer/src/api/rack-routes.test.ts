// Rack routes: success paths, what they pass to the operations, and how bad refs, queries and bodies are refused.
import { describe, expect, test } from "vitest";
import { fakeRack } from "../../test/support/fake-fleet.js";
import { authed, buildTestApi, errorOf } from "../../test/support/test-api.js";

const RACK_A = fakeRack("rack-a", 1);

describe("GET /api/v1/racks", () => {
  test("lists by name with a next cursor, and the cursor gets the next page", async () => {
    const { app, fleet } = buildTestApi();
    const first = await app.request("/api/v1/racks?limit=2", authed());
    expect(first.status).toBe(200);
    const page = (await first.json()) as { items: Array<{ name: string }>; next: string | null };
    expect(page.items.map((r) => r.name)).toEqual(["rack-a", "rack-b"]);
    expect(page.next).toBe("rack-b");
    const second = (await (
      await app.request(`/api/v1/racks?limit=2&after=${page.next}`, authed())
    ).json()) as {
      items: Array<{ name: string }>;
      next: string | null;
    };
    expect(second).toMatchObject({ items: [{ name: "rack-c" }], next: null });
    expect(fleet.calls[0]).toEqual({ op: "racks.list", args: [{ limit: 2 }] });
  });

  test("passes status and prefix filters; limit defaults to 100", async () => {
    const { app, fleet } = buildTestApi();
    const res = await app.request("/api/v1/racks?status=active&prefix=rack-", authed());
    expect(res.status).toBe(200);
    expect(fleet.calls[0]?.args[0]).toEqual({ status: "active", namePrefix: "rack-", limit: 100 });
  });

  test.each([
    ["limit=0", "limit"],
    ["limit=1001", "limit"],
    ["limit=ten", "limit"],
    ["status=gone", "status"],
    ["prefix=RACK", "prefix"],
    ["after=..", "after"],
    ["stauts=active", "stauts"],
  ])("?%s is refused 400 malformed naming %s", async (query, param) => {
    const { app, fleet } = buildTestApi();
    const res = await app.request(`/api/v1/racks?${query}`, authed());
    expect(res.status).toBe(400);
    const error = await errorOf(res);
    expect(error.code).toBe("malformed");
    expect(JSON.stringify(error.details)).toContain(param);
    expect(fleet.calls).toHaveLength(0);
  });

  test("a repeated query parameter is refused rather than guessed", async () => {
    const { app } = buildTestApi();
    const res = await app.request("/api/v1/racks?status=active&status=pending", authed());
    expect(res.status).toBe(400);
    expect((await errorOf(res)).message).toMatch(/repeated/);
  });
});

describe("GET /api/v1/racks/{ref}", () => {
  test.each([
    ["a name", "rack-a"],
    ["a decimal entity id", RACK_A.entity_id],
    ["a 0x-hex entity id", RACK_A.entity_id_hex],
    ["an upper-case hex id", RACK_A.entity_id_hex.toUpperCase().replace("0X", "0x")],
  ])("accepts %s and passes it on unchanged", async (_what, ref) => {
    const { app, fleet } = buildTestApi();
    const res = await app.request(`/api/v1/racks/${ref}`, authed());
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ name: "rack-a", entity_id: RACK_A.entity_id });
    expect(fleet.calls[0]).toEqual({ op: "racks.show", args: [ref] });
  });

  test("an unknown Rack is 404 not_found", async () => {
    const { app } = buildTestApi();
    const res = await app.request("/api/v1/racks/rack-zzz", authed());
    expect(res.status).toBe(404);
    expect((await errorOf(res)).code).toBe("not_found");
  });

  test.each([
    ["an encoded traversal", "..%2F.."],
    ["an encoded slash", "a%2Fb"],
    ["a NUL byte", "%00"],
    ["upper case", "Rack-A"],
    ["a dot", "rack.a"],
    ["a leading hyphen", "-rack"],
    ["an overlong name", "a".repeat(64)],
    ["an overlong upper-case hex id", "0xABCDEF0123456789A"],
    ["broken percent-encoding", "%E0%A4%A"],
    ["a space", "rack%20a"],
  ])("%s is refused 400 malformed before any operation runs", async (_what, ref) => {
    const { app, fleet } = buildTestApi();
    for (const [method, suffix] of [
      ["GET", ""],
      ["POST", "/adopt"],
      ["DELETE", ""],
      ["GET", "/metrics"],
    ] as const) {
      const res = await app.request(`/api/v1/racks/${ref}${suffix}`, authed({ method }));
      expect(res.status, `${method} ${suffix}`).toBe(400);
      expect((await errorOf(res)).code).toBe("malformed");
    }
    expect(fleet.calls).toHaveLength(0);
  });

  test("a raw slash makes another path, which is no route: 404 not_found", async () => {
    const { app } = buildTestApi();
    const res = await app.request("/api/v1/racks/a/b", authed());
    expect(res.status).toBe(404);
    expect((await errorOf(res)).code).toBe("not_found");
  });
});

describe("lifecycle changes", () => {
  test.each([
    ["adopt", "active"],
    ["reject", "rejected"],
    ["revoke", "revoked"],
  ])("POST /racks/{ref}/%s passes the reason and the actor, and answers the Rack", async (change, status) => {
    const { app, fleet } = buildTestApi();
    const res = await app.request(
      `/api/v1/racks/rack-a/${change}`,
      authed({ method: "POST", json: { reason: "ticket OPS-42" }, headers: { "X-Fluxrig-Actor": "alice" } }),
    );
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ name: "rack-a", status });
    expect(fleet.calls[0]).toEqual({
      op: `racks.${change}`,
      args: ["rack-a", { actor: "api:alice", reason: "ticket OPS-42" }],
    });
  });

  test("the body is optional and the actor defaults to api", async () => {
    const { app, fleet } = buildTestApi();
    const res = await app.request("/api/v1/racks/rack-a/adopt", authed({ method: "POST" }));
    expect(res.status).toBe(200);
    expect(fleet.calls[0]?.args).toEqual(["rack-a", { actor: "api", reason: undefined }]);
  });

  test("an adopt that changed nothing keeps its 200 and says so with `unchanged`", async () => {
    const { app, fleet } = buildTestApi();
    const adopt = async () => ({ ...fakeRack("rack-a", 1, "active"), unchanged: true as const });
    const { app: already } = buildTestApi({ racks: { ...fleet.racks, adopt } });
    const res = await already.request("/api/v1/racks/rack-a/adopt", authed({ method: "POST" }));
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ name: "rack-a", status: "active", unchanged: true });
    const fresh = await app.request("/api/v1/racks/rack-a/adopt", authed({ method: "POST" }));
    expect(await fresh.json()).not.toHaveProperty("unchanged");
  });

  test("the actor header is cut to a safe alphabet and length", async () => {
    const { app, fleet } = buildTestApi();
    const actor = `bob"} {evil <b>;=/\\ ${"x".repeat(100)}`;
    await app.request(
      "/api/v1/racks/rack-a/adopt",
      authed({ method: "POST", headers: { "X-Fluxrig-Actor": actor } }),
    );
    const by = fleet.calls[0]?.args[1] as { actor: string };
    expect(by.actor).toMatch(/^api:bob[A-Za-z0-9._@+-]*$/);
    expect(by.actor.length).toBeLessThanOrEqual(68);
  });

  test.each([
    ["an unknown field", { reason: "x", force: true }],
    ["a reason that is not text", { reason: 42 }],
    ["an overlong reason", { reason: "r".repeat(1025) }],
    ["an array", ["reason"]],
  ])("a body with %s is refused 400 schema", async (_what, body) => {
    const { app, fleet } = buildTestApi();
    const res = await app.request("/api/v1/racks/rack-a/revoke", authed({ method: "POST", json: body }));
    expect(res.status).toBe(400);
    expect((await errorOf(res)).code).toBe("schema");
    expect(fleet.calls).toHaveLength(0);
  });

  test("DELETE /racks/{ref} answers what was removed", async () => {
    const { app, fleet } = buildTestApi();
    const res = await app.request(`/api/v1/racks/${RACK_A.entity_id_hex}`, authed({ method: "DELETE" }));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ name: "rack-a", entity_id: RACK_A.entity_id, machine_id: 1 });
    expect(fleet.calls[0]?.op).toBe("racks.remove");
  });
});

describe("POST /api/v1/racks/adopt (bulk)", () => {
  test("passes refs, pattern and dry_run, and answers adopted and skipped", async () => {
    const { app, fleet } = buildTestApi();
    const body = {
      refs: ["rack-a", RACK_A.entity_id_hex],
      pattern: "rack-*",
      dry_run: true,
      reason: "batch",
    };
    const res = await app.request("/api/v1/racks/adopt", authed({ method: "POST", json: body }));
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      dry_run: true,
      adopted: [{ name: "rack-a" }],
      skipped: [{ code: "not_found" }],
    });
    expect(fleet.calls[0]?.args[0]).toEqual({
      actor: "api",
      reason: "batch",
      refs: ["rack-a", RACK_A.entity_id_hex],
      pattern: "rack-*",
      dryRun: true,
    });
  });

  test("dry_run defaults to false", async () => {
    const { app, fleet } = buildTestApi();
    await app.request("/api/v1/racks/adopt", authed({ method: "POST", json: { pattern: "*" } }));
    expect(fleet.calls[0]?.args[0]).toMatchObject({ dryRun: false, pattern: "*" });
  });

  test.each([
    ["neither refs nor pattern", {}],
    ["an empty refs list", { refs: [] }],
    ["a bad ref in the list", { refs: ["../etc"] }],
    ["a pattern with a slash", { pattern: "rack/*" }],
    ["dry_run as text", { pattern: "*", dry_run: "yes" }],
  ])("%s is refused 400 schema", async (_what, body) => {
    const { app } = buildTestApi();
    const res = await app.request("/api/v1/racks/adopt", authed({ method: "POST", json: body }));
    expect(res.status).toBe(400);
    expect((await errorOf(res)).code).toBe("schema");
  });

  test("a missing body is refused 400 malformed", async () => {
    const { app } = buildTestApi();
    const res = await app.request("/api/v1/racks/adopt", authed({ method: "POST" }));
    expect(res.status).toBe(400);
    expect((await errorOf(res)).code).toBe("malformed");
  });
});

describe("POST /api/v1/racks/{name}/replace", () => {
  test("passes the key and keep_machine_id, and answers old and new", async () => {
    const { app, fleet } = buildTestApi();
    const publicKey = "A".repeat(43);
    const res = await app.request(
      "/api/v1/racks/rack-b/replace",
      authed({ method: "POST", json: { public_key: publicKey, keep_machine_id: true } }),
    );
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ old: { status: "revoked" }, new: { status: "active" } });
    expect(fleet.calls[0]?.args).toEqual([
      "rack-b",
      { actor: "api", reason: undefined, publicKey, keepMachineId: true },
    ]);
  });

  test("keep_machine_id defaults to false", async () => {
    const { app, fleet } = buildTestApi();
    await app.request("/api/v1/racks/rack-b/replace", authed({ method: "POST" }));
    expect(fleet.calls[0]?.args[1]).toMatchObject({ keepMachineId: false, publicKey: undefined });
  });

  test("a name that is not a DNS label is refused 400 malformed", async () => {
    const { app } = buildTestApi();
    const res = await app.request("/api/v1/racks/Rack_B/replace", authed({ method: "POST" }));
    expect(res.status).toBe(400);
    expect((await errorOf(res)).code).toBe("malformed");
  });

  test("a public key that is not 32 bytes of base64url is refused 400 schema", async () => {
    const { app } = buildTestApi();
    const res = await app.request(
      "/api/v1/racks/rack-b/replace",
      authed({ method: "POST", json: { public_key: "abc" } }),
    );
    expect(res.status).toBe(400);
    expect((await errorOf(res)).code).toBe("schema");
  });
});

describe("GET /api/v1/conflicts", () => {
  test("lists conflicts, filtered by name", async () => {
    const { app, fleet } = buildTestApi();
    const res = await app.request("/api/v1/conflicts?name=rack-a", authed());
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ items: [{ name: "rack-a", attempts: 3 }] });
    expect(fleet.calls[0]).toEqual({ op: "racks.conflicts", args: ["rack-a"] });
  });

  test("without a name lists all; a bad name is 400 malformed", async () => {
    const { app, fleet } = buildTestApi();
    expect((await app.request("/api/v1/conflicts", authed())).status).toBe(200);
    expect(fleet.calls[0]?.args).toEqual([undefined]);
    expect((await app.request("/api/v1/conflicts?name=A_B", authed())).status).toBe(400);
  });
});
