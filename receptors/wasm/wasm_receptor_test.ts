/**
 * The `wasm` receptor type against real plugins built from AssemblyScript (`deno task
 * build:wasm`): the counter example, a misbehaving receptor (trap, runaway loop, unbounded
 * allocation: each loses only its own call), its capabilities (HTTP to allowed hosts only, files
 * under allowed paths only) and plugins that must not start (garbage, missing exports, wrong ABI
 * version, imports of capabilities not granted).
 *
 * @module
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict"
import { Effect, Schema } from "effect"
import * as path from "node:path"
import { WasmReceptorConfig } from "../../core/config/mod.ts"
import {
  callReceptor,
  type Receptor,
  type ReceptorError,
  Receptors,
} from "../../core/receptors/mod.ts"
import { CLEANUP_TIMEOUT_MS, withTimeout } from "../../tests/support/timeout.ts"
import { startWasmReceptor } from "./wasm_receptor.ts"

const ROOT = new URL("../../", import.meta.url).pathname
const COUNTER = path.join(ROOT, "examples/receptor-counter/build/receptor_counter.wasm")
const fixture = (name: string) => path.join(ROOT, `tests/fixtures/build/${name}.wasm`)

const config = (extra: Record<string, unknown>) =>
  Schema.decodeUnknownSync(WasmReceptorConfig)({ id: "r", type: "wasm", ...extra })

function withReceptor<A>(
  dir: string,
  extra: Record<string, unknown>,
  body: (receptor: Receptor) => Effect.Effect<A, unknown>,
): Promise<A> {
  return Effect.runPromise(Effect.scoped(Effect.gen(function* () {
    const { receptor } = yield* startWasmReceptor(config(extra), {
      dir,
      synchronous: "normal",
      configDir: dir,
    })
    return yield* body(receptor)
  })))
}

/** The start error of a receptor configured with `extra`. */
async function startError(dir: string, extra: Record<string, unknown>): Promise<ReceptorError> {
  return await Effect.runPromise(Effect.scoped(
    Effect.flip(startWasmReceptor(config(extra), { dir, synchronous: "normal", configDir: dir })),
  ))
}

const call = (receptor: Receptor, op: string, input: unknown) => callReceptor(receptor, op, input)
const failure = (receptor: Receptor, op: string, input: unknown) =>
  Effect.flip(callReceptor(receptor, op, input))

Deno.test("wasm receptor: the counter example counts in its kv namespace, durably", async () => {
  const dir = await Deno.makeTempDir()
  const settings = { path: COUNTER, kv: true }
  const first = await withReceptor(dir, settings, (r) =>
    Effect.gen(function* () {
      assertEquals(Object.keys(r.operations), ["get", "increment", "reset", "list"])
      assertEquals(r.operations["get"]!.readOnly, true)
      assertEquals(yield* call(r, "get", { name: "visits" }), { name: "visits", count: 0 })
      yield* call(r, "increment", { name: "visits" })
      const after = yield* call(r, "increment", { name: "visits", by: 41 })
      yield* call(r, "increment", { name: "other" })
      const bad = yield* failure(r, "increment", { name: "visits", by: 0 })
      return { after, bad }
    }))
  assertEquals(first.after, { name: "visits", count: 42 })
  assertEquals([first.bad.reason, first.bad.detail], ["InvalidInput", "by must be 1..1000000"])
  const second = await withReceptor(dir, settings, (r) =>
    Effect.all([
      call(r, "get", { name: "visits" }),
      call(r, "list", {}),
      call(r, "reset", { name: "other" }),
      call(r, "list", {}),
    ]))
  assertEquals(second, [
    { name: "visits", count: 42 },
    { names: ["other", "visits"] },
    { name: "other", existed: true },
    { names: ["visits"] },
  ])
})

