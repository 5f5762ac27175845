// What a migration is, and the ordered list of every migration this binary knows.
import { initialMigration } from "./0001-initial.js";
import { conflictEvidenceMigration } from "./0002-conflict-evidence.js";
import { busRevocationsMigration } from "./0003-bus-revocations.js";
import { apiTokensMigration } from "./0004-api-tokens.js";
import { scenarioActivationsMigration } from "./0005-scenario-activations.js";
import { enrollmentTokensMigration } from "./0006-enrollment-tokens.js";
import { expectedKeysMigration } from "./0007-expected-keys.js";

/** One versioned schema change: its statements run in order, in one transaction, exactly once per database. */
export interface Migration {
  /** 1, 2, 3, ... with no gaps; recorded in `schema_migrations`. */
  version: number;
  /** A short name for logs and `schema_migrations.name`. */
  name: string;
  /** DDL/DML statements without parameters. Never edit one that has shipped: add a new migration instead. */
  statements: readonly string[];
}

/** Every migration, oldest first. Append only. */
export const MIGRATIONS: readonly Migration[] = [
  initialMigration,
  conflictEvidenceMigration,
  busRevocationsMigration,
  apiTokensMigration,
  scenarioActivationsMigration,
  enrollmentTokensMigration,
  expectedKeysMigration,
];

/** The schema version this binary writes; a database above it is refused. */
export const LATEST_SCHEMA_VERSION: number = MIGRATIONS.at(-1)?.version ?? 0;
