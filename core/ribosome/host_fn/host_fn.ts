/**
 * The host function contract (style.md §2.7): a versioned guest import name, an input schema,
 * the contexts it may run in, and an Effect that does the work. `invoke` is the one place that
 * enforces the context, decodes the input and turns failures into the ABI's error kinds. The
 * byte-level glue (kernel offsets, msgpack envelopes) lives in the ribosome, not here.
 *
 * @module
 */
import { Effect, Schema } from "effect"
import type { HostCallContext, HostContextKind } from "../context.ts"

/** A host function failure the guest receives as `{err: {kind, message}}`. */
export class HostFnError extends Schema.TaggedError<HostFnError>()("HostFnError", {
  kind: Schema.Literals([
    "invalid_input",
    "denied",
    "not_found",
    "invalid",
    "unauthorized",
    "limit",
    "network",
    "internal",
  ]),
  detail: Schema.String,
}) {
  override get message(): string {
    return this.detail
  }
}

/**
 * A `must_get_*` miss during validation: the callback stops at once and the op's outcome is
 * "unresolved dependencies" (abi.md §2.2).
 */
export class UnresolvedDependency
  extends Schema.TaggedError<UnresolvedDependency>()("UnresolvedDependency", {
    hash: Schema.Uint8Array,
  }) {}

/** Every host function runs with these services available. */
export type { HostFnServices } from "./services.ts"
import type { HostFnServices } from "./services.ts"

/** One host function. */
export interface HostFn<I> {
  /** Guest import name in `extism:host/user`, versioned (`create_1`). */
  readonly name: string
  /** Decodes the msgpack-decoded input. */
  readonly input: Schema.Codec<I, unknown>
  /** Contexts it may run in. */
  readonly allowedIn: ReadonlySet<HostContextKind>
  /**
   * Fuel charged per call, on top of 20 per byte of input and output: a static estimate of the
   * host work (about 20 fuel per nanosecond, the rate guest compute runs at), so that a guest
   * cannot spin on expensive host functions for longer than its budget allows. Static, so
   * validation stays deterministic. @default 20000
   */
  readonly fuel?: bigint
  run(
    ctx: HostCallContext,
    input: I,
  ): Effect.Effect<unknown, HostFnError | UnresolvedDependency, HostFnServices>
}

/** Defines a host function (keeps the input type inferred from the schema). */
export function defineHostFn<I>(fn: HostFn<I>): HostFn<I> {
  return fn
}

/** A host function with its input type erased, for the registry. */
export type AnyHostFn = HostFn<unknown>

/** Default fuel of a host function call (about 1 µs of host work). */
export const DEFAULT_HOST_FN_FUEL = 20_000n
/** Fuel of a host function that signs or writes (about 50 µs). */
export const WRITE_FUEL = 1_000_000n
/** Fuel of a host function that reads storage (about 10 µs). */
export const READ_FUEL = 200_000n

/** Contexts shorthand. */
export const ANYWHERE: ReadonlySet<HostContextKind> = new Set([
  "zome_call",
  "init",
  "post_commit",
  "validate",
  "genesis_self_check",
  "entry_defs",
])
/** Where non-deterministic reads and writes-free effects are allowed. */
export const CALLS: ReadonlySet<HostContextKind> = new Set(["zome_call", "init", "post_commit"])
/** Where writes are allowed. */
export const WRITES: ReadonlySet<HostContextKind> = new Set(["zome_call", "init"])
/** Where deterministic information is available. */
export const DETERMINISTIC: ReadonlySet<HostContextKind> = new Set([
  "zome_call",
  "init",
  "post_commit",
  "validate",
  "genesis_self_check",
])
/** Where validation dependencies may be fetched. */
export const DEPENDENCIES: ReadonlySet<HostContextKind> = new Set([
  "zome_call",
  "init",
  "post_commit",
  "validate",
])

/** Input decoders, built once per schema rather than once per host call. */
const decoders = new WeakMap<
  Schema.Codec<unknown, unknown>,
  (raw: unknown) => Effect.Effect<unknown, Schema.SchemaError>
>()

function decoderOf<I>(
  schema: Schema.Codec<I, unknown>,
): (raw: unknown) => Effect.Effect<I, Schema.SchemaError> {
  let decode = decoders.get(schema)
  if (decode === undefined) {
    decode = Schema.decodeUnknownEffect(schema)
    decoders.set(schema, decode)
  }
  return decode as (raw: unknown) => Effect.Effect<I, Schema.SchemaError>
}

/**
 * Runs `fn` for a guest: `denied` unless the context allows it, `invalid_input` unless the
 * input decodes, then the function itself.
 */
export function invoke<I>(
  fn: HostFn<I>,
  ctx: HostCallContext,
  raw: unknown,
): Effect.Effect<unknown, HostFnError | UnresolvedDependency, HostFnServices> {
  if (!fn.allowedIn.has(ctx.kind)) {
    return Effect.fail(
      new HostFnError({
        kind: "denied",
        detail: `${fn.name} is not allowed in a ${ctx.kind} call`,
      }),
    )
  }
  return decoderOf(fn.input)(raw).pipe(
    Effect.mapError((error) =>
      new HostFnError({ kind: "invalid_input", detail: `${fn.name}: ${error.message}` })
    ),
    Effect.flatMap((input) => fn.run(ctx, input)),
  )
}
