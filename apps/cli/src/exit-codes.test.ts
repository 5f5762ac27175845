// HTTP statuses to exit codes: refusals are 1, a Mixer that cannot answer 3, a refused token 4.
import { expect, test } from "vitest";
import { EXIT_CODE_CASES } from "../test/support/exit-code-cases.js";
import { exitCodeForStatus } from "./exit-codes.js";

test.each(EXIT_CODE_CASES)("HTTP %d %s -> exit %d", (status, code, exit) => {
  expect(exitCodeForStatus(status, code)).toBe(exit);
});
