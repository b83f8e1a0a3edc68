/**
 * `receptor_call_1`: calls an operation of a receptor the operator granted to the calling app or
 * DNA (abi.md §4.8). The zome names the receptor by id, or by type to reach that type's default.
 * The host refuses what is not its to give (`not_found`: no such receptor; `unauthorized`: not
 * granted; `denied`: validation and other deterministic or synchronous contexts); everything the
 * receptor itself answers, success or failure, is the `ok` value `{type: "ok", value}` or
 * `{type: "error", reason, detail}`, so zome code can branch on the receptor's typed reason.
 *
 * A receptor operation that waits (another conductor over a websocket) suspends only this guest:
 * other calls go on, and the wait counts against the call's wall-clock deadline.
 *
 * @module
 */
import { Effect, Schema } from "effect"
import { encodeHashB64 } from "../../hash/mod.ts"
import { Receptors } from "../../receptors/mod.ts"
import { CALLS, defineHostFn, HostFnError, WRITE_FUEL } from "./host_fn.ts"

const NAME = "receptor_call_1"
const Name = Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(64))

export const receptorCall = defineHostFn({
  name: NAME,
  input: Schema.Struct({
    /** The receptor's id; or */
    receptor: Schema.optionalKey(Name),
    /** a receptor type, to call its default receptor. */
    type: Schema.optionalKey(Name),
    operation: Name,
    /** The operation's input (a JSON-like value; bin is not JSON and is refused). */
    input: Schema.optionalKey(Schema.Unknown),
  }),
  // Not in validation or genesis_self_check: a receptor's answer is not deterministic.
  allowedIn: CALLS,
  fuel: WRITE_FUEL,
  // Untraced generator: Effect.gen costs more per call than the rest of this path.
  run: Effect.fnUntraced(function* (ctx, input) {
    // Synchronous calls (install-time callbacks) cannot wait; none is in CALLS today, but a
    // receptor that waits would trap such a guest instead of answering it.
    if (ctx.synchronous === true) {
      return yield* new HostFnError({
        kind: "denied",
        detail: `${NAME} is not allowed in a call that may not wait (${ctx.kind} during install)`,
      })
    }
    if ((input.receptor === undefined) === (input.type === undefined)) {
      return yield* new HostFnError({
        kind: "invalid_input",
        detail: `${NAME}: give exactly one of receptor (an id) and type (its default)`,
      })
    }
    const target = input.receptor !== undefined ? { id: input.receptor } : { type: input.type! }
    const receptors = yield* Receptors
    const caller = { appId: ctx.cell.appId, dnaHash: encodeHashB64(ctx.cell.dna.hash) }
    return yield* receptors.callAs(caller, target, input.operation, input.input ?? {}).pipe(
      Effect.map((value) => ({ type: "ok" as const, value })),
      Effect.catchTags({
        ReceptorError: (error) =>
          Effect.succeed({
            type: "error" as const,
            reason: error.reason,
            detail: error.detail,
          }),
        ReceptorNotFound: () =>
          Effect.fail(
            new HostFnError({
              kind: "not_found",
              detail: "id" in target
                ? `${NAME}: no receptor "${target.id}" is configured`
                : `${NAME}: no enabled receptor of type "${target.type}" is configured`,
            }),
          ),
        ReceptorNotGranted: (error) =>
          Effect.fail(
            new HostFnError({ kind: "unauthorized", detail: `${NAME}: ${error.message}` }),
          ),
      }),
    )
  }),
})
