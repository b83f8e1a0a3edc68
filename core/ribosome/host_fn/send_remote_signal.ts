/**
 * `send_remote_signal_1`: sends a signal to other agents' cells of the same DNA (abi.md §4.6).
 * Input `{agents: [AgentPubKey], payload: bin}`. Each target's conductor verifies the sender's
 * signature and calls the `recv_remote_signal` function of the same zome with `payload`, as a
 * zome call whose provenance is the sender (so the target's grants decide, as in Holochain: a
 * zome that wants remote signals grants `recv_remote_signal` unrestricted). Fire and forget,
 * like Holochain's: unreachable targets are skipped and nothing waits for delivery, so it
 * returns nil whatever the network does.
 *
 * @module
 */
import { Effect, Schema } from "effect"
import { Network } from "../../network/mod.ts"
import { AgentPubKeySchema } from "../../types/mod.ts"
import { MAX_REMOTE_PAYLOAD_BYTES } from "./call_remote.ts"
import { CALLS, defineHostFn, HostFnError, READ_FUEL } from "./host_fn.ts"

/** Most targets of one signal. */
export const MAX_SIGNAL_TARGETS = 256

export const sendRemoteSignal = defineHostFn({
  name: "send_remote_signal_1",
  input: Schema.Struct({ agents: Schema.Array(AgentPubKeySchema), payload: Schema.Uint8Array }),
  allowedIn: CALLS,
  fuel: READ_FUEL,
  run: (ctx, input) =>
    Effect.gen(function* () {
      if (input.agents.length > MAX_SIGNAL_TARGETS) {
        return yield* new HostFnError({
          kind: "limit",
          detail:
            `send_remote_signal_1: ${input.agents.length} targets, at most ${MAX_SIGNAL_TARGETS}`,
        })
      }
      if (input.payload.length > MAX_REMOTE_PAYLOAD_BYTES) {
        return yield* new HostFnError({
          kind: "limit",
          detail:
            `send_remote_signal_1: payload of ${input.payload.length} bytes is over the ${MAX_REMOTE_PAYLOAD_BYTES}-byte limit`,
        })
      }
      const network = yield* Network
      yield* network.sendRemoteSignal(ctx.cell.dna.hash, {
        from: ctx.cell.agent,
        zome: ctx.zome.name,
        targets: input.agents,
        payload: input.payload,
      }).pipe(
        Effect.catch((error) => Effect.logDebug(`send_remote_signal_1: ${error.message}`)),
      )
      return null
    }),
})
