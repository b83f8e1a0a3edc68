/**
 * Receptors in a real `conductor run` process: configured in conductor.yaml, listed with their
 * health by `GET /api/receptors`, called through `POST /api/receptors/:id/call/:operation` and
 * through `conductor receptor`, stopped with the conductor, and their open sessions restored when
 * it starts again.
 *
 * @module
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict"
import { conductorCommand, startConductor, writeConfig } from "../support/process.ts"

const RECEPTORS = `receptors:
  - id: notes
    type: local_store
  - id: edits
    type: recovery
    default: true
  - id: spare
    type: recovery
    enabled: false
`

async function call(http: string, id: string, operation: string, body: unknown) {
  const response = await fetch(`${http}/api/receptors/${id}/call/${operation}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  })
  return { status: response.status, body: await response.json() as Record<string, unknown> }
}

Deno.test("receptors are listed, called over HTTP and the CLI, and restored after a restart", async () => {
  const dir = await Deno.makeTempDir()
  const config = await writeConfig(dir, RECEPTORS)
  const first = await startConductor(config)
  try {
    const listed = await (await fetch(`${first.http}/api/receptors`)).json() as Array<
      Record<string, unknown> & { health: { status: string } }
    >
    assertEquals(
      listed.map((r) => [r.id, r.type, r.enabled, r.default, r.health.status]),
      [
        ["notes", "local_store", true, true, "ok"],
        ["edits", "recovery", true, true, "ok"],
        ["spare", "recovery", false, false, "disabled"],
      ],
    )
    const shown = await (await fetch(`${first.http}/api/receptors/edits`)).json() as {
      operations: Array<{ name: string }>
    }
    assertEquals(shown.operations.map((o) => o.name), [
      "open",
      "checkpoint",
      "undo",
      "redo",
      "get",
      "list",
      "commit",
      "abort",
    ])

    assertEquals(await call(first.http, "notes", "put", { key: "a", value: { x: 1 } }), {
      status: 200,
      body: { key: "a", version: 1 },
    })
    assertEquals((await call(first.http, "edits", "open", { session: "doc" })).status, 200)
    assertEquals(
      (await call(first.http, "edits", "checkpoint", { session: "doc", set: { t: "hi" } })).status,
      200,
    )
    const statuses = [
      (await call(first.http, "nope", "get", {})).status,
      (await call(first.http, "notes", "drop", {})).status,
      (await call(first.http, "notes", "put", { key: 5 })).status,
      (await call(first.http, "notes", "put", "{not json")).status,
      (await call(first.http, "spare", "list", {})).status,
    ]
    assertEquals(statuses, [404, 404, 400, 400, 503])
    // A body nested past http.max_json_depth is refused before it is parsed.
    const deep = await call(first.http, "notes", "put", "[".repeat(100_000))
    assertEquals(deep.status, 400)
    assert(String(deep.body["error"]).includes("http.max_json_depth"), JSON.stringify(deep.body))
    const undo = await call(first.http, "edits", "undo", { session: "doc" })
    assertEquals(undo.body["at_baseline"], true)
    const nothing = await call(first.http, "edits", "undo", { session: "doc" })
    assertEquals([nothing.status, nothing.body.reason], [409, "NothingToUndo"])
    await call(first.http, "edits", "redo", { session: "doc" })

    const list = await conductorCommand(["receptor", "list", "--url", first.http])
    assertEquals(list.code, 0, list.stderr)
    assert(/^notes\s+local_store\s+enabled\s+default\s+ok: /m.test(list.stdout), list.stdout)
    assert(/^spare\s+recovery\s+disabled\s+disabled: /m.test(list.stdout), list.stdout)
    const got = await conductorCommand([
      "receptor",
      "call",
      "notes",
      "get",
      '{"key":"a"}',
      "--url",
      first.http,
    ])
    assertEquals(got.code, 0, got.stderr)
    assertEquals(JSON.parse(got.stdout), { key: "a", value: { x: 1 }, version: 1 })
    const refused = await conductorCommand([
      "receptor",
      "call",
      "edits",
      "undo",
      "{}",
      "--url",
      first.http,
    ])
    assertEquals(refused.code, 1)
    assert(refused.stderr.includes('400: receptor "edits" recovery.undo: session'), refused.stderr)
  } finally {
    first.child.kill("SIGTERM")
    await first.exited
  }

  const second = await startConductor(config)
  try {
    const edits = await (await fetch(`${second.http}/api/receptors/edits`)).json() as {
      health: { info: Record<string, unknown> }
    }
    assertEquals(edits.health.info["restored_at_start"], 1)
    assertEquals((await call(second.http, "edits", "get", { session: "doc" })).body.entries, {
      t: "hi",
    })
    assertEquals((await call(second.http, "notes", "get", { key: "a" })).body.value, { x: 1 })
  } finally {
    second.child.kill("SIGTERM")
    await second.exited
  }
})