Deno.test("wasm receptor: a trap, a runaway loop or unbounded allocation loses only its own call", async () => {
  const dir = await Deno.makeTempDir()
  await Deno.mkdir(path.join(dir, "files"))
  const settings = {
    path: fixture("receptor_misbehave"),
    "allowed_hosts": ["127.0.0.1"],
    "allowed_paths": [{ path: "files", write: true }],
    limits: { fuel_per_call: 200_000_000, max_memory_mb: 8, instances: 2 },
  }
  const outcome = await withReceptor(dir, settings, (r) =>
    Effect.gen(function* () {
      const trap = yield* failure(r, "trap", {})
      const echo1 = yield* call(r, "echo", { hello: [1, "two"] })
      const spin = yield* failure(r, "spin", {})
      const grow = yield* failure(r, "grow", {})
      const refused = yield* failure(r, "fail", {})
      const big = yield* failure(r, "echo", "x".repeat(2 ** 20))
      // Concurrent calls: one traps, the others answer.
      const together = yield* Effect.all([
        Effect.flip(call(r, "trap", {})),
        call(r, "echo", 1),
        call(r, "echo", 2),
      ], { concurrency: "unbounded" })
      const health = yield* r.health
      return { trap, echo1, spin, grow, refused, big, together, health }
    }))
  assertEquals([outcome.trap.reason, outcome.echo1], ["Trapped", { hello: [1, "two"] }])
  assert(outcome.trap.detail.includes("trapped"), outcome.trap.detail)
  assertEquals(outcome.spin.reason, "Trapped")
  assert(outcome.spin.detail.includes("limits.fuel_per_call"), outcome.spin.detail)
  // AssemblyScript's allocator executes `unreachable` when memory cannot grow past the cap.
  assertEquals(outcome.grow.reason, "Trapped")
  assertEquals([outcome.refused.reason, outcome.refused.detail], ["NotFound", "nothing here"])
  assertEquals(outcome.big.reason, "TooLarge")
  assert(outcome.big.detail.includes("limits.max_input_bytes"), outcome.big.detail)
  assertEquals(outcome.together.slice(1), [1, 2])
  assertEquals((outcome.together[0] as ReceptorError).reason, "Trapped")
  assertEquals(outcome.health.info["traps"], 4)
})

Deno.test("wasm receptor: a call past its wall-clock deadline fails alone", async () => {
  const dir = await Deno.makeTempDir()
  await Deno.mkdir(path.join(dir, "files"))
  const settings = {
    path: fixture("receptor_misbehave"),
    "allowed_hosts": ["127.0.0.1"],
    "allowed_paths": [{ path: "files", write: true }],
    limits: { fuel_per_call: 10 ** 14, call_timeout_ms: 300 },
  }
  const [spin, echo] = await withReceptor(
    dir,
    settings,
    (r) => Effect.all([failure(r, "spin", {}), call(r, "echo", "still here")]),
  )
  assertEquals(spin.reason, "Trapped")
  assert(spin.detail.includes("limits.call_timeout_ms"), spin.detail)
  assertEquals(echo, "still here")
})

