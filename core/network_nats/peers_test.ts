import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict"
import { blake2b } from "@noble/hashes/blake2.js"
import { randomBytes, signingKeyFromSeed } from "../crypto/mod.ts"
import { type DnaHash, makeHasher } from "../hash/mod.ts"
import { type AgentInfo, FULL_ARC, makePeers, signAgentInfo, verifyAgentInfo } from "./peers.ts"

const hasher = makeHasher((data, outLen) => blake2b(data, { dkLen: outLen }))
const space = hasher.hashContent("dna", Uint8Array.of(1)) as DnaHash
const key = signingKeyFromSeed(randomBytes(32))
const agent = hasher.fromCore("agent", key.publicKey)
const now = 1_800_000_000_000_000
const info = (createdAt: number, isTombstone = false): AgentInfo =>
  signAgentInfo({
    agent,
    space,
    createdAt,
    expiresAt: createdAt + 60_000_000,
    isTombstone,
    url: null,
    storageArc: FULL_ARC,
  }, key.sign)

Deno.test("verifyAgentInfo accepts a signed info and refuses forged, lapsed or malformed ones", () => {
  const signed = info(now)
  const verified = verifyAgentInfo(signed.encoded, now)
  assert("encoded" in verified)
  assertEquals(verified.agent, agent)
  assertEquals(verified.storageArc, FULL_ARC)
  const refusal = (text: string, at = now) => {
    const result = verifyAgentInfo(text, at)
    return "encoded" in result ? "accepted" : result.detail
  }
  const outer = JSON.parse(signed.encoded)
  const tampered = JSON.stringify({
    ...outer,
    agentInfo: outer.agentInfo.replace('"isTombstone":false', '"isTombstone":true'),
  })
  assert(refusal(tampered).startsWith("not signed by"))
  assertEquals(refusal(signed.encoded, now + 60_000_000), "expired")
  assert(refusal("{").startsWith("not JSON"))
  assertEquals(refusal("x".repeat(5000)), "longer than 4096")
})

Deno.test("Peers keeps the newest info, reports joins and leaves, and sweeps lapsed peers", () => {
  const peers = makePeers()
  assertEquals(peers.put(info(now)), "joined")
  assertEquals(peers.put(info(now + 1)), "refreshed")
  assertEquals(peers.put(info(now)), "ignored")
  assertEquals(peers.live(space, now + 2).length, 1)
  assertEquals(peers.put(info(now + 2, true)), "left")
  assertEquals(peers.live(space, now + 3).length, 0)
  assertEquals(peers.put(info(now + 3)), "joined")
  assertEquals(peers.sweep(now + 10_000_000).length, 0)
  assertEquals(peers.sweep(now + 3 + 60_000_000).map((i) => i.agent), [agent])
  assertEquals(peers.all(space), [])
})
