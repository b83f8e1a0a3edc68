/**
 * The context a guest call runs in: which cell and zome, which kind of call (and therefore which
 * host functions are allowed), who is calling, the call's workspace, and the hooks back into the
 * conductor that host functions need (nested zome calls). Built by the workflows, read by host
 * functions; it carries no behaviour of its own.
 *
 * @module
 */
import type { Effect } from "effect"
import type { Workspace } from "../chain/mod.ts"
import type { HostFnError } from "./host_fn/host_fn.ts"
import type { AgentPubKey } from "../hash/mod.ts"
import type { DnaFile, Zome } from "../ribosome_store/mod.ts"
import type { CellId } from "../types/mod.ts"

/** Where a guest call runs; host functions declare the kinds they are allowed in (abi.md §2.3). */
export type HostContextKind =
  | "zome_call"
  | "init"
  | "post_commit"
  | "validate"
  | "genesis_self_check"
  | "entry_defs"

/** The running cell. */
export interface CellRef {
  readonly cellId: CellId
  readonly dna: DnaFile
  readonly agent: AgentPubKey
  readonly appId: string
  readonly roleName: string
}

/** How the caller was authorised (abi.md `call_info_1`). */
export type CapGrantInfo =
  | { readonly type: "chain_author" }
  | {
    readonly type: "grant"
    readonly value: { readonly tag: string; readonly "action_hash": Uint8Array }
  }

/** Where `call_1` goes. */
export type CallTarget =
  | { readonly type: "local" }
  | { readonly type: "cell"; readonly value: CellId }
  | { readonly type: "role"; readonly value: string }

/** The outcome of a nested zome call, as `call_1` returns it. */
export type NestedCallResult =
  | { readonly type: "ok"; readonly value: Uint8Array }
  | { readonly type: "unauthorized"; readonly value: string }
  | { readonly type: "error"; readonly value: string }

/** What a guest call knows about itself. */
export interface HostCallContext {
  readonly kind: HostContextKind
  readonly cell: CellRef
  readonly zome: Zome
  readonly fnName: string
  readonly provenance: AgentPubKey
  readonly capGrant: CapGrantInfo
  /** The call's uncommitted writes; null where writes are impossible (validate, entry_defs…). */
  readonly workspace: Workspace | null
  /**
   * Called by every host function before it writes: takes the cell's write lock for the call
   * (waiting for other writers, within the deadline) and answers the workspace to write to.
   * Absent: `workspace` is written directly.
   */
  readonly beginWrite?: () => Effect.Effect<Workspace, HostFnError>
  /** Nesting depth of zome calls (`call_1`); bounded by the workflow. */
  readonly depth: number
  /** Runs a nested zome call (provided by the zome-call workflow). */
  readonly call: (
    target: CallTarget,
    zome: string,
    fn: string,
    payload: Uint8Array,
    capSecret: Uint8Array | null,
  ) => Effect.Effect<NestedCallResult>
  /** Dependencies that `must_get_*` could not find, in validation (the outcome becomes unresolved). */
  readonly unresolved: Array<Uint8Array>
  /** The running call's fuel, set by the ribosome while the guest runs (nested calls share it). */
  readonly meter?: FuelMeter
  /**
   * `performance.now()` value past which the call traps (`ribosome.call_timeout_ms`); nested
   * calls inherit their caller's. Set by the ribosome when the workflow leaves it out.
   */
  readonly deadline?: number
  /**
   * True when the caller must get the outcome on the spot (install-time callbacks that run
   * inside a synchronous database transaction): the guest runs without yielding and host
   * functions may not wait.
   */
  readonly synchronous?: boolean
}

/** Access to the running call's fuel. */
export interface FuelMeter {
  readonly remaining: () => bigint
  readonly charge: (amount: bigint) => void
}
