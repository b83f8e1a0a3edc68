/**
 * Conductors that talk: real `nats-server` on free loopback ports, conductor processes running
 * the forum, the unmodified `@holochain/client`. One conductor creates a post and the others see
 * it in `list_posts`; a conductor that starts while NATS is unreachable joins once it is; one
 * that joins later catches up; one whose NATS connection is cut writes while offline, comes
 * back, and everyone converges without a restart.
 *
 * @module
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict"
import { startNatsServer } from "../support/nats.ts"
import { startTcpProxy } from "../support/tcp_proxy.ts"
import { cleanup, step, waitFor } from "../support/timeout.ts"
import { type ForumNode, startForumNode, withOutputs } from "./network_support.ts"

const post = (title: string) => ({ title, body: `body of ${title}` })

/** Waits until every node lists every title. */
async function converge(nodes: ReadonlyArray<ForumNode>, titles: ReadonlyArray<string>) {
  for (const node of nodes) {
    await waitFor(async () => {
      const seen = await node.titles()
      return titles.every((t) => seen.includes(t))
    }, `${node.name} to list ${titles.join(", ")}`)
  }
}

Deno.test("conductors share the forum over NATS: publish, late join, offline writes converge", async (t) => {
  const nats = await startNatsServer()
  const proxy = startTcpProxy({ port: nats.ports.client })
  const nodes: Array<ForumNode> = []
  try {
    await step(
      t,
      "three conductors start; a post on one is listed by the others",
      () =>
        withOutputs(nodes, async () => {
          nodes.push(await startForumNode("a", [nats.url]))
          nodes.push(await startForumNode("b", [nats.url]))
          // c reaches NATS through a proxy the test can cut; it starts while the proxy refuses, so
          // it comes up unconnected and joins once NATS is reachable.
          proxy.refuse(true)
          nodes.push(await startForumNode("c", [proxy.url()]))
          await nodes[0]!.call("create_post", post("hello from a"))
          await converge(nodes.slice(0, 2), ["hello from a"])
          assert(nodes[2]!.conductor.output().includes("cannot connect to NATS"))
          proxy.refuse(false)
          await converge(nodes, ["hello from a"])
        }),
    )

    await step(t, "a conductor that joins later catches up", () =>
      withOutputs(nodes, async () => {
        await nodes[1]!.call("create_post", post("hello from b"))
        nodes.push(await startForumNode("d", [nats.url]))
        await converge(nodes, ["hello from a", "hello from b"])
      }))

    await step(
      t,
      "an offline conductor writes, comes back, and all converge",
      () =>
        withOutputs(nodes, async () => {
          const c = nodes[2]!
          proxy.refuse(true)
          await proxy.cut()
          await c.call("create_post", post("written offline by c"))
          await nodes[0]!.call("create_post", post("written by a while c was away"))
          const online = nodes.filter((n) => n !== c)
          await converge(online, ["written by a while c was away"])
          // c cannot have a's post yet: it has no connection.
          assert(!(await c.titles()).includes("written by a while c was away"))
          proxy.refuse(false)
          await converge(nodes, [
            "hello from a",
            "hello from b",
            "written offline by c",
            "written by a while c was away",
          ])
          for (const node of nodes) assertEquals((await node.titles()).length, 4)
        }),
    )
  } finally {
    await cleanup([
      ...nodes.map((n) => [`stopping ${n.name}`, () => n.stop()] as const),
      ["closing the proxy", () => proxy.close()],
      ["closing nats-server", () => nats.close()],
    ])
  }
})
