/**
 * A zome function's input and output: read the caller's payload as a `Value`, answer with `ok`,
 * or refuse with `fail`.
 *
 * Owns the guest side of abi.md §2.1 for zome functions. Callbacks use callbacks.ts, which
 * builds on this.
 */
import { panic } from "./abort"
import { input_length, input_offset, inputBytes, output_set, outputMemory } from "./kernel"
import { decode, setDecodeContext, Value, Writer } from "./msgpack"
import { giveWriter, takeWriter } from "./pool"

export { inputBytes }

/** The call's payload decoded (an empty payload reads as nil). Aborts on malformed msgpack. */
export function input(): Value {
  const bytes = inputBytes()
  setDecodeContext("input")
  if (bytes.length == 0) return Value.nil("input")
  return decode(bytes)
}

/**
 * Answers the call with `value` encoded as by `Writer.write` (a `Writer` is sent as the document
 * it holds, which must be exactly one complete value) and returns 0: `return ok(post)`.
 */
export function ok<T>(value: T): i32 {
  if (isReference<T>()) {
    if (changetype<usize>(value) != 0 && idof<NonNullable<T>>() == idof<Writer>()) {
      const w = changetype<Writer>(value)
      w.checkComplete()
      if (w.values != 1) {
        panic(
          "ok: the Writer holds " + w.values.toString() +
            " values; a zome function returns exactly one",
        )
      }
      outputMemory(w.dataStart, <usize> w.length)
      return 0
    }
  }
  const w = takeWriter()
  w.write<T>(value)
  outputMemory(w.dataStart, <usize> w.length)
  giveWriter(w)
  return 0
}

/** Answers the call with msgpack nil. */
export function okNil(): i32 {
  outputMemory(memory.data<u8>([0xc0]), 1)
  return 0
}

/** Answers the call with bytes that already are one msgpack value (not checked). */
export function okBytes(encoded: Uint8Array): i32 {
  outputMemory(encoded.dataStart, <usize> encoded.length)
  return 0
}

/** Answers the call with its own input, without copying it through linear memory. */
export function echoInput(): i32 {
  const len = input_length()
  if (len == 0) return okNil()
  output_set(input_offset(), len)
  return 0
}
