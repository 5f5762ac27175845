// Passport issue times against the Rack's fixed 120 s allowance, and the memo of passports already checked.
import { formatEntityId } from "@fluxrig/entity-id";
import {
  generateKeyPair,
  PassportNotYetValidError,
  publicKeyToBase64url,
  verifyPassport,
} from "@fluxrig/passport";
import { describe, expect, test } from "vitest";
import { TEST_CLUSTER_KEY } from "../../test/support/lifecycle-test-harness.js";
import { PassportIssuer } from "./passport-issuer.js";

const clusterKey = TEST_CLUSTER_KEY;
const rackKeys = generateKeyPair();
const subject = {
  entityId: 216282733276561408n,
  machineId: 100,
  name: "rack-a",
  publicKey: publicKeyToBase64url(rackKeys.publicKey),
};
const now = new Date("2030-01-01T12:00:00.400Z");
const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

function issuer(skewMs: number) {
  return new PassportIssuer({ clusterKey, cluster: "mixer-1", ttlMs: DAY, skewMs });
}

function rackVerifies(env: ReturnType<PassportIssuer["sign"]>["envelope"], rackClock: Date) {
  return verifyPassport(env, {
    clusterPublicKey: clusterKey.publicKey,
    rackPublicKey: subject.publicKey,
    name: subject.name,
    now: rackClock,
  });
}

describe("PassportIssuer.sign", () => {
  test("with the default 2-minute window the passport is issued now and lives ttl", () => {
    const { payload } = issuer(2 * MINUTE).sign(subject, { serial: 1, now });
    expect(payload.issued_at).toBe("2030-01-01T12:00:00.000Z");
    expect(payload.expires_at).toBe("2030-01-02T12:00:00.000Z");
    expect(payload.entity_id).toBe(formatEntityId(subject.entityId));
  });

  test("a wider window dates the passport back so a Rack it admits, behind by up to the window, accepts it", () => {
    const wide = issuer(10 * MINUTE);
    const { envelope, payload } = wide.sign(subject, { serial: 1, now });
    expect(payload.issued_at).toBe("2030-01-01T11:52:00.000Z");
    // The expiry does not move.
    expect(payload.expires_at).toBe("2030-01-02T12:00:00.000Z");
    expect(rackVerifies(envelope, new Date(now.getTime() - 5 * MINUTE)).name).toBe("rack-a");
    expect(rackVerifies(envelope, new Date(now.getTime() - 10 * MINUTE)).name).toBe("rack-a");
    // Beyond the window the Mixer refuses the hello anyway; the passport is not valid there either.
    expect(() => rackVerifies(envelope, new Date(now.getTime() - 11 * MINUTE))).toThrow(
      PassportNotYetValidError,
    );
  });

  test("without the backdating the same Rack would refuse it (what the clock-skew fault test found)", () => {
    const { envelope } = issuer(2 * MINUTE).sign(subject, { serial: 1, now });
    expect(() => rackVerifies(envelope, new Date(now.getTime() - 5 * MINUTE))).toThrow(
      PassportNotYetValidError,
    );
  });
});

describe("PassportIssuer.checkPresented", () => {
  test("a passport it signed is accepted again; an edited copy is refused", () => {
    const iss = issuer(2 * MINUTE);
    const { envelope } = iss.sign(subject, { serial: 3, now });
    expect(iss.checkPresented(envelope, { ...subject, serial: 3 }, now)).toMatchObject({ valid: true });
    const edited = {
      ...envelope,
      sig: `${envelope.sig.slice(0, 40)}${envelope.sig[40] === "A" ? "B" : "A"}${envelope.sig.slice(41)}`,
    };
    expect(iss.checkPresented(edited, { ...subject, serial: 3 }, now)).toMatchObject({ valid: false });
  });
});
