// HTTP statuses to exit codes: refusals are 1, a Mixer that cannot answer 3, a refused token 4.
import { expect, test } from "vitest";
import { EXIT, exitCodeForStatus } from "./exit-codes.js";

test.each([
  [400, "malformed", EXIT.refused],
  [404, "not_found", EXIT.refused],
  [409, "invalid_transition", EXIT.refused],
  [413, "too_large", EXIT.refused],
  [422, "schema", EXIT.refused],
  [429, "rate_limited", EXIT.refused],
  [401, "unauthorized", EXIT.auth],
  [403, "forbidden", EXIT.auth],
  [500, "internal", EXIT.refused],
  [502, undefined, EXIT.unreachable],
  [503, "unavailable", EXIT.unreachable],
  [503, "registry_full", EXIT.refused],
  [504, undefined, EXIT.unreachable],
])("HTTP %d %s -> exit %d", (status, code, exit) => {
  expect(exitCodeForStatus(status, code)).toBe(exit);
});
