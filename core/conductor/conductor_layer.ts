/**
 * The composition root of the conductor's services: the ONE place layers are wired (cf.
 * Holochain's conductor builder). Interfaces (admin HTTP, admin and app websockets) are added on
 * top by `main.ts`; tests build the same graph over an in-memory store.
 *
 * @module
 */
import { Layer } from "effect"
import { Apps, Capabilities } from "../app/mod.ts"
import { Cells } from "../cell/mod.ts"
import { Chain } from "../chain/mod.ts"
import { ConductorConfig } from "../config/mod.ts"
import { Hasher } from "../hash/mod.ts"
import { Keystore } from "../keystore/mod.ts"
import { Cascade } from "../network/mod.ts"
import { configuredNetworkLayer, networkInfoLayer } from "../network_nats/mod.ts"
import { Ribosome } from "../ribosome/ribosome.ts"
import { RibosomeStore } from "../ribosome_store/mod.ts"
import { Signals } from "../signals/mod.ts"
import { Outbox, Spaces } from "../space/mod.ts"
import { Store } from "../store/mod.ts"
import { TaskManager } from "../task/mod.ts"
import { Commits, ZomeCalls } from "../workflow/mod.ts"
import { ReceptorsLayer } from "../../receptors/mod.ts"

/** Which storage and keystore the graph uses. */
export interface ConductorLayerOptions {
  /** @default Store.layer (the configured data folder) */
  readonly store?: Layer.Layer<Store, unknown, ConductorConfig>
  /** @default Keystore.layer (the configured passphrase) */
  readonly keystore?: Layer.Layer<Keystore, unknown, ConductorConfig | Store | Hasher>
}

/**
 * Every conductor service, given a `ConductorConfig`. The network is NATS when the config has a
 * `network:` section (its runtime, which needs the ribosome and the cells, sits on top; the
 * `Network` seam sits below the ribosome), else local-only.
 */
export function conductorServices(options: ConductorLayerOptions = {}) {
  return networkInfoLayer.pipe(
    Layer.provideMerge(Capabilities.layer),
    Layer.provideMerge(Apps.layer),
    Layer.provideMerge(ZomeCalls.layer),
    Layer.provideMerge(Commits.layer),
    Layer.provideMerge(Ribosome.layer),
    Layer.provideMerge(RibosomeStore.layer),
    Layer.provideMerge(Chain.layer),
    Layer.provideMerge(Cascade.layer),
    Layer.provideMerge(
      Layer.unwrap(ConductorConfig.useSync(configuredNetworkLayer)),
    ),
    Layer.provideMerge(Layer.merge(Spaces.layerLocal, Outbox.layer)),
    Layer.provideMerge(options.keystore ?? Keystore.layer),
    Layer.provideMerge(TaskManager.layer),
    Layer.provideMerge(options.store ?? Store.layer),
    Layer.provideMerge(ReceptorsLayer),
    Layer.provideMerge(Layer.mergeAll(Hasher.layer, Signals.layer, Cells.layer)),
  )
}
