/**
 * Wire codecs.
 *
 * @module
 */
export * from "./msgpack.ts"
export { MAX_MSGPACK_DEPTH, msgpackProblem } from "./check.ts"
