/**
 * `verify_signature_1`: checks an Ed25519 signature by any agent (abi.md §4.2). Deterministic.
 *
 * @module
 */
import { Effect, Schema } from "effect"
import { verifySignature as verify } from "../../crypto/mod.ts"
import { hashCore } from "../../hash/mod.ts"
import { AgentPubKeySchema } from "../../types/mod.ts"
import { defineHostFn, DETERMINISTIC, WRITE_FUEL } from "./host_fn.ts"

export const verifySignature = defineHostFn({
  name: "verify_signature_1",
  input: Schema.Struct({
    key: AgentPubKeySchema,
    signature: Schema.Uint8Array,
    data: Schema.Uint8Array,
  }),
  allowedIn: DETERMINISTIC,
  fuel: WRITE_FUEL,
  run: (_ctx, { key, signature, data }) =>
    Effect.sync(() => verify(hashCore(key), data, signature)),
})
