/**
 * Failing a call: the abort handler the build installs (`--use abort=…/pdkAbort`), `panic` for
 * failures deep in a call, and `fail` for a zome function's `return fail("…")`.
 *
 * Owns the error path to the host. It does not decide what a failure means to the caller; the
 * conductor turns the message into the right error on the wire.
 */
import {
  alloc,
  decimalLength,
  error_set,
  sinkByte,
  sinkClose,
  sinkDecimal,
  sinkOpen,
  sinkUtf16,
  utf16Units,
  utf8Length,
} from "./kernel"

/**
 * The AssemblyScript abort handler: `assert`, `abort`, `throw` and runtime errors (out of bounds,
 * allocation too large, stack overflow) end here. It sets the call's error to the message,
 * followed by ` (file:line:column)` when there is a location, then traps.
 *
 * It first resets the shadow stack: a trap never returns to the frames that would pop it, so an
 * instance the host keeps after a trap would otherwise lose that stack space for good (and a
 * shadow-stack overflow would abort again in here). For the same reason it holds no managed
 * locals and allocates nothing on the managed heap, which may be what failed.
 */
export function pdkAbort(message: usize, fileName: usize, line: u32, column: u32): void {
  // The parameters are raw pointers to the (string | null) arguments: a managed parameter would
  // give this function a shadow-stack prologue.
  // A shadow-stack overflow calls abort with strings the compiler places past the heap base,
  // where the heap may have overwritten them; report it with a message of our own.
  const overflow = __stack_pointer < __data_end
  __stack_pointer = __heap_base
  let msg = message != 0 ? message : changetype<usize>("abort")
  let file = fileName
  if (overflow) {
    msg = changetype<usize>("stack overflow (unbounded recursion?)")
    file = 0
  }
  const msgUnits = utf16Units(msg)
  let size = utf8Length(msg, msgUnits)
  let fileUnits = 0
  if (file != 0) {
    fileUnits = utf16Units(file)
    size += 2 + utf8Length(file, fileUnits) + 1 + decimalLength(line) + 1 +
      decimalLength(column) + 1
  }
  const block = alloc(<u64> size)
  sinkOpen(block)
  sinkUtf16(msg, msgUnits)
  if (file != 0) {
    sinkByte(0x20) // " ("
    sinkByte(0x28)
    sinkUtf16(file, fileUnits)
    sinkByte(0x3a) // ":"
    sinkDecimal(line)
    sinkByte(0x3a)
    sinkDecimal(column)
    sinkByte(0x29) // ")"
  }
  sinkClose()
  error_set(block)
  unreachable()
}

/** Fails the whole call at once with `message` (no location appended). Never returns. */
export function panic(message: string): void {
  pdkAbort(changetype<usize>(message), 0, 0, 0)
}

/**
 * Sets the call's error to `message` and returns 1, the failure code of a guest function:
 * `return fail("title is required")`. Unlike `panic` it does not trap, so the instance's state
 * stays clean.
 */
export function fail(message: string): i32 {
  const ptr = changetype<usize>(message)
  const units = utf16Units(ptr)
  const block = alloc(<u64> utf8Length(ptr, units))
  sinkOpen(block)
  sinkUtf16(ptr, units)
  sinkClose()
  error_set(block)
  return 1
}
