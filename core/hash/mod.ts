/**
 * HoloHashes: types, string forms and the `Hasher` service that computes them.
 *
 * @module
 */
export * from "./holo_hash.ts"
export { Hasher, type HasherShape, makeHasher } from "./hasher.ts"
