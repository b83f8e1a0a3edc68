/**
 * What the `must_get_*` host functions share: a miss inside `validate` stops the callback with
 * "unresolved dependencies" (abi.md §2.2); anywhere else it is an ordinary `not_found`.
 *
 * @module
 */
import { Effect } from "effect"
import type { HostCallContext } from "../context.ts"
import { type HostFnError, UnresolvedDependency } from "./host_fn.ts"
import { notFound } from "./support.ts"

/** Fails for a missing dependency in the way the context calls for. */
export function missing(
  ctx: HostCallContext,
  what: string,
  hash: Uint8Array,
): Effect.Effect<never, HostFnError | UnresolvedDependency> {
  if (ctx.kind === "validate") {
    ctx.unresolved.push(hash)
    return Effect.fail(new UnresolvedDependency({ hash }))
  }
  return Effect.fail(notFound(what, hash))
}