Deno.test("wasm receptor: HTTP reaches allowed hosts only, files stay under allowed paths", async () => {
  const dir = await Deno.makeTempDir()
  await Deno.mkdir(path.join(dir, "files"))
  await Deno.writeTextFile(path.join(dir, "files", "in.txt"), "inside")
  await Deno.writeTextFile(path.join(dir, "secret.txt"), "outside")
  // A link inside the allowed folder to a file outside it that does not exist yet.
  await Deno.symlink(path.join(dir, "made.txt"), path.join(dir, "files", "link.txt"))
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen: () => {} },
    (request) => new Response(`you asked for ${new URL(request.url).pathname}`),
  )
  try {
    const url = `http://127.0.0.1:${server.addr.port}/hello`
    const settings = {
      path: fixture("receptor_misbehave"),
      "allowed_hosts": ["127.0.0.1"],
      "allowed_paths": [{ path: "files", write: true }],
    }
    const out = await withReceptor(dir, settings, (r) =>
      Effect.gen(function* () {
        const fetched = yield* call(r, "fetch", { url })
        const other = yield* failure(r, "fetch", {
          url: `http://localhost:${server.addr.port}/`,
        })
        const read = yield* call(r, "read", { path: "in.txt" })
        const escape = yield* failure(r, "read", { path: "../secret.txt" })
        const absolute = yield* failure(r, "read", { path: path.join(dir, "secret.txt") })
        yield* call(r, "write", { path: "out.txt", text: "written" })
        const escapeWrite = yield* failure(r, "write", { path: "../evil.txt", text: "x" })
        const dangling = yield* failure(r, "write", { path: "link.txt", text: "x" })
        const proto = yield* failure(r, "echo", JSON.parse('{"__proto__": {"x": 1}, "a": 1}'))
        return { fetched, other, read, escape, absolute, escapeWrite, dangling, proto }
      }))
    assertEquals(out.fetched, { status: 200, body: "you asked for /hello" })
    assert(out.other.detail.includes("not in allowed_hosts"), out.other.detail)
    assertEquals(out.read, "inside")
    assert(out.escape.detail.includes("outside the allowed paths"), out.escape.detail)
    assert(out.absolute.detail.includes("outside the allowed paths"), out.absolute.detail)
    assert(out.escapeWrite.detail.includes("outside the allowed paths"), out.escapeWrite.detail)
    assert(out.dangling.detail.includes("dangling link"), out.dangling.detail)
    assertEquals(await Deno.stat(path.join(dir, "made.txt")).then(() => true, () => false), false)
    // The conductor's msgpack check refuses a `__proto__` key in what a guest answers.
    assertEquals(out.proto.reason, "Failed")
    assert(out.proto.detail.includes("__proto__"), out.proto.detail)
    assertEquals(await Deno.readTextFile(path.join(dir, "files", "out.txt")), "written")
    assertEquals(await Deno.stat(path.join(dir, "evil.txt")).then(() => true, () => false), false)
  } finally {
    await withTimeout(server.shutdown(), CLEANUP_TIMEOUT_MS, "stopping the HTTP server")
  }
})

Deno.test("wasm receptor: bad plugins fail the start with the file and the problem", async () => {
  const dir = await Deno.makeTempDir()
  const garbage = path.join(dir, "garbage.wasm")
  await Deno.writeFile(garbage, new TextEncoder().encode("\0asm this is not a module"))
  const cases: Array<[Record<string, unknown>, string]> = [
    [{ path: garbage }, "is not a usable wasm module"],
    [{ path: path.join(dir, "missing.wasm") }, "does not exist"],
    [{ path: fixture("plugin_no_describe") }, "does not export receptor_describe"],
    [{ path: fixture("plugin_wrong_abi") }, "declares abi_version 2"],
    [
      { path: fixture("plugin_missing_export") },
      "it lists operation vanished but does not export a function of that name",
    ],
    [{ path: fixture("plugin_asks_http") }, "imports kv_get_1, which needs kv: true"],
    [{ path: fixture("plugin_asks_http"), kv: true }, "imports http_request_1"],
    [{ path: fixture("plugin_math") }, "does not export receptor_describe"],
  ]
  for (const [extra, expected] of cases) {
    const error = await startError(dir, extra)
    assertEquals(error.reason, "StartFailed")
    assert(error.detail.includes(expected), `${expected} in: ${error.detail}`)
    assert(error.detail.includes(String(extra["path"])), `the file in: ${error.detail}`)
  }
  // Through the registry the error also names the config entry; nothing was started.
  const registry = await Effect.runPromise(Effect.scoped(Effect.flip(
    Receptors.make(
      [config({ id: "fine", path: COUNTER, kv: true }), config({ id: "bad", path: garbage })],
      { dir, synchronous: "normal", configDir: dir },
      (c, env) => Effect.map(startWasmReceptor(c as WasmReceptorConfig, env), (s) => s.receptor),
    ),
  )))
  assert(registry._tag === "ReceptorError")
  assert(registry.detail.startsWith("receptors.1 (type wasm) did not start"), registry.detail)
})
