/**
 * Signing primitives and digests used across the conductor.
 *
 * @module
 */
export * from "./ed25519.ts"
