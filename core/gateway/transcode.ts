/**
 * The HTTP gateway's transcoding, exactly as hc-http-gw does it: the `payload` query parameter
 * is base64url of JSON (absent means JSON null) and becomes the zome call's msgpack; the zome's
 * msgpack result becomes JSON text, with msgpack binary as an array of byte values (what
 * `serde_json::Value` makes of bytes).
 *
 * @module
 */
import { decode, encode } from "../codec/mod.ts"
import { fromBase64Url } from "../hash/mod.ts"

/** Why a payload was refused (each is a 400). */
export type PayloadProblem =
  | "Failed to decode base64 encoded string"
  | "Payload contains invalid JSON"

/** base64url JSON → msgpack bytes. */
export function payloadToMsgpack(payload: string | undefined): Uint8Array | PayloadProblem {
  if (payload === undefined) return encode(null)
  const bytes = fromBase64Url(payload)
  if (bytes === undefined) return "Failed to decode base64 encoded string"
  let json: unknown
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes))
  } catch {
    return "Payload contains invalid JSON"
  }
  return encode(json)
}

/** msgpack bytes → JSON text. */
export function msgpackToJson(bytes: Uint8Array): string {
  return JSON.stringify(decode(bytes), (_key, value) => {
    if (value instanceof Uint8Array) return Array.from(value)
    if (typeof value === "bigint") return Number(value)
    return value
  }) ?? "null"
}
