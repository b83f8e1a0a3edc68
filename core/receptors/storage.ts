/**
 * A receptor's own SQLite file, `<data_dir>/receptors/<id>.sqlite3`: WAL, the conductor's
 * durability setting, the receptor type's numbered migrations, and a stamp of the id and type
 * that created it, so that a file copied or renamed to another receptor is refused instead of
 * being read as someone else's data. Closed when the receptor's scope closes.
 *
 * @module
 */
import { Effect } from "effect"
import * as path from "node:path"
import { type Migration, openStore, type StoreShape } from "../store/mod.ts"
import { ReceptorError } from "./receptor.ts"
import type { ReceptorEnv } from "./receptors.ts"

/** The file a receptor keeps its data in. */
export function receptorFile(env: ReceptorEnv, id: string): string {
  return path.join(env.dir, `${id}.sqlite3`)
}

function stamp(store: StoreShape, id: string, type: string): void {
  store.db.exec(
    "CREATE TABLE IF NOT EXISTS receptor_owner (id INTEGER PRIMARY KEY CHECK (id = 1), receptor_id TEXT NOT NULL, receptor_type TEXT NOT NULL)",
  )
  const owner = store.db.prepare("SELECT receptor_id, receptor_type FROM receptor_owner").get() as
    | { receptor_id: string; receptor_type: string }
    | undefined
  if (owner === undefined) {
    store.db.prepare("INSERT INTO receptor_owner (id, receptor_id, receptor_type) VALUES (1, ?, ?)")
      .run(id, type)
  } else if (owner.receptor_id !== id || owner.receptor_type !== type) {
    throw new Error(
      `${store.path} belongs to ${owner.receptor_type} receptor "${owner.receptor_id}", not to ${type} receptor "${id}"`,
    )
  }
}

/** Opens (creating and migrating) the receptor's file for the lifetime of the scope. */
export function openReceptorStore(
  env: ReceptorEnv,
  receptor: { readonly id: string; readonly type: string },
  migrations: ReadonlyArray<Migration>,
) {
  const file = receptorFile(env, receptor.id)
  return Effect.acquireRelease(
    Effect.try({
      try: () => {
        const store = openStore(file, { synchronous: env.synchronous, migrations })
        try {
          stamp(store, receptor.id, receptor.type)
        } catch (error) {
          store.db.close()
          throw error
        }
        return store
      },
      catch: (cause) =>
        new ReceptorError({
          receptorId: receptor.id,
          operation: "open",
          reason: "StartFailed",
          detail: `cannot open ${file}: ${cause instanceof Error ? cause.message : String(cause)}`,
          cause,
        }),
    }),
    (store) => Effect.sync(() => store.db.isOpen && store.db.close()),
  )
}

const encoder = new TextEncoder()

/** UTF-8 length of a string. */
export function utf8Bytes(text: string): number {
  return encoder.encode(text).length
}

/** Throws an `InvalidInput` or `TooLarge` `ReceptorError` unless `key` is a usable key. */
export function checkKey(
  where: { readonly receptorId: string; readonly operation: string },
  key: string,
  maxKeyBytes: number,
): void {
  const fail = (reason: "InvalidInput" | "TooLarge", detail: string) =>
    new ReceptorError({ ...where, reason, detail })
  if (key.length === 0) throw fail("InvalidInput", "a key must not be empty")
  if (!key.isWellFormed()) throw fail("InvalidInput", "a key must be well-formed Unicode")
  const bytes = utf8Bytes(key)
  if (bytes > maxKeyBytes) {
    throw fail("TooLarge", `key is ${bytes} bytes, more than max_key_bytes ${maxKeyBytes}`)
  }
}

/** `value` as JSON text; throws a `TooLarge` `ReceptorError` past `maxValueBytes`. */
export function encodeValue(
  where: { readonly receptorId: string; readonly operation: string },
  key: string,
  value: unknown,
  maxValueBytes: number,
): string {
  const text = JSON.stringify(value)
  const bytes = utf8Bytes(text)
  if (bytes > maxValueBytes) {
    throw new ReceptorError({
      ...where,
      reason: "TooLarge",
      detail:
        `value of "${key}" is ${bytes} bytes of JSON, more than max_value_bytes ${maxValueBytes}`,
    })
  }
  return text
}
