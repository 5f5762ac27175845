// Public API of @fluxrig/passport: Ed25519 keys, the signed passport envelope, and atomic state.flux files.

export { type AtomicWriteOptions, writeFileAtomic } from "./atomic-write.js";
export { CONTROL_SIGNATURE_HEADER, signControlMessage, verifyControlMessage } from "./control-signature.js";
export {
  decodePassportPayload,
  MAX_PASSPORT_BYTES,
  PASSPORT_FORMAT,
  PASSPORT_VERSION,
  type PassportEnvelope,
  parsePassport,
  signPassport,
  stringifyPassport,
} from "./envelope.js";
export {
  ControlSignatureError,
  NkeyFormatError,
  PASSPORT_ERROR_CODES,
  PassportError,
  type PassportErrorCode,
  PassportExpiredError,
  PassportFormatError,
  PassportKeyError,
  type PassportKeyErrorReason,
  PassportKeyIdMismatchError,
  PassportKeyPermissionError,
  PassportMalformedError,
  PassportNameMismatchError,
  PassportNotYetValidError,
  PassportRackKeyMismatchError,
  PassportSignatureInvalidError,
  SealedReplyError,
  StateFluxError,
  type StateFluxErrorReason,
} from "./errors.js";
export {
  loadOrCreateKeyPair,
  loadPrivateKey,
  loadPublicKey,
  savePrivateKey,
  savePublicKey,
} from "./key-files.js";
export {
  type Ed25519KeyPair,
  generateKeyPair,
  keyFingerprint,
  keyId,
  publicKeyFromBase64url,
  publicKeyFromPrivate,
  publicKeyToBase64url,
  signBytes,
  verifyBytes,
} from "./keys.js";
export {
  base32Encode,
  crc16,
  decodePublicNkey,
  encodePublicNkey,
  encodeSeedNkey,
  NKEY_ROLES,
  type NkeyRole,
  nkeyOf,
  privateKeyOfSeed,
  publicKeyOfNkey,
  rawPublicKey,
  seedNkeyOf,
} from "./nkey.js";
export { type NonceAuth, nonceAuthenticator } from "./nonce-authenticator.js";
export { NAME_PATTERN, PASSPORT_PAYLOAD_KEYS, type PassportPayload, type PassportStatus } from "./payload.js";
export {
  generateReplyKey,
  openReply,
  type ReplyKey,
  type SealedBox,
  sealContext,
  sealReply,
} from "./sealed-reply.js";
export { SignatureMemo } from "./signature-memo.js";
export { readStateFlux, stateFluxText, writeStateFlux } from "./state-flux.js";
export {
  DEFAULT_SKEW_MS,
  renewalDueAt,
  type VerifiedPassport,
  type VerifyPassportOptions,
  verifyPassport,
  verifyPassportSignature,
} from "./verify.js";
