/**
 * Robustness of the websocket interfaces against a `conductor run` subprocess (tests/ws/abuse.ts):
 * random, truncated and wrongly typed frames; a message over the size limit; thousands of
 * connections opened and dropped; a client that never reads its signals. Each abuse must get the
 * right error or close only the offending connection, and every other client must keep being
 * served, over two rounds. How much memory the conductor keeps across rounds is measured by
 * bench/robustness_bench.ts, not asserted here (a test has no thresholds on time or memory).
 *
 * @module
 */
import type { AdminWebsocket, AppWebsocket } from "@holochain/client"
import { decode, encode } from "@msgpack/msgpack"
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict"
import { testSeed } from "../support/random.ts"
import { cleanup, step } from "../support/timeout.ts"
import {
  APP_ORIGIN,
  closeClient,
  connectAdmin,
  installEnabled,
  openApp,
  startConductor,
} from "../e2e/support.ts"
import { abuseRound } from "./abuse.ts"

Deno.test({
  name: "websocket interfaces survive abuse and keep serving others",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async (t) => {
    const seed = testSeed("websocket abuse")
    const conductor = await startConductor()
    const admin = await connectAdmin(conductor.adminPort)
    const clients: Array<AdminWebsocket | AppWebsocket> = [admin]
    try {
      const cellId = await installEnabled(admin, "robust")
      const appPort = (await admin.attachAppInterface({ allowed_origins: APP_ORIGIN })).port
      await admin.authorizeSigningCredentials(cellId)
      const app = await openApp(admin, appPort, "robust")
      clients.push(app)
      const target = { adminPort: conductor.adminPort, appPort, admin, app, appId: "robust" }
      for (const round of [1, 2]) {
        await step(
          t,
          `round ${round}: frames, size limit, 2,000 connections, a deaf consumer`,
          () => abuseRound({ ...target, seed: seed + round }),
          300_000,
        )
      }
      await step(t, "the deaf consumer was cut off without hurting the conductor", async () => {
        assert(conductor.output().includes("dropping signals"), "signals were dropped, and said so")
        const listed = decode(encode(await admin.listAppInterfaces())) as Array<unknown>
        assertEquals(listed.length, 1)
      })
    } catch (error) {
      // deno-lint-ignore no-console
      console.error(`conductor output:\n${conductor.output()}`)
      throw error
    } finally {
      await cleanup([
        ...clients.map((c) => ["closing a client", () => closeClient(c)] as const),
        ["stopping the conductor", async () => assertEquals(await conductor.stop(), 0)],
      ])
    }
  },
})
