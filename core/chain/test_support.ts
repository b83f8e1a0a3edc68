/**
 * Test helpers for source chains: the whole service graph over an in-memory store, a cell of a
 * DNA without zomes (its commits are not app-validated), and a commit of a workspace through the
 * one commit workflow. Used by tests only.
 *
 * @module
 */
import { Effect, Layer } from "effect"
import { conductorServices } from "../conductor/conductor_layer.ts"
import { ConductorConfig } from "../config/mod.ts"
import type { AgentPubKey, DnaHash, Hasher } from "../hash/mod.ts"
import { Keystore } from "../keystore/mod.ts"
import type { Cascade, Network } from "../network/mod.ts"
import type { CellRef } from "../ribosome/mod.ts"
import type { Outbox, Spaces } from "../space/mod.ts"
import { Store } from "../store/mod.ts"
import { Commits } from "../workflow/mod.ts"
import type { Chain } from "./chain.ts"
import type { Workspace } from "./workspace.ts"

/** The services these tests use. */
export type CommitTestServices =
  | Chain
  | Spaces
  | Outbox
  | Keystore
  | Store
  | Hasher
  | Commits
  | Network
  | Cascade

/** The conductor's services over `store` (default: memory) with a test keystore. */
export function commitTestLayer(
  store: Layer.Layer<Store, unknown, ConductorConfig> = Store.layerMemory,
) {
  return conductorServices({ store, keystore: Keystore.layerTest() }).pipe(
    Layer.provideMerge(ConductorConfig.fromYaml("log: {level: warn}\n")),
  )
}

/** Runs a test program over a fresh in-memory conductor. */
export const runCommitTest = <A, E>(
  effect: Effect.Effect<A, E, CommitTestServices>,
  layer = commitTestLayer(),
) => Effect.runPromise(effect.pipe(Effect.provide(layer), Effect.scoped) as Effect.Effect<A, E>)

/** A cell of a DNA without zomes: commits are not app-validated. */
export function bareCell(dna: DnaHash, agent: AgentPubKey): CellRef {
  return {
    cellId: [dna, agent],
    agent,
    appId: "test",
    roleName: "test",
    dna: {
      hash: dna,
      name: "test",
      modifiers: { networkSeed: "", properties: new Uint8Array() },
      integrity: [],
      coordinators: [],
      defBytes: new Uint8Array(),
    },
  }
}

/** Commits a workspace of a bare cell through the one commit workflow. */
export const commitBare = (ws: Workspace) =>
  Effect.flatMap(
    Effect.service(Commits),
    (commits) => commits.commit(bareCell(ws.dnaHash, ws.agent), ws),
  )
