/**
 * The steps of examples/receptor-counter/README.md against a `conductor run` process: the
 * example's own conductor.yaml (copied with a free port and its data in a temporary folder),
 * calls through `conductor receptor` and through HTTP, and the counts after a restart. Then the
 * same config without the `kv` grant: the process refuses to start, naming the receptor, its
 * config path and the missing capability.
 *
 * @module
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict"
import * as path from "node:path"
import { ROOT } from "../support/conductor.ts"
import { conductorCommand, startConductor } from "../support/process.ts"
import { CLEANUP_TIMEOUT_MS, withTimeout } from "../support/timeout.ts"

const EXAMPLE = path.join(ROOT, "examples/receptor-counter")

/** The example's conductor.yaml in `dir`, on a free port, the plugin path made absolute. */
async function exampleConfig(dir: string, edit: (text: string) => string = (t) => t) {
  const text = (await Deno.readTextFile(path.join(EXAMPLE, "conductor.yaml")))
    .replace("port: 4445", "port: 0")
    .replace("path: build/", `path: ${EXAMPLE}/build/`)
  const file = path.join(dir, "conductor.yaml")
  await Deno.writeTextFile(file, edit(text))
  return file
}

async function post(http: string, operation: string, body: unknown) {
  const response = await fetch(`${http}/api/receptors/counter/call/${operation}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  })
  return { status: response.status, body: await response.json() as Record<string, unknown> }
}

Deno.test("the receptor-counter README works against a conductor process", async () => {
  const dir = await Deno.makeTempDir()
  const config = await exampleConfig(dir)
  const first = await startConductor(config)
  try {
    const shown = await conductorCommand(["receptor", "show", "counter", "--url", first.http])
    assertEquals(shown.code, 0, shown.stderr)
    assert(shown.stdout.includes("increment"), shown.stdout)
    const called = await conductorCommand([
      "receptor",
      "call",
      "counter",
      "increment",
      '{"name": "visits", "by": 2}',
      "--url",
      first.http,
    ])
    assertEquals(called.code, 0, called.stderr)
    assertEquals(JSON.parse(called.stdout), { name: "visits", count: 2 })
    assertEquals((await post(first.http, "increment", { name: "visits" })).body, {
      name: "visits",
      count: 3,
    })
    assertEquals(await post(first.http, "get", { name: "visits" }), {
      status: 200,
      body: { name: "visits", count: 3 },
    })
    const refused = await post(first.http, "increment", { name: "visits", by: 0 })
    assertEquals([refused.status, refused.body["reason"]], [400, "InvalidInput"])
    assert(
      String(refused.body["error"]).includes("by must be 1..1000000"),
      String(refused.body["error"]),
    )
    const status = await (await fetch(`${first.http}/api/receptors/counter`)).json() as {
      type: string
      health: { status: string; info: Record<string, unknown> }
    }
    assertEquals([status.type, status.health.status], ["wasm", "ok"])
  } finally {
    await first.stop()
  }

  const second = await startConductor(config)
  try {
    assertEquals((await post(second.http, "get", { name: "visits" })).body, {
      name: "visits",
      count: 3,
    })
  } finally {
    await second.stop()
  }
})

Deno.test("a wasm receptor importing a capability it was not granted stops the conductor start", async () => {
  const dir = await Deno.makeTempDir()
  const config = await exampleConfig(dir, (text) => text.replace("kv: true", "kv: false"))
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}main.ts`, "run", "--config", config],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn()
  const output = await withTimeout(child.output(), CLEANUP_TIMEOUT_MS * 4, "the refused start")
  const text = new TextDecoder().decode(output.stderr) + new TextDecoder().decode(output.stdout)
  assert(output.code !== 0, text)
  assert(text.includes("receptors.0 (type wasm) did not start"), text)
  assert(/it imports kv_\w+_1, which needs kv: true/.test(text), text)
})
