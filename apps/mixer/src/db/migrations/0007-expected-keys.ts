// Migration 7: expected keys (issue 16), registry state written through the RegistryWriter.

/** One row per name that may only be adopted with one key. See docs/registry-schema.md. */
export const expectedKeysMigration = {
  version: 7,
  name: "expected-keys",
  statements: [
    `CREATE TABLE expected_keys (
      name TEXT PRIMARY KEY,
      key_fingerprint TEXT NOT NULL,
      created_at TIMESTAMP NOT NULL,
      created_by TEXT NOT NULL
    )`,
  ],
};
