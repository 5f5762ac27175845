// Hello signatures: sign then verify works; any change to any signed field, the key or the signature breaks it.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { generateKeyPair, sampleEnvelope, sampleUnsignedHello } from "../test/message-fixtures.js";
import { decodeHelloRequest } from "./decoders.js";
import { encodeMessage } from "./encode-message.js";
import type { HelloRequest } from "./hello-schemas.js";
import { helloSigningBytes, signHello, verifyHelloSignature } from "./hello-signature.js";
import { jcsCanonicalJson } from "./jcs-canonical-json.js";

const rack = generateKeyPair();
const other = generateKeyPair();
const cluster = generateKeyPair();

function signed(): HelloRequest {
  return signHello(sampleUnsignedHello(rack), rack.privateKey);
}

describe("helloSigningBytes", () => {
  it("is the UTF-8 canonical JSON of every field but sig", () => {
    const req = signed();
    const { sig: _sig, ...rest } = req;
    const text = Buffer.from(helloSigningBytes(req)).toString("utf8");
    expect(text).toBe(jcsCanonicalJson(rest));
    expect(text).not.toContain('"sig"');
    expect(text.startsWith('{"attributes":{"arch":"arm64","cpus":4,"hostname":')).toBe(true);
    expect(Buffer.from(helloSigningBytes(rest)).equals(Buffer.from(helloSigningBytes(req)))).toBe(true);
  });

  it("treats an undefined passport like an absent one", () => {
    const unsigned = sampleUnsignedHello(rack);
    expect(helloSigningBytes({ ...unsigned, passport: undefined })).toEqual(helloSigningBytes(unsigned));
  });
});

describe("signHello and verifyHelloSignature", () => {
  it("verify what they sign, also after a trip over the wire", () => {
    const req = signed();
    expect(req.sig).toMatch(/^[A-Za-z0-9_-]{86}$/);
    expect(verifyHelloSignature(req)).toBe(true);
    const decoded = decodeHelloRequest(encodeMessage(req));
    expect(decoded.ok && verifyHelloSignature(decoded.value)).toBe(true);
  });

  it("cover the passport when one is presented", () => {
    const req = signHello(
      { ...sampleUnsignedHello(rack), passport: sampleEnvelope(cluster) },
      rack.privateKey,
    );
    expect(verifyHelloSignature(req)).toBe(true);
    expect(verifyHelloSignature({ ...req, passport: undefined })).toBe(false);
    expect(verifyHelloSignature({ ...req, passport: sampleEnvelope(other) })).toBe(false);
  });

  const tamperings: [string, (r: HelloRequest) => HelloRequest][] = [
    ["name", (r) => ({ ...r, name: "rack-nyc-02" })],
    ["version", (r) => ({ ...r, version: "1.4.3" })],
    ["nonce", (r) => ({ ...r, nonce: Buffer.alloc(16, 8).toString("base64url") })],
    ["ts", (r) => ({ ...r, ts: "2025-03-14T09:26:54.589Z" })],
    ["attributes.hostname", (r) => ({ ...r, attributes: { ...r.attributes, hostname: "evil" } })],
    ["attributes.mac", (r) => ({ ...r, attributes: { ...r.attributes, mac: [] } })],
    ["attributes added", (r) => ({ ...r, attributes: { ...r.attributes, extra: 1 } })],
    [
      "public_key (another Rack's key)",
      (r) => ({ ...r, public_key: other.publicKey.export({ format: "jwk" }).x! }),
    ],
    ["sig (another key's signature)", (r) => ({ ...r, sig: signHello(r, other.privateKey).sig })],
    ["sig (one character)", (r) => ({ ...r, sig: `${r.sig[0] === "A" ? "B" : "A"}${r.sig.slice(1)}` })],
  ];

  it.each(tamperings)("fail when %s changes", (_label, tamper) => {
    expect(verifyHelloSignature(tamper(signed()))).toBe(false);
  });

  it("fail for any change to any signed field (property)", () => {
    const req = signed();
    const fields = ["name", "version", "nonce", "ts", "public_key"] as const;
    fc.assert(
      fc.property(fc.constantFrom(...fields), fc.string({ maxLength: 50 }), (field, value) => {
        fc.pre(value !== req[field]);
        expect(verifyHelloSignature({ ...req, [field]: value })).toBe(false);
      }),
    );
  });

  it("never throw, whatever arrives", () => {
    fc.assert(
      fc.property(fc.anything(), (junk) => {
        expect(verifyHelloSignature(junk as HelloRequest)).toBe(false);
        expect(verifyHelloSignature({ ...signed(), sig: junk } as unknown as HelloRequest)).toBe(false);
        expect(verifyHelloSignature({ ...signed(), public_key: junk } as unknown as HelloRequest)).toBe(
          false,
        );
      }),
      { numRuns: 200 },
    );
  });
});
