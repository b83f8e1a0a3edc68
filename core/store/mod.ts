/**
 * Storage: the SQLite connection, migrations and transactions.
 *
 * @module
 */
export { openStore, Store, StoreError, type StoreOptions, type StoreShape } from "./store.ts"
export { type Migration, migrations } from "./migrations/mod.ts"
export {
  createPrivateFile,
  loosePermissions,
  makePrivateDir,
  PRIVATE_DIR_MODE,
  PRIVATE_FILE_MODE,
} from "./data_dir.ts"
