/**
 * The single executable is built from `deno task bundle` (dist/main.js and the chunks it imports),
 * so that bundle must carry every asset: written away from the repository, it starts, serves HTTP,
 * installs the forum and answers a zome call (in a guest worker, started from the bundle itself),
 * with no reads of source-tree files; the chunks it loads only when needed (the command-line
 * parser, the metrics formatter) load too.
 *
 * @module
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict"
import { packed, ROOT } from "../support/conductor.ts"
import { COMMAND_TIMEOUT_MS, writeConfig } from "../support/process.ts"
import { stopProcess, withTimeout } from "../support/timeout.ts"

/** The arguments of `deno task bundle`, writing to the folder `output` instead of dist/. */
async function bundleTaskArgs(output: string): Promise<Array<string>> {
  const config = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`))
  const command = (config.tasks.bundle as string).split(" ")
  assertEquals(command.slice(0, 2), ["deno", "bundle"])
  assert(command.includes("dist"), "deno task bundle writes to dist/")
  return command.slice(1).map((arg) =>
    arg === "dist" ? output : arg === "main.ts" ? `${ROOT}main.ts` : arg
  )
}

Deno.test("the bundled conductor runs from outside the repository", async () => {
  const dir = await Deno.makeTempDir()
  const bundler = new Deno.Command(Deno.execPath(), {
    args: await bundleTaskArgs(`${dir}/bundle`),
    stdout: "piped",
    stderr: "piped",
  }).spawn()
  const bundle = await withTimeout(bundler.output(), COMMAND_TIMEOUT_MS, "deno bundle")
    .catch(async (error) => {
      await stopProcess(bundler, "deno bundle", { signal: "SIGKILL" }).catch(() => {})
      throw error
    })
  assertEquals(bundle.code, 0, new TextDecoder().decode(bundle.stderr))
  // Every guest call runs in a guest worker, which the bundle starts from its own script.
  const config = await writeConfig(dir, "ribosome: {worker_min_fuel: 0}\n")
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-config", `${dir}/bundle/main.js`, "run", "--config", config],
    cwd: dir,
    stdout: "piped",
    stderr: "piped",
  }).spawn()
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader()
  let text = ""
  let http: string | undefined
  const listening = async () => {
    while (http === undefined) {
      const { value, done } = await reader.read()
      if (done) break
      text += value
      http = text.match(/admin http listening on (http:\/\/\S+?) /)?.[1]
    }
  }
  await withTimeout(listening(), COMMAND_TIMEOUT_MS, "the bundled conductor listening")
    .catch(async (error) => {
      await stopProcess(child, "the bundled conductor", { signal: "SIGKILL" }).catch(() => {})
      throw error
    })
  assert(http !== undefined, text)
  const installed = await fetch(`${http}/api/apps?installed_app_id=forum&enable=true`, {
    method: "POST",
    signal: AbortSignal.timeout(COMMAND_TIMEOUT_MS),
    headers: { "content-type": "application/octet-stream" },
    body: (await packed("examples/forum")) as Uint8Array<ArrayBuffer>,
  })
  assertEquals(installed.status, 201)
  await installed.body?.cancel()
  const call = await fetch(`${http}/api/apps/forum/call/forum/forum/list_posts`, {
    method: "POST",
    signal: AbortSignal.timeout(COMMAND_TIMEOUT_MS),
  })
  assertEquals(await call.json(), [])
  // Errors read the same from the minified bundle.
  const missing = await fetch(`${http}/api/apps/forum/call/forum/forum/nope`, {
    method: "POST",
    signal: AbortSignal.timeout(COMMAND_TIMEOUT_MS),
  })
  assertEquals(missing.status, 404)
  assertEquals(
    (await missing.json()).error,
    "zome forum has no callable function nope",
  )
  // The metrics formatter is a chunk of its own, loaded on the first scrape.
  const metrics = await withTimeout(fetch(`${http}/metrics`), COMMAND_TIMEOUT_MS, "GET /metrics")
  assertEquals(metrics.status, 200)
  assert((await metrics.text()).includes("conductor_"))
  assertEquals((await stopProcess(child, "the bundled conductor")).code, 0)
  await reader.cancel()
  await child.stderr.cancel()
  // So is the command-line parser: every command line but a plain `run` goes through it.
  const help = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-config", `${dir}/bundle/main.js`, "verify", "--help"],
    cwd: dir,
    stdout: "piped",
    stderr: "piped",
  }).spawn()
  const helped = await withTimeout(help.output(), COMMAND_TIMEOUT_MS, "conductor verify --help")
    .catch(async (error) => {
      await stopProcess(help, "conductor verify --help", { signal: "SIGKILL" }).catch(() => {})
      throw error
    })
  assertEquals(helped.code, 0, new TextDecoder().decode(helped.stderr))
  assert(new TextDecoder().decode(helped.stdout).includes("verify"))
  await Deno.remove(dir, { recursive: true })
})
