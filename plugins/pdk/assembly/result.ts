/**
 * `Result<T>`: what every host-function wrapper returns, and `HostError`, the host's `err`.
 *
 * Owns the decision of how a host failure reaches zome code: as a value to inspect (`isErr`,
 * `error`), or, through `unwrap`/`expect`, as a failure of the whole call carrying the host's
 * message.
 */
import { panic } from "./abort"
import { Writer } from "./msgpack"

/** The `kind` strings of abi.md §2.2. */
export namespace ErrorKind {
  export const InvalidInput = "invalid_input"
  export const Denied = "denied"
  export const NotFound = "not_found"
  export const Invalid = "invalid"
  export const Unauthorized = "unauthorized"
  export const Limit = "limit"
  export const Internal = "internal"
}

/** A host function's `err` envelope, with the name of the function that failed. */
@final
export class HostError {
  constructor(
    public fn: string,
    public kind: string,
    public message: string,
  ) {}

  /** `"<fn> failed (<kind>): <message>"`, the text `unwrap` fails the call with. */
  toString(): string {
    return this.fn + " failed (" + this.kind + "): " + this.message
  }
}

/** Either a host function's output or the error it returned. */
@final
export class Result<T> {
  private constructor(
    private val: T,
    public error: HostError | null,
  ) {}

  static ok<T>(value: T): Result<T> {
    return new Result<T>(value, null)
  }

  static err<T>(error: HostError): Result<T> {
    if (isReference<T>()) {
      return new Result<T>(changetype<T>(0), error)
    } else {
      return new Result<T>(<T> 0, error)
    }
  }

  get isOk(): bool {
    return this.error === null
  }

  get isErr(): bool {
    return this.error !== null
  }

  /** The error's kind, or "" on success. */
  get errorKind(): string {
    const e = this.error
    return e === null ? "" : e.kind
  }

  /** The output; on an error, fails the whole call with the host's message. */
  unwrap(): T {
    const e = this.error
    if (e !== null) panic(e.toString())
    return this.val
  }

  /** The output; on an error, fails the call with `context + ": " + the host's message`. */
  expect(context: string): T {
    const e = this.error
    if (e !== null) panic(context + ": " + e.toString())
    return this.val
  }

  /** The output, or `fallback` on an error. */
  unwrapOr(fallback: T): T {
    return this.error === null ? this.val : fallback
  }

  /**
   * The result as the host sent it: `{ok: value}` or `{err: {kind, message}}`, so a zome
   * function can hand a host result to its caller with `return ok(result)`.
   */
  encode(w: Writer): void {
    const e = this.error
    if (e === null) {
      w.map(1).field("ok", this.val)
    } else {
      w.map(1).str("err").map(2).field("kind", e.kind).field("message", e.message)
    }
  }
}
