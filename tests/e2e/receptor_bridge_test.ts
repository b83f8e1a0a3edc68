/**
 * The `conductor` bridge receptor against a second conductor process: a zome of this conductor
 * calls a zome function of an app on the other one (`receptor_call_1` → bridge → admin and app
 * websockets → signed `call_zome`), the bridge reconnects after the other conductor restarts,
 * and a peer that is down or never answers gives a typed `Unreachable` or `Timeout`, never a hang.
 *
 * @module
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict"
import { Effect } from "effect"
import { Receptors } from "../../core/receptors/mod.ts"
import {
  callZome,
  disposeConductor,
  installApp,
  makeConductor,
  packed,
  type TestConductor,
} from "../support/conductor.ts"
import { cleanup, step, waitFor } from "../support/timeout.ts"
import {
  ADMIN_ORIGIN,
  closeClient,
  type ConductorProcess,
  connectAdmin,
  installEnabled,
  startConductor,
} from "./support.ts"

/** `Receptors.call`, answering the output or the typed error's reason and detail. */
function receptorCall(conductor: TestConductor, id: string, op: string, input: unknown) {
  return conductor.runPromise(
    Effect.flatMap(Effect.service(Receptors), (r) => r.call(id, op, input)).pipe(
      Effect.map((value) => ({ ok: value as unknown })),
      Effect.catchTags({
        ReceptorError: (e) => Effect.succeed({ reason: e.reason, detail: e.detail }),
        ReceptorNotFound: (e) => Effect.succeed({ reason: "ReceptorNotFound", detail: e.message }),
      }),
    ),
  ) as Promise<{ ok?: unknown; reason?: string; detail?: string }>
}

