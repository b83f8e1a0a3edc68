import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict"
import { Effect, Schema } from "effect"
import { LocalStoreReceptorConfig } from "../../core/config/mod.ts"
import { callReceptor, type Receptor, ReceptorError } from "../../core/receptors/mod.ts"
import { startLocalStore } from "./local_store.ts"

const config = (id: string, extra: Record<string, unknown> = {}) =>
  Schema.decodeUnknownSync(LocalStoreReceptorConfig)({ id, type: "local_store", ...extra })

/** Runs `body` against a local_store receptor in `dir`, closing it afterwards. */
function withStore<A>(
  dir: string,
  body: (receptor: Receptor) => Effect.Effect<A, unknown>,
  extra: Record<string, unknown> = {},
  id = "notes",
): Promise<A> {
  return Effect.runPromise(Effect.scoped(Effect.gen(function* () {
    const { receptor } = yield* startLocalStore(config(id, extra), { dir, synchronous: "normal" })
    return yield* body(receptor)
  })))
}

const call = (receptor: Receptor, op: string, input: unknown) => callReceptor(receptor, op, input)
const failure = (receptor: Receptor, op: string, input: unknown) =>
  Effect.flip(callReceptor(receptor, op, input))

Deno.test("local_store put, get and delete are durable across a reopen", async () => {
  const dir = await Deno.makeTempDir()
  await withStore(dir, (r) =>
    Effect.gen(function* () {
      assertEquals(yield* call(r, "put", { key: "a", value: { title: "x", n: [1, 2] } }), {
        key: "a",
        version: 1,
      })
      assertEquals(yield* call(r, "put", { key: "a", value: "second" }), { key: "a", version: 2 })
      yield* call(r, "put", { key: "b", value: null })
      assertEquals(yield* call(r, "delete", { key: "b" }), { key: "b", deleted: true })
      assertEquals(yield* call(r, "delete", { key: "b" }), { key: "b", deleted: false })
    }))
  await Deno.stat(`${dir}/notes.sqlite3`)
  const after = await withStore(
    dir,
    (r) => Effect.all([call(r, "get", { key: "a" }), call(r, "get", { key: "b" })]),
  )
  assertEquals(after, [{ key: "a", value: "second", version: 2 }, {
    key: "b",
    value: null,
    version: 0,
  }])
})

Deno.test("local_store list pages through one prefix in key order", async () => {
  const dir = await Deno.makeTempDir()
  const keys = ["a", "a/1", "a/2", "a/3", "a/é", "a0", "b/1", "a/\u{10ffff}x"]
  const pages = await withStore(dir, (r) =>
    Effect.gen(function* () {
      for (const key of keys) yield* call(r, "put", { key, value: key })
      const seen: Array<string> = []
      let after: string | null = ""
      let pageCount = 0
      while (after !== null) {
        const page = (yield* call(r, "list", { prefix: "a/", after, limit: 2 })) as {
          entries: Array<{ key: string }>
          next: string | null
        }
        seen.push(...page.entries.map((e) => e.key))
        after = page.next
        pageCount++
      }
      return { seen, pageCount }
    }))
  assertEquals(pages.seen, ["a/1", "a/2", "a/3", "a/é", "a/\u{10ffff}x"])
  assertEquals(pages.pageCount, 3)
})

Deno.test("local_store batch writes everything or, when a check fails, nothing", async () => {
  const dir = await Deno.makeTempDir()
  await withStore(dir, (r) =>
    Effect.gen(function* () {
      yield* call(r, "put", { key: "counter", value: 1 })
      const conflict = yield* failure(r, "batch", {
        checks: [{ key: "counter", version: 7 }],
        ops: [{ op: "put", key: "counter", value: 2 }, { op: "put", key: "other", value: 1 }],
      })
      assert(conflict instanceof ReceptorError)
      assertEquals(conflict.reason, "Conflict")
      assertEquals(yield* call(r, "get", { key: "other" }), {
        key: "other",
        value: null,
        version: 0,
      })
      const ok = yield* call(r, "batch", {
        checks: [{ key: "counter", version: 1 }, { key: "fresh", version: 0 }],
        ops: [{ op: "put", key: "counter", value: 2 }, { op: "delete", key: "nothing" }, {
          op: "put",
          key: "fresh",
          value: true,
        }],
      })
      assertEquals(ok, {
        results: [{ key: "counter", version: 2 }, { key: "nothing", version: 0, deleted: false }, {
          key: "fresh",
          version: 1,
        }],
      })
      const stale = yield* failure(r, "put", { key: "counter", value: 3, "if_version": 1 })
      assert(stale instanceof ReceptorError && stale.reason === "Conflict")
    }))
})

Deno.test("local_store refuses oversized and malformed input and changes nothing", async () => {
  const dir = await Deno.makeTempDir()
  await withStore(dir, (r) =>
    Effect.gen(function* () {
      const reasons: Array<string> = []
      for (
        const [op, input] of [
          ["put", { key: "k".repeat(17), value: 1 }],
          ["put", { key: "k", value: "v".repeat(64) }],
          ["put", { key: "", value: 1 }],
          ["put", { key: "\ud800", value: 1 }],
          ["put", { key: "k" }],
          ["put", { key: "k", value: 1, extra: true }],
          ["batch", { ops: [1, 2, 3, 4].map((n) => ({ op: "put", key: `k${n}`, value: n })) }],
          ["batch", {
            ops: [{ op: "put", key: "ok", value: 1 }, { op: "put", key: "k".repeat(20), value: 1 }],
          }],
          ["drop_table", {}],
        ] as const
      ) {
        const error = yield* failure(r, op, input)
        assert(error instanceof ReceptorError)
        reasons.push(error.reason)
      }
      assertEquals(reasons, [
        "TooLarge",
        "TooLarge",
        "InvalidInput",
        "InvalidInput",
        "InvalidInput",
        "InvalidInput",
        "TooLarge",
        "TooLarge",
        "UnknownOperation",
      ])
      const listed = (yield* call(r, "list", {})) as { entries: Array<unknown> }
      assertEquals(listed.entries, [])
    }), { "max_key_bytes": 16, "max_value_bytes": 32, "max_batch_ops": 3 })
})

Deno.test("local_store refuses a file that belongs to another receptor", async () => {
  const dir = await Deno.makeTempDir()
  await withStore(dir, (r) => call(r, "put", { key: "a", value: 1 }), {}, "first")
  await Deno.rename(`${dir}/first.sqlite3`, `${dir}/second.sqlite3`)
  const error = await Effect.runPromise(Effect.flip(Effect.scoped(
    startLocalStore(config("second"), { dir, synchronous: "normal" }),
  )))
  assertEquals(error.reason, "StartFailed")
  assert(error.detail.includes(`belongs to local_store receptor "first"`), error.detail)
})
