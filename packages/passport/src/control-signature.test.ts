import { describe, expect, it } from "vitest";
import { signControlMessage, verifyControlMessage } from "./control-signature.js";
import { ControlSignatureError } from "./errors.js";
import { generateKeyPair, keyId, publicKeyToBase64url } from "./keys.js";

const cluster = generateKeyPair();
const kid = keyId(cluster.publicKey);
const bytes = new TextEncoder().encode('{"v":1,"kind":"status","status":"active"}');

function reasonOf(fn: () => void): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof ControlSignatureError) return error.reason;
    throw error;
  }
  return "accepted";
}

describe("signed control messages", () => {
  it("verifies against the key object and against its base64url form", () => {
    const header = signControlMessage(cluster.privateKey, kid, bytes);
    expect(header.startsWith(`${kid} `)).toBe(true);
    expect(reasonOf(() => verifyControlMessage({ publicKey: cluster.publicKey, bytes, header }))).toBe(
      "accepted",
    );
    const b64 = publicKeyToBase64url(cluster.publicKey);
    expect(reasonOf(() => verifyControlMessage({ publicKey: b64, bytes, header }))).toBe("accepted");
  });

  it("refuses a missing, malformed, foreign or altered signature, each with its reason", () => {
    const header = signControlMessage(cluster.privateKey, kid, bytes);
    const check = (h: string | undefined, b = bytes) =>
      reasonOf(() => verifyControlMessage({ publicKey: cluster.publicKey, bytes: b, header: h }));
    expect(check(undefined)).toBe("missing");
    expect(check("")).toBe("missing");
    expect(check("no-space-here")).toBe("malformed");
    expect(check(`${kid} not-a-signature`)).toBe("malformed");
    const other = generateKeyPair();
    expect(check(signControlMessage(other.privateKey, keyId(other.publicKey), bytes))).toBe("wrong_key");
    // A foreign key claiming the pinned key id is caught by the signature itself.
    expect(check(signControlMessage(other.privateKey, kid, bytes))).toBe("invalid");
    const altered = Uint8Array.from(bytes);
    altered[altered.length - 2] = (altered.at(-2) ?? 0) ^ 1;
    expect(check(header, altered)).toBe("invalid");
  });
});
