/**
 * The nats-server harness itself: a server starts on free loopback ports and speaks NATS, a
 * killed server restarts on the same port with its JetStream store, and a 3-server cluster forms,
 * loses one member and re-forms when it restarts. Clients here are raw TCP (the server's `INFO`
 * greeting and a `PING`/`PONG`), so the harness is tested without the client library.
 *
 * @module
 */
import {
  deepStrictEqual as assertEquals,
  notStrictEqual as assertNotEquals,
  ok as assert,
} from "node:assert/strict"
import { natsHandshake, startNatsCluster, startNatsServer } from "./nats.ts"
import { cleanup, step, waitFor } from "./timeout.ts"

Deno.test("startNatsServer serves NATS on a free loopback port and restarts on it after SIGKILL", async (t) => {
  const server = await startNatsServer({ jetstream: true })
  try {
    const port = server.ports.client
    await step(t, "it answers the NATS handshake", async () => {
      const info = await natsHandshake(port)
      assertEquals(info.server_name, server.name)
      assertEquals(info.jetstream, true)
    })
    const firstPid = server.pid
    await step(t, "SIGKILL stops it; the port refuses connections", async () => {
      await server.kill()
      assert(!server.running)
      await waitFor(
        () => natsHandshake(port).then(() => false, () => true),
        "the killed server's port to refuse",
      )
    })
    await step(t, "restart binds the same ports and serves again", async () => {
      await server.restart()
      assertNotEquals(server.pid, firstPid)
      assertEquals(server.ports.client, port)
      const info = await natsHandshake(port)
      assertEquals(info.server_name, server.name)
      const varz = await server.monitor<{ port?: number }>("varz")
      assertEquals(varz.port, port)
    })
  } finally {
    await cleanup([["closing the server", () => server.close()]])
  }
})

Deno.test("startNatsCluster forms a 3-server mesh that survives one member killed and re-forms", async (t) => {
  const cluster = await startNatsCluster({ size: 3 })
  try {
    await step(t, "every member routes to the two others", async () => {
      for (const server of cluster.servers) assertEquals(await cluster.routesOf(server), 2)
      for (const server of cluster.servers) await natsHandshake(server.ports.client)
    })
    const victim = cluster.server(0)
    await step(t, "killing the first member leaves the other two routed", async () => {
      await victim.kill()
      await waitFor(
        async () =>
          (await cluster.routesOf(cluster.server(1))) === 1 &&
          (await cluster.routesOf(cluster.server(2))) === 1,
        "the survivors to drop the dead route",
      )
      await natsHandshake(cluster.server(1).ports.client)
    })
    await step(t, "the killed member restarts on its ports and the mesh re-forms", async () => {
      const port = victim.ports.client
      await victim.restart()
      assertEquals(victim.ports.client, port)
      await cluster.waitFormed()
      for (const server of cluster.servers) assertEquals(await cluster.routesOf(server), 2)
    })
  } finally {
    await cleanup([["closing the cluster", () => cluster.close()]])
  }
})
