/**
 * Values between the JSON world of receptor callers and the msgpack of the Conductor API, with
 * the convention `conductor call` uses: a string that is a HoloHash (`uhC…`) is sent as the hash's
 * bytes; in answers, hashes become `uhC…` strings and other bytes base64url. Owns only the
 * conversion; the depth of what it walks is bounded by the msgpack check that decoded it.
 *
 * @module
 */
import type { Schema } from "effect"
import { decodeHashB64, encodeHashB64, isHoloHash, toBase64Url } from "../../core/hash/mod.ts"

/** A JSON payload as msgpack-ready data: hash strings become bytes. */
export function payloadFromJson(value: Schema.Json): unknown {
  if (typeof value === "string") return decodeHashB64(value) ?? value
  if (Array.isArray(value)) return value.map(payloadFromJson)
  if (value !== null && typeof value === "object") {
    // fromEntries defines own properties: a "__proto__" key stays a key.
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, payloadFromJson(item as Schema.Json)]),
    )
  }
  return value
}

/** A decoded msgpack answer as JSON: hashes as `uhC…`, other bytes base64url. */
export function answerToJson(value: unknown): Schema.Json {
  if (value instanceof Uint8Array) {
    return isHoloHash(value) ? encodeHashB64(value) : toBase64Url(value)
  }
  if (Array.isArray(value)) return value.map(answerToJson)
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, answerToJson(item)]),
    )
  }
  if (typeof value === "number" && !Number.isFinite(value)) return String(value)
  if (typeof value === "bigint") return value.toString()
  if (value === undefined) return null
  return value as Schema.Json
}
