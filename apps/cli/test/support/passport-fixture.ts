// Test support: a cluster key, a Rack key and a signed passport written as a state.flux in a temp dir.
import { join } from "node:path";
import {
  type Ed25519KeyPair,
  generateKeyPair,
  keyId,
  type PassportEnvelope,
  publicKeyToBase64url,
  signPassport,
  writeStateFlux,
} from "@fluxrig/passport";

export interface PassportFixture {
  cluster: Ed25519KeyPair;
  clusterB64: string;
  env: PassportEnvelope;
  path: string;
}

/** Signs a passport valid from `issuedAt` for `ttlMs` and writes it to `<dir>/<file>`. */
export async function writePassportFixture(opts: {
  dir: string;
  file?: string;
  issuedAt: Date;
  ttlMs: number;
  status?: "active" | "revoked";
}): Promise<PassportFixture> {
  const cluster = generateKeyPair();
  const rack = generateKeyPair();
  const env = signPassport({
    clusterPrivateKey: cluster.privateKey,
    kid: keyId(cluster.publicKey),
    payload: {
      cluster: "mixer-1",
      entity_id: "216282733276561408",
      type_id: 3,
      machine_id: 100,
      name: "rack-nyc-01",
      status: opts.status ?? "active",
      rack_public_key: publicKeyToBase64url(rack.publicKey),
      issued_at: opts.issuedAt.toISOString(),
      expires_at: new Date(opts.issuedAt.getTime() + opts.ttlMs).toISOString(),
      serial: 7,
    },
  });
  const path = join(opts.dir, opts.file ?? "state.flux");
  await writeStateFlux(path, env);
  return { cluster, clusterB64: publicKeyToBase64url(cluster.publicKey), env, path };
}

/** The same envelope with its payload re-encoded after `edit`, and the old signature kept: a tampered passport. */
export function tamperedPassport(
  env: PassportEnvelope,
  edit: (payload: Record<string, unknown>) => void,
): PassportEnvelope {
  const payload = JSON.parse(Buffer.from(env.payload, "base64url").toString("utf8")) as Record<
    string,
    unknown
  >;
  edit(payload);
  return { ...env, payload: Buffer.from(JSON.stringify(payload), "utf8").toString("base64url") };
}
