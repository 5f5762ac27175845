// What a sealed hello reply costs: the Mixer seals one per new Rack, the Rack makes a reply key and opens one.
import { bench, describe } from "vitest";
import { generateKeyPair, publicKeyToBase64url } from "./keys.js";
import { generateReplyKey, openReply, sealContext, sealReply } from "./sealed-reply.js";

const context = sealContext(publicKeyToBase64url(generateKeyPair().publicKey));
// About the size of a full active reply: passport envelope, JWT, ids.
const plaintext = new Uint8Array(1_500).fill(0x61);
const key = generateReplyKey();
const box = sealReply({ recipient: key.publicKey, plaintext, context });

describe("sealed hello reply", () => {
  bench("sealReply (Mixer: ephemeral X25519, ECDH, HKDF, AES-256-GCM of 1.5 KB)", () => {
    sealReply({ recipient: key.publicKey, plaintext, context });
  });

  bench("generateReplyKey (Rack, per bootstrap hello)", () => {
    generateReplyKey();
  });

  bench("openReply (Rack)", () => {
    openReply({ key, box, context });
  });
});
