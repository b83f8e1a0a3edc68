/**
 * The one rule for identifiers that arrive from outside and are stored or used as keys:
 * `installed_app_id`, role names, clone ids and clone names, zome and function names. Every
 * interface (admin websocket, app websocket, HTTP) and the `Apps` service check them with this,
 * so the error text is the same wherever a bad one arrives.
 *
 * An identifier is 1 to `IDENTIFIER_MAX_BYTES` bytes of well-formed UTF-8 without control
 * characters (C0 U+0000–U+001F, DEL U+007F, C1 U+0080–U+009F). Why: SQLite stores a string with
 * a NUL whole but `node:sqlite` reads it back cut at the NUL, so `forum\0evil` was listed as a
 * second `forum` and resolved to the real one; lone surrogates are stored as U+FFFD, so two ids
 * would share one key; unbounded ids grow every message and row that carries them.
 *
 * `network_seed` is not an identifier: it is arbitrary data hashed into the DNA, so any
 * character is allowed; only its size is bounded (`NETWORK_SEED_MAX_BYTES`).
 *
 * @module
 */

/** Longest identifier, in bytes of UTF-8 (docs/decisions.md, "Identifiers from outside"). */
export const IDENTIFIER_MAX_BYTES = 256

/** Longest `network_seed`, in bytes of UTF-8. */
export const NETWORK_SEED_MAX_BYTES = 4096

const encoder = new TextEncoder()

function overBytes(value: string, limit: number): boolean {
  // Every UTF-16 unit is at least one byte: a long string is over the bound without encoding it.
  return value.length > limit || encoder.encode(value).length > limit
}

function codePoint(c: number): string {
  return `U+${c.toString(16).toUpperCase().padStart(4, "0")}`
}

/**
 * What is wrong with `value` as the identifier `field` (for example `"installed_app_id"`), or
 * undefined when it is a valid identifier.
 */
export function identifierProblem(field: string, value: string): string | undefined {
  if (value.length === 0) return `${field} must not be empty`
  if (overBytes(value, IDENTIFIER_MAX_BYTES)) {
    return `${field} is longer than ${IDENTIFIER_MAX_BYTES} bytes of UTF-8`
  }
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i)
    if (c <= 0x1f || (c >= 0x7f && c <= 0x9f)) {
      return `${field} contains the control character ${codePoint(c)} at index ${i}; ` +
        `identifiers must not contain control characters (U+0000–U+001F, U+007F–U+009F)`
    }
  }
  if (!value.isWellFormed()) return `${field} is not well-formed Unicode (it has a lone surrogate)`
  return undefined
}

/** What is wrong with a `network_seed` (only its size), or undefined. */
export function networkSeedProblem(field: string, value: string): string | undefined {
  return overBytes(value, NETWORK_SEED_MAX_BYTES)
    ? `${field} is longer than ${NETWORK_SEED_MAX_BYTES} bytes of UTF-8`
    : undefined
}

/**
 * The first problem among several identifiers given as `[field, value]`; absent values (null,
 * undefined) are skipped.
 */
export function identifiersProblem(
  fields: ReadonlyArray<readonly [string, string | null | undefined]>,
): string | undefined {
  for (const [field, value] of fields) {
    if (value === null || value === undefined) continue
    const problem = identifierProblem(field, value)
    if (problem !== undefined) return problem
  }
  return undefined
}
