// Named API tokens in the registry: secrets and digests, the plans, and the writer keeping DuckDB and memory in step.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  openTestRegistry,
  openTestWriter,
  type TestRegistry,
} from "../../test/support/registry-test-harness.js";
import {
  API_TOKEN_PREFIX,
  ApiTokenList,
  apiTokenDigest,
  newApiTokenSecret,
  roleAtLeast,
} from "./api-token-list.js";
import { listAudit } from "./audit-log.js";
import { MachineIdPool } from "./machine-id-pool.js";
import { RackDirectory } from "./rack-directory.js";
import { ApiTokenExistsError, InvalidInputError, NotFoundError } from "./registry-errors.js";
import { RevocationList } from "./revocation-list.js";
import { ScenarioCatalog } from "./scenario-catalog.js";
import { planCreateApiToken, planRevokeApiToken } from "./write-plans.js";
import { committedBase, WriteStage } from "./write-stage.js";

const NOW = new Date("2030-01-01T00:00:00.000Z");
const hex = (secret: string) => apiTokenDigest(secret).toString("hex");

describe("secrets", () => {
  it("carry the scanner prefix and 256 random bits, and differ every time", () => {
    const a = newApiTokenSecret();
    const b = newApiTokenSecret();
    expect(a.startsWith(API_TOKEN_PREFIX)).toBe(true);
    expect(Buffer.from(a.slice(API_TOKEN_PREFIX.length), "base64url")).toHaveLength(32);
    expect(a).not.toBe(b);
  });

  it("are recognised by their digest only, exactly", () => {
    const list = new ApiTokenList();
    const secret = newApiTokenSecret();
    list.put({
      name: "grafana",
      role: "viewer",
      secretSha256: hex(secret),
      createdAt: NOW,
      createdBy: "api",
    });
    expect(list.authenticate(secret)).toEqual({ name: "grafana", role: "viewer" });
    expect(list.authenticate(`${secret}x`)).toBeUndefined();
    expect(list.authenticate(secret.slice(0, -1))).toBeUndefined();
    expect(list.authenticate(hex(secret))).toBeUndefined();
    list.remove("grafana");
    expect(list.authenticate(secret)).toBeUndefined();
  });

  it("finds each holder among many by one lookup, and a name given a new secret forgets the old one", () => {
    const list = new ApiTokenList();
    const secrets = Array.from({ length: 1000 }, () => newApiTokenSecret());
    for (const [i, secret] of secrets.entries()) {
      list.put({
        name: `t-${i}`,
        role: "viewer",
        secretSha256: hex(secret),
        createdAt: NOW,
        createdBy: "api",
      });
    }
    expect(secrets.map((s) => list.authenticate(s)?.name)).toEqual(secrets.map((_, i) => `t-${i}`));
    const renewed = newApiTokenSecret();
    list.put({ name: "t-7", role: "admin", secretSha256: hex(renewed), createdAt: NOW, createdBy: "api" });
    expect(list.authenticate(secrets[7]!)).toBeUndefined();
    expect(list.authenticate(renewed)).toEqual({ name: "t-7", role: "admin" });
    expect(list.size).toBe(1000);
  });

  it("roles are ordered viewer < operator < admin", () => {
    expect(roleAtLeast("admin", "operator")).toBe(true);
    expect(roleAtLeast("operator", "operator")).toBe(true);
    expect(roleAtLeast("viewer", "operator")).toBe(false);
  });
});

