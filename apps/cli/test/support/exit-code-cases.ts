// HTTP answers and the exit code each must give: one table for the mapping itself and for the REST client using it.
import { EXIT, type ExitCode } from "../../src/exit-codes.js";

/** [HTTP status, the Mixer's error code (none from a proxy), exit code]. */
export const EXIT_CODE_CASES: ReadonlyArray<readonly [number, string | undefined, ExitCode]> = [
  [400, "malformed", EXIT.refused],
  [400, "schema", EXIT.refused],
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
];
