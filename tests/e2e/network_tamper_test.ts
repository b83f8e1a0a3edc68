/**
 * NATS is only a router: a tampered peer (this test process, with its own agent key and a plain
 * NATS client) publishes correctly enveloped records that are invalid (a post the forum's
 * `validate` rejects), forged (an action signed by another key), a chain fork (two actions at
 * the same place of its chain) and an envelope with a forged signature. Every honest conductor
 * refuses each of them, integrates the tamperer's valid records, and keeps serving its users.
 *
 * @module
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict"
import { blake2b } from "@noble/hashes/blake2.js"
import { connect } from "@nats-io/transport-node"
import { Workspace } from "../../core/chain/mod.ts"
import { encode } from "../../core/codec/mod.ts"
import { randomBytes, signingKeyFromSeed } from "../../core/crypto/mod.ts"
import { type DnaHash, makeHasher } from "../../core/hash/mod.ts"
import { locationOf } from "../../core/space/mod.ts"
import { type Record, recordWire } from "../../core/types/mod.ts"
import { sealEnvelope, sectorOf, spaceSubjects } from "../../core/network_nats/mod.ts"
import { startNatsServer } from "../support/nats.ts"
import { cleanup, step, waitFor, withTimeout } from "../support/timeout.ts"
import { type ForumNode, spaceMetrics, startForumNode } from "./network_support.ts"

const hasher = makeHasher((data, outLen) => blake2b(data, { dkLen: outLen }))
const postType = {
  type: "app",
  "zome_index": 0,
  "entry_index": 0,
  visibility: "public",
} as const

Deno.test("honest conductors refuse a tampered peer's data and keep serving", async (t) => {
  const nats = await startNatsServer()
  const nodes: Array<ForumNode> = []
  const client = await connect({ servers: nats.url })
  try {
    await step(t, "two honest conductors run the forum", async () => {
      nodes.push(await startForumNode("a", [nats.url]))
      nodes.push(await startForumNode("b", [nats.url]))
      await nodes[0]!.call("create_post", { title: "honest", body: "from a" })
      await waitFor(async () => (await nodes[1]!.titles()).includes("honest"), "b to list a's post")
      // Settled: each has every op of the other (all receipts back), so counts only move now
      // because of the tamperer.
      for (const node of nodes) {
        await waitFor(
          async () => (await spaceMetrics(node))?.publish_state_summary.ops_pending === 0,
          `${node.name}'s ops to have their receipts`,
        )
      }
    })

    await step(t, "the tamperer publishes valid, invalid, forged and forking records", async () => {
      const dna = nodes[0]!.cellId[0] as unknown as DnaHash
      const key = signingKeyFromSeed(randomBytes(32))
      const agent = hasher.fromCore("agent", key.publicKey)
      let clock = Date.now() * 1000
      const now = () => clock++
      const genesis = new Workspace(dna, agent, null, key, hasher, now)
      genesis.append({ type: "dna", "dna_hash": dna }, null)
      genesis.append({ type: "agent_validation_pkg", "membrane_proof": null }, null)
      const agentEntry = { "entry_type": "agent", entry: agent } as const
      genesis.append(
        {
          type: "create",
          "entry_type": { type: "agent_pub_key" },
          "entry_hash": genesis.entryHash(agentEntry),
        },
        agentEntry,
      )
      const post = (ws: Workspace, content: unknown) => {
        const entry = { "entry_type": "app", entry: encode(content) } as const
        return ws.append(
          { type: "create", "entry_type": postType, "entry_hash": ws.entryHash(entry) },
          entry,
        ).record
      }
      const valid = post(genesis, { title: "tamperer's valid post", body: "fine" })
      const head = genesis.head!
      const from = (signer = key) => new Workspace(dna, agent, head, signer, hasher, now)
      const invalid = post(from(), { nonsense: true })
      const forged = post(from(signingKeyFromSeed(randomBytes(32))), { title: "forged", body: "x" })
      // Two different actions both at sequence 5, after `invalid` (refused) was at sequence 5 too:
      // the first to be validated is a valid fork branch, the second is a fork.
      const forkA = post(from(), { title: "fork a", body: "x" })
      const forkB = post(from(), { title: "fork b", body: "x" })
      const send = (record: Record, sign = key.sign) => {
        const body = encode(recordWire(record))
        const envelope = sealEnvelope(
          { kind: "op", space: dna, from: agent, to: null, at: Date.now() * 1000, body },
          sign,
        )
        client.publish(
          spaceSubjects(dna).op(sectorOf(locationOf(record.action_hash))),
          envelope,
        )
      }
      const before = new Map<ForumNode, number>()
      for (const node of nodes) {
        before.set(node, (await spaceMetrics(node))!.publish_state_summary.integrated)
      }
      for (const { record } of genesis.pending) send(record)
      await waitFor(async () => {
        for (const node of nodes) {
          const m = await spaceMetrics(node)
          if (m === null || m.publish_state_summary.integrated < before.get(node)! + 4) {
            return false
          }
        }
        return true
      }, "the honest conductors to integrate the tamperer's valid chain")
      send(invalid)
      send(forged)
      send(forkA)
      send(forkB)
      // An envelope whose signature is not its sender's never reaches validation.
      send(valid, () => new Uint8Array(64))
      await withTimeout(client.flush(), 10_000, "flushing the tamperer's messages")
      for (const node of nodes) {
        const refused = await waitFor(async () => {
          const m = (await spaceMetrics(node))?.publish_state_summary
          return m !== undefined && m.refused >= 3 ? m : null
        }, `${node.name} to refuse the invalid, forged and forking records`)
        // Exactly: invalid, forged, one of the fork's branches.
        assertEquals(refused.refused, 3)
        assertEquals(refused.integrated, before.get(node)! + 5)
      }
    })

    await step(t, "the honest conductors keep serving each other", async () => {
      await nodes[1]!.call("create_post", { title: "still here", body: "from b" })
      await waitFor(
        async () => (await nodes[0]!.titles()).includes("still here"),
        "a to list b's post",
      )
      for (const node of nodes) {
        const titles = await node.titles()
        assert(!titles.includes("forged") && titles.includes("honest"), titles.join(", "))
      }
    })
  } finally {
    await cleanup([
      ["closing the tamperer's NATS client", () => client.close()],
      ...nodes.map((n) => [`stopping ${n.name}`, () => n.stop()] as const),
      ["closing nats-server", () => nats.close()],
    ])
  }
})
