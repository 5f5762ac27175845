// Runs in every integration and fuzz test file: a failing test prints the logs of the servers and processes it
// started (fault files print theirs through FaultReport.attach, with their own tail).
import { attachLogsOnFailure } from "@fluxrig/testkit";
import { beforeEach } from "vitest";

beforeEach(({ onTestFailed }) => attachLogsOnFailure(onTestFailed));
