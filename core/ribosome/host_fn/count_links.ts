/**
 * `count_links_1`: how many live links `get_links_1` would return for the same query (same
 * input, `strategy` included), without sending them to the guest (abi.md §4.4).
 *
 * @module
 */
import { Effect } from "effect"
import { LinkQueryInput, liveLinks } from "./get_links.ts"
import { CALLS, defineHostFn, READ_FUEL } from "./host_fn.ts"

export const countLinks = defineHostFn({
  name: "count_links_1",
  input: LinkQueryInput,
  allowedIn: CALLS,
  fuel: READ_FUEL,
  run: (ctx, input) => Effect.map(liveLinks(ctx, input), (links) => links.length),
})
