/**
 * The network as operators and authors see it: receipts complete an op (every peer when fewer
 * than five), the Conductor API's network requests answer, a peer killed with SIGKILL drops out
 * of the others' view within the agent-info TTL (6 s in these tests), and a conductor killed
 * between commit and publish publishes what was pending when it comes back.
 *
 * @module
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict"
import { encodeHashToBase64 } from "@holochain/client"
import { startNatsServer } from "../support/nats.ts"
import { cleanup, step, waitFor } from "../support/timeout.ts"
import { type ForumNode, spaceMetrics, startForumNode } from "./network_support.ts"

const agentsIn = (infos: ReadonlyArray<string>) =>
  infos.map((info) => JSON.parse(JSON.parse(info).agentInfo).agent as string).sort()

Deno.test("receipts, the network requests, and a dead peer leaving within the TTL", async (t) => {
  const nats = await startNatsServer()
  const nodes: Array<ForumNode> = []
  try {
    await step(
      t,
      "an op gets a receipt from the only other peer and stops being pending",
      async () => {
        nodes.push(await startForumNode("a", [nats.url]))
        nodes.push(await startForumNode("b", [nats.url]))
        const [a, b] = nodes as [ForumNode, ForumNode]
        await waitFor(
          async () => (await spaceMetrics(a))?.gossip_state_summary.peers === 1,
          "a to see b",
        )
        await a.call("create_post", { title: "receipted", body: "by b" })
        const done = await waitFor(async () => {
          const m = (await spaceMetrics(a))?.publish_state_summary
          return m !== undefined && m.ops_pending === 0 && m.receipts_received > 0 ? m : null
        }, "a's ops to have their receipts")
        assert(done.ops_done > 0)
        await waitFor(
          async () => (await spaceMetrics(b))?.publish_state_summary.ops_pending === 0,
          "b's own ops to have their receipts from a",
        )
      },
    )

    await step(t, "agent_info, add_agent_info, dump_network_stats answer", async () => {
      const [a, b] = nodes as [ForumNode, ForumNode]
      const mine = [encodeHashToBase64(a.cellId[1]), encodeHashToBase64(b.cellId[1])].sort()
      assertEquals(agentsIn(await a.admin.agentInfo({ dna_hashes: [a.cellId[0]] })), mine)
      assertEquals(agentsIn(await a.app.agentInfo({ dna_hashes: null })), mine)
      // b's signed info, handed to a again, is accepted; a forged one is refused.
      const infos = await b.admin.agentInfo({ dna_hashes: null })
      await a.admin.addAgentInfo({ agent_infos: infos })
      const forged = infos[0]!.replace(/"signature":"[^"]*"/, `"signature":"${"A".repeat(86)}"`)
      await a.admin.addAgentInfo({ agent_infos: [forged] }).then(
        () => assert(false, "a forged agent info was accepted"),
        (error: unknown) => assert(String(error).includes("not signed"), String(error)),
      )
      const stats = await a.admin.dumpNetworkStats() as unknown as {
        "transport_stats": { backend: string; "peer_urls": ReadonlyArray<string> }
      }
      assertEquals(stats.transport_stats.backend, "nats")
      assertEquals(stats.transport_stats.peer_urls, [nats.url])
    })

    await step(t, "/metrics shows the space's peers and ops", async () => {
      const a = nodes[0]!
      const space = encodeHashToBase64(a.cellId[0])
      await waitFor(async () => {
        const response = await fetch(`http://127.0.0.1:${a.conductor.ready.http_port}/metrics`)
        const text = await response.text()
        return text.includes(`conductor_network_peers{space="${space}"} 1`) &&
          text.includes(`conductor_network_ops_held{space="${space}"}`)
      }, "the network gauges on /metrics")
    })

    await step(t, "disabling the app announces a tombstone; enabling it rejoins", async () => {
      const [a, b] = nodes as [ForumNode, ForumNode]
      const bAgent = encodeHashToBase64(b.cellId[1])
      await b.admin.disableApp({ installed_app_id: "forum" })
      await waitFor(async () => {
        const infos = (await a.admin.agentInfo({ dna_hashes: null }))
          .map((info) => JSON.parse(JSON.parse(info).agentInfo))
        return infos.some((info) => info.agent === bAgent && info.isTombstone === true)
      }, "a to hold b's tombstone")
      assertEquals((await spaceMetrics(a))?.gossip_state_summary.peers, 0)
      await b.admin.enableApp({ installed_app_id: "forum" })
      await waitFor(
        async () => (await spaceMetrics(a))?.gossip_state_summary.peers === 1,
        "a to see b again",
      )
    })

    await step(t, "a peer killed with SIGKILL leaves the others' view within the TTL", async () => {
      const [a, b] = nodes as [ForumNode, ForumNode]
      Deno.kill(b.conductor.pid, "SIGKILL")
      await waitFor(
        async () => (await spaceMetrics(a))?.gossip_state_summary.peers === 0,
        "a to drop b",
        { timeoutMs: 30_000 },
      )
      assertEquals(agentsIn(await a.admin.agentInfo({ dna_hashes: null })), [
        encodeHashToBase64(a.cellId[1]),
      ])
    })
  } finally {
    await cleanup([
      ...nodes.map((n) => [`stopping ${n.name}`, () => n.stop()] as const),
      ["closing nats-server", () => nats.close()],
    ])
  }
})

Deno.test("a conductor killed between commit and publish publishes after its restart", async (t) => {
  const nats = await startNatsServer()
  const nodes: Array<ForumNode> = []
  try {
    let dir = ""
    await step(t, "alone, a commits a post that nobody can receive, then is killed", async () => {
      const a = await startForumNode("a", [nats.url])
      nodes.push(a)
      dir = a.conductor.dir
      await a.call("create_post", { title: "survives SIGKILL", body: "in the outbox" })
      await waitFor(
        async () => ((await spaceMetrics(a))?.publish_state_summary.ops_pending ?? 0) > 0,
        "a to hold its post's ops, unpublished",
      )
      Deno.kill(a.conductor.pid, "SIGKILL")
      await a.stop().catch(() => {})
      nodes.pop()
    })

    await step(t, "b joins, a restarts on its data, and b lists the post", async () => {
      nodes.push(await startForumNode("b", [nats.url]))
      nodes.push(await startForumNode("a again", [nats.url], { dir }))
      await waitFor(
        async () => (await nodes[0]!.titles()).includes("survives SIGKILL"),
        "b to list a's post",
      )
    })
  } finally {
    await cleanup([
      ...nodes.map((n) => [`stopping ${n.name}`, () => n.stop()] as const),
      ["closing nats-server", () => nats.close()],
    ])
  }
})
