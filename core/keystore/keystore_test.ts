import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict"
import { ed25519 } from "@noble/curves/ed25519.js"
import { Effect, Exit, Layer } from "effect"
import { hashCore, Hasher, isHoloHash } from "../hash/mod.ts"
import { openStore, Store } from "../store/mod.ts"
import { Keystore } from "./mod.ts"

const withFile = (file: string, passphrase: string) =>
  Keystore.layerTest(passphrase).pipe(
    Layer.provideMerge(Layer.effect(Store, Store.make(file))),
    Layer.provideMerge(Hasher.layer),
  )

Deno.test("Keystore.generate makes agent keys whose signatures noble verifies", async () => {
  await Effect.gen(function* () {
    const keystore = yield* Keystore
    const agent = yield* keystore.generate
    assert(isHoloHash(agent, "agent"))
    assert(keystore.has(agent))
    const data = new TextEncoder().encode("sign me")
    const signature = yield* keystore.sign(agent, data)
    assert(ed25519.verify(signature, data, hashCore(agent)))
  }).pipe(
    Effect.provide(
      Keystore.layerTest().pipe(Layer.provide(Store.layerMemory), Layer.provide(Hasher.layer)),
    ),
    Effect.scoped,
    Effect.runPromise,
  )
})

Deno.test("Keystore keeps keys sealed across restarts and refuses a wrong passphrase", async () => {
  const dir = await Deno.makeTempDir()
  const file = `${dir}/db.sqlite3`
  const agent = await Effect.gen(function* () {
    const keystore = yield* Keystore
    return yield* keystore.generate
  }).pipe(Effect.provide(withFile(file, "right")), Effect.scoped, Effect.runPromise)

  // The seed on disk is not the plain seed: sealed blob = nonce + ciphertext + tag.
  const raw = openStore(file)
  const row = raw.db.prepare("SELECT sealed_seed FROM agent_keys").get() as {
    sealed_seed: Uint8Array
  }
  assertEquals(row.sealed_seed.length, 24 + 32 + 16)
  raw.db.close()

  const data = new Uint8Array([1, 2, 3])
  const signature = await Effect.gen(function* () {
    const keystore = yield* Keystore
    yield* keystore.ready
    assertEquals(keystore.list().length, 1)
    return yield* keystore.sign(agent, data)
  }).pipe(Effect.provide(withFile(file, "right")), Effect.scoped, Effect.runPromise)
  assert(ed25519.verify(signature, data, hashCore(agent)))

  const exit = await Effect.gen(function* () {
    const keystore = yield* Keystore
    yield* keystore.ready
  }).pipe(Effect.provide(withFile(file, "wrong")), Effect.scoped, Effect.runPromiseExit)
  assert(Exit.isFailure(exit))
  const error = Exit.findErrorOption(exit)
  assert(error._tag === "Some" && error.value._tag === "KeystoreError")
  assertEquals(error.value.reason, "WrongPassphrase")
  await Deno.remove(dir, { recursive: true })
})

Deno.test("Keystore.sign fails with UnknownAgent for a foreign key", async () => {
  const exit = await Effect.gen(function* () {
    const keystore = yield* Keystore
    const hasher = yield* Hasher
    yield* keystore.ready
    return yield* keystore.sign(
      hasher.fromCore("agent", new Uint8Array(32).fill(9)),
      new Uint8Array(1),
    )
  }).pipe(
    Effect.provide(
      Keystore.layerTest().pipe(
        Layer.provideMerge(Store.layerMemory),
        Layer.provideMerge(Hasher.layer),
      ),
    ),
    Effect.scoped,
    Effect.runPromiseExit,
  )
  const error = Exit.findErrorOption(exit)
  assert(error._tag === "Some" && error.value._tag === "KeystoreError")
  assertEquals(error.value.reason, "UnknownAgent")
})
