/**
 * Wasm blobs, metered modules and registered DNAs.
 *
 * @module
 */
export * from "./dna_file.ts"
export * from "./ribosome_store.ts"
