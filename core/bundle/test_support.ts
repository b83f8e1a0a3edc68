/**
 * Helpers shared by the bundle tests.
 *
 * @module
 */
import { Effect } from "effect"
import { Hasher } from "../hash/mod.ts"

/** A valid, empty wasm module whose bytes differ by `tag` (a custom section): distinct hashes. */
export const tinyWasm = (tag: string): Uint8Array =>
  Uint8Array.from([
    0,
    0x61,
    0x73,
    0x6d,
    1,
    0,
    0,
    0,
    0,
    1 + tag.length,
    tag.length,
    ...new TextEncoder().encode(tag),
  ])

/** Runs an effect that needs the Hasher. */
export const runWithHasher = <A, E>(effect: Effect.Effect<A, E, Hasher>): Promise<A> =>
  Effect.runPromise(effect.pipe(Effect.provide(Hasher.layer)))
