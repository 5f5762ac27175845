// Runs in every integration test file: whatever a test started and forgot is stopped when the file ends.
import { killAllStarted } from "@fluxrig/testkit";
import { afterAll } from "vitest";

afterAll(async () => {
  await killAllStarted();
});
