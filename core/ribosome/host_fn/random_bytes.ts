/**
 * `random_bytes_1`: cryptographically secure random bytes, at most 1 MiB (abi.md §4.1).
 *
 * @module
 */
import { Effect, Schema } from "effect"
import { randomBytes as secureRandom } from "../../crypto/mod.ts"
import { CALLS, defineHostFn, HostFnError } from "./host_fn.ts"

/** Largest `random_bytes_1` request. */
export const MAX_RANDOM_BYTES = 1024 * 1024

export const randomBytes = defineHostFn({
  name: "random_bytes_1",
  input: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)),
  allowedIn: CALLS,
  run: (_ctx, n) =>
    n > MAX_RANDOM_BYTES
      ? Effect.fail(
        new HostFnError({
          kind: "limit",
          detail: `random_bytes_1: ${n} bytes asked, at most ${MAX_RANDOM_BYTES}`,
        }),
      )
      : Effect.sync(() => secureRandom(n)),
})
