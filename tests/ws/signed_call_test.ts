/**
 * Signed zome calls in process (conductor-api.md §3.2): the chain author needs no grant (the
 * agent's own key signs, as a launcher holding the keystore would), a call is scoped to the
 * authenticated app, and each failure has its wire variant.
 *
 * @module
 */
import { Effect } from "effect"
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict"
import { Apps } from "../../core/app/mod.ts"
import type { RunningCell } from "../../core/cell/mod.ts"
import { decode, encode } from "../../core/codec/mod.ts"
import { randomBytes, sha512, signingKeyFromSeed } from "../../core/crypto/mod.ts"
import type { AgentPubKey } from "../../core/hash/mod.ts"
import { Keystore } from "../../core/keystore/mod.ts"
import { makeSignedCalls } from "../../core/app_interface/mod.ts"
import { disposeConductor, installApp, packed } from "../support/conductor.ts"
import { makeInterfaceConductor } from "./support.ts"

function params(cell: RunningCell, provenance: AgentPubKey, fn = "noop", extra = {}) {
  return encode({
    provenance,
    "cell_id": cell.cellId,
    "zome_name": "noop",
    "fn_name": fn,
    "cap_secret": null,
    payload: encode("hello"),
    nonce: randomBytes(32),
    "expires_at": (Date.now() + 60_000) * 1000,
    ...extra,
  })
}

Deno.test("signed calls: author without grant, app scoping, and each failure's variant", async () => {
  const conductor = makeInterfaceConductor()
  try {
    const happ = await packed("tests/fixtures/happs/noop")
    const { noop: cell } = await installApp(conductor, happ, "mine")
    const { noop: foreign } = await installApp(conductor, happ, "theirs")
    await conductor.runPromise(Effect.gen(function* () {
      const keystore = yield* Keystore
      const call = yield* makeSignedCalls
      const asAuthor = (bytes: Uint8Array, author: AgentPubKey = cell!.agent) =>
        Effect.map(keystore.sign(author, sha512(bytes)), (signature) => ({ bytes, signature }))
      const outcome = (effect: Effect.Effect<Uint8Array, { variant: string }>) =>
        effect.pipe(
          Effect.map((output) => ({ ok: decode(output) })),
          Effect.catch((e) => Effect.succeed({ error: e.variant })),
        )

      // The chain author: no capability grant exists, none is needed.
      const signed = yield* asAuthor(params(cell!, cell!.agent))
      assertEquals(yield* outcome(call("mine", signed)), { ok: "hello" })
      assertEquals(yield* outcome(call("mine", signed)), { error: "zome_call_unauthorized" })

      // Another key without a grant.
      const seed = randomBytes(32)
      const stranger = new Uint8Array(39) as AgentPubKey
      stranger.set([0x84, 0x20, 0x24])
      stranger.set(signingKeyFromSeed(seed).publicKey, 3)
      const bytes = params(cell!, stranger)
      const byStranger = { bytes, signature: signingKeyFromSeed(seed).sign(sha512(bytes)) }
      assertEquals(yield* outcome(call("mine", byStranger)), { error: "zome_call_unauthorized" })

      // Signed by someone else than the provenance.
      const forged = { bytes: params(cell!, cell!.agent), signature: byStranger.signature }
      assertEquals(
        yield* outcome(call("mine", forged)),
        { error: "zome_call_authentication_failed" },
      )

      // A cell of another app, through this app's connection.
      const across = yield* asAuthor(params(foreign!, foreign!.agent), foreign!.agent)
      const scoped = yield* Effect.flip(call("mine", across))
      assertEquals(scoped.variant, "internal_error")
      assert(scoped.detail.includes(`not a cell of app "mine"`), scoped.detail)

      // Not ZomeCallParams, or not msgpack at all.
      for (const bad of [encode({ provenance: cell!.agent }), Uint8Array.of(0xc1)]) {
        const error = yield* Effect.flip(
          call("mine", { bytes: bad, signature: new Uint8Array(64) }),
        )
        assertEquals(error.variant, "deserialization")
      }

      // A stopped cell.
      yield* (yield* Apps).disable("mine")
      const stopped = yield* asAuthor(params(cell!, cell!.agent))
      assertEquals(yield* outcome(call("mine", stopped)), { error: "internal_error" })
    }))
  } finally {
    await disposeConductor(conductor)
  }
})
