/**
 * The composition root: every conductor service wired in one place.
 *
 * @module
 */
export * from "./conductor_layer.ts"
