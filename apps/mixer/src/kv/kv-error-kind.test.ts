import { JetStreamApiError } from "@nats-io/jetstream";
import { errors } from "@nats-io/transport-node";
import { describe, expect, test } from "vitest";
import { classifyKvError, classifyKvOpenError } from "./kv-error-kind.js";

const apiError = (code: number, err_code: number, description = "x") =>
  new JetStreamApiError({ code, err_code, description });

describe("classifyKvError", () => {
  test("a failed compare-and-set is cas: nothing was written", () => {
    expect(classifyKvError(apiError(400, 10071, "wrong last sequence: 3"))).toBe("cas");
    expect(classifyKvError(apiError(400, 10164))).toBe("cas");
  });

  test("a 503 or no responders is unavailable; a timeout is ambiguous", () => {
    expect(classifyKvError(apiError(503, 10008, "JetStream system temporarily unavailable"))).toBe(
      "unavailable",
    );
    expect(classifyKvError(new errors.NoRespondersError("$KV.b.k"))).toBe("unavailable");
    const wrapped = new Error("jetstream is not enabled", { cause: new errors.NoRespondersError("$KV.b.k") });
    wrapped.name = "JetStreamNotEnabled";
    expect(classifyKvError(wrapped)).toBe("unavailable");
    expect(classifyKvError(apiError(400, 10005, "no suitable peers for placement"))).toBe("unavailable");
    expect(classifyKvError(new errors.TimeoutError())).toBe("ambiguous");
  });

  test("what retrying cannot fix is fatal", () => {
    expect(classifyKvError(apiError(400, 10039, "jetstream not enabled for account"))).toBe("fatal");
    expect(classifyKvError(new errors.ClosedConnectionError())).toBe("fatal");
    expect(classifyKvError(new errors.PermissionViolationError("denied", "publish", "$KV.b.k"))).toBe(
      "fatal",
    );
    expect(classifyKvError(new Error("no such thing"))).toBe("fatal");
    const refusedRequest = new errors.RequestError('Permissions Violation for Publish to "$JS.API.INFO"', {
      cause: new errors.PermissionViolationError("denied", "publish", "$JS.API.INFO"),
    });
    expect(classifyKvError(refusedRequest)).toBe("fatal");
    const notNoResponders = new Error("jetstream is not enabled");
    notNoResponders.name = "JetStreamNotEnabled";
    expect(classifyKvError(notNoResponders)).toBe("fatal");
  });

  test("opening a bucket waits out JetStream not enabled for the account, direct or wrapped; nothing else changes", () => {
    const off = apiError(503, 10039, "JetStream not enabled for account");
    const wrapped = new Error("JetStream not enabled for account", { cause: off });
    wrapped.name = "JetStreamNotEnabled";
    expect(classifyKvOpenError(off)).toBe("unavailable");
    expect(classifyKvOpenError(wrapped)).toBe("unavailable");
    expect(classifyKvError(wrapped)).toBe("fatal");
    expect(
      classifyKvOpenError(new errors.PermissionViolationError("denied", "publish", "$JS.API.INFO")),
    ).toBe("fatal");
    expect(classifyKvOpenError(new errors.TimeoutError())).toBe("ambiguous");
  });
});
