/**
 * `hash_1`: BLAKE2b (any output length 1..64), SHA-256, SHA-512, and the entry/action hashes
 * the chain itself computes (abi.md §4.2). Deterministic, so available everywhere.
 *
 * @module
 */
import { Effect, Schema } from "effect"
import { entryHashOf } from "../../chain/mod.ts"
import { sha256, sha512 } from "../../crypto/mod.ts"
import { Hasher } from "../../hash/mod.ts"
import { type Action, ActionSchema, encodeAction } from "../../types/mod.ts"
import { ANYWHERE, defineHostFn } from "./host_fn.ts"

export const hash = defineHostFn({
  name: "hash_1",
  input: Schema.Union([
    Schema.Struct({
      type: Schema.Literal("blake2b"),
      data: Schema.Uint8Array,
      "output_len": Schema.optionalKey(
        Schema.NullOr(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 64 }))),
      ),
    }),
    Schema.Struct({ type: Schema.Literals(["sha256", "sha512"]), data: Schema.Uint8Array }),
    Schema.Struct({ type: Schema.Literal("entry"), entry: Schema.Uint8Array }),
    Schema.Struct({ type: Schema.Literal("action"), action: ActionSchema }),
  ]),
  allowedIn: ANYWHERE,
  run: (_ctx, input) =>
    Effect.gen(function* () {
      const hasher = yield* Hasher
      switch (input.type) {
        case "blake2b":
          return hasher.blake2b(input.data, input.output_len ?? 32)
        case "sha256":
          return sha256(input.data)
        case "sha512":
          return sha512(input.data)
        case "entry":
          return entryHashOf(hasher, { "entry_type": "app", entry: input.entry })
        case "action":
          return hasher.hashContent("action", encodeAction(input.action as Action))
      }
    }),
})
