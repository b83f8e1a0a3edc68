import { deepStrictEqual as assertEquals } from "node:assert/strict"
import { decodeHashB64 } from "../../core/hash/mod.ts"
import { answerToJson, payloadFromJson } from "./wire_values.ts"

const AGENT = "uhCAk" + "A".repeat(48)

Deno.test("payloadFromJson sends HoloHash strings as bytes and keeps everything else", () => {
  const out = payloadFromJson({ who: AGENT, list: [AGENT, "plain", 1, null], n: 2.5 }) as {
    who: Uint8Array
    list: Array<unknown>
  }
  assertEquals(out.who, decodeHashB64(AGENT))
  assertEquals(out.list.slice(1), ["plain", 1, null])
  // A "__proto__" key stays an own key and sets no prototype.
  const tricky = payloadFromJson(JSON.parse('{"__proto__": {"polluted": true}}')) as object
  assertEquals(Object.keys(tricky), ["__proto__"])
  assertEquals(Object.getPrototypeOf(tricky), Object.prototype)
})

Deno.test("answerToJson turns hashes into uhC… strings and other bytes into base64url", () => {
  assertEquals(
    answerToJson({ h: decodeHashB64(AGENT), b: Uint8Array.of(1, 2, 3), x: [Infinity] }),
    { h: AGENT, b: "AQID", x: ["Infinity"] },
  )
})
