/**
 * What the reading host functions share once reads may reach the network: the `strategy`
 * option (Holochain's `GetStrategy`: `"network"`, the default, or `"local"`), reads through the
 * `Cascade` that see the call's own uncommitted writes first, and the mapping of failures to the
 * ABI: a storage failure is `internal`, a network that did not answer is `network` (a value the
 * zome can handle, abi.md §2.2). Calls that must not wait (`ctx.synchronous`) read locally.
 * Private to `host_fn/`.
 *
 * @module
 */
import { Effect, Schema } from "effect"
import { hashTypeOf } from "../../hash/mod.ts"
import { Cascade, type GetStrategy, type NetworkError } from "../../network/mod.ts"
import type { StoreError } from "../../store/mod.ts"
import type { Record, SignedAction } from "../../types/mod.ts"
import type { HostCallContext } from "../context.ts"
import { HostFnError } from "./host_fn.ts"

/** The `strategy` input key of the reading host functions. */
export const StrategySchema = Schema.optionalKey(
  Schema.NullOr(Schema.Literals(["network", "local"])),
)

/** The strategy a read runs with: the asked one, local where the call may not wait. */
export function strategyOf(
  ctx: HostCallContext,
  asked: "network" | "local" | null | undefined,
): GetStrategy {
  return ctx.synchronous === true ? "local" : asked ?? "network"
}

/** Maps a read failure to the ABI's error kinds. */
export function readError(error: StoreError | NetworkError): HostFnError {
  return error._tag === "NetworkError"
    ? new HostFnError({ kind: "network", detail: error.message })
    : new HostFnError({ kind: "internal", detail: error.message })
}

/** A record by action or entry hash: the call's uncommitted writes, then the Cascade. */
export function readRecord(
  ctx: HostCallContext,
  hash: Uint8Array,
  strategy: GetStrategy,
): Effect.Effect<Record | null, HostFnError, Cascade> {
  return Effect.gen(function* () {
    const ws = ctx.workspace
    if (ws !== null) {
      const pending = hashTypeOf(hash) === "action" ? ws.findAction(hash) : ws.findByEntry(hash)[0]
      if (pending !== undefined) return pending.record as Record
    }
    const cascade = yield* Cascade
    return yield* Effect.mapError(
      cascade.get(ctx.cell.dna.hash, hash, ctx.cell.agent, strategy),
      readError,
    )
  })
}

/** A signed action by hash: the call's uncommitted writes, then the Cascade. */
export function readAction(
  ctx: HostCallContext,
  hash: Uint8Array,
  strategy: GetStrategy,
): Effect.Effect<SignedAction | null, HostFnError, Cascade> {
  return Effect.gen(function* () {
    const pending = ctx.workspace?.findAction(hash)
    if (pending !== undefined) return pending.record as SignedAction
    const cascade = yield* Cascade
    return yield* Effect.mapError(cascade.getAction(ctx.cell.dna.hash, hash, strategy), readError)
  })
}

/**
 * A validation dependency: in `validate` a network that does not answer leaves it unresolved
 * (the op is retried), so the read answers null; elsewhere the failure goes to the zome.
 */
export function dependency<A>(
  ctx: HostCallContext,
  read: Effect.Effect<A | null, HostFnError, Cascade>,
): Effect.Effect<A | null, HostFnError, Cascade> {
  if (ctx.kind !== "validate") return read
  return Effect.catchIf(read, (error) => error.kind === "network", () => Effect.succeed(null))
}
