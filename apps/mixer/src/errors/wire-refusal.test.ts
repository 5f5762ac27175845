// The one error-to-refusal mapping: operation refusals keep their code, registry failures get theirs, bugs get none.
import { WIRE_ERROR_HTTP_STATUS, type WireErrorCode } from "@fluxrig/wire";
import { describe, expect, test } from "vitest";
import { KvUnavailableError } from "../kv/kv-errors.js";
import {
  ClusterUnavailableError,
  ClusterWriteContendedError,
  DatabaseClosedError,
  IllegalTransitionError,
  NameTakenError,
  QueryFailedError,
  RegistryFullError,
} from "../registry/registry-errors.js";
import { OperationError, refusalOf } from "./wire-refusal.js";

describe("refusalOf", () => {
  test("cluster mode: no quorum, an unknown outcome and a contended write are unavailable, retry (safe to repeat)", () => {
    const lost = new KvUnavailableError("fluxrig_claims", "machine.42", "create", "not_written", 20_000, 9);
    expect(refusalOf(lost)).toMatchObject({ code: "unavailable", status: 503, retryAfterSeconds: 5 });
    expect(refusalOf(lost)?.message).toMatch(/no quorum.*nothing was changed/);
    const unknown = new KvUnavailableError("fluxrig_racks", "rack.1", "update", "unknown", 20_000, 9);
    expect(refusalOf(unknown)?.message).toMatch(/may have landed: retry, it is safe/);
    expect(refusalOf(new ClusterWriteContendedError(16))).toMatchObject({
      code: "unavailable",
      retryAfterSeconds: 1,
    });
    expect(refusalOf(new ClusterUnavailableError(lost))).toMatchObject({ code: "unavailable", status: 503 });
  });

  test("an OperationError keeps its code, message and details; its status is the wire table's", () => {
    const refusal = refusalOf(new OperationError("not_found", "no Rack rack-a", { ref: "rack-a" }));
    expect(refusal).toEqual({
      code: "not_found",
      message: "no Rack rack-a",
      status: WIRE_ERROR_HTTP_STATUS.not_found,
      details: { ref: "rack-a" },
    });
  });

  test("a status given to the OperationError wins over the table's (415, 422)", () => {
    const err = new OperationError("malformed", "send application/json", undefined, { status: 415 });
    expect(refusalOf(err)?.status).toBe(415);
  });

  test("a code outside the wire table is no refusal: the caller answers internal", () => {
    expect(refusalOf(new OperationError("teapot" as WireErrorCode, "no such code"))).toBeUndefined();
  });

  test("a registry that cannot be written is unavailable, retry later, with the database's first line and no SQL", () => {
    const cause = new Error("IO Error: No space left on device\nsecond line");
    const refusal = refusalOf(new QueryFailedError("INSERT INTO racks VALUES (secret)", { cause }));
    expect(refusal).toMatchObject({ code: "unavailable", status: 503, retryAfterSeconds: 5 });
    expect(refusal?.message).toContain("No space left on device");
    expect(refusal?.message).not.toContain("second line");
    expect(refusal?.message).not.toContain("INSERT");
    expect(refusalOf(new DatabaseClosedError("/data/registry.duckdb"))?.message).toContain(
      "database is closed",
    );
  });

  test("no free MachineID is registry_full; an illegal status change is invalid_transition with from and to", () => {
    expect(refusalOf(new RegistryFullError(1, 10))).toMatchObject({ code: "registry_full", status: 503 });
    expect(refusalOf(new IllegalTransitionError("rejected", "active", 7n))).toEqual({
      code: "invalid_transition",
      status: 409,
      message: "a Rack that is rejected cannot become active",
      details: { from: "rejected", to: "active" },
    });
  });

  test("anything else is a bug, not a refusal: its text never reaches a peer", () => {
    expect(refusalOf(new Error("boom"))).toBeUndefined();
    expect(refusalOf(new NameTakenError("rack-a", 7n))).toBeUndefined();
    expect(refusalOf("a string")).toBeUndefined();
  });
});
