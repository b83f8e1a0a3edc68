// A test guest written against @extism/as-pdk, used by wasm_plugin_test.ts (conformance with
// @extism/extism) and bench_wasm.ts. Built in a temp dir by ../build_guest.ts.
import { Config, Host, LogLevel, Memory, Var } from "@extism/as-pdk"
import { error_set, length } from "@extism/as-pdk/lib/env"

@external("extism:host/user", "double_it")
declare function double_it(offset: u64): u64

/** abi.md §2.1: the abort handler sets the error first so the message survives the trap. */
function abortHandler(message: string | null, fileName: string | null, line: u32, column: u32): void {
  let text = "abort: "
  if (message !== null) text += message
  if (fileName !== null) text += " at " + fileName + ":" + line.toString() + ":" + column.toString()
  const mem = Memory.allocateString(text)
  error_set(mem.offset)
  unreachable()
}

/** Output = input. */
export function echo(): i32 {
  Host.output(Host.input())
  return 0
}

/** Sets no output at all. */
export function nothing(): i32 {
  return 0
}

/** Counts its calls in var "n" (persists across calls) and outputs the count as text. */
export function count(): i32 {
  const previous = Var.getString("n")
  const n = previous === null ? 1 : I32.parseInt(previous!) + 1
  Var.set("n", Uint8Array.wrap(String.UTF8.encode(n.toString())))
  Host.outputString(n.toString())
  return 0
}

/** Outputs the config value named by the input, or "<none>". */
export function config(): i32 {
  const value = Config.get(Host.inputString())
  Host.outputString(value === null ? "<none>" : value!)
  return 0
}

/** Fails with error_set and a non-zero return code. */
export function fail(): i32 {
  const mem = Memory.allocateString("boom: " + Host.inputString())
  error_set(mem.offset)
  return 1
}

/** Returns a non-zero code without an error message. */
export function exit_code(): i32 {
  return 7
}

/** Aborts (AssemblyScript assert), which traps after the handler's error_set. */
export function abort_me(): i32 {
  assert(Host.input().length == 0, "input must be empty")
  return 0
}

/** Logs its input at info level and outputs "logged". */
export function log(): i32 {
  Host.log(LogLevel.Info, Host.inputString())
  Host.outputString("logged")
  return 0
}

/** Passes its input to the host function extism:host/user::double_it and outputs the result. */
export function call_host(): i32 {
  const input = Memory.allocateBytes(Host.input())
  const offset = double_it(input.offset)
  Host.outputMemory(new Memory(offset, length(offset)))
  return 0
}

/** Sums 0..n-1 where n is the input as decimal text; outputs the sum as text. */
export function sum(): i32 {
  const n = I64.parseInt(Host.inputString())
  let acc: i64 = 0
  for (let i: i64 = 0; i < n; i++) acc += i
  Host.outputString(acc.toString())
  return 0
}
