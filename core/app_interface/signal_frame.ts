/**
 * The websocket frame of an app signal (conductor-api.md §3.3):
 * `{type: "signal", data: bin(msgpack {type: "app", value: {cell_id, zome_name, signal: bin}})}`.
 * Everything before the signal's own bytes depends only on the cell and the zome, so it is
 * encoded once per cell and zome and each frame is one allocation and two copies: a call that
 * emits 10,000 signals pays for 10,000 copies, not 20,000 msgpack encodings. The bytes are
 * exactly what `encode` writes for the same document.
 *
 * @module
 */
import { cellIdKey } from "../cell/mod.ts"
import { encode } from "../codec/mod.ts"
import type { AppSignal } from "../signals/mod.ts"

/** Cells × zomes whose prefix is kept (more are re-encoded, never an unbounded cache). */
const PREFIX_CACHE_LIMIT = 1024

function binHeader(length: number): Uint8Array {
  if (length < 0x100) return Uint8Array.of(0xc4, length)
  if (length < 0x10000) return Uint8Array.of(0xc5, length >> 8, length & 0xff)
  return Uint8Array.of(
    0xc6,
    length >>> 24,
    (length >> 16) & 0xff,
    (length >> 8) & 0xff,
    length & 0xff,
  )
}

function concat(parts: ReadonlyArray<Uint8Array>): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let offset = 0
  for (const part of parts) {
    out.set(part, offset)
    offset += part.length
  }
  return out
}

// {type: "signal", data: …}: a fixmap of 2, up to the data's bin header.
const OUTER_PREFIX = concat([Uint8Array.of(0x82), encode("type"), encode("signal"), encode("data")])

/** Encodes signal frames, caching the per-cell-and-zome prefix. */
export function makeSignalFrameEncoder(): (signal: AppSignal) => Uint8Array {
  const prefixes = new Map<string, Uint8Array>()
  const prefixOf = (signal: AppSignal) => {
    const key = cellIdKey(signal.cellId) + signal.zomeName
    let prefix = prefixes.get(key)
    if (prefix === undefined) {
      // {type: "app", value: {cell_id, zome_name, signal: …}} up to the signal's bin header.
      prefix = concat([
        Uint8Array.of(0x82),
        encode("type"),
        encode("app"),
        encode("value"),
        Uint8Array.of(0x83),
        encode("cell_id"),
        encode(signal.cellId),
        encode("zome_name"),
        encode(signal.zomeName),
        encode("signal"),
      ])
      if (prefixes.size >= PREFIX_CACHE_LIMIT) prefixes.clear()
      prefixes.set(key, prefix)
    }
    return prefix
  }
  return (signal) => {
    const prefix = prefixOf(signal)
    const signalHeader = binHeader(signal.signal.length)
    const innerLength = prefix.length + signalHeader.length + signal.signal.length
    const dataHeader = binHeader(innerLength)
    const frame = new Uint8Array(OUTER_PREFIX.length + dataHeader.length + innerLength)
    let offset = 0
    for (const part of [OUTER_PREFIX, dataHeader, prefix, signalHeader, signal.signal]) {
      frame.set(part, offset)
      offset += part.length
    }
    return frame
  }
}
