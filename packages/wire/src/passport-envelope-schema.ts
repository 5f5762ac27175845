// The passport envelope's structure as it travels inside wire messages; trust comes from @fluxrig/passport's verify.
import type { PassportEnvelope } from "@fluxrig/passport";
import { z } from "zod";
import { base64urlSchema, KeyIdSchema, SignatureSchema, WIRE_LIMITS } from "./schema-primitives.js";

/**
 * `{ format: "fluxrig.passport", v: 1, kid, payload, sig }` with bounded base64url fields. Structure only:
 * verify the signature and payload with @fluxrig/passport before trusting it.
 *
 * @example
 * PassportEnvelopeSchema.safeParse(JSON.parse(stateFluxText)).success;
 */
export const PassportEnvelopeSchema = z.strictObject({
  format: z.literal("fluxrig.passport"),
  v: z.literal(1),
  kid: KeyIdSchema,
  payload: base64urlSchema({ minBytes: 1, maxBytes: (WIRE_LIMITS.passportPayloadChars * 3) / 4 }),
  sig: SignatureSchema,
});

/** The envelope as the schema types it; assignable both ways to @fluxrig/passport's `PassportEnvelope`. */
export type WirePassportEnvelope = z.infer<typeof PassportEnvelopeSchema>;

// Compile-time proof that the two definitions agree in both directions.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const envelopeTypesAgree: Same<WirePassportEnvelope, PassportEnvelope> = true;
void envelopeTypesAgree;
