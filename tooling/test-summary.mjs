// Prints "N passed, N failed, N skipped" from vitest's JSON report; exits non-zero on a failure or when no test ran.
import { readFileSync } from "node:fs";

const file = process.argv[2] ?? ".reports/vitest.json";
let report;
try {
  report = JSON.parse(readFileSync(file, "utf8"));
} catch (err) {
  console.log("0 passed, 0 failed, 0 skipped");
  console.error(`test-summary: no readable vitest report at ${file}: ${err.message}`);
  process.exit(1);
}
const passed = report.numPassedTests ?? 0;
const failed = (report.numFailedTests ?? 0) + (report.numRuntimeErrorTestSuites ?? 0);
const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 || passed === 0 || report.success === false ? 1 : 0);
