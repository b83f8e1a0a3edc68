import { deepStrictEqual as assertEquals } from "node:assert/strict"
import { Effect, Fiber } from "effect"
import { Chain } from "../chain/mod.ts"
import { commitBare, runCommitTest as run } from "../chain/test_support.ts"
import { type DnaHash, Hasher, hashKey } from "../hash/mod.ts"
import { Keystore } from "../keystore/mod.ts"
import { Outbox } from "./mod.ts"

/** Commits a one-action chain (its `dna` action) in a new DNA; returns the DNA. */
const chainIn = (seed: number) =>
  Effect.gen(function* () {
    const hasher = yield* Hasher
    const chain = yield* Chain
    const dna = hasher.hashContent("dna", new Uint8Array([seed])) as DnaHash
    const ws = yield* chain.open(dna, yield* (yield* Keystore).generate)
    ws.append({ type: "dna", "dna_hash": dna }, null)
    yield* commitBare(ws)
    return dna
  })

Deno.test("Outbox.dueIn returns the due ops of the given DNAs only; settle marks ops done", async () => {
  await run(Effect.gen(function* () {
    const outbox = yield* Outbox
    const [x, y] = [yield* chainIn(1), yield* chainIn(2)]
    const now = Number.MAX_SAFE_INTEGER
    const all = yield* outbox.due(now, 100)
    const inX = yield* outbox.dueIn([x], now, 100)
    assertEquals(inX.length > 0, true)
    assertEquals(inX.every((op) => hashKey(op.dna) === hashKey(x)), true)
    assertEquals(yield* outbox.dueIn([], now, 100), [])
    assertEquals((yield* outbox.dueIn([x, y], now, 100)).map((op) => op.id), all.map((op) => op.id))
    yield* outbox.settle(inX.map((op) => op.id), 1)
    assertEquals(yield* outbox.dueIn([x], now, 100), [])
    assertEquals((yield* outbox.stats(x)).pending, 0)
    assertEquals((yield* outbox.stats(y)).pending > 0, true)
  }))
})

Deno.test("Outbox.enqueued wakes its waiter at a commit, and at once for an earlier commit", async () => {
  await run(
    Effect.gen(function* () {
      const outbox = yield* Outbox
      // A commit nobody waited for: the next wait completes at once (and only that one).
      yield* chainIn(1)
      yield* outbox.enqueued
      // A waiter before the commit completes once the commit has enqueued its ops.
      const waiter = yield* Effect.forkChild(outbox.enqueued)
      yield* Effect.yieldNow
      const dna = yield* chainIn(2)
      yield* Fiber.join(waiter)
      assertEquals((yield* outbox.stats(dna)).pending > 0, true)
    }).pipe(Effect.timeout("10 seconds")),
  )
})
