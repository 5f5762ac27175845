// Migration 4: named API tokens with roles (issue 16), registry state written through the RegistryWriter.

/**
 * One row per live named API token. Only the SHA-256 of its secret is kept; a revoked token's row is deleted (the
 * audit log keeps who created and revoked it). See docs/registry-schema.md.
 */
export const apiTokensMigration = {
  version: 4,
  name: "api-tokens",
  statements: [
    `CREATE TABLE api_tokens (
      name TEXT PRIMARY KEY,
      role TEXT NOT NULL,
      secret_sha256 TEXT NOT NULL,
      created_at TIMESTAMP NOT NULL,
      created_by TEXT NOT NULL
    )`,
  ],
};
