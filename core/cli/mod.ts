/**
 * The command-line commands besides `run`: `call`, `init`, `pack` and `verify`.
 *
 * @module
 */
export * from "./call.ts"
export * from "./init.ts"
export * from "./pack.ts"
export * from "./verify.ts"
