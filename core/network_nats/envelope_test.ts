import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict"
import { blake2b } from "@noble/hashes/blake2.js"
import { decode, encode } from "../codec/mod.ts"
import { randomBytes, signingKeyFromSeed } from "../crypto/mod.ts"
import { type DnaHash, makeHasher } from "../hash/mod.ts"
import { type Envelope, MAX_CLOCK_SKEW_MICROS, openEnvelope, sealEnvelope } from "./envelope.ts"

const hasher = makeHasher((data, outLen) => blake2b(data, { dkLen: outLen }))
const key = signingKeyFromSeed(randomBytes(32))
const from = hasher.fromCore("agent", key.publicKey)
const to = hasher.fromCore("agent", signingKeyFromSeed(randomBytes(32)).publicKey)
const space = hasher.hashContent("dna", Uint8Array.of(1)) as DnaHash
const now = 1_800_000_000_000_000
const expect = { kinds: new Set(["op"]), space, to, now, maxBytes: 4096 }
const seal = (fields: Partial<Omit<Envelope, "nonce">> = {}, sign = key.sign) =>
  sealEnvelope({ kind: "op", space, from, to, at: now, body: Uint8Array.of(7), ...fields }, sign)
const reason = (data: Uint8Array, expectation = expect) => {
  const opened = openEnvelope(data, expectation)
  return "body" in opened ? "opened" : opened.reason
}

Deno.test("openEnvelope opens what sealEnvelope sealed and checks every field", () => {
  const opened = openEnvelope(seal(), expect)
  assert("body" in opened)
  assertEquals([opened.kind, opened.from, opened.to, opened.at], ["op", from, to, now])
  assertEquals(opened.body, Uint8Array.of(7))
  assertEquals(reason(seal({}, () => new Uint8Array(64))), "BadSignature")
  assertEquals(reason(seal({ kind: "call" })), "WrongKind")
  assertEquals(reason(seal({ to: from })), "WrongRecipient")
  assertEquals(
    reason(seal({ space: hasher.hashContent("dna", Uint8Array.of(2)) as DnaHash })),
    "WrongSpace",
  )
  assertEquals(reason(seal({ at: now - MAX_CLOCK_SKEW_MICROS - 1 })), "Stale")
  assertEquals(reason(seal({ body: new Uint8Array(5000) })), "TooLarge")
  assertEquals(reason(Uint8Array.of(0x92, 0xc0, 0xc0)), "Malformed")
  assertEquals(reason(Uint8Array.of(0xdd, 0xff, 0xff, 0xff, 0xff)), "Malformed")
})

Deno.test("openEnvelope refuses a re-signed envelope whose sender was swapped", () => {
  // Someone else's key signing a claim to be `from`: the signature is checked against `from`.
  const [signed] = decode(seal()) as [Uint8Array, Uint8Array]
  const other = signingKeyFromSeed(randomBytes(32))
  assertEquals(reason(encode([signed, other.sign(signed)])), "BadSignature")
})
