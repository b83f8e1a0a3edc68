/**
 * Unit tests of `AppTokens` (conductor-api.md §2.3, §4) and `NonceWitness` (§3.2 step 4) on a
 * `TestClock`: expiry, single use, binding to an app, replay across a flush and a restart,
 * the 50-minute window, and pruning.
 *
 * @module
 */
import { Effect, Layer } from "effect"
import { TestClock } from "effect/testing"
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict"
import {
  AppTokens,
  makeNonceFilter,
  makeNonceWitness,
  MAX_NONCE_AHEAD_MICROS,
} from "../../core/app_interface/mod.ts"
import { Store } from "../../core/store/mod.ts"

const NOW_MS = 1_800_000_000_000

function onTestClock<A, E>(program: Effect.Effect<A, E, AppTokens | TestClock.TestClock>) {
  return Effect.runPromise(
    Effect.gen(function* () {
      yield* TestClock.setTime(NOW_MS)
      return yield* program
    }).pipe(Effect.provide(AppTokens.layer.pipe(Layer.provideMerge(TestClock.layer())))),
  )
}

Deno.test("AppTokens.issue defaults to single use and 30 s; 0 s never expires", () =>
  onTestClock(Effect.gen(function* () {
    const tokens = yield* AppTokens
    const issued = yield* tokens.issue("app", {})
    assertEquals(issued.token.length, 64)
    assertEquals(issued.expiresAt, (NOW_MS + 30_000) * 1000)
    assertEquals(tokens.authenticate(issued.token, null), { type: "ok", appId: "app" })
    assertEquals(tokens.authenticate(issued.token, null), { type: "refused", reason: "unknown" })
    const forever = yield* tokens.issue("app", { expirySeconds: 0, singleUse: false })
    assertEquals(forever.expiresAt, null)
    yield* TestClock.adjust("1000 days")
    assertEquals(tokens.authenticate(forever.token, null).type, "ok")
    assertEquals(tokens.authenticate(forever.token, null).type, "ok")
  })))

Deno.test("AppTokens.authenticate refuses an expired token and purges expired ones", () =>
  onTestClock(Effect.gen(function* () {
    const tokens = yield* AppTokens
    const short = yield* tokens.issue("app", { expirySeconds: 5, singleUse: false })
    yield* tokens.issue("app", { expirySeconds: 5 })
    yield* TestClock.adjust("4999 millis")
    assertEquals(tokens.authenticate(short.token, null).type, "ok")
    yield* TestClock.adjust("1 millis")
    assertEquals(tokens.authenticate(short.token, null), { type: "refused", reason: "expired" })
    assertEquals(tokens.size(), 0)
  })))

Deno.test("AppTokens.authenticate spends a single-use token before the app check", () =>
  onTestClock(Effect.gen(function* () {
    const tokens = yield* AppTokens
    const once = yield* tokens.issue("a", {})
    assertEquals(tokens.authenticate(once.token, "b"), { type: "refused", reason: "wrong_app" })
    assertEquals(tokens.authenticate(once.token, "a"), { type: "refused", reason: "unknown" })
    const many = yield* tokens.issue("a", { singleUse: false })
    assertEquals(tokens.authenticate(many.token, "b").type, "refused")
    assertEquals(tokens.authenticate(many.token, "a"), { type: "ok", appId: "a" })
    yield* tokens.revoke(many.token)
    assertEquals(tokens.authenticate(many.token, "a"), { type: "refused", reason: "unknown" })
  })))

const key = (n: number) => new Uint8Array(39).fill(n)
const nonce = (n: number) => new Uint8Array(32).fill(n)

