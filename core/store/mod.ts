/**
 * Storage: the SQLite connection, migrations and transactions.
 *
 * @module
 */
export { openStore, Store, StoreError, type StoreOptions, type StoreShape } from "./store.ts"
export { type Migration, migrations } from "./migrations/mod.ts"
