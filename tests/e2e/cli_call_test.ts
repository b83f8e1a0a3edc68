/**
 * End-to-end tests of `conductor call`: it drives a running conductor through the Conductor API
 * only (admin port in, JSON out), attaches an app interface when none admits it, reuses stored
 * signing credentials, and reports failures with the wire error variant and exit code 1.
 *
 * @module
 */
import type { CellId } from "@holochain/client"
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict"
import { conductorCommand } from "../support/process.ts"
import { cleanup, step } from "../support/timeout.ts"
import {
  ADMIN_ORIGIN,
  closeClient,
  connectAdmin,
  installEnabled,
  startConductor,
} from "./support.ts"

function call(adminPort: number, ...args: Array<string>) {
  return conductorCommand([
    "call",
    "--admin-port",
    String(adminPort),
    "--origin",
    ADMIN_ORIGIN,
    ...args,
  ])
}

Deno.test({
  name: "conductor call drives a running conductor through the Conductor API",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async (t) => {
    const conductor = await startConductor()
    const admin = await connectAdmin(conductor.adminPort)
    try {
      await installEnabled(admin, "cli")

      await step(t, "a call prints the zome's answer as JSON", async () => {
        const result = await call(conductor.adminPort, "cli", "main", "noop", "noop", '{"a":[1,2]}')
        assertEquals(result.code, 0, result.stderr)
        assertEquals(JSON.parse(result.stdout), { a: [1, 2] })
        // No app interface admitted the CLI's origin: it attached one bound to the app.
        assert(result.stderr.includes("attached app interface"), result.stderr)
        const interfaces = await admin.listAppInterfaces()
        assertEquals(interfaces.map((i) => i.installed_app_id), ["cli"])
      })

      await step(t, "hashes go in and out as uhC… strings", async () => {
        const created = await call(
          conductor.adminPort,
          "cli",
          "main",
          "host_fns",
          "call_create",
          '{"entry_type":"thing","entry":{"value":5}}',
        )
        assertEquals(created.code, 0, created.stderr)
        const hash = JSON.parse(created.stdout).ok as string
        assert(hash.startsWith("uhCkk"), hash)
        const fetched = await call(
          conductor.adminPort,
          "cli",
          "main",
          "host_fns",
          "call_get",
          JSON.stringify({ hash }),
        )
        assertEquals(fetched.code, 0, fetched.stderr)
        assertEquals(JSON.parse(fetched.stdout).ok.action_hash, hash)
      })

      await step(t, "--credentials reuses one grant across calls", async () => {
        const file = `${conductor.dir}/cli-credentials.json`
        const grants = async () => {
          const listed = await admin.listCapabilityGrants({
            installed_app_id: "cli",
            include_revoked: false,
          }) as unknown as Array<[CellId, Array<unknown>]>
          return listed[0]![1].length
        }
        const before = await grants()
        for (let i = 0; i < 2; i++) {
          const result = await call(
            conductor.adminPort,
            "--credentials",
            file,
            "cli",
            "main",
            "noop",
            "noop",
            String(i),
          )
          assertEquals(result.code, 0, result.stderr)
          assertEquals(JSON.parse(result.stdout), i)
        }
        assertEquals(await grants(), before + 1)
        assertEquals((await Deno.stat(file)).mode! & 0o777, 0o600)
      })

      await step(t, "failures exit 1 with the error variant", async () => {
        const missing = await call(conductor.adminPort, "cli", "main", "noop", "nope")
        assertEquals(missing.code, 1)
        assert(missing.stderr.includes("internal_error"), missing.stderr)
        const noApp = await call(conductor.adminPort, "ghost", "main", "noop", "noop")
        assertEquals(noApp.code, 1)
        const badJson = await call(conductor.adminPort, "cli", "main", "noop", "noop", "{nope")
        assertEquals(badJson.code, 1)
        assert(badJson.stderr.includes("PAYLOAD is not JSON"), badJson.stderr)
        const wrongOrigin = await conductorCommand([
          "call",
          "--admin-port",
          String(conductor.adminPort),
          "cli",
          "main",
          "noop",
          "noop",
        ])
        assertEquals(wrongOrigin.code, 1)
      })
    } finally {
      await cleanup([
        ["closing the admin client", () => closeClient(admin)],
        ["stopping the conductor", async () => assertEquals(await conductor.stop(), 0)],
      ])
    }
  },
})
