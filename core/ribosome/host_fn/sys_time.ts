/**
 * `sys_time_1`: the current time in microseconds (abi.md §4.1). Not deterministic, so not
 * available to validation.
 *
 * @module
 */
import { Schema } from "effect"
import { nowMicros } from "../../time/mod.ts"
import { CALLS, defineHostFn } from "./host_fn.ts"

export const sysTime = defineHostFn({
  name: "sys_time_1",
  input: Schema.Unknown,
  allowedIn: CALLS,
  run: () => nowMicros,
})
