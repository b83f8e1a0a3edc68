/**
 * The `Store` service: one `node:sqlite` database in WAL mode holding conductor state, source
 * chains, DHT ops and wasm. It owns the connection, the pragmas, migrations and transactions;
 * the tables' meaning belongs to the services that use them (each prepares its own statements).
 * Everything here is synchronous on purpose: a zome call runs to completion on one thread, and
 * its host functions read and write through this connection without awaiting.
 *
 * @module
 */
import { Context, Effect, Layer, Schema } from "effect"
import * as path from "node:path"
import { DatabaseSync, type StatementSync } from "node:sqlite"
import { ConductorConfig } from "../config/mod.ts"
import { createPrivateFile, loosePermissions, makePrivateDir } from "./data_dir.ts"
import { type Migration, migrations as conductorMigrations } from "./migrations/mod.ts"

/** A storage failure. `operation` names what was being done (`"Store.open"`, `"Chain.commit"`). */
export class StoreError extends Schema.TaggedError<StoreError>()("StoreError", {
  operation: Schema.String,
  cause: Schema.Defect(),
}) {
  override get message(): string {
    const cause = this.cause instanceof Error ? this.cause.message : String(this.cause)
    return `${this.operation}: ${cause}`
  }
}

/** Options of `Store.make`. */
export interface StoreOptions {
  /**
   * `normal` (WAL) survives a crash of the process but may lose the last commits on a power loss;
   * `full` fsyncs every commit. @default "normal"
   */
  readonly synchronous?: "full" | "normal"
  /** The schema this file follows (receptors keep their own). @default the conductor's */
  readonly migrations?: ReadonlyArray<Migration>
}

/** What the Store offers. */
export interface StoreShape {
  /** Path of the database file (`:memory:` for tests). */
  readonly path: string
  /** The connection. Services prepare their statements once, at layer construction. */
  readonly db: DatabaseSync
  /** Prepares (and caches) a statement. */
  readonly prepare: (sql: string) => StatementSync
  /**
   * Runs `f` in one `BEGIN IMMEDIATE … COMMIT` transaction; rolls back if it throws. Nested calls
   * join the outer transaction. Synchronous: `f` must not await.
   */
  readonly transaction: <A>(f: () => A) => A
  /** Transactions committed through `transaction` since the store was opened. */
  readonly commits: () => number
  /** Bytes the database occupies on disk (main file + WAL). */
  readonly sizeOnDisk: () => number
}

function migrate(db: DatabaseSync, migrations: ReadonlyArray<Migration>): void {
  const current = (db.prepare("PRAGMA user_version").get() as { user_version: number })
    .user_version
  const latest = migrations.at(-1)?.version ?? 0
  if (current > latest) {
    throw new Error(
      `database schema version ${current} is newer than this conductor understands (${latest}); ` +
        `use a newer conductor`,
    )
  }
  for (const migration of migrations) {
    if (migration.version <= current) continue
    db.exec("BEGIN IMMEDIATE")
    try {
      db.exec(migration.sql)
      db.exec(`PRAGMA user_version = ${migration.version}`)
      db.exec("COMMIT")
    } catch (cause) {
      db.exec("ROLLBACK")
      throw new Error(`migration ${migration.version} (${migration.name}) failed`, { cause })
    }
  }
}

/** Opens a database synchronously; throws on failure (wrapped by `Store.make`). */
export function openStore(file: string, options: StoreOptions = {}): StoreShape {
  if (file !== ":memory:") {
    makePrivateDir(path.dirname(file))
    createPrivateFile(file)
  }
  const db = new DatabaseSync(file)
  try {
    db.exec("PRAGMA journal_mode = WAL")
    db.exec(`PRAGMA synchronous = ${options.synchronous === "full" ? "FULL" : "NORMAL"}`)
    db.exec("PRAGMA foreign_keys = ON")
    db.exec("PRAGMA busy_timeout = 5000")
    migrate(db, options.migrations ?? conductorMigrations)
  } catch (error) {
    db.close()
    throw error
  }
  const statements = new Map<string, StatementSync>()
  const prepare = (sql: string) => {
    let statement = statements.get(sql)
    if (statement === undefined) {
      statement = db.prepare(sql)
      statements.set(sql, statement)
    }
    return statement
  }
  let depth = 0
  let commits = 0
  const transaction = <A>(f: () => A): A => {
    if (depth > 0) {
      depth++
      try {
        return f()
      } finally {
        depth--
      }
    }
    db.exec("BEGIN IMMEDIATE")
    depth = 1
    try {
      const result = f()
      db.exec("COMMIT")
      commits++
      return result
    } catch (error) {
      // The transaction may already be gone if COMMIT itself failed; ROLLBACK is then a no-op error.
      if (db.isTransaction) db.exec("ROLLBACK")
      throw error
    } finally {
      depth = 0
    }
  }
  const sizeOnDisk = () => {
    if (file === ":memory:") return 0
    let total = 0
    for (const suffix of ["", "-wal"]) {
      try {
        total += Deno.statSync(file + suffix).size
      } catch {
        // A missing WAL file simply contributes nothing.
      }
    }
    return total
  }
  return { path: file, db, prepare, transaction, commits: () => commits, sizeOnDisk }
}

/** The conductor's database. */
export class Store extends Context.Service<Store, StoreShape>()("conductor/store/Store") {
  /** Opens `file` (creating folders and running migrations); closed when the scope closes. */
  static readonly make = (file: string, options: StoreOptions = {}) =>
    Effect.acquireRelease(
      Effect.try({
        try: () => openStore(file, options),
        catch: (cause) => new StoreError({ operation: `Store.open ${file}`, cause }),
      }),
      (store) => Effect.sync(() => store.db.isOpen && store.db.close()),
    ).pipe(Effect.map(Store.of))

  /**
   * `<data_dir>/conductor.sqlite3` with the configured durability. A new data folder is 0700
   * and its files 0600; a looser existing one is logged as a warning (data_dir.ts).
   */
  static readonly layer = Layer.effect(
    Store,
    Effect.gen(function* () {
      const config = yield* ConductorConfig
      const store = yield* Store.make(path.join(config.dataDirPath, "conductor.sqlite3"), {
        synchronous: config.storage.synchronous,
      })
      // Warn, do not refuse: a folder shared on purpose is the operator's call.
      const warnings = yield* Effect.try({
        try: () => loosePermissions(config.dataDirPath),
        catch: (cause) =>
          new StoreError({ operation: `Store.checkPermissions ${config.dataDirPath}`, cause }),
      })
      for (const warning of warnings) yield* Effect.logWarning(warning)
      return store
    }),
  )

  /** A database at `file` with the configured durability (tests and tools). */
  static readonly layerAt = (file: string) =>
    Layer.effect(
      Store,
      Effect.flatMap(Effect.service(ConductorConfig), (config) =>
        Store.make(file, { synchronous: config.storage.synchronous })),
    )

  /** An in-memory database, for tests. */
  static readonly layerMemory = Layer.effect(Store, Store.make(":memory:"))
}
