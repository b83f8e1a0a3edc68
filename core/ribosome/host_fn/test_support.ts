/**
 * Test helpers for host functions (style.md §2.7): the services host functions use, real and in
 * memory (SQLite `:memory:`, a test keystore), a cell of a DNA with one integrity zome (entry
 * types `post` public and `secret` private, link types `comments` and `likes`) and one
 * coordinator zome depending on it, whose genesis is committed, and contexts of every kind over
 * that cell. A test runs a host function through `invoke`, exactly as the ribosome does, so the
 * context check and the input decoding are part of what it tests. Used by tests only.
 *
 * @module
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict"
import { Effect, Layer, type Scope } from "effect"
import { commitTestLayer, type CommitTestServices } from "../../chain/test_support.ts"
import { Chain, type Workspace } from "../../chain/mod.ts"
import { encode } from "../../codec/mod.ts"
import type { AgentPubKey, DnaHash, WasmHash } from "../../hash/mod.ts"
import { Hasher } from "../../hash/mod.ts"
import { Keystore } from "../../keystore/mod.ts"
import { ReceptorError, Receptors } from "../../receptors/mod.ts"
import type { CoordinatorZome, DnaFile, IntegrityZome } from "../../ribosome_store/mod.ts"
import { Signals } from "../../signals/mod.ts"
import type { Record } from "../../types/mod.ts"
import { Commits } from "../../workflow/mod.ts"
import type {
  CallTarget,
  CellRef,
  HostCallContext,
  HostContextKind,
  NestedCallResult,
} from "../context.ts"
import {
  type AnyHostFn,
  type HostFn,
  HostFnError,
  invoke,
  UnresolvedDependency,
} from "./host_fn.ts"

/** Every kind of guest call. */
export const ALL_KINDS: ReadonlyArray<HostContextKind> = [
  "zome_call",
  "init",
  "post_commit",
  "validate",
  "genesis_self_check",
  "entry_defs",
]

/** The services a host function test runs with (and a scope that ends with the test). */
export type HostFnTestServices = CommitTestServices | Receptors | Signals | Scope.Scope

/** A nested call `call_1` made, as the fake `ctx.call` saw it. */
export interface NestedCall {
  readonly target: CallTarget
  readonly zome: string
  readonly fn: string
  readonly payload: Uint8Array
  readonly capSecret: Uint8Array | null
}

/** The cell a host function test runs in. */
export interface HostFnCell {
  readonly agent: AgentPubKey
  readonly cell: CellRef
  readonly integrity: IntegrityZome
  readonly coordinator: CoordinatorZome
  /**
   * A context of `kind` in the coordinator zome (`overrides` replace fields). Kinds that may
   * write (zome_call, init) get a fresh workspace on the current head; others get none, as the
   * workflows give them. `call_1` answers `ok` with the payload echoed and records the call.
   */
  readonly context: (
    kind?: HostContextKind,
    overrides?: Partial<HostCallContext>,
  ) => Effect.Effect<HostCallContext, unknown, HostFnTestServices>
  /** The nested calls made through contexts of this cell, oldest first. */
  readonly calls: Array<NestedCall>
  /** The committed genesis records: the `dna` action, the membrane proof, the agent key. */
  readonly genesis: ReadonlyArray<Record>
  /** Commits a workspace through the one commit workflow (the DNA's zomes do not validate it). */
  readonly commit: (ws: Workspace) => Effect.Effect<void, unknown, HostFnTestServices>
}

/** The integrity zome of the test DNA. */
export const INTEGRITY_ZOME = "posts_integrity"
/** The coordinator zome of the test DNA. */
export const COORDINATOR_ZOME = "posts"

/** A DNA with one integrity and one coordinator zome, and a cell of it with its genesis done. */
export const makeCell: Effect.Effect<HostFnCell, unknown, HostFnTestServices> = Effect.gen(
  function* () {
    const hasher = yield* Hasher
    const keystore = yield* Keystore
    const chain = yield* Chain
    const commits = yield* Commits
    const agent = yield* keystore.generate
    const dnaHash = hasher.hashContent("dna", encode("host fn test dna")) as DnaHash
    const wasmHash = hasher.hashContent("wasm", encode("no wasm")) as WasmHash
    const integrity: IntegrityZome = {
      kind: "integrity",
      name: INTEGRITY_ZOME,
      index: 0,
      wasmHash,
      entryDefs: [{ name: "post", visibility: "public" }, {
        name: "secret",
        visibility: "private",
      }],
      linkTypes: ["comments", "likes"],
      exports: ["validate", "entry_defs"],
    }
    const coordinator: CoordinatorZome = {
      kind: "coordinator",
      name: COORDINATOR_ZOME,
      wasmHash,
      dependencies: [INTEGRITY_ZOME],
      exports: ["create_post", "get_post"],
    }
    const dna: DnaFile = {
      hash: dnaHash,
      name: "host_fn_test",
      modifiers: { networkSeed: "seed-1", properties: encode({ answer: 42 }) },
      integrity: [integrity],
      coordinators: [coordinator],
      defBytes: new Uint8Array(),
    }
    const cell: CellRef = {
      cellId: [dnaHash, agent],
      dna,
      agent,
      appId: "host_fn_app",
      roleName: "posts_role",
    }
    // Commits go through a cell without zomes: this DNA has no wasm to validate with.
    const bare: CellRef = { ...cell, dna: { ...dna, integrity: [], coordinators: [] } }
    const commit = (ws: Workspace) => commits.commit(bare, ws).pipe(Effect.asVoid)
    const genesis = yield* chain.open(dnaHash, agent)
    genesis.append({ type: "dna", "dna_hash": dnaHash }, null)
    genesis.append({ type: "agent_validation_pkg", "membrane_proof": null }, null)
    const agentEntry = { "entry_type": "agent", entry: agent } as const
    genesis.append({
      type: "create",
      "entry_type": { type: "agent_pub_key" },
      "entry_hash": genesis.entryHash(agentEntry),
    }, agentEntry)
    const genesisRecords = genesis.pending.map((p) => p.record)
    yield* commit(genesis)
    const calls: Array<NestedCall> = []
    const context = (
      kind: HostContextKind = "zome_call",
      overrides: Partial<HostCallContext> = {},
    ) =>
      Effect.gen(function* () {
        const workspace = kind === "zome_call" || kind === "init"
          ? yield* chain.open(dnaHash, agent)
          : null
        const ctx: HostCallContext = {
          kind,
          cell,
          zome: coordinator,
          fnName: "create_post",
          provenance: agent,
          capGrant: { type: "chain_author" },
          workspace,
          depth: 0,
          call: (target, zome, fn, payload, capSecret) =>
            Effect.sync((): NestedCallResult => {
              calls.push({ target, zome, fn, payload, capSecret })
              return { type: "ok", value: payload }
            }),
          unresolved: [],
          ...overrides,
        }
        return ctx
      })
    return { agent, cell, integrity, coordinator, context, calls, genesis: genesisRecords, commit }
  },
)