Deno.test("NonceWitness refuses expired, too-far and duplicate nonces, across a flush and a restart", async () => {
  const file = `${await Deno.makeTempDir()}/nonces.sqlite3`
  const run = <A, E>(program: Effect.Effect<A, E, Store | TestClock.TestClock>) =>
    Effect.runPromise(
      Effect.gen(function* () {
        yield* TestClock.setTime(NOW_MS)
        return yield* program
      }).pipe(
        Effect.scoped,
        Effect.provide(
          Layer.effect(Store, Store.make(file)).pipe(
            Layer.provideMerge(TestClock.layer()),
          ),
        ),
      ),
    )
  const now = NOW_MS * 1000
  await run(Effect.gen(function* () {
    const witness = yield* makeNonceWitness
    assertEquals(witness.witness(key(1), nonce(1), now), "expired")
    assertEquals(witness.witness(key(1), nonce(1), now + MAX_NONCE_AHEAD_MICROS + 1), "future")
    assertEquals(witness.witness(key(1), nonce(1), now + 60_000_000), "ok")
    assertEquals(witness.witness(key(1), nonce(1), now + 60_000_000), "duplicate")
    // The same nonce from another provenance is another nonce.
    assertEquals(witness.witness(key(2), nonce(1), now + 60_000_000), "ok")
    assertEquals(witness.pending(), 2)
    yield* witness.flush
    assertEquals(witness.pending(), 0)
    assertEquals(witness.witness(key(1), nonce(1), now + 60_000_000), "duplicate")
    // A nonce is identified with its expiry: another expiry is another signed call, which only
    // the provenance's key can make (decisions.md, "Nonces").
    assertEquals(witness.witness(key(1), nonce(1), now + 30_000_000), "ok")
    assertEquals(witness.witness(key(3), nonce(3), now + MAX_NONCE_AHEAD_MICROS), "ok")
    yield* witness.flush
  }))
  // A new witness over the same database: a restart.
  await run(Effect.gen(function* () {
    const witness = yield* makeNonceWitness
    assertEquals(witness.witness(key(1), nonce(1), now + 60_000_000), "duplicate")
    assertEquals(witness.witness(key(2), nonce(1), now + 60_000_000), "duplicate")
    assertEquals(witness.witness(key(1), nonce(1), now + 30_000_000), "duplicate")
    // Once expired, a row is pruned; the nonce itself is then refused as expired anyway.
    yield* TestClock.adjust("61 seconds")
    assertEquals(yield* witness.prune, 3)
    assertEquals(witness.witness(key(1), nonce(1), now + 60_000_000), "expired")
    assertEquals(witness.witness(key(3), nonce(3), now + MAX_NONCE_AHEAD_MICROS), "duplicate")
  }))
})

Deno.test("nonce filter: no false negatives; a nonce is kept for one full generation", () => {
  const filter = makeNonceFilter(1 << 16)
  const added = Array.from({ length: 2000 }, (_, i) => [key(i % 7), nonce32(i)] as const)
  for (const [p, n] of added) filter.add(p, n)
  for (const [p, n] of added) assertEquals(filter.mightContain(p, n), true)
  let falsePositives = 0
  for (let i = 0; i < 2000; i++) {
    if (filter.mightContain(key(1), nonce32(100_000 + i))) falsePositives++
  }
  assert(falsePositives < 20, `${falsePositives} false positives in 2,000`)
  filter.rotate()
  for (const [p, n] of added) assertEquals(filter.mightContain(p, n), true)
  filter.rotate()
  assertEquals(added.filter(([p, n]) => filter.mightContain(p, n)).length, 0)
})

Deno.test("nonce filter: empty generations (allocated on first add) answer no and rotate", () => {
  const filter = makeNonceFilter(1 << 16)
  assertEquals(filter.mightContain(key(1), nonce32(1)), false)
  filter.rotate()
  filter.rotate()
  filter.add(key(1), nonce32(1))
  filter.rotate()
  assertEquals(filter.mightContain(key(1), nonce32(1)), true)
  assertEquals(filter.mightContain(key(1), nonce32(2)), false)
  filter.rotate()
  assertEquals(filter.mightContain(key(1), nonce32(1)), false)
})

function nonce32(i: number): Uint8Array {
  const bytes = new Uint8Array(32)
  new DataView(bytes.buffer).setUint32(0, i)
  return bytes
}
