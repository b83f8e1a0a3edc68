/**
 * `must_get_action_1`: a signed action by hash, as a validation dependency (abi.md §4.5): the
 * call's writes, this space, then a verified answer from the network.
 *
 * @module
 */
import { Effect, Schema } from "effect"
import { ActionHashSchema, signedActionWire } from "../../types/mod.ts"
import { defineHostFn, DEPENDENCIES, READ_FUEL } from "./host_fn.ts"
import { missing } from "./must_get_support.ts"
import { dependency, readAction, strategyOf } from "./network_support.ts"

export const mustGetAction = defineHostFn({
  name: "must_get_action_1",
  input: Schema.Struct({ hash: ActionHashSchema }),
  allowedIn: DEPENDENCIES,
  fuel: READ_FUEL,
  run: (ctx, { hash }) =>
    Effect.gen(function* () {
      const found = yield* dependency(ctx, readAction(ctx, hash, strategyOf(ctx, null)))
      return found === null
        ? yield* missing(ctx, "must_get_action_1: action", hash)
        : signedActionWire(found)
    }),
})
