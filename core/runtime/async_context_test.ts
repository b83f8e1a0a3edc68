import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict"

const PROBE = new URL("../../tests/fixtures/async_context/probe.ts", import.meta.url).pathname

async function probe(hidden: boolean): Promise<{ resources: number; resumptions: number }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", PROBE, ...(hidden ? ["--hidden"] : [])],
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).output()
  const stdout = new TextDecoder().decode(output.stdout)
  assert(output.success, new TextDecoder().decode(output.stderr))
  return JSON.parse(stdout)
}

Deno.test("async_context: Effect creates no AsyncResource per fiber suspension once it is loaded first", async () => {
  assertEquals(await probe(true), { resources: 0, resumptions: 1000 })
})

Deno.test("async_context: without it, Effect creates one AsyncResource per suspension (what chained up)", async () => {
  const { resources, resumptions } = await probe(false)
  assertEquals(resumptions, 1000)
  assert(resources >= 1000, `${resources} resources for 1000 suspensions`)
})

Deno.test("async_context: node:async_hooks keeps AsyncLocalStorage for everyone else", async () => {
  await import("./async_context.ts")
  const builtin = (globalThis as unknown as {
    process: { getBuiltinModule: (id: string) => Record<string, unknown> }
  }).process.getBuiltinModule("node:async_hooks")
  assertEquals(typeof builtin.AsyncLocalStorage, "function")
  assertEquals(builtin.AsyncResource, undefined)
})
