// A Rack's bus credential as the Mixer hands it out (SPEC §11): a NATS user JWT for the Rack's own key, with its expiry.
import { z } from "zod";
import { TimestampSchema } from "./schema-primitives.js";

/** A compact JWS: three base64url parts. A user JWT with the widest grant a Rack gets stays well under 16 KiB. */
const JWT_PATTERN = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/**
 * The user JWT a Rack presents at its next (re)connect, with the key it proved in its hello as the user. It is not a
 * secret (the server also demands a nonce signature by the Rack's key), and grants only what the Rack's state allows.
 *
 * @example
 * BusCredentialSchema.parse({ jwt: "eyJ0eXAi....", expires_at: "2026-12-07T10:00:00.000Z" });
 */
export const BusCredentialSchema = z.strictObject({
  jwt: z.string().max(16_384).regex(JWT_PATTERN, "expected a compact JWT"),
  expires_at: TimestampSchema,
});

/** A decoded bus credential. */
export type BusCredential = z.infer<typeof BusCredentialSchema>;
