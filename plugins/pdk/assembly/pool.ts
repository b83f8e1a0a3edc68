/**
 * The writer the PDK reuses for its own documents (a call's answer, host-function inputs), so a
 * call does not allocate a new writer and buffer for each.
 *
 * Owns only that reuse; internal (index.ts does not export it).
 */
import { Writer } from "./msgpack"

// Taken while in use. Zome code (an `encode` method) can re-enter this instance through a host
// call before the writer is given back; the nested call then simply gets a new one.
let spare: Writer | null = null

// A writer that grew past this is dropped, so one large document does not stay in memory.
const KEEP_BYTES = 16 * 1024

/** An empty writer: the spare one if it is free, else a new one. */
export function takeWriter(): Writer {
  const w = spare
  if (w === null) return new Writer()
  spare = null
  return w.reset()
}

/** Gives back a writer from `takeWriter` once its bytes have been copied out. */
export function giveWriter(w: Writer): void {
  if (w.capacity <= KEEP_BYTES) spare = w
}
