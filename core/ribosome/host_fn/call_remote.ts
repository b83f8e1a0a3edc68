/**
 * `call_remote_1`: calls a zome function of another agent's cell of the same DNA, wherever that
 * agent runs (abi.md §4.6). The request leaves signed by this cell's agent, who is the callee's
 * provenance; the callee's conductor checks the signature, the request's nonce and expiry, and
 * its capability grants (with `cap_secret`) exactly as for a local call into another agent's cell.
 * The outcome is a value: `{type: "ok", value}` (the callee's msgpack output), `{type:
 * "unauthorized", value}`, `{type: "error", value}` (the callee failed) or `{type:
 * "network_error", value}` (no answer in time, the agent unreachable, no network).
 *
 * @module
 */
import { Effect, Schema } from "effect"
import { Network } from "../../network/mod.ts"
import { AgentPubKeySchema, CapSecretSchema } from "../../types/mod.ts"
import { CALLS, defineHostFn, HostFnError, WRITE_FUEL } from "./host_fn.ts"

/** Largest payload of a remote call (it travels in one NATS message). */
export const MAX_REMOTE_PAYLOAD_BYTES = 512 * 1024
/** Longest zome or function name. */
const MAX_NAME_LENGTH = 256

export const callRemote = defineHostFn({
  name: "call_remote_1",
  input: Schema.Struct({
    agent: AgentPubKeySchema,
    "zome_name": Schema.String,
    "fn_name": Schema.String,
    "cap_secret": Schema.optionalKey(Schema.NullOr(CapSecretSchema)),
    payload: Schema.Uint8Array,
  }),
  allowedIn: CALLS,
  fuel: WRITE_FUEL,
  run: (ctx, input) =>
    Effect.gen(function* () {
      if (input.payload.length > MAX_REMOTE_PAYLOAD_BYTES) {
        return yield* new HostFnError({
          kind: "limit",
          detail:
            `call_remote_1: payload of ${input.payload.length} bytes is over the ${MAX_REMOTE_PAYLOAD_BYTES}-byte limit`,
        })
      }
      if (input.zome_name.length > MAX_NAME_LENGTH || input.fn_name.length > MAX_NAME_LENGTH) {
        return yield* new HostFnError({
          kind: "invalid_input",
          detail:
            `call_remote_1: zome and function names are at most ${MAX_NAME_LENGTH} characters`,
        })
      }
      if (ctx.synchronous === true) {
        return yield* new HostFnError({
          kind: "denied",
          detail: "call_remote_1 cannot wait for the network in this callback",
        })
      }
      const network = yield* Network
      return yield* network.callRemote(ctx.cell.dna.hash, {
        target: input.agent,
        zome: input.zome_name,
        fn: input.fn_name,
        payload: input.payload,
        capSecret: input.cap_secret ?? null,
        provenance: ctx.cell.agent,
      }).pipe(
        Effect.catch((error) =>
          Effect.succeed({ type: "network_error", value: error.message } as const)
        ),
      )
    }),
})
