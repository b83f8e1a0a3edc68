/**
 * Migration 2: identifier columns refuse a string with a NUL character. SQLite stores such a
 * string whole, but `node:sqlite` reads TEXT back cut at the first NUL, so `forum\0evil` came
 * back as `forum`: a second "forum" in listings, resolving to the real one. The interfaces refuse
 * control characters before anything is written (types/identifier.ts); these triggers make the
 * storage itself refuse what it could not read back faithfully.
 *
 * @module
 */

/** The SQL of migration 2. */
export const sql = `
CREATE TRIGGER apps_no_nul_insert BEFORE INSERT ON apps
WHEN instr(CAST(NEW.app_id AS BLOB), X'00') > 0
BEGIN SELECT RAISE(ABORT, 'apps: an identifier contains a NUL character'); END;

CREATE TRIGGER apps_no_nul_update BEFORE UPDATE ON apps
WHEN instr(CAST(NEW.app_id AS BLOB), X'00') > 0
BEGIN SELECT RAISE(ABORT, 'apps: an identifier contains a NUL character'); END;

CREATE TRIGGER cells_no_nul_insert BEFORE INSERT ON cells
WHEN instr(CAST(NEW.app_id AS BLOB), X'00') > 0
  OR instr(CAST(NEW.role_name AS BLOB), X'00') > 0
  OR instr(CAST(NEW.clone_id AS BLOB), X'00') > 0
  OR instr(CAST(NEW.name AS BLOB), X'00') > 0
BEGIN SELECT RAISE(ABORT, 'cells: an identifier contains a NUL character'); END;

CREATE TRIGGER cells_no_nul_update BEFORE UPDATE ON cells
WHEN instr(CAST(NEW.app_id AS BLOB), X'00') > 0
  OR instr(CAST(NEW.role_name AS BLOB), X'00') > 0
  OR instr(CAST(NEW.clone_id AS BLOB), X'00') > 0
  OR instr(CAST(NEW.name AS BLOB), X'00') > 0
BEGIN SELECT RAISE(ABORT, 'cells: an identifier contains a NUL character'); END;

CREATE TRIGGER clone_counters_no_nul_insert BEFORE INSERT ON clone_counters
WHEN instr(CAST(NEW.app_id AS BLOB), X'00') > 0
  OR instr(CAST(NEW.role_name AS BLOB), X'00') > 0
BEGIN SELECT RAISE(ABORT, 'clone_counters: an identifier contains a NUL character'); END;

CREATE TRIGGER clone_counters_no_nul_update BEFORE UPDATE ON clone_counters
WHEN instr(CAST(NEW.app_id AS BLOB), X'00') > 0
  OR instr(CAST(NEW.role_name AS BLOB), X'00') > 0
BEGIN SELECT RAISE(ABORT, 'clone_counters: an identifier contains a NUL character'); END;

CREATE TRIGGER app_interfaces_no_nul_insert BEFORE INSERT ON app_interfaces
WHEN instr(CAST(NEW.installed_app_id AS BLOB), X'00') > 0
BEGIN SELECT RAISE(ABORT, 'app_interfaces: an identifier contains a NUL character'); END;

CREATE TRIGGER app_interfaces_no_nul_update BEFORE UPDATE ON app_interfaces
WHEN instr(CAST(NEW.installed_app_id AS BLOB), X'00') > 0
BEGIN SELECT RAISE(ABORT, 'app_interfaces: an identifier contains a NUL character'); END;
`
