/**
 * The `local_store` receptor: a durable key-value/document store in its own SQLite file
 * (`<data_dir>/receptors/<id>.sqlite3`, so each receptor id is its own namespace). Keys are
 * strings, values any JSON document; every key carries a version that each write increments, so
 * that a `batch` can check versions and apply all of its writes or none (optimistic
 * transactions). Keys, values, batches and listings are bounded by the receptor's config.
 *
 * @module
 */
import { Effect, Schema } from "effect"
import type { LocalStoreReceptorConfig } from "../../core/config/mod.ts"
import {
  checkKey as checkKeyOf,
  encodeValue as encodeValueOf,
  openReceptorStore,
  operation,
  type Receptor,
  type ReceptorEnv,
  ReceptorError,
  storageAttempt,
} from "../../core/receptors/mod.ts"
import type { Migration } from "../../core/store/mod.ts"

/** The numbered migrations of a local_store file. Append only. */
export const LOCAL_STORE_MIGRATIONS: ReadonlyArray<Migration> = [
  {
    version: 1,
    name: "entries",
    sql: `CREATE TABLE entries (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL,
  version INTEGER NOT NULL,
  updated_at_ms INTEGER NOT NULL
) WITHOUT ROWID;`,
  },
]

const Key = Schema.String
const Version = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))

const Get = Schema.Struct({ key: Key })
const Put = Schema.Struct({
  key: Key,
  value: Schema.Json,
  /** Write only if the key is at this version (0: only if absent). */
  "if_version": Schema.optionalKey(Version),
})
const Delete = Schema.Struct({ key: Key, "if_version": Schema.optionalKey(Version) })
const List = Schema.Struct({
  prefix: Schema.optionalKey(Key),
  /** Continue after this key (the `next` of the previous page). */
  after: Schema.optionalKey(Key),
  limit: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))),
})
const BatchOp = Schema.Union([
  Schema.Struct({ op: Schema.Literal("put"), key: Key, value: Schema.Json }),
  Schema.Struct({ op: Schema.Literal("delete"), key: Key }),
])
const Batch = Schema.Struct({
  /** Every check must hold (`version` 0: the key is absent) or nothing is written. */
  checks: Schema.optionalKey(Schema.Array(Schema.Struct({ key: Key, version: Version }))),
  ops: Schema.Array(BatchOp),
})

/** A stored entry. */
export interface Entry {
  readonly key: string
  readonly value: Schema.Json
  readonly version: number
}

interface Row {
  readonly key: string
  readonly value: string
  readonly version: number
}

/** The smallest string above every string that starts with `prefix`; none for an empty prefix. */
function prefixEnd(prefix: string): string | null {
  const points = [...prefix]
  const last = points.pop()
  if (last === undefined) return null
  let code = last.codePointAt(0)! + 1
  if (code >= 0xd800 && code <= 0xdfff) code = 0xe000
  if (code > 0x10ffff) return prefixEnd(points.join(""))
  return points.join("") + String.fromCodePoint(code)
}

