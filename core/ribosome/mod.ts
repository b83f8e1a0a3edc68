/**
 * The ribosome: runs guest functions (zome functions and callbacks) as metered wasm guests in
 * the context a workflow gives it (`ribosome.ts`), the contexts a guest runs in (`context.ts`),
 * the host function contract (`host_fn/host_fn.ts`) and its one registry (`host_fn/registry.ts`),
 * and the wasm kernel (`wasm/`). It decides nothing about commits or authorisation: the
 * workflows do.
 *
 * @module
 */
export * from "./context.ts"
export {
  type AnyHostFn,
  defineHostFn,
  type HostFn,
  HostFnError,
  type HostFnServices,
  invoke,
  UnresolvedDependency,
} from "./host_fn/host_fn.ts"
export { HostFns, hostFns, hostFnsByName } from "./host_fn/registry.ts"
export {
  cellKeyOf,
  type GuestOutcome,
  HOST_BYTE_FUEL,
  type InstanceStats,
  makeRibosome,
  Ribosome,
  type RibosomeShape,
} from "./ribosome.ts"
export { EXTISM_ENV, EXTISM_USER, KERNEL_SIGNATURES } from "./wasm/mod.ts"
