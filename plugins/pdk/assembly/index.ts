/**
 * The conductor's AssemblyScript PDK. Import everything from here:
 *
 * ```ts
 * import { input, ok, fail, Writer, createEntry } from "pdk/assembly";
 * ```
 *
 * See plugins/pdk/README.md for a guide and a complete zome.
 */
export * from "./abort"
export * from "./bytes"
export * from "./callbacks"
export * from "./hdk"
export * from "./io"
export * from "./msgpack"
export * from "./network"
export * from "./result"
export * from "./types"
export * from "./plugin"
