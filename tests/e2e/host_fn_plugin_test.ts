/**
 * A host-function plugin in a `conductor run` process, reached only through the Conductor API
 * (`@holochain/client` installs, `conductor call` calls): the `math` plugin is granted to app
 * `granted`; the same hApp installed as `other` gets a `denied` naming the grant, and validation
 * refuses its non-deterministic function.
 *
 * @module
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict"
import { ROOT } from "../support/conductor.ts"
import { conductorCommand } from "../support/process.ts"
import { cleanup, step } from "../support/timeout.ts"
import {
  ADMIN_ORIGIN,
  closeClient,
  connectAdmin,
  installEnabled,
  startConductor,
} from "./support.ts"

const PLUGINS = `plugins:
  - id: math
    path: ${ROOT}tests/fixtures/build/plugin_math.wasm
    grants: {apps: [granted]}
`

function call(adminPort: number, app: string, fn: string, payload: string) {
  return conductorCommand([
    "call",
    "--admin-port",
    String(adminPort),
    "--origin",
    ADMIN_ORIGIN,
    app,
    "plugin_user",
    "plugin_user",
    fn,
    payload,
  ])
}

Deno.test({
  name:
    "a host-function plugin serves the zomes of the app it is granted to, in a conductor process",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async (t) => {
    const conductor = await startConductor({ extraConfig: PLUGINS })
    const admin = await connectAdmin(conductor.adminPort)
    try {
      for (const app of ["granted", "other"]) {
        await installEnabled(admin, app, { happName: "plugin_user", role: "plugin_user" })
      }

      await step(t, "the granted app's zome calls plugin:math/add@1", async () => {
        const added = await call(conductor.adminPort, "granted", "add", '{"a": 2, "b": 40}')
        assertEquals(added.code, 0, added.stderr)
        assertEquals(JSON.parse(added.stdout), 42)
      })

      await step(t, "another app's zome is denied, with the grant to change", async () => {
        const denied = await call(conductor.adminPort, "other", "add", '{"a": 2, "b": 40}')
        assertEquals(denied.code, 1)
        assert(
          denied.stderr.includes('is not granted to app \\"other\\"') ||
            denied.stderr.includes('is not granted to app "other"'),
          denied.stderr,
        )
        assert(denied.stderr.includes("plugins.0.grants"), denied.stderr)
      })

      await step(t, "validation refuses the non-deterministic plugin:math/roll@1", async () => {
        const note = await call(conductor.adminPort, "granted", "create_note", '{"use": "roll"}')
        assertEquals(note.code, 1)
        assert(
          note.stderr.includes("is not deterministic, so validate may not use it"),
          note.stderr,
        )
        const ok = await call(conductor.adminPort, "granted", "create_note", '{"use": "add"}')
        assertEquals(ok.code, 0, ok.stderr)
      })
    } finally {
      await cleanup([
        ["closing the admin client", () => closeClient(admin)],
        ["stopping the conductor", () => conductor.stop()],
      ])
    }
  },
})