/** A registry with no receptors configured (host functions that reach one see `not_found`). */
const noReceptors = Layer.effect(
  Receptors,
  Receptors.make([], { dir: "/nonexistent", synchronous: "normal" }, (config) =>
    Effect.fail(
      new ReceptorError({
        receptorId: config.id,
        operation: "start",
        reason: "StartFailed",
        detail: "host function tests configure no receptors",
      }),
    )),
)

/** Runs a host function test over a fresh in-memory conductor and a fresh cell. */
export function hostFnTest(
  name: string,
  body: (cell: HostFnCell) => Effect.Effect<void, unknown, HostFnTestServices>,
): void {
  Deno.test(name, async () => {
    const program = Effect.flatMap(makeCell, body).pipe(
      Effect.provide(Layer.mergeAll(commitTestLayer(), noReceptors)),
      Effect.scoped,
    )
    await Effect.runPromise(program as Effect.Effect<void, unknown>)
  })
}

/** Runs `fn` as the ribosome does: context check, input decoding, then the function. */
export function run<I>(fn: HostFn<I>, ctx: HostCallContext, input: unknown) {
  return invoke(fn, ctx, input)
}

/**
 * The failure of running `fn`, which must be a `HostFnError` of `kind` whose message contains
 * every one of `mentions`; fails the test if the call succeeds or fails otherwise.
 */
export function expectError<I>(
  fn: HostFn<I>,
  ctx: HostCallContext,
  input: unknown,
  kind: HostFnError["kind"],
  ...mentions: ReadonlyArray<string>
) {
  return Effect.gen(function* () {
    const outcome = yield* Effect.result(invoke(fn, ctx, input))
    assert(outcome._tag === "Failure", `${fn.name} succeeded, expected a ${kind} error`)
    const error = outcome.failure
    assert(error instanceof HostFnError, `${fn.name} failed with ${error._tag}, not HostFnError`)
    assertEquals(error.kind, kind, `${fn.name}: ${error.detail}`)
    for (const text of mentions) {
      assert(error.detail.includes(text), `"${error.detail}" does not mention "${text}"`)
    }
    return error
  })
}

/** The `UnresolvedDependency` running `fn` must fail with (a `must_get_*` miss in validation). */
export function expectUnresolved<I>(fn: HostFn<I>, ctx: HostCallContext, input: unknown) {
  return Effect.gen(function* () {
    const outcome = yield* Effect.result(invoke(fn, ctx, input))
    assert(outcome._tag === "Failure", `${fn.name} succeeded, expected an unresolved dependency`)
    assert(outcome.failure instanceof UnresolvedDependency, `${fn.name}: ${outcome.failure}`)
    return outcome.failure
  })
}

/**
 * Checks that `fn` runs in exactly the `allowed` kinds of call: `fn.allowedIn` is that set, and
 * a call of every other kind is `denied` naming the function and the kind (with `input`, which
 * would otherwise be valid).
 */
export function expectAllowedIn(
  fn: AnyHostFn,
  cell: HostFnCell,
  allowed: ReadonlyArray<HostContextKind>,
  input: unknown,
) {
  return Effect.gen(function* () {
    assertEquals([...fn.allowedIn].sort(), [...allowed].sort())
    for (const kind of ALL_KINDS.filter((k) => !allowed.includes(k))) {
      yield* expectError(fn, yield* cell.context(kind), input, "denied", fn.name, kind)
    }
  })
}

/** Writes a public `post` entry with `content` in a call of its own and commits it. */
export function committedPost(cell: HostFnCell, content: unknown) {
  return Effect.gen(function* () {
    const ctx = yield* cell.context()
    const ws = ctx.workspace!
    const entry = { "entry_type": "app", entry: encode(content) } as const
    const created = ws.append({
      type: "create",
      "entry_type": { type: "app", "zome_index": 0, "entry_index": 0, visibility: "public" },
      "entry_hash": ws.entryHash(entry),
    }, entry)
    yield* cell.commit(ws)
    return created.record
  })
}
