/**
 * App validation of a call's writes before they are committed (abi.md §5): each record's ops
 * are sent to the integrity zomes that own them, as the `validate` callback, with the call's
 * uncommitted writes visible to `must_get_*`. The first invalid op, unresolved dependency or
 * failing callback stops the commit. The callbacks run like any guest call (they may wait and
 * yield, under the call's deadline); genesis runs them synchronously, inside its transaction.
 * System-level rules (sequence, hashes, sizes, targets) are enforced when the host functions
 * build the actions.
 *
 * @module
 */
import { Effect, Schema } from "effect"
import type { PendingRecord, Workspace } from "../chain/mod.ts"
import { decodeUntrusted, encode } from "../codec/mod.ts"
import { bytesEqual, encodeHashB64 } from "../hash/mod.ts"
import {
  type CellRef,
  type HostCallContext,
  Ribosome,
  type RibosomeShape,
} from "../ribosome/mod.ts"
import type { IntegrityZome } from "../ribosome_store/mod.ts"
import { Spaces } from "../space/mod.ts"
import {
  type Action,
  opsForAction,
  type Record,
  recordWire,
  type SignedAction,
  signedActionWire,
  type ValidationOpType,
  validationOpType,
} from "../types/mod.ts"

/** Writes that did not pass validation; nothing was committed. */
export class InvalidCommit extends Schema.TaggedError<InvalidCommit>()("InvalidCommit", {
  reason: Schema.Literals(["Invalid", "Unresolved", "CallbackFailed"]),
  detail: Schema.String,
}) {
  override get message(): string {
    return this.detail
  }
}

type CallbackOutcome =
  | { readonly type: "valid" }
  | { readonly type: "invalid"; readonly reason: string }
  | { readonly type: "unresolved_dependencies"; readonly hashes: ReadonlyArray<Uint8Array> }

const ValidateResult = Schema.Union([
  Schema.Struct({ type: Schema.Literal("valid") }),
  Schema.Struct({ type: Schema.Literal("invalid"), reason: Schema.String }),
  Schema.Struct({
    type: Schema.Literal("unresolved_dependencies"),
    hashes: Schema.Array(Schema.Uint8Array),
  }),
])
const decodeValidateResult = Schema.decodeUnknownExit(ValidateResult)

/** Runs a `validate` (or `genesis_self_check`) callback and interprets its result. */
export function runValidateCallback(
  ribosome: RibosomeShape,
  ctx: HostCallContext,
  payload: Uint8Array,
  fn: "validate" | "genesis_self_check" = "validate",
): Effect.Effect<CallbackOutcome, InvalidCommit> {
  return Effect.flatMap(ribosome.call(ctx, fn, payload), (outcome) => {
    switch (outcome._tag) {
      case "Ok": {
        let raw: unknown
        try {
          raw = decodeUntrusted(outcome.output)
        } catch {
          return Effect.fail(
            new InvalidCommit({
              reason: "CallbackFailed",
              detail: `${ctx.zome.name}/${fn} returned bytes that are not msgpack`,
            }),
          )
        }
        const decoded = decodeValidateResult(raw)
        if (decoded._tag === "Success") return Effect.succeed(decoded.value)
        return Effect.fail(
          new InvalidCommit({
            reason: "CallbackFailed",
            detail: `${ctx.zome.name}/validate returned an unknown result: ${
              JSON.stringify(raw)?.slice(0, 200)
            }`,
          }),
        )
      }
      case "Unresolved":
        return Effect.succeed({ type: "unresolved_dependencies", hashes: outcome.hashes })
      case "FunctionNotFound":
        return Effect.succeed({ type: "valid" })
      default:
        return Effect.fail(
          new InvalidCommit({
            reason: "CallbackFailed",
            detail: `${ctx.zome.name}/${fn} failed: ${outcome.message}`,
          }),
        )
    }
  })
}

interface Routed {
  readonly zomes: ReadonlyArray<IntegrityZome>
  /** The app entry or link type name the op concerns, when it belongs to one zome. */
  readonly entryType: string | null
  readonly linkType: string | null
}

const KEY_TYPE = encode("type")
const KEY_RECORD = encode("record")
const KEY_ENTRY_TYPE = encode("entry_type")
const KEY_LINK_TYPE = encode("link_type")

/**
 * The msgpack of an op, built around the record's bytes so that a record validated as three or
 * four ops is encoded once (keys in the order abi.md §5 gives them).
 */
function encodeOp(
  type: ValidationOpType,
  recordBytes: Uint8Array,
  routed: Routed,
  extra: readonly [string, unknown] | null,
): Uint8Array {
  const parts = [
    Uint8Array.of(0x80 | (extra === null ? 4 : 5)),
    KEY_TYPE,
    encode(type),
    KEY_RECORD,
    recordBytes,
    KEY_ENTRY_TYPE,
    encode(routed.entryType),
    KEY_LINK_TYPE,
    encode(routed.linkType),
  ]
  if (extra !== null) parts.push(encode(extra[0]), encode(extra[1]))
  let length = 0
  for (const part of parts) length += part.length
  const out = new Uint8Array(length)
  let offset = 0
  for (const part of parts) {
    out.set(part, offset)
    offset += part.length
  }
  return out
}

/**
 * Validates every pending record of `workspace` (or `records`, for genesis) as the author's
 * conductor does before committing. `synchronous` (genesis, inside its install transaction)
 * runs the callbacks on the spot: they may not wait.
 */
