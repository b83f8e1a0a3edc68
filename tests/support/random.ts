/**
 * Seeds for every random input of the tests. A test asks `testSeed(name)` for its seed and hands
 * it to fast-check (`fc.assert(…, { seed })`, `fc.sample(…, { seed })`), so a run is reproducible:
 * the seed is printed, and `TEST_SEED=<n>` replays it. By default the seed is fixed (a suite that
 * passes keeps passing); `TEST_SEED=random` draws a fresh one to explore further.
 *
 * Randomness that is part of a protocol rather than an input (websocket masks, nonces that must
 * be unique, keys) stays cryptographic: no outcome depends on its value.
 *
 * @module
 */

/** The seed used when `TEST_SEED` is not set. */
export const DEFAULT_SEED = 20_261_202

/** `TEST_SEED` as a 32-bit seed: a number, `random` for a fresh one, or unset for the default. */
export function testSeed(name: string): number {
  const text = Deno.env.get("TEST_SEED")?.trim()
  let seed = DEFAULT_SEED
  if (text === "random") {
    seed = crypto.getRandomValues(new Uint32Array(1))[0]! | 0
  } else if (text !== undefined && text !== "") {
    seed = Number(text)
    if (!Number.isSafeInteger(seed)) throw new Error(`TEST_SEED must be an integer or "random"`)
    seed |= 0
  }
  // deno-lint-ignore no-console
  console.log(`${name}: seed ${seed} (replay with TEST_SEED=${seed})`)
  return seed
}
