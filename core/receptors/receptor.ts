/**
 * The receptor contract: what every receptor type implements and the one call surface every
 * caller (the admin HTTP API, the `conductor receptor` command, later the zome host function and
 * flows) goes through. A receptor is a named table of typed operations: each has an input schema,
 * and `callReceptor` decodes untrusted input against it before the operation runs, so callers pass
 * plain JSON and an operation only ever sees a value of its own input type. It owns the contract
 * and the errors; the registry is `receptors.ts`, the receptor types live in `receptors/<type>/`.
 *
 * @module
 */
import { Effect, Schema, SchemaIssue } from "effect"

/** Why a receptor call failed; the admin API maps each to an HTTP status. */
export const ReceptorErrorReason = Schema.Literals([
  /** The operation name is not one the receptor offers. */
  "UnknownOperation",
  /** The input does not fit the operation's schema or a bound (`detail` says which). */
  "InvalidInput",
  /** A key, value, batch or session is larger than the receptor's configured limit. */
  "TooLarge",
  /** The thing named (a key version, a session) does not exist. */
  "NotFound",
  /** A precondition did not hold (a version check, an id already in use). */
  "Conflict",
  /** The session was committed or aborted. */
  "Closed",
  /** The session failed its integrity check at start and is kept aside. */
  "Quarantined",
  /** Undo with no checkpoint left to undo. */
  "NothingToUndo",
  /** Redo with nothing undone since the last forward change. */
  "NothingToRedo",
  /** A count limit (sessions) is reached. */
  "LimitReached",
  /** The receptor is configured with `enabled: false`. */
  "Disabled",
  /** The receptor could not start. */
  "StartFailed",
  /** The storage underneath failed (`cause` holds the foreign error). */
  "Storage",
  /** A plugin receptor refused the call (its own error message is the detail). */
  "Failed",
  /** A plugin receptor's call trapped, ran out of fuel or time, or hit its memory cap. */
  "Trapped",
  /** The system the receptor reaches (another conductor) cannot be reached or dropped the link. */
  "Unreachable",
  /** The system the receptor reaches did not answer within the receptor's timeout. */
  "Timeout",
  /** The system the receptor reaches answered with an error (`detail` carries it). */
  "Remote",
])
export type ReceptorErrorReason = typeof ReceptorErrorReason.Type

/** A receptor operation failed. `operation` is `"<type>.<operation>"` or a lifecycle step. */
export class ReceptorError extends Schema.TaggedError<ReceptorError>()("ReceptorError", {
  receptorId: Schema.String,
  operation: Schema.String,
  reason: ReceptorErrorReason,
  detail: Schema.String,
  cause: Schema.optionalKey(Schema.Defect()),
}) {
  override get message(): string {
    return `receptor "${this.receptorId}" ${this.operation}: ${this.detail}`
  }
}

/** No receptor with this id is configured. */
export class ReceptorNotFound extends Schema.TaggedError<ReceptorNotFound>()("ReceptorNotFound", {
  receptorId: Schema.String,
  /** The ids that are configured, to help the caller. */
  known: Schema.Array(Schema.String),
}) {
  override get message(): string {
    const known = this.known.length === 0 ? "none is configured" : `known: ${this.known.join(", ")}`
    return `no receptor "${this.receptorId}" (${known})`
  }
}

/** What a receptor reports about itself. */
export const ReceptorHealth = Schema.Struct({
  /** `ok`; `degraded`: it serves, but something needs an operator (a quarantined session). */
  status: Schema.Literals(["ok", "degraded", "failed", "disabled"]),
  detail: Schema.String,
  /** Type-specific figures (sessions, entries, quarantined ids). */
  info: Schema.Record(Schema.String, Schema.Json),
})
export type ReceptorHealth = typeof ReceptorHealth.Type

/**
 * One typed operation. `run` uses method syntax so that a table can hold operations of different
 * input types (the same trick as the host function registry).
 */
export interface ReceptorOperation<I, O> {
  /** Decodes the caller's JSON; anything it refuses never reaches `run`. */
  readonly input: Schema.Codec<I, unknown>
  /** Whether the operation leaves the receptor's data unchanged. */
  readonly readOnly: boolean
  /** One line for `GET /api/receptors/:id` and `conductor receptor list`. */
  readonly summary: string
  run(input: I): Effect.Effect<O, ReceptorError>
}