export const validatePending = (
  ribosome: RibosomeShape,
  cell: CellRef,
  workspace: Workspace,
  records: ReadonlyArray<PendingRecord> = workspace.pending,
  options: { readonly synchronous?: boolean } = {},
): Effect.Effect<void, InvalidCommit, Spaces> =>
  Effect.flatMap(Effect.service(Spaces), (spaces) => {
    const dna = cell.dna
    const integrity = dna.integrity
    const validators = integrity.filter((z) => z.exports.includes("validate"))
    if (validators.length === 0) return Effect.void
    const all: Routed = { zomes: validators, entryType: null, linkType: null }

    const findAction = (hash: Uint8Array): Effect.Effect<SignedAction | null> => {
      const pending = workspace.findAction(hash)
      if (pending !== undefined) return Effect.succeed(pending.record)
      return Effect.orDie(spaces.getAction(dna.hash, hash))
    }
    const byEntryType = (a: Action): Routed => {
      if ((a.type === "create" || a.type === "update") && a.entry_type.type === "app") {
        const zome = integrity[a.entry_type.zome_index]
        if (zome === undefined) return { zomes: [], entryType: null, linkType: null }
        return {
          zomes: validators.filter((z) => z.index === zome.index),
          entryType: zome.entryDefs[a.entry_type.entry_index]?.name ?? null,
          linkType: null,
        }
      }
      return all
    }
    const byLinkType = (zomeIndex: number, linkType: number): Routed => ({
      zomes: validators.filter((z) => z.index === zomeIndex),
      entryType: null,
      linkType: integrity[zomeIndex]?.linkTypes[linkType] ?? null,
    })
    const route = (action: Action, type: ValidationOpType): Effect.Effect<Routed> => {
      if (type === "register_agent_activity") return Effect.succeed(all)
      switch (action.type) {
        case "create":
        case "update":
          return Effect.succeed(byEntryType(action))
        case "delete":
          return Effect.map(
            findAction(action.deletes_address),
            (original) => original === null ? all : byEntryType(original.action),
          )
        case "create_link":
          return Effect.succeed(byLinkType(action.zome_index, action.link_type))
        case "delete_link":
          return Effect.map(
            findAction(action.link_add_address),
            (created) =>
              created !== null && created.action.type === "create_link"
                ? byLinkType(created.action.zome_index, created.action.link_type)
                : all,
          )
        default:
          return Effect.succeed(all)
      }
    }

    const validateRecord = (pending: PendingRecord): Effect.Effect<void, InvalidCommit> =>
      Effect.gen(function* () {
        const record: Record = pending.record
        const action = record.action
        const types = new Set(
          opsForAction(action, record.action_hash, !pending.entryPrivate).map((op) =>
            validationOpType(op.type)
          ),
        )
        // A private entry's record is still validated (with the entry) as the author's own op.
        if (pending.entryPrivate && record.entry !== null && record.entry.entry_type === "app") {
          types.add("store_entry")
        }
        let recordBytes: Uint8Array | undefined
        for (const type of types) {
          const routed = yield* route(action, type)
          if (routed.zomes.length === 0) continue
          let extra: readonly [string, unknown] | null = null
          if (action.type === "update" || action.type === "delete") {
            const target = action.type === "update"
              ? action.original_action_address
              : action.deletes_address
            const original = yield* findAction(target)
            if (original === null) {
              return yield* new InvalidCommit({
                reason: "Invalid",
                detail: `the ${action.type} targets ${encodeHashB64(target)}, which does not exist`,
              })
            }
            if (type === "register_update" || type === "register_delete") {
              extra = ["original_action", signedActionWire(original)]
            }
          }
          if (action.type === "delete_link" && type === "register_delete_link") {
            const created = yield* findAction(action.link_add_address)
            if (
              created === null || created.action.type !== "create_link" ||
              !bytesEqual(created.action.base_address, action.base_address)
            ) {
              return yield* new InvalidCommit({
                reason: "Invalid",
                detail: `the delete_link targets ${
                  encodeHashB64(action.link_add_address)
                }, which is not a link on the same base`,
              })
            }
            extra = ["create_link", signedActionWire(created)]
          }
          recordBytes ??= encode(recordWire(record))
          const op = encodeOp(type, recordBytes, routed, extra)
          for (const zome of routed.zomes) {
            const ctx: HostCallContext = {
              kind: "validate",
              cell,
              zome,
              fnName: "validate",
              provenance: cell.agent,
              capGrant: { type: "chain_author" },
              workspace,
              depth: 0,
              call: () =>
                Effect.succeed({ type: "error", value: "call_1 is not allowed in validate" }),
              unresolved: [],
              ...(options.synchronous === true ? { synchronous: true } : {}),
            }
            const result = yield* runValidateCallback(ribosome, ctx, op)
            if (result.type === "invalid") {
              return yield* new InvalidCommit({
                reason: "Invalid",
                detail:
                  `invalid ${type} op for ${action.type} #${action.action_seq} (zome ${zome.name}): ${result.reason}`,
              })
            }
            if (result.type === "unresolved_dependencies") {
              return yield* new InvalidCommit({
                reason: "Unresolved",
                detail:
                  `${type} op for ${action.type} #${action.action_seq} depends on data this conductor does not have: ${
                    result.hashes.map(encodeHashB64).join(", ")
                  }`,
              })
            }
          }
        }
      })

    return Effect.forEach(records, validateRecord, { discard: true })
  })

/**
 * `validatePending` over the conductor's `Ribosome`, for records that were not written here:
 * the network validates what other conductors send through the same callbacks (in a read-only
 * workspace of the author's chain).
 */
export const recordValidator = Effect.map(
  Effect.service(Ribosome),
  (ribosome) =>
  (
    cell: CellRef,
    workspace: Workspace,
    records: ReadonlyArray<PendingRecord>,
  ): Effect.Effect<void, InvalidCommit, Spaces> =>
    validatePending(ribosome, cell, workspace, records),
)
