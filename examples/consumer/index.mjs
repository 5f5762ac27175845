// A project outside the workspace using the published packages: make an id, sign a passport, verify it, save it.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EntityType, formatEntityIdHex, nodeEntityId, parseEntityId } from "@fluxrig/entity-id";
import {
  generateKeyPair,
  keyId,
  publicKeyToBase64url,
  readStateFlux,
  signPassport,
  verifyPassport,
  writeStateFlux,
} from "@fluxrig/passport";

const id = nodeEntityId(EntityType.Rack, 100);
if (id !== parseEntityId("0x0300640000000000")) throw new Error("entity id mismatch");

const cluster = generateKeyPair();
const rack = generateKeyPair();
const now = new Date();
const passport = signPassport({
  clusterPrivateKey: cluster.privateKey,
  kid: keyId(cluster.publicKey),
  payload: {
    cluster: "example",
    entity_id: id.toString(),
    type_id: EntityType.Rack,
    machine_id: 100,
    name: "rack-example",
    status: "active",
    rack_public_key: publicKeyToBase64url(rack.publicKey),
    issued_at: now.toISOString(),
    expires_at: new Date(now.getTime() + 3_600_000).toISOString(),
    serial: 1,
  },
});
const file = join(mkdtempSync(join(tmpdir(), "fluxrig-example-")), "state.flux");
await writeStateFlux(file, passport);
const payload = verifyPassport(await readStateFlux(file), {
  clusterPublicKey: cluster.publicKey,
  rackPublicKey: rack.publicKey,
  name: "rack-example",
});
console.log(
  JSON.stringify({ ok: true, entity_id: formatEntityIdHex(id), name: payload.name, serial: payload.serial }),
);
