// Enrollment tokens in the registry: name patterns, secrets, state, the plans, and uses spent through the writer
// under concurrent enrollments, never past the count.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  insertPlan,
  openTestRegistry,
  openTestWriter,
  type TestRegistry,
} from "../../test/support/registry-test-harness.js";
import { listAudit } from "./audit-log.js";
import {
  ENROLLMENT_TOKEN_PREFIX,
  EnrollmentTokenList,
  type EnrollmentTokenRecord,
  enrollmentTokenDigest,
  enrollmentTokenState,
  judgeEnrollmentToken,
  newEnrollmentToken,
} from "./enrollment-token-list.js";
import { nameMatchesPattern } from "./name-pattern.js";
import { EnrollmentTokenRefusedError, NotFoundError } from "./registry-errors.js";
import type { RegistryWriter } from "./registry-writer.js";
import {
  planCreateEnrollmentToken,
  planRevokeEnrollmentToken,
  planSpendEnrollmentToken,
} from "./write-plans.js";

const NOW = new Date("2030-01-01T00:00:00.000Z");
const HOUR = 3_600_000;

function record(over: Partial<EnrollmentTokenRecord> = {}): EnrollmentTokenRecord {
  return {
    id: "0123456789ab",
    pattern: "edge-*",
    uses: 2,
    used: 0,
    expiresAt: new Date(NOW.getTime() + HOUR),
    secretSha256: enrollmentTokenDigest("s"),
    createdAt: NOW,
    createdBy: "api",
    ...over,
  };
}

describe("name patterns", () => {
  it.each([
    ["edge-*", "edge-07", true],
    ["edge-*", "edge-", true],
    ["edge-*", "core-07", false],
    ["edge-*", "xedge-07", false],
    ["edge-??", "edge-07", true],
    ["edge-??", "edge-107", false],
    ["*-lab-*", "nyc-lab-3", true],
    ["*-lab-*", "nyc-lab", false],
    ["rack-1", "rack-1", true],
    ["rack-1", "rack-10", false],
    ["*", "anything", true],
    ["a*b*c", "aXbYbZc", true],
    ["a*b*c", "aXbYbZ", false],
  ])("%s against %s is %s", (pattern, name, expected) => {
    expect(nameMatchesPattern(pattern, name)).toBe(expected);
  });

  it("stays fast on a pattern built to backtrack", () => {
    const name = "a".repeat(63);
    expect(nameMatchesPattern("*a*a*a*a*a*a*a*a*b", name)).toBe(false);
  });
});

describe("secrets and state", () => {
  it("carry the prefix and the id, 256 random bits, and differ every time", () => {
    const a = newEnrollmentToken();
    const b = newEnrollmentToken();
    expect(a.secret.startsWith(`${ENROLLMENT_TOKEN_PREFIX}${a.id}_`)).toBe(true);
    expect(Buffer.from(a.secret.split("_").slice(2).join("_"), "base64url")).toHaveLength(32);
    expect(a.secret).not.toBe(b.secret);
    expect(a.id).toMatch(/^[0-9a-f]{12}$/);
  });

  it("are found by their digest only", () => {
    const list = new EnrollmentTokenList();
    const { id, secret } = newEnrollmentToken();
    list.put(record({ id, secretSha256: enrollmentTokenDigest(secret) }));
    expect(list.bySecret(secret)?.id).toBe(id);
    expect(list.bySecret(`${secret}x`)).toBeUndefined();
    expect(list.bySecret(enrollmentTokenDigest(secret))).toBeUndefined();
    list.remove(id);
    expect(list.bySecret(secret)).toBeUndefined();
  });

  it("is usable until used up or expired, used up winning", () => {
    expect(enrollmentTokenState(record(), NOW)).toBe("usable");
    expect(enrollmentTokenState(record(), new Date(NOW.getTime() + HOUR))).toBe("expired");
    expect(enrollmentTokenState(record({ used: 2 }), NOW)).toBe("used_up");
    expect(enrollmentTokenState(record({ used: 2 }), new Date(NOW.getTime() + HOUR))).toBe("used_up");
  });

  it("judges a presented token: unknown, used up, expired, a name it does not admit, or the token to spend", () => {
    expect(judgeEnrollmentToken(undefined, "edge-1", NOW)).toEqual({ ok: false, reason: "unknown" });
    expect(judgeEnrollmentToken(record({ used: 2 }), "edge-1", NOW)).toMatchObject({ reason: "used_up" });
    const later = new Date(NOW.getTime() + 2 * HOUR);
    expect(judgeEnrollmentToken(record(), "edge-1", later)).toMatchObject({ reason: "expired" });
    expect(judgeEnrollmentToken(record(), "core-1", NOW)).toEqual({
      ok: false,
      reason: "name_mismatch",
      token: "0123456789ab",
    });
    expect(judgeEnrollmentToken(record(), "edge-1", NOW)).toMatchObject({ ok: true });
  });
});

