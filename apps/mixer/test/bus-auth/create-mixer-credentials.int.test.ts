// createMixer takes the bus credentials as a dependency: what the hello handler asks of them, for which key and
// grant, and what a failing issue leaves of a hello (its outcome stands, without a credential).
import { attachLogsOnFailure, ScriptedRack, startNatsServer, tempDuckDbPath } from "@fluxrig/testkit";
import { pino } from "pino";
import { beforeEach, describe, expect, test } from "vitest";
import type { BusCredentials, CredentialSubject } from "../../src/bus-auth/bus-credentials.js";
import { loadMixerConfig } from "../../src/config.js";
import { openDatabase } from "../../src/db/duckdb-database.js";
import { migrate } from "../../src/db/migrate.js";
import { createMixer } from "../../src/mixer.js";
import { TEST_CLUSTER_KEY } from "../support/lifecycle-test-harness.js";

beforeEach(({ onTestFailed }) => attachLogsOnFailure(onTestFailed));

async function mixerWith(credentials: BusCredentials, env: Record<string, string> = {}) {
  const nats = await startNatsServer();
  const file = tempDuckDbPath();
  const db = await openDatabase({ path: file.path });
  await migrate(db);
  const nc = await nats.connect();
  const { config } = await loadMixerConfig({ env: { FLUXRIG_NATS_AUTH: "jwt", ...env } });
  const mixer = await createMixer({
    config,
    db,
    nc,
    clusterKey: TEST_CLUSTER_KEY,
    logger: pino({ level: "silent" }),
    version: "0.0.0-test",
    credentials,
  });
  return {
    mixer,
    client: () => nats.connect(),
    async [Symbol.asyncDispose]() {
      await mixer.stop();
      await db.close();
      await nats.stop();
      await file.remove();
    },
  };
}

describe("createMixer with bus credentials", () => {
  test("a pending and an adopted reply carry a credential cut for the proven key and the reply's status", async () => {
    const asked: CredentialSubject[] = [];
    await using m = await mixerWith({
      mode: "jwt",
      issue: (rack) => {
        asked.push(rack);
        return { jwt: `h.${rack.status}.s`, expires_at: "2030-01-01T00:00:00.000Z" };
      },
      pushRevocations: async () => {},
      close: async () => {},
    });
    const rack = new ScriptedRack(await m.client(), "rack-1");
    const pending = await rack.hello();
    expect(pending.bus_credential?.jwt).toBe("h.pending.s");
    await m.mixer.racks.adopt("rack-1", { actor: "test" });
    const active = await rack.hello();
    expect(active.status).toBe("active");
    expect(active.bus_credential?.jwt).toBe("h.active.s");
    // The pending hello, the adoption's passport push (its grant grew), the active hello.
    expect(asked.map((a) => [a.name, a.status, a.publicKey])).toEqual([
      ["rack-1", "pending", rack.publicKey],
      ["rack-1", "active", rack.publicKey],
      ["rack-1", "active", rack.publicKey],
    ]);

    // Another key claiming the name is refused name_taken, and nothing is issued for it.
    const thief = new ScriptedRack(await m.client(), "rack-1");
    expect((await thief.hello()).error?.code).toBe("name_taken");
    expect(asked).toHaveLength(3);
  });

  test("an issue that throws leaves the hello's outcome standing, without a credential, counted", async () => {
    await using m = await mixerWith({
      mode: "jwt",
      issue: () => {
        throw new Error("signing key unavailable");
      },
      pushRevocations: async () => {},
      close: async () => {},
    });
    const reply = await new ScriptedRack(await m.client(), "rack-1").hello();
    expect(reply.status).toBe("pending");
    expect(reply.entity_id).toBeDefined();
    expect(reply.bus_credential).toBeUndefined();
    expect((await m.mixer.clusterInfo()).counters["bus.credentials.failed"]).toBe(1);
  });
});
