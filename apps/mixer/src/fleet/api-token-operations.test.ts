// The token operations over a real registry file: refusals as the API answers them, the secret given out once.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  openTestRegistry,
  openTestWriter,
  type TestRegistry,
} from "../../test/support/registry-test-harness.js";
import { OperationError } from "../errors/wire-refusal.js";
import { type ApiTokenList, apiTokenDigest } from "../registry/api-token-list.js";
import type { RegistryWriter } from "../registry/registry-writer.js";
import { ApiTokenOperationsService, RESERVED_TOKEN_NAMES } from "./api-token-operations.js";

const NOW = new Date("2030-01-01T00:00:00.000Z");

describe("ApiTokenOperationsService", () => {
  let t: TestRegistry;
  let writer: RegistryWriter;
  let tokens: ApiTokenList;
  let service: ApiTokenOperationsService;

  beforeEach(async () => {
    t = await openTestRegistry();
    ({ writer, apiTokens: tokens } = await openTestWriter(t.db));
    service = new ApiTokenOperationsService({ writer, tokens, clock: () => NOW });
  });
  afterEach(async () => {
    await writer.close();
    await t.cleanup();
  });

  const refusal = async (p: Promise<unknown>) => {
    const error = await p.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(OperationError);
    return error as OperationError;
  };

  it("creates a token whose secret works at once and is kept only as its digest", async () => {
    const created = await service.create("grafana", "viewer", { actor: "api" });
    expect(created).toMatchObject({ name: "grafana", role: "viewer", created_by: "api" });
    expect(tokens.authenticate(created.secret)).toEqual({ name: "grafana", role: "viewer" });
    expect(tokens.apiToken("grafana")?.secretSha256).toBe(apiTokenDigest(created.secret).toString("hex"));
    expect(await service.list()).toEqual([
      { name: "grafana", role: "viewer", created_at: NOW.toISOString(), created_by: "api" },
    ]);
  });

  it("refuses a live name and the Mixer's own actor names with conflict, an unknown revoke with not_found", async () => {
    await service.create("alice", "operator", { actor: "api" });
    expect((await refusal(service.create("alice", "admin", { actor: "api" }))).code).toBe("conflict");
    for (const name of RESERVED_TOKEN_NAMES) {
      expect((await refusal(service.create(name, "admin", { actor: "api" }))).code, name).toBe("conflict");
    }
    expect((await refusal(service.revoke("nobody", { actor: "api" }))).code).toBe("not_found");
  });

  it("revoking makes the secret fail at once; the name can then be reused with a new secret", async () => {
    const first = await service.create("ci", "operator", { actor: "api" });
    const revoked = await service.revoke("ci", { actor: "root", reason: "rotated" });
    expect(revoked).toMatchObject({ name: "ci", role: "operator", revoked_at: NOW.toISOString() });
    expect(tokens.authenticate(first.secret)).toBeUndefined();
    const second = await service.create("ci", "viewer", { actor: "root" });
    expect(second.secret).not.toBe(first.secret);
    expect(tokens.authenticate(second.secret)).toEqual({ name: "ci", role: "viewer" });
  });
});