/** Declares an operation; `I` is inferred from the schema. */
export function operation<S extends Schema.Codec<unknown, unknown>, O>(
  input: S,
  options: { readonly readOnly: boolean; readonly summary: string },
  run: (input: S["Type"]) => Effect.Effect<O, ReceptorError>,
): ReceptorOperation<S["Type"], O> {
  return { input, readOnly: options.readOnly, summary: options.summary, run }
}

/** A started receptor. Stopping is its layer scope closing. */
export interface Receptor {
  readonly id: string
  readonly type: string
  readonly operations: Readonly<Record<string, ReceptorOperation<unknown, unknown>>>
  readonly health: Effect.Effect<ReceptorHealth>
}

const formatter = SchemaIssue.makeFormatterStandardSchemaV1()

function describeIssue(issue: SchemaIssue.Issue): string {
  const first = formatter(issue).issues[0]
  if (first === undefined) return "invalid input"
  const path = (first.path ?? []).map((p) =>
    typeof p === "object" && p !== null && "key" in p ? String(p.key) : String(p)
  )
  return path.length === 0 ? first.message : `${path.join(".")}: ${first.message}`
}

/**
 * The one call path: finds the operation, decodes `input` against its schema (unknown keys are
 * refused) and runs it. Everything a caller can get wrong is a `ReceptorError` naming it.
 */
export function callReceptor(
  receptor: Receptor,
  name: string,
  input: unknown,
): Effect.Effect<unknown, ReceptorError> {
  return callUntraced(receptor, name, input)
}

// Decoders built once per operation: building one costs more than decoding a small input.
const decoders = new WeakMap<
  ReceptorOperation<unknown, unknown>,
  (input: unknown) => Effect.Effect<unknown, Schema.SchemaError>
>()

function decoderOf(op: ReceptorOperation<unknown, unknown>) {
  let decode = decoders.get(op)
  if (decode === undefined) {
    const decodeUnknown = Schema.decodeUnknownEffect(op.input)
    decode = (input) => decodeUnknown(input, { onExcessProperty: "error", errors: "first" })
    decoders.set(op, decode)
  }
  return decode
}

// Untraced and without Effect.gen's per-call cost: zomes reach it once per receptor_call_1.
const callUntraced = Effect.fnUntraced(
  function* (receptor: Receptor, name: string, input: unknown) {
    const op = Object.hasOwn(receptor.operations, name) ? receptor.operations[name] : undefined
    if (op === undefined) {
      return yield* new ReceptorError({
        receptorId: receptor.id,
        operation: `${receptor.type}.${name}`,
        reason: "UnknownOperation",
        detail: `a ${receptor.type} receptor has no operation "${name}" (it has: ${
          Object.keys(receptor.operations).join(", ")
        })`,
      })
    }
    const decoded = yield* decoderOf(op)(input ?? {}).pipe(
      Effect.mapError((error) =>
        new ReceptorError({
          receptorId: receptor.id,
          operation: `${receptor.type}.${name}`,
          reason: "InvalidInput",
          detail: describeIssue(error.issue),
        })
      ),
    )
    return yield* op.run(decoded)
  },
)

/** Lists a receptor's operations for listings. */
export function describeOperations(receptor: Receptor) {
  return Object.entries(receptor.operations).map(([name, op]) => ({
    name,
    "read_only": op.readOnly,
    summary: op.summary,
  }))
}

/**
 * Wraps the synchronous storage calls of one receptor: a throw becomes a `Storage` error naming
 * the receptor and operation, with the foreign error kept as `cause`.
 */
export function storageAttempt(receptorId: string) {
  return <A>(operation: string, f: () => A): Effect.Effect<A, ReceptorError> =>
    Effect.try({
      try: f,
      catch: (cause) =>
        cause instanceof ReceptorError ? cause : new ReceptorError({
          receptorId,
          operation,
          reason: "Storage",
          detail: cause instanceof Error ? cause.message : String(cause),
          cause,
        }),
    })
}
