/**
 * The one error of the bundle module, `BundleError`, and its tagged reasons. Every failure of
 * reading, validating, packing or unpacking a `.dna` / `.happ` or its manifests is a
 * `BundleError` whose `reason` says what went wrong and where (file, key path, line, resource).
 * It owns no logic beyond building messages.
 *
 * @module
 */
import { Schema } from "effect"

/** A manifest (YAML or the msgpack form inside a bundle) that does not fit its schema or rules. */
export class ManifestInvalid extends Schema.TaggedError<ManifestInvalid>()("ManifestInvalid", {
  /** The manifest file, or `<bundle source> (manifest)` for a packed manifest. */
  file: Schema.String,
  /** Dotted key path of the offending value (`roles.0.dna.path`); empty for the whole document. */
  keyPath: Schema.String,
  /** 1-based line of the offending value in a YAML file; null for packed manifests. */
  line: Schema.NullOr(Schema.Number),
  detail: Schema.String,
}) {
  override get message(): string {
    const where = this.line === null ? this.file : `${this.file}:${this.line}`
    const key = this.keyPath === "" ? "" : ` at ${this.keyPath}`
    return `invalid manifest ${where}${key}: ${this.detail}`
  }
}

/** The manifest names a resource that the bundle (or the folder being packed) does not hold. */
export class ResourceMissing extends Schema.TaggedError<ResourceMissing>()("ResourceMissing", {
  file: Schema.String,
  resource: Schema.String,
}) {
  override get message(): string {
    return `bundle ${this.file}: resource "${this.resource}" named by the manifest is missing`
  }
}

/** The bundle holds a resource that no manifest entry refers to. */
export class ResourceUnused extends Schema.TaggedError<ResourceUnused>()("ResourceUnused", {
  file: Schema.String,
  resource: Schema.String,
}) {
  override get message(): string {
    return `bundle ${this.file}: resource "${this.resource}" is not referenced by the manifest`
  }
}

/** The bytes are not a bundle: not gzip, bad gzip, bad msgpack, wrong shape, trailing data. */
export class BundleCorrupt extends Schema.TaggedError<BundleCorrupt>()("BundleCorrupt", {
  file: Schema.String,
  detail: Schema.String,
}) {
  override get message(): string {
    return `corrupt bundle ${this.file}: ${this.detail}`
  }
}

/** Decompressing the bundle would exceed the configured limit (a decompression bomb or a huge hApp). */
export class BundleTooLarge extends Schema.TaggedError<BundleTooLarge>()("BundleTooLarge", {
  file: Schema.String,
  /** The limit in bytes that was exceeded. */
  limit: Schema.Number,
}) {
  override get message(): string {
    return `bundle ${this.file} decompresses to more than ${this.limit} bytes`
  }
}

/**
 * A path given to install from is not a regular file this conductor can read. Deliberately says
 * nothing more (not whether it exists, nor what it holds): the path comes from a client.
 */
export class BundleUnreadable extends Schema.TaggedError<BundleUnreadable>()("BundleUnreadable", {
  /** The path as the client gave it, quoted. */
  file: Schema.String,
}) {
  override get message(): string {
    return `cannot read a hApp bundle at ${this.file}`
  }
}

/** A bundle (a file, or bytes sent) larger than the configured maximum bundle size. */
export class BundleFileTooLarge
  extends Schema.TaggedError<BundleFileTooLarge>()("BundleFileTooLarge", {
    file: Schema.String,
    /** The limit in bytes that was exceeded. */
    limit: Schema.Number,
    /** Where the limit is configured (`bundle.max_bytes`). */
    limitName: Schema.String,
  }) {
  override get message(): string {
    return `bundle ${this.file} is larger than ${this.limit} bytes (the limit ${this.limitName})`
  }
}

/** A zome resource that is not a WebAssembly module (no `\0asm` header). */
export class WasmInvalid extends Schema.TaggedError<WasmInvalid>()("WasmInvalid", {
  file: Schema.String,
  zome: Schema.String,
  resource: Schema.String,
  detail: Schema.String,
}) {
  override get message(): string {
    return `bundle ${this.file}: zome "${this.zome}" resource "${this.resource}" is not wasm: ${this.detail}`
  }
}

/** A zome's `hash:` in dna.yaml differs from the hash of its wasm. */
export class WasmHashMismatch extends Schema.TaggedError<WasmHashMismatch>()("WasmHashMismatch", {
  file: Schema.String,
  zome: Schema.String,
  /** The `u…` hash the manifest declares. */
  expected: Schema.String,
  /** The `u…` hash of the wasm bytes. */
  actual: Schema.String,
}) {
  override get message(): string {
    return `bundle ${this.file}: zome "${this.zome}" wasm hash is ${this.actual}, manifest says ${this.expected}`
  }
}

/** A file or folder to pack does not exist, or a folder has no manifest. */
export class NotFound extends Schema.TaggedError<NotFound>()("NotFound", {
  path: Schema.String,
  detail: Schema.String,
}) {
  override get message(): string {
    return `${this.path}: ${this.detail}`
  }
}

/** Reading or writing a file failed for another reason than its absence. */
export class IoFailed extends Schema.TaggedError<IoFailed>()("IoFailed", {
  path: Schema.String,
  operation: Schema.String,
  cause: Schema.Defect(),
}) {
  override get message(): string {
    const detail = this.cause instanceof Error ? this.cause.message : String(this.cause)
    return `${this.operation} ${this.path} failed: ${detail}`
  }
}

/** Every reason a `BundleError` can carry. */
export const BundleErrorReason = Schema.Union([
  ManifestInvalid,
  ResourceMissing,
  ResourceUnused,
  BundleCorrupt,
  BundleTooLarge,
  BundleUnreadable,
  BundleFileTooLarge,
  WasmInvalid,
  WasmHashMismatch,
  NotFound,
  IoFailed,
])
export type BundleErrorReason = typeof BundleErrorReason.Type

/**
 * Any failure of the bundle module. Recover one kind with
 * `Effect.catchReason("BundleError", "ResourceMissing", …)`.
 */
export class BundleError extends Schema.TaggedError<BundleError>()("BundleError", {
  reason: BundleErrorReason,
}) {
  override get message(): string {
    return this.reason.message
  }
}

/** Wraps a reason; `return yield* bundleError(new X({...}))` fails the current generator. */
export function bundleError(reason: BundleErrorReason): BundleError {
  return new BundleError({ reason })
}