Deno.test({
  name: "the conductor bridge calls another conductor, reconnects after its restart, fails typed",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async (t) => {
    let remote: ConductorProcess | undefined = await startConductor()
    const adminPort = remote.adminPort
    const remoteDir = remote.dir
    const dir = await Deno.makeTempDir({ prefix: "receptor-bridge-" })
    // A peer that accepts connections and never answers: the handshake can only time out.
    const silent = Deno.listen({ hostname: "127.0.0.1", port: 0 })
    const held: Array<Deno.Conn> = []
    const accepting = (async () => {
      for await (const conn of silent) held.push(conn)
    })().catch(() => {})
    let local: TestConductor | undefined
    try {
      const admin = await connectAdmin(adminPort)
      await installEnabled(admin, "remote")
      await closeClient(admin)

      local = makeConductor({
        config: `data_dir: ${dir}/data
log: {level: error}
receptors:
  - id: peer
    type: conductor
    admin_url: ws://127.0.0.1:${adminPort}
    app_id: remote
    origin: ${ADMIN_ORIGIN}
    timeout_ms: 30000
    connect_timeout_ms: 20000
    max_payload_bytes: 4096
    grants: {apps: [local]}
  - id: listed
    type: conductor
    admin_url: ws://127.0.0.1:${adminPort}
    app_id: remote
    origin: ${ADMIN_ORIGIN}
    functions: [noop/noop]
  - id: silent
    type: conductor
    admin_url: ws://127.0.0.1:${(silent.addr as Deno.NetAddr).port}
    app_id: remote
    connect_timeout_ms: 300
`,
      })
      const conductor = local
      const cell = (await installApp(
        conductor,
        await packed("tests/fixtures/happs/receptor_caller"),
        "local",
      ))[
        "main"
      ]!
      const viaZome = (payload: unknown) =>
        callZome(conductor, cell, "receptor_caller", "call_receptor", {
          receptor: "peer",
          operation: "call",
          input: { role: "main", zome: "noop", fn: "noop", payload },
        })

      await step(t, "a zome calls a zome function on the other conductor", async () => {
        assertEquals(await viaZome({ n: 1 }), { ok: { type: "ok", value: { n: 1 } } })
        const health = await conductor.runPromise(
          Effect.flatMap(Effect.service(Receptors), (r) => r.status("peer")),
        )
        assertEquals(health.health.status, "ok")
        assertEquals(health.health.info["connected"], true)
        // The grant's key is kept for the next start, readable by the owner only.
        const stat = await Deno.stat(`${dir}/data/receptors/peer.credentials.json`)
        assertEquals(stat.mode! & 0o777, 0o600)
        const info = await receptorCall(conductor, "peer", "app_info", {})
        assert(
          String((info.ok as { cells: Record<string, unknown> }).cells["main"]).startsWith("uhC0k"),
        )
      })

      await step(t, "bad calls are typed errors and change nothing", async () => {
        const call = (input: unknown) => receptorCall(conductor, "peer", "call", input)
        assertEquals((await call({ role: "nope", zome: "noop", fn: "noop" })).reason, "NotFound")
        assertEquals((await call({ role: "main", zome: "noop" })).reason, "InvalidInput")
        const big = await call({
          role: "main",
          zome: "noop",
          fn: "noop",
          payload: "x".repeat(5000),
        })
        assertEquals(big.reason, "TooLarge")
        const missing = await call({ role: "main", zome: "noop", fn: "no_such_fn" })
        assertEquals(missing.reason, "Remote")
        const limited = await receptorCall(conductor, "listed", "call", {
          role: "main",
          zome: "host_fns",
          fn: "call_agent_info",
        })
        assertEquals(limited.reason, "InvalidInput")
        assertEquals(
          (await receptorCall(conductor, "listed", "call", {
            role: "main",
            zome: "noop",
            fn: "noop",
            payload: "listed",
          })).ok,
          "listed",
        )
      })

      await step(t, "while the other conductor is down, calls fail as Unreachable", async () => {
        assertEquals(await remote!.stop(), 0)
        remote = undefined
        const down = await receptorCall(conductor, "peer", "call", {
          role: "main",
          zome: "noop",
          fn: "noop",
        })
        assertEquals(down.reason, "Unreachable", JSON.stringify(down))
        const viaZomeDown = await viaZome(2) as { ok?: { type: string; reason?: string } }
        assertEquals(viaZomeDown.ok?.reason, "Unreachable")
        const status = await conductor.runPromise(
          Effect.flatMap(Effect.service(Receptors), (r) => r.status("peer")),
        )
        assertEquals(status.health.status, "degraded")
      })

      await step(t, "after the other conductor restarts, the bridge reconnects", async () => {
        remote = await startConductor({ dir: remoteDir, adminPort })
        assertEquals(await viaZome({ n: 3 }), { ok: { type: "ok", value: { n: 3 } } })
      })

      await step(t, "killed with SIGKILL: Unreachable; a silent peer: Timeout", async () => {
        Deno.kill(remote!.pid, "SIGKILL")
        await remote!.stop()
        remote = undefined
        const killed = await receptorCall(conductor, "peer", "call", {
          role: "main",
          zome: "noop",
          fn: "noop",
        })
        assertEquals(killed.reason, "Unreachable", JSON.stringify(killed))
        const silentAnswer = await receptorCall(conductor, "silent", "app_info", {})
        assertEquals(silentAnswer.reason, "Timeout", JSON.stringify(silentAnswer))
        assert(silentAnswer.detail?.includes("connect_timeout_ms"), silentAnswer.detail)
        // Later calls wait for the attempt still pending: one socket, not one per call.
        for (let i = 0; i < 3; i++) {
          assertEquals((await receptorCall(conductor, "silent", "app_info", {})).reason, "Timeout")
        }
        await waitFor(() => held.length >= 1, "the silent peer to accept the connection")
        assertEquals(held.length, 1)
      })
    } finally {
      await cleanup([
        [
          "disposing the local conductor",
          () => local ? disposeConductor(local) : Promise.resolve(),
        ],
        ["stopping the remote conductor", () => remote ? remote.stop() : Promise.resolve()],
        ["closing the silent peer", async () => {
          silent.close()
          for (const conn of held) conn.close()
          await accepting
        }],
        ["removing the data folders", async () => {
          await Deno.remove(dir, { recursive: true })
          await Deno.remove(remoteDir, { recursive: true })
        }],
      ])
    }
  },
})
