/**
 * JSON views of conductor values for the HTTP endpoint: HoloHashes become their `u…` strings,
 * other byte strings base64url, so that admin API responses are readable and stable. (The
 * gateway does NOT use this: it transcodes zome results exactly as hc-http-gw does.)
 *
 * @module
 */
import { encodeHashB64, isHoloHash, toBase64Url } from "../hash/mod.ts"

/** A JSON-safe copy of `value`. */
export function toJson(value: unknown): unknown {
  if (value instanceof Uint8Array) {
    return isHoloHash(value) ? encodeHashB64(value) : toBase64Url(value)
  }
  if (Array.isArray(value)) return value.map(toJson)
  if (typeof value === "bigint") return value.toString()
  if (value !== null && typeof value === "object") {
    const out: { [key: string]: unknown } = {}
    for (const [key, item] of Object.entries(value)) if (item !== undefined) out[key] = toJson(item)
    return out
  }
  return value
}
