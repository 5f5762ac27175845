// A test Cluster Key that signs passports for Racks, the way the Mixer does, so tests need no Mixer.
import type { KeyObject } from "node:crypto";
import { EntityType, formatEntityId, nodeEntityId } from "@fluxrig/entity-id";
import {
  type Ed25519KeyPair,
  generateKeyPair,
  keyId,
  type PassportEnvelope,
  type PassportPayload,
  publicKeyToBase64url,
  signPassport,
} from "@fluxrig/passport";

/** Options of {@link TestCluster.issue}. */
export interface IssueOptions {
  rackPublicKey: KeyObject;
  name: string;
  machineId?: number;
  status?: "active" | "revoked";
  /** Validity window; defaults to one hour from now. */
  issuedAt?: Date;
  ttlMs?: number;
  serial?: number;
}

/**
 * A cluster key pair that issues passports.
 * @example const cluster = new TestCluster(); const env = cluster.issue({ rackPublicKey, name: "rack-1" });
 */
export class TestCluster {
  readonly keys: Ed25519KeyPair = generateKeyPair();
  readonly name: string;
  #serial = 0;

  constructor(name = "test-cluster") {
    this.name = name;
  }

  get publicKeyB64(): string {
    return publicKeyToBase64url(this.keys.publicKey);
  }

  get keyId(): string {
    return keyId(this.keys.publicKey);
  }

  /** The entity id of a Rack with this MachineID, as a decimal string. */
  static entityId(machineId: number): string {
    return formatEntityId(nodeEntityId(EntityType.Rack, machineId));
  }

  payload(opts: IssueOptions): PassportPayload {
    const issuedAt = opts.issuedAt ?? new Date();
    const machineId = opts.machineId ?? 100;
    this.#serial = opts.serial ?? this.#serial + 1;
    return {
      cluster: this.name,
      entity_id: TestCluster.entityId(machineId),
      type_id: 3,
      machine_id: machineId,
      name: opts.name,
      status: opts.status ?? "active",
      rack_public_key: publicKeyToBase64url(opts.rackPublicKey),
      issued_at: issuedAt.toISOString(),
      expires_at: new Date(issuedAt.getTime() + (opts.ttlMs ?? 3_600_000)).toISOString(),
      serial: this.#serial,
    };
  }

  issue(opts: IssueOptions): PassportEnvelope {
    return signPassport({
      payload: this.payload(opts),
      clusterPrivateKey: this.keys.privateKey,
      kid: this.keyId,
    });
  }
}

/** A copy of an envelope with one payload byte changed but the old signature: what tampering looks like. */
export function tamper(env: PassportEnvelope): PassportEnvelope {
  const bytes = Buffer.from(env.payload, "base64url");
  const text = bytes.toString("utf8").replace('"serial":', '"serial":9');
  return { ...env, payload: Buffer.from(text, "utf8").toString("base64url") };
}
