// Migration 6: enrollment tokens (issue 16), registry state written through the RegistryWriter.

/**
 * One row per live enrollment token: the names it admits, its uses and expiry, and only the SHA-256 of its secret.
 * A revoked token's row is deleted; a used-up or expired one stays listed until revoked. See
 * docs/registry-schema.md.
 */
export const enrollmentTokensMigration = {
  version: 6,
  name: "enrollment-tokens",
  statements: [
    `CREATE TABLE enrollment_tokens (
      id TEXT PRIMARY KEY,
      pattern TEXT NOT NULL,
      uses INTEGER NOT NULL,
      used INTEGER NOT NULL,
      expires_at TIMESTAMP NOT NULL,
      secret_sha256 TEXT NOT NULL,
      created_at TIMESTAMP NOT NULL,
      created_by TEXT NOT NULL
    )`,
  ],
};
