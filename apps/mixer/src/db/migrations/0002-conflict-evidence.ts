// Migration 2: a name conflict keeps what the claiming key reported (hardware evidence, version), for racks replace.

/**
 * `racks replace` creates the new Rack's row from the conflict record, and adopted attributes are immutable
 * (SPEC §4): without these columns the replaced Rack would never hold the hardware evidence its key reported.
 * Rows recorded before this migration have NULL here until that key claims the name again.
 */
export const conflictEvidenceMigration = {
  version: 2,
  name: "conflict-evidence",
  statements: [
    "ALTER TABLE name_conflicts ADD COLUMN last_attributes JSON",
    "ALTER TABLE name_conflicts ADD COLUMN last_version TEXT",
  ],
};