describe("through the writer", () => {
  let t: TestRegistry;
  beforeEach(async () => {
    t = await openTestRegistry();
  });
  afterEach(async () => {
    await t.cleanup();
  });

  async function writerOver(db: TestRegistry["db"]) {
    const { writer, enrollmentTokens: tokens } = await openTestWriter(db);
    return { tokens, writer };
  }

  async function create(writer: RegistryWriter, uses: number, pattern = "rack-*") {
    const { id, secret } = newEnrollmentToken();
    await writer.submit((s) =>
      planCreateEnrollmentToken(
        s,
        {
          id,
          pattern,
          uses,
          expiresAt: new Date(NOW.getTime() + HOUR),
          secretSha256: enrollmentTokenDigest(secret),
        },
        { actor: "alice", now: NOW },
      ),
    );
    return { id, secret };
  }

  it("never spends a token past its uses, however many enrollments race for it", async () => {
    const { tokens, writer } = await writerOver(t.db);
    const { id } = await create(writer, 5);
    // Twenty enrollments submitted at once: planned in the same batches, each judged on the stage before it.
    const settled = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) =>
        writer.submit((s) => {
          const rack = insertPlan(i + 1, NOW)(s);
          return planSpendEnrollmentToken(s, id, rack, NOW);
        }),
      ),
    );
    const spent = settled.filter((r) => r.status === "fulfilled");
    const refused = settled.filter((r) => r.status === "rejected");
    expect(spent).toHaveLength(5);
    expect(refused).toHaveLength(15);
    for (const r of refused) {
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(EnrollmentTokenRefusedError);
      expect((r as PromiseRejectedResult).reason.reason).toBe("used_up");
    }
    expect(tokens.enrollmentToken(id)?.used).toBe(5);
    // A refused enrollment left nothing behind: only the five spenders have rows.
    const uses = (await listAudit(t.db, { limit: 100 })).filter((e) => e.kind === "enrollment_token_used");
    expect(uses).toHaveLength(5);
    expect(uses.map((e) => e.details)).toContainEqual(expect.objectContaining({ token: id, used: 5 }));
    await writer.close();

    // What DuckDB holds is what memory held.
    const reopened = await t.reopen();
    t = reopened;
    expect((await EnrollmentTokenList.load(reopened.db)).enrollmentToken(id)?.used).toBe(5);
  });

  it("refuses a name the pattern does not admit and an expired token, with nothing spent", async () => {
    const { tokens, writer } = await writerOver(t.db);
    const { id } = await create(writer, 3, "edge-*");
    await expect(
      writer.submit((s) => planSpendEnrollmentToken(s, id, insertPlan(1, NOW)(s), NOW)),
    ).rejects.toMatchObject({ reason: "name_mismatch" });
    const late = new Date(NOW.getTime() + HOUR);
    await expect(
      writer.submit((s) => planSpendEnrollmentToken(s, id, insertPlan(2, NOW, { name: "edge-2" })(s), late)),
    ).rejects.toMatchObject({ reason: "expired" });
    expect(tokens.enrollmentToken(id)?.used).toBe(0);
    await writer.close();
  });

  it("revokes: the token is gone from memory and DuckDB, and the audit log says who and how much it was used", async () => {
    const { tokens, writer } = await writerOver(t.db);
    const { id, secret } = await create(writer, 3);
    await writer.submit((s) => planSpendEnrollmentToken(s, id, insertPlan(1, NOW)(s), NOW));
    await writer.submit((s) =>
      planRevokeEnrollmentToken(s, id, { actor: "bob", reason: "leaked", now: NOW }),
    );
    expect(tokens.bySecret(secret)).toBeUndefined();
    await expect(
      writer.submit((s) => planSpendEnrollmentToken(s, id, insertPlan(2, NOW)(s), NOW)),
    ).rejects.toMatchObject({ reason: "unknown" });
    await expect(
      writer.submit((s) => planRevokeEnrollmentToken(s, id, { actor: "bob", now: NOW })),
    ).rejects.toBeInstanceOf(NotFoundError);
    const events = await listAudit(t.db, { limit: 100 });
    expect(events.map((e) => e.kind)).toEqual(
      expect.arrayContaining([
        "enrollment_token_created",
        "enrollment_token_used",
        "enrollment_token_revoked",
      ]),
    );
    expect(events.find((e) => e.kind === "enrollment_token_revoked")).toMatchObject({
      actor: "bob",
      details: { token: id, used: 1, uses: 3, reason: "leaked" },
    });
    // Neither the secret nor its digest is in the audit log.
    const text = JSON.stringify(events, (_k, v) => (typeof v === "bigint" ? v.toString() : v));
    expect(text).not.toContain(secret);
    expect(text).not.toContain(enrollmentTokenDigest(secret));
    await writer.close();
    const reopened = await t.reopen();
    t = reopened;
    expect((await EnrollmentTokenList.load(reopened.db)).size).toBe(0);
  });
});