/** Starts a local_store receptor. */
export function startLocalStore(config: LocalStoreReceptorConfig, env: ReceptorEnv) {
  return Effect.gen(function* () {
    const store = yield* openReceptorStore(env, config, LOCAL_STORE_MIGRATIONS)
    const attempt = storageAttempt(config.id)
    const fail = (op: string, reason: ReceptorError["reason"], detail: string) =>
      new ReceptorError({ receptorId: config.id, operation: `local_store.${op}`, reason, detail })

    const where = (op: string) => ({ receptorId: config.id, operation: `local_store.${op}` })
    const checkKey = (op: string, key: string) => checkKeyOf(where(op), key, config.max_key_bytes)
    const encodeValue = (op: string, key: string, value: Schema.Json) =>
      encodeValueOf(where(op), key, value, config.max_value_bytes)

    const select = store.prepare("SELECT key, value, version FROM entries WHERE key = ?")
    const upsert = store.prepare(
      `INSERT INTO entries (key, value, version, updated_at_ms) VALUES (?, ?, 1, ?)
       ON CONFLICT (key) DO UPDATE SET value = excluded.value, version = version + 1,
       updated_at_ms = excluded.updated_at_ms RETURNING version`,
    )
    const remove = store.prepare("DELETE FROM entries WHERE key = ?")
    const listRange = store.prepare(
      `SELECT key, value, version FROM entries WHERE key > ? AND key >= ? AND (? IS NULL OR key < ?)
       ORDER BY key LIMIT ?`,
    )
    const count = store.prepare("SELECT count(*) AS n FROM entries")

    const versionOf = (key: string) => (select.get(key) as Row | undefined)?.version ?? 0
    const toEntry = (row: Row): Entry => ({
      key: row.key,
      value: JSON.parse(row.value) as Schema.Json,
      version: row.version,
    })
    const checkVersion = (op: string, key: string, expected: number | undefined) => {
      if (expected === undefined) return
      const actual = versionOf(key)
      if (actual !== expected) {
        throw fail(op, "Conflict", `"${key}" is at version ${actual}, not ${expected}`)
      }
    }

    const operations = {
      get: operation(
        Get,
        {
          readOnly: true,
          summary: "{key} → {key, value, version}; version 0 and value null when absent",
        },
        ({ key }) =>
          attempt("local_store.get", () => {
            checkKey("get", key)
            const row = select.get(key) as Row | undefined
            return row === undefined ? { key, value: null, version: 0 } : toEntry(row)
          }),
      ),
      put: operation(
        Put,
        { readOnly: false, summary: "{key, value, if_version?} → {key, version}" },
        (input) =>
          Effect.flatMap(
            Effect.clockWith((clock) => clock.currentTimeMillis),
            (now) =>
              attempt("local_store.put", () => {
                checkKey("put", input.key)
                const text = encodeValue("put", input.key, input.value)
                return store.transaction(() => {
                  checkVersion("put", input.key, input.if_version)
                  const { version } = upsert.get(input.key, text, now) as { version: number }
                  return { key: input.key, version }
                })
              }),
          ),
      ),
      delete: operation(
        Delete,
        { readOnly: false, summary: "{key, if_version?} → {key, deleted}" },
        (input) =>
          attempt("local_store.delete", () => {
            checkKey("delete", input.key)
            return store.transaction(() => {
              checkVersion("delete", input.key, input.if_version)
              return { key: input.key, deleted: remove.run(input.key).changes > 0 }
            })
          }),
      ),
      list: operation(
        List,
        {
          readOnly: true,
          summary:
            "{prefix?, after?, limit?} → {entries, next}; next is the after of the next page",
        },
        (input) =>
          attempt("local_store.list", () => {
            const prefix = input.prefix ?? ""
            if (prefix.length > 0) checkKey("list", prefix)
            const limit = Math.min(input.limit ?? config.max_list, config.max_list)
            const end = prefixEnd(prefix)
            const rows = listRange.all(
              input.after ?? "",
              prefix,
              end,
              end,
              limit + 1,
            ) as unknown as Array<Row>
            const more = rows.length > limit
            const page = more ? rows.slice(0, limit) : rows
            return { entries: page.map(toEntry), next: more ? page.at(-1)!.key : null }
          }),
      ),
      batch: operation(
        Batch,
        {
          readOnly: false,
          summary:
            "{checks?: [{key, version}], ops: [{op: put|delete, key, value?}]} → all or nothing",
        },
        (input) =>
          Effect.flatMap(
            Effect.clockWith((clock) => clock.currentTimeMillis),
            (now) =>
              attempt("local_store.batch", () => {
                const checks = input.checks ?? []
                if (input.ops.length + checks.length > config.max_batch_ops) {
                  throw fail(
                    "batch",
                    "TooLarge",
                    `${input.ops.length} ops and ${checks.length} checks, more than max_batch_ops ${config.max_batch_ops}`,
                  )
                }
                for (const check of checks) checkKey("batch", check.key)
                const encoded = input.ops.map((op) => {
                  checkKey("batch", op.key)
                  return op.op === "put" ? encodeValue("batch", op.key, op.value) : null
                })
                return store.transaction(() => {
                  for (const check of checks) checkVersion("batch", check.key, check.version)
                  const results = input.ops.map((op, i) => {
                    const text = encoded[i]
                    if (text === null || text === undefined) {
                      return { key: op.key, version: 0, deleted: remove.run(op.key).changes > 0 }
                    }
                    return {
                      key: op.key,
                      version: (upsert.get(op.key, text, now) as { version: number }).version,
                    }
                  })
                  return { results }
                })
              }),
          ),
      ),
    }

    const receptor: Receptor = {
      id: config.id,
      type: "local_store",
      operations,
      health: attempt("local_store.health", () => (count.get() as { n: number }).n).pipe(
        Effect.map((entries) => ({
          status: "ok" as const,
          detail: `${entries} entries in ${store.path}`,
          info: { entries, "size_bytes": store.sizeOnDisk() },
        })),
        Effect.catchTag(
          "ReceptorError",
          (error) => Effect.succeed({ status: "failed" as const, detail: error.detail, info: {} }),
        ),
      ),
    }
    return { receptor, operations }
  })
}
