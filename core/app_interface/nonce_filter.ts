/**
 * A Bloom filter of the nonces the witness has seen, so that the usual case, a nonce never seen
 * before, is decided in memory: only a "maybe seen" goes to the `nonces` table. Two generations
 * of 16 Mbit each (4 MiB in all, whatever the call rate) rotate every `MAX_NONCE_AHEAD` window:
 * a nonce stays in the filter for at least one window after it was added, and a nonce older
 * than that has expired anyway, so dropping it never lets a replay through. False positives
 * only cost a table lookup; there are no false negatives.
 *
 * @module
 */

/** What the witness needs from the filter. */
export interface NonceFilter {
  readonly add: (provenance: Uint8Array, nonce: Uint8Array) => void
  /** False means "certainly never added" (since the generation before the current one). */
  readonly mightContain: (provenance: Uint8Array, nonce: Uint8Array) => boolean
  /** Starts a new generation and forgets the oldest one. */
  readonly rotate: () => void
}

/** Bits per generation. */
export const FILTER_BITS = 1 << 24
const HASHES = 7

// Two 32-bit FNV-1a hashes over provenance ‖ nonce with different bases (double hashing).
function hashes(provenance: Uint8Array, nonce: Uint8Array): readonly [number, number] {
  let a = 0x811c9dc5
  let b = 0x01000193 ^ 0x5bd1e995
  for (const bytes of [provenance, nonce]) {
    for (let i = 0; i < bytes.length; i++) {
      a = Math.imul(a ^ bytes[i]!, 0x01000193)
      b = Math.imul(b ^ bytes[i]!, 0x5bd1e995) ^ (b >>> 15)
    }
  }
  return [a >>> 0, (b | 1) >>> 0]
}

/**
 * An empty filter of two generations. Each generation's bits are allocated when the first nonce
 * is added to it: a conductor that takes no signed calls never pays for the 4 MiB (allocating
 * them cost ~12 ms of start-up on a loaded machine).
 */
export function makeNonceFilter(bits: number = FILTER_BITS): NonceFilter {
  const words = bits >>> 5
  let current: Uint32Array | undefined
  let previous: Uint32Array | undefined
  const has = (set: Uint32Array | undefined, h1: number, h2: number) => {
    if (set === undefined) return false
    for (let i = 0; i < HASHES; i++) {
      const bit = (h1 + Math.imul(i, h2)) >>> 0 & (bits - 1)
      if ((set[bit >>> 5]! & (1 << (bit & 31))) === 0) return false
    }
    return true
  }
  return {
    add: (provenance, nonce) => {
      const [h1, h2] = hashes(provenance, nonce)
      const set = current ??= new Uint32Array(words)
      for (let i = 0; i < HASHES; i++) {
        const bit = (h1 + Math.imul(i, h2)) >>> 0 & (bits - 1)
        set[bit >>> 5]! |= 1 << (bit & 31)
      }
    },
    mightContain: (provenance, nonce) => {
      const [h1, h2] = hashes(provenance, nonce)
      return has(current, h1, h2) || has(previous, h1, h2)
    },
    rotate: () => {
      previous = current
      current = undefined
    },
  }
}
