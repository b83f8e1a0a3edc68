/**
 * The README's client walkthrough: `examples/forum/client.ts` (the unmodified `@holochain/client`)
 * installs the forum into a running conductor, creates and lists posts and receives the
 * `post_created` signal; run twice, it reuses the app it installed and the app interface it
 * attached.
 *
 * @module
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict"
import { packed, ROOT } from "../support/conductor.ts"
import { denoRun } from "../support/process.ts"
import { closeClient, connectAdmin, startConductor } from "./support.ts"

Deno.test("examples/forum/client.ts drives the forum through the Conductor API", async () => {
  const conductor = await startConductor({ adminOrigins: "forum-client" })
  try {
    const happ = `${conductor.dir}/forum.happ`
    await Deno.writeFile(happ, await packed("examples/forum"))
    const run = async () => {
      const output = await denoRun([
        "run",
        "-A",
        `${ROOT}examples/forum/client.ts`,
        "--admin-port",
        String(conductor.adminPort),
        "--happ",
        happ,
      ])
      assertEquals(output.code, 0, output.stderr)
      return output.stdout
    }
    const first = await run()
    const created = first.match(/^created post (uhCkk\S{48})$/m)?.[1]
    assert(created !== undefined, first)
    assert(first.includes(`signal post_created ${created}`), first)
    assert(first.includes(`1 post(s), newest: "Hello from @holochain/client"`), first)
    assert((await run()).includes("2 post(s)"))
    const admin = await connectAdmin(conductor.adminPort, "forum-client")
    assertEquals((await admin.listApps({})).map((app) => app.installed_app_id), ["forum-client"])
    assertEquals((await admin.listAppInterfaces()).length, 1)
    await closeClient(admin)
  } finally {
    await conductor.stop()
  }
})
