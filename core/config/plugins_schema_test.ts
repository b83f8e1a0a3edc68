import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict"
import { Effect, Exit } from "effect"
import { type ConfigError, parseConfig } from "./mod.ts"

const env = { cwd: "/srv", env: () => undefined, readFile: () => undefined }
const FILE = "/srv/conductor.yaml"

function parse(text: string) {
  return Effect.runSyncExit(parseConfig(text, FILE, env))
}

function failure(text: string): ConfigError {
  const exit = parse(text)
  assert(Exit.isFailure(exit), "expected the config to be refused")
  const error = Exit.findErrorOption(exit)
  assert(error._tag === "Some")
  return error.value
}

const LIMITS = {
  "fuel_per_call": 1_000_000_000,
  "call_timeout_ms": 10_000,
  "max_memory_mb": 64,
  "max_kernel_mb": 16,
  "max_input_bytes": 1_048_576,
  "max_output_bytes": 4_194_304,
  instances: 4,
}

Deno.test("plugins default to an empty list and decode grants and limits with defaults", () => {
  const empty = parse("{}")
  assert(Exit.isSuccess(empty))
  assertEquals(empty.value.plugins, [])
  const exit = parse(`plugins:
  - id: math
    path: plugins/math.wasm
    grants: {apps: [forum]}
    limits: {instances: 2}
`)
  assert(Exit.isSuccess(exit), String(Exit.isFailure(exit) && exit.cause))
  assertEquals(exit.value.plugins, [{
    id: "math",
    path: "plugins/math.wasm",
    enabled: true,
    grants: { apps: ["forum"], dnas: [] },
    limits: { ...LIMITS, instances: 2 },
  }])
})

Deno.test("a wasm receptor decodes with no capability granted by default", () => {
  const exit = parse(`receptors:
  - id: counter
    type: wasm
    path: counter.wasm
`)
  assert(Exit.isSuccess(exit), String(Exit.isFailure(exit) && exit.cause))
  assertEquals(exit.value.receptors[0], {
    id: "counter",
    type: "wasm",
    enabled: true,
    default: false,
    grants: { apps: [], dnas: [] },
    path: "counter.wasm",
    kv: false,
    max_kv_value_bytes: 1_048_576,
    allowed_hosts: [],
    max_http_response_bytes: 4_194_304,
    allowed_paths: [],
    max_file_bytes: 4_194_304,
    limits: LIMITS,
  })
})

Deno.test("a duplicate plugin id and a bad limit are refused with their lines", () => {
  const duplicate = failure(`plugins:
  - id: math
    path: a.wasm
  - id: math
    path: b.wasm
`)
  assertEquals([duplicate.keyPath, duplicate.line], ["plugins.1.id", 4])
  assert(duplicate.detail.includes("plugins.0 (line 2)"), duplicate.detail)
  const limit = failure(`plugins:
  - id: math
    path: a.wasm
    limits:
      instances: 0
`)
  assertEquals([limit.keyPath, limit.line], ["plugins.0.limits.instances", 5])
  const capability = failure(`receptors:
  - id: counter
    type: wasm
    path: c.wasm
    allowed_paths: [{path: data, writable: true}]
`)
  assertEquals(capability.line, 5)
})