describe("plans", () => {
  let stage: WriteStage;
  beforeEach(() => {
    stage = new WriteStage(
      committedBase(new RackDirectory(), new MachineIdPool(), new ScenarioCatalog(), new RevocationList()),
    );
  });

  it("create stages the token and an audit event with its name and role, never the secret or digest", () => {
    const digest = hex("frt_secret");
    planCreateApiToken(
      stage,
      { name: "alice", role: "operator", secretSha256: digest },
      { actor: "api", now: NOW },
    );
    expect(stage.apiToken("alice")).toMatchObject({ role: "operator", createdBy: "api", createdAt: NOW });
    expect(stage.audits).toHaveLength(1);
    expect(stage.audits[0]).toMatchObject({
      kind: "api_token_created",
      actor: "api",
      details: { token: "alice", role: "operator" },
    });
    expect(JSON.stringify(stage.audits)).not.toContain(digest);
  });

  it("refuses a live name, a bad digest, and revoking a token that does not exist", () => {
    const token = { name: "alice", role: "operator" as const, secretSha256: hex("a") };
    planCreateApiToken(stage, token, { actor: "api", now: NOW });
    expect(() => planCreateApiToken(stage, token, { actor: "api", now: NOW })).toThrow(ApiTokenExistsError);
    expect(() =>
      planCreateApiToken(stage, { ...token, name: "bob", secretSha256: "nope" }, { actor: "api", now: NOW }),
    ).toThrow(InvalidInputError);
    expect(() => planRevokeApiToken(stage, "nobody", { actor: "api", now: NOW })).toThrow(NotFoundError);
  });

  it("revoke stages the removal with its audit event; the name can be created again", () => {
    planCreateApiToken(
      stage,
      { name: "ci", role: "operator", secretSha256: hex("a") },
      { actor: "api", now: NOW },
    );
    planRevokeApiToken(stage, "ci", { actor: "root", reason: "rotated", now: NOW });
    expect(stage.apiToken("ci")).toBeUndefined();
    expect(stage.audits.at(-1)).toMatchObject({
      kind: "api_token_revoked",
      actor: "root",
      details: { token: "ci", role: "operator", reason: "rotated" },
    });
    planCreateApiToken(
      stage,
      { name: "ci", role: "viewer", secretSha256: hex("b") },
      { actor: "api", now: NOW },
    );
    expect(stage.apiToken("ci")?.role).toBe("viewer");
  });
});

describe("the writer", () => {
  let t: TestRegistry;
  beforeEach(async () => {
    t = await openTestRegistry();
  });
  afterEach(async () => {
    await t.cleanup();
  });

  async function writerOver(db: TestRegistry["db"]) {
    const { writer, apiTokens: tokens } = await openTestWriter(db);
    return { tokens, writer };
  }

  it("commits tokens to DuckDB and memory together; a reload sees exactly the live ones", async () => {
    const { tokens, writer } = await writerOver(t.db);
    const secret = newApiTokenSecret();
    await writer.submit((s) =>
      planCreateApiToken(
        s,
        { name: "alice", role: "operator", secretSha256: hex(secret) },
        { actor: "api", now: NOW },
      ),
    );
    await writer.submit((s) =>
      planCreateApiToken(
        s,
        { name: "old", role: "admin", secretSha256: hex("x") },
        { actor: "api", now: NOW },
      ),
    );
    expect(tokens.authenticate(secret)).toEqual({ name: "alice", role: "operator" });
    // Revoked and re-created in one batch: one upsert, no delete and insert of the same key.
    await Promise.all([
      writer.submit((s) => planRevokeApiToken(s, "old", { actor: "api", now: NOW })),
      writer.submit((s) =>
        planCreateApiToken(
          s,
          { name: "old", role: "viewer", secretSha256: hex("y") },
          { actor: "api", now: NOW },
        ),
      ),
    ]);
    await writer.close();
    expect(tokens.authenticate("x")).toBeUndefined();

    const reopened = await t.reopen();
    t = reopened;
    const loaded = await ApiTokenList.load(reopened.db);
    expect([...loaded.apiTokenRecords()].map((r) => [r.name, r.role])).toEqual([
      ["alice", "operator"],
      ["old", "viewer"],
    ]);
    expect(loaded.authenticate(secret)).toEqual({ name: "alice", role: "operator" });
    expect(loaded.authenticate("y")).toEqual({ name: "old", role: "viewer" });
    const audit = await listAudit(reopened.db, { limit: 100 });
    expect(audit.map((e) => e.kind)).toEqual([
      "api_token_created",
      "api_token_created",
      "api_token_revoked",
      "api_token_created",
    ]);
    const stored = JSON.stringify(await reopened.db.query("SELECT * FROM audit_events"), (_k, v) =>
      typeof v === "bigint" ? v.toString() : v,
    );
    expect(stored).not.toContain(secret);
    expect(stored).not.toContain(hex(secret));
  });
});
