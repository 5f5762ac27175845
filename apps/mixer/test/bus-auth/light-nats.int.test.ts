// The swarm generator's light NATS client against a real nats-server 2.10 in JWT mode: it connects as a Rack with the
// Rack's own key (nonce signed), publishes what its JWT allows, and reports the server's refusals as -ERR.
import { nonceAuthenticator } from "@fluxrig/passport";
import {
  attachLogsOnFailure,
  headerValue,
  LightNats,
  LightNatsConnectError,
  waitFor,
} from "@fluxrig/testkit";
import { heartbeatSubject, SUBJECTS } from "@fluxrig/wire";
import { headers } from "@nats-io/transport-node";
import { beforeEach, describe, expect, test } from "vitest";
import { startJwtBus } from "./jwt-bus.js";

beforeEach(({ onTestFailed }) => attachLogsOnFailure(onTestFailed));

describe("LightNats", () => {
  test("connects as a Rack, publishes its heartbeat, gets a signed reply, and a refused publish is an -ERR", async () => {
    await using bus = await startJwtBus();
    const mixer = await bus.connectMixer();
    const heard: string[] = [];
    mixer.subscribe(SUBJECTS.heartbeatAll, {
      callback: (err, msg) => {
        if (err === null) heard.push(`${msg.subject} ${msg.string()}`);
      },
    });
    mixer.subscribe(SUBJECTS.hello, {
      callback: (_err, msg) => {
        const h = headers();
        h.set("Fluxrig-Sig", "kid sig");
        msg.respond(`welcome ${msg.string()}`, { headers: h });
      },
    });
    await mixer.flush();

    const rack = bus.rack({ name: "rack-1", status: "pending" });
    const errors: string[] = [];
    const nc = await LightNats.connect({
      host: bus.nats.host,
      port: bus.nats.port,
      name: "rack-1",
      auth: nonceAuthenticator({ privateKey: rack.privateKey, jwt: () => rack.jwt }),
      inboxPrefix: "_INBOX.rack-1",
      onError: (text) => errors.push(text),
    });
    try {
      nc.publish(heartbeatSubject("rack-2"), "forged");
      nc.publish(heartbeatSubject("rack-1"), "mine", { headers: { "X-Test": "1" } });
      await nc.flush();
      await waitFor(() => heard.includes(`${heartbeatSubject("rack-1")} mine`), {
        message: "the Rack's own heartbeat at the Mixer",
        timeoutMs: 5_000,
      });
      expect(heard).toEqual([`${heartbeatSubject("rack-1")} mine`]);
      await waitFor(() => errors.length > 0, { message: "the refusal reported", timeoutMs: 5_000 });
      expect(errors[0]).toBe(`Permissions Violation for Publish to "${heartbeatSubject("rack-2")}"`);
      expect(nc.closed).toBe(false);

      const reply = await nc.request(SUBJECTS.hello, "rack-1", { timeoutMs: 5_000 });
      expect(reply.data.toString()).toBe("welcome rack-1");
      expect(reply.subject.startsWith("_INBOX.rack-1.")).toBe(true);
      expect(headerValue(reply.headers, "fluxrig-sig")).toBe("kid sig");
    } finally {
      await nc.close();
    }
  });

  test("a wrong key or no credential is refused at the handshake", async () => {
    await using bus = await startJwtBus();
    const owner = bus.rack({ name: "rack-1", status: "pending" });
    const thief = bus.rack({ name: "rack-1", status: "pending" });
    const stolen = LightNats.connect({
      host: bus.nats.host,
      port: bus.nats.port,
      // The owner's JWT with another key's nonce signature.
      auth: nonceAuthenticator({ privateKey: thief.privateKey, jwt: () => owner.jwt }),
    });
    await expect(stolen).rejects.toBeInstanceOf(LightNatsConnectError);
    await expect(LightNats.connect({ host: bus.nats.host, port: bus.nats.port })).rejects.toThrow(
      /Authorization Violation/,
    );
  });
});
