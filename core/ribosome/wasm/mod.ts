/**
 * The ribosome's wasm layer: runs Extism guests in-process with our own kernel, fuel metering
 * and a memory cap, synchronously. `../../wasm/` rewrites modules, `kernel.ts` is the Extism
 * kernel (`extism:host/env`), `wasm_plugin.ts` is one guest instance.
 *
 * @module
 */
export {
  type ExternKind,
  FUEL_EXPORT,
  type FuncType,
  type InspectedWasm,
  inspectWasm,
  type InstrumentedWasm,
  type InstrumentError,
  type InstrumentErrorReason,
  type InstrumentOptions,
  instrumentWasm,
  START_EXPORT,
  type ValType,
  WASM_PAGE_BYTES,
  type WasmExport,
  type WasmImport,
  type WasmMemoryLimits,
  type WasmModuleInfo,
} from "../../wasm/mod.ts"
export {
  DEFAULT_MAX_VAR_BYTES,
  EXTISM_ENV,
  EXTISM_USER,
  Kernel,
  KERNEL_BASE,
  KERNEL_SIGNATURES,
  type KernelFrameResult,
  type KernelLogger,
  type KernelOptions,
  type KernelStats,
  KernelTrap,
  type KernelTrapKind,
  type LogLevel,
} from "./kernel.ts"
export {
  type CallFunctionNotFound,
  type CallGuestError,
  type CallOk,
  type CallResult,
  type CallShortCircuit,
  type CallTrap,
  type KernelAccess,
  type PluginCreated,
  type PluginCreateResult,
  type PluginInstantiateError,
  type PluginLinkError,
  type PreparedWasm,
  prepareWasm,
  ShortCircuit,
  type TrapKind,
  type UserHostFunction,
  WasmPlugin,
  type WasmPluginOptions,
} from "./wasm_plugin.ts"
