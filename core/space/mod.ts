/**
 * DHT spaces, one per DNA.
 *
 * @module
 */
export * from "./space.ts"
