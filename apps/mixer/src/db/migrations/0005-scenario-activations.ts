// Migration 5: every scenario activation kept with the version it activated (issue 16, scenario history and rollback).

/**
 * One row per activation, never changed or deleted: the version's YAML and parsed spec as activated, when, by whom
 * (the audit actor) and why (operator or rollback). `scenarios` keeps only each name's latest import; this table keeps
 * every version that ever ran, so a rollback can re-activate it. The scenario active when the Mixer is upgraded is
 * recorded as activation 1 (actor `unknown`, cause `before-history`). See docs/registry-schema.md.
 */
export const scenarioActivationsMigration = {
  version: 5,
  name: "scenario-activations",
  statements: [
    `CREATE TABLE scenario_activations (
      seq INTEGER PRIMARY KEY,
      name TEXT NOT NULL,
      version TEXT NOT NULL,
      yaml TEXT NOT NULL,
      spec JSON NOT NULL,
      activated_at TIMESTAMP NOT NULL,
      actor TEXT NOT NULL,
      cause TEXT NOT NULL,
      reason TEXT
    )`,
    `INSERT INTO scenario_activations (seq, name, version, yaml, spec, activated_at, actor, cause, reason)
      SELECT 1, name, version, yaml, spec, COALESCE(activated_at, imported_at), 'unknown', 'before-history', NULL
      FROM scenarios WHERE active LIMIT 1`,
  ],
};
