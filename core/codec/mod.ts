/**
 * Wire codecs.
 *
 * @module
 */
export * from "./msgpack.ts"
