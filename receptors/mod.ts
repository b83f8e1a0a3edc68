/**
 * The built-in receptor types and the layer that starts the configured ones. Adding a type = a
 * folder here, its config schema in `core/config/receptors_schema.ts`, and one `case` below.
 *
 * @module
 */
import { Effect } from "effect"
import { Receptors, type StartReceptor } from "../core/receptors/mod.ts"
import { startConductorBridge } from "./conductor/conductor.ts"
import { startLocalStore } from "./local_store/local_store.ts"
import { startRecovery } from "./recovery/recovery.ts"
import { startWasmReceptor } from "./wasm/wasm_receptor.ts"

/** Starts one configured receptor of a built-in type. */
export const startBuiltinReceptor: StartReceptor = (config, env) => {
  switch (config.type) {
    case "local_store":
      return Effect.map(startLocalStore(config, env), (started) => started.receptor)
    case "recovery":
      return Effect.map(startRecovery(config, env), (started) => started.receptor)
    case "wasm":
      return Effect.map(startWasmReceptor(config, env), (started) => started.receptor)
    case "conductor":
      return Effect.map(startConductorBridge(config, env), (started) => started.receptor)
  }
}

/** The `Receptors` registry over the built-in types (needs `ConductorConfig`). */
export const ReceptorsLayer = Receptors.layer(startBuiltinReceptor)
