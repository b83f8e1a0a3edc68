/**
 * Faults under traffic, with real processes (the forum over real `nats-server`s): the server is
 * killed and restarted while a conductor keeps writing, and every post whose call returned is
 * listed by the others once the clients reconnect; a three-server cluster loses one server and
 * the conductor that was on it fails over and keeps exchanging; a conductor SIGKILLed while it
 * writes and publishes catches up after its restart, and the others list everything it
 * acknowledged. (Killed between commit and publish with nobody online: network_peers_test.ts.)
 *
 * @module
 */
import { deepStrictEqual as assertEquals } from "node:assert/strict"
import { startNatsCluster, startNatsServer } from "../support/nats.ts"
import { cleanup, step, waitFor, withTimeout } from "../support/timeout.ts"
import { type ForumNode, startForumNode } from "./network_support.ts"

const post = (title: string) => ({ title, body: `body of ${title}` })

/** Most posts a writer makes (`list_posts` answers at most 100). */
const MAX_POSTS = 60

/** Waits until every node lists every title. */
async function converge(nodes: ReadonlyArray<ForumNode>, titles: ReadonlyArray<string>) {
  for (const node of nodes) {
    await waitFor(async () => {
      const seen = await node.titles()
      return titles.every((t) => seen.includes(t))
    }, `${node.name} to list ${titles.length} posts`)
  }
}

/**
 * Writes posts one after another until stopped (or `MAX_POSTS`); `acked` holds the titles whose
 * `create_post` returned. A call that fails (the conductor was killed) ends the writer.
 */
function writer(node: ForumNode, prefix: string) {
  const acked: Array<string> = []
  let stopped = false
  const done = (async () => {
    for (let i = 0; i < MAX_POSTS && !stopped; i++) {
      const title = `${prefix} ${i}`
      try {
        await node.call("create_post", post(title))
      } catch {
        return
      }
      acked.push(title)
    }
  })()
  return {
    acked,
    stop: async () => {
      stopped = true
      await withTimeout(done, 60_000, `${prefix} writer stopping`)
    },
  }
}

Deno.test("nats-server killed and restarted under writes: clients reconnect, nothing acknowledged is lost", async (t) => {
  const nats = await startNatsServer()
  const nodes: Array<ForumNode> = []
  try {
    const [a, b, c] = await Promise.all(
      ["a", "b", "c"].map((name) => startForumNode(name, [nats.url])),
    )
    nodes.push(a!, b!, c!)
    await a!.call("create_post", post("before"))
    await converge([b!, c!], ["before"])
    const writes = writer(a!, "a")
    await step(t, "the server dies while a writes; a keeps acknowledging writes", async () => {
      await waitFor(() => writes.acked.length >= 3, "a few writes before the kill")
      await nats.kill()
      const atKill = writes.acked.length
      await waitFor(() => writes.acked.length >= atKill + 3, "writes while the server is down")
    })
    await step(
      t,
      "the server restarts on its port; everything acknowledged reaches b and c",
      async () => {
        await nats.restart()
        const atRestart = writes.acked.length
        await waitFor(
          () => writes.acked.length >= Math.min(MAX_POSTS, atRestart + 3),
          "writes after the restart",
        )
        await writes.stop()
        await converge([b!, c!], ["before", ...writes.acked])
        // And traffic flows the other way too after the reconnect.
        await c!.call("create_post", post("from c after the restart"))
        await converge([a!, b!], ["from c after the restart"])
      },
    )
  } finally {
    await cleanup([
      ...nodes.map((n) => [`stopping ${n.name}`, () => n.stop()] as const),
      ["closing nats-server", () => nats.close()],
    ])
  }
})

Deno.test("a three-server NATS cluster survives one server killed", async (t) => {
  const cluster = await startNatsCluster({ size: 3 })
  const nodes: Array<ForumNode> = []
  try {
    // Each conductor knows one server; the others it learns from the cluster (client gossip).
    const [a, b, c] = await Promise.all(
      ["a", "b", "c"].map((name, i) => startForumNode(name, [cluster.server(i).url])),
    )
    nodes.push(a!, b!, c!)
    await step(t, "posts cross servers", async () => {
      await a!.call("create_post", post("a on server 0"))
      await converge([b!, c!], ["a on server 0"])
    })
    await step(t, "server 0 is killed; a fails over and the cluster keeps exchanging", async () => {
      await cluster.server(0).kill()
      await a!.call("create_post", post("a after server 0 died"))
      await b!.call("create_post", post("b after server 0 died"))
      await converge([a!, b!, c!], ["a after server 0 died", "b after server 0 died"])
      for (const node of nodes) {
        const titles = await node.titles()
        assertEquals(
          ["a on server 0", "a after server 0 died", "b after server 0 died"].every((t) =>
            titles.includes(t)
          ),
          true,
        )
      }
    })
  } finally {
    await cleanup([
      ...nodes.map((n) => [`stopping ${n.name}`, () => n.stop()] as const),
      ["closing the cluster", () => cluster.close()],
    ])
  }
})

Deno.test("a conductor SIGKILLed while writing and publishing catches up after its restart", async (t) => {
  const nats = await startNatsServer()
  const nodes: Array<ForumNode> = []
  try {
    const [a, b] = await Promise.all(["a", "b"].map((name) => startForumNode(name, [nats.url])))
    nodes.push(a!, b!)
    let acked: ReadonlyArray<string> = []
    await step(t, "a is killed in the middle of a stream of writes", async () => {
      const writes = writer(a!, "a")
      await waitFor(() => writes.acked.length >= 5, "a few writes before the kill")
      Deno.kill(a!.conductor.pid, "SIGKILL")
      await writes.stop()
      await a!.stop().catch(() => {})
      nodes.shift()
      acked = [...writes.acked]
    })
    await step(t, "a restarts on its data; b lists every post a acknowledged", async () => {
      nodes.push(await startForumNode("a again", [nats.url], { dir: a!.conductor.dir }))
      await converge([b!], acked)
      await converge([nodes[1]!], acked)
    })
  } finally {
    await cleanup([
      ...nodes.map((n) => [`stopping ${n.name}`, () => n.stop()] as const),
      ["closing nats-server", () => nats.close()],
    ])
  }
})
