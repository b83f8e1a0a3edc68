/**
 * `sign_1`: an Ed25519 signature by the running cell's agent (abi.md §4.2). Only the cell's own
 * key may sign: a zome cannot make the conductor sign with another app's agent.
 *
 * @module
 */
import { Effect, Schema } from "effect"
import { bytesEqual } from "../../hash/mod.ts"
import { Keystore } from "../../keystore/mod.ts"
import { AgentPubKeySchema } from "../../types/mod.ts"
import { CALLS, defineHostFn, HostFnError, WRITE_FUEL } from "./host_fn.ts"

export const sign = defineHostFn({
  name: "sign_1",
  input: Schema.Struct({ key: AgentPubKeySchema, data: Schema.Uint8Array }),
  allowedIn: CALLS,
  fuel: WRITE_FUEL,
  run: (ctx, { key, data }) =>
    Effect.gen(function* () {
      if (!bytesEqual(key, ctx.cell.agent)) {
        return yield* new HostFnError({
          kind: "unauthorized",
          detail: "sign_1 may only sign with the cell's own agent key",
        })
      }
      const keystore = yield* Keystore
      return yield* Effect.mapError(keystore.sign(key, data), (e) =>
        new HostFnError({ kind: "internal", detail: e.message }))
    }),
})
