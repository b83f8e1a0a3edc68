/**
 * The `Hasher` service: BLAKE2b (hash-wasm, initialised once when the layer is built) and the
 * HoloHash constructions built on it. It owns nothing else; the pure HoloHash helpers are in
 * `./holo_hash.ts`. Tests compare its output with `@noble/hashes` as the reference.
 *
 * @module
 */
import { Context, Effect, Layer } from "effect"
import { createBLAKE2b } from "hash-wasm"
import { blake2b as nobleBlake2b } from "@noble/hashes/blake2.js"
import { assembleHash, hashCore, type HashType, type HoloHash } from "./holo_hash.ts"

/** What `Hasher` offers; every method is synchronous and pure. */
export interface HasherShape {
  /** Unkeyed BLAKE2b with `outLen` bytes of output (1..64). */
  readonly blake2b: (data: Uint8Array, outLen?: number) => Uint8Array
  /** The 4 DHT location bytes of a 32-byte core (conductor-api.md §6). */
  readonly location: (core: Uint8Array) => Uint8Array
  /** A HoloHash of `type` whose core is `core` (used for agent keys: the core is the public key). */
  readonly fromCore: <T extends HashType>(type: T, core: Uint8Array) => HoloHash<T>
  /** A HoloHash of `type` whose core is BLAKE2b-256 of `content`. */
  readonly hashContent: <T extends HashType>(type: T, content: Uint8Array) => HoloHash<T>
  /** True when the location bytes of `hash` match its core (Holochain's string decoder check). */
  readonly checkLocation: (hash: Uint8Array) => boolean
}

function locationOf(digest16: Uint8Array): Uint8Array {
  const loc = new Uint8Array(4)
  for (let i = 0; i < 4; i++) {
    loc[i] = digest16[i]! ^ digest16[i + 4]! ^ digest16[i + 8]! ^ digest16[i + 12]!
  }
  return loc
}

/** Builds the shape from any BLAKE2b implementation (used by the layer and by reference tests). */
export function makeHasher(blake2b: (data: Uint8Array, outLen: number) => Uint8Array): HasherShape {
  const location = (core: Uint8Array) => locationOf(blake2b(core, 16))
  const fromCore = <T extends HashType>(type: T, core: Uint8Array) =>
    assembleHash(type, core, location(core))
  return {
    blake2b: (data, outLen = 32) => blake2b(data, outLen),
    location,
    fromCore,
    hashContent: (type, content) => fromCore(type, blake2b(content, 32)),
    checkLocation: (hash) => {
      if (hash.length !== 39) return false
      const expected = location(hashCore(hash))
      return expected.every((b, i) => b === hash[35 + i])
    },
  }
}

/** BLAKE2b hashing and HoloHash construction. */
export class Hasher extends Context.Service<Hasher, HasherShape>()("conductor/hash/Hasher") {
  /** hash-wasm's BLAKE2b for the 32- and 16-byte outputs on every hot path; noble for other lengths. */
  static readonly layer = Layer.effect(
    Hasher,
    Effect.gen(function* () {
      const [b32, b16] = yield* Effect.promise(() =>
        Promise.all([createBLAKE2b(256), createBLAKE2b(128)])
      )
      const blake2b = (data: Uint8Array, outLen: number): Uint8Array => {
        const h = outLen === 32 ? b32 : outLen === 16 ? b16 : undefined
        // Other lengths only come from the `hash_1` host fn; noble is fast enough for them.
        if (h === undefined) return nobleBlake2b(data, { dkLen: outLen })
        h.init()
        h.update(data)
        return h.digest("binary")
      }
      return Hasher.of(makeHasher(blake2b))
    }),
  )
}
