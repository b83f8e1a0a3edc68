import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict"
import { Effect, Exit } from "effect"
import { type ConfigError, parseConfig } from "../../core/config/mod.ts"

const env = { cwd: "/srv", env: () => undefined, readFile: () => undefined }

function parse(text: string) {
  return Effect.runSyncExit(parseConfig(text, "/srv/conductor.yaml", env))
}

function failure(text: string): ConfigError {
  const exit = parse(text)
  assert(Exit.isFailure(exit), "expected the config to be refused")
  const error = Exit.findErrorOption(exit)
  assert(error._tag === "Some")
  return error.value
}

Deno.test("a conductor receptor decodes with its defaults and no grants", () => {
  const exit = parse(`receptors:
  - id: peer
    type: conductor
    admin_url: ws://10.0.0.7:4444
    app_id: forum
    functions: [forum/list_posts]
`)
  assert(Exit.isSuccess(exit), String(Exit.isFailure(exit) && exit.cause))
  assertEquals(exit.value.receptors[0], {
    id: "peer",
    type: "conductor",
    enabled: true,
    default: false,
    grants: { apps: [], dnas: [] },
    "admin_url": "ws://10.0.0.7:4444",
    "app_id": "forum",
    origin: "conductor-receptor",
    functions: ["forum/list_posts"],
    "timeout_ms": 10_000,
    "connect_timeout_ms": 5_000,
    "max_payload_bytes": 2 ** 20,
    "max_output_bytes": 16 * 2 ** 20,
  })
})

Deno.test("a bad conductor receptor property fails the start with its path and line", () => {
  for (
    const [field, value, key] of [
      ["admin_url", "http://10.0.0.7:4444", "admin_url"],
      ["admin_url", "ws://10.0.0.7", "admin_url"],
      ["timeout_ms", "0", "timeout_ms"],
      ["max_output_bytes", String(2 ** 40), "max_output_bytes"],
      ["functions", "[list_posts]", "functions.0"],
      ["app_port", "70000", "app_port"],
    ]
  ) {
    const base: Record<string, string> = { "admin_url": "ws://127.0.0.1:4444", "app_id": "forum" }
    base[field!] = value!
    const lines = Object.entries(base).map(([k, v]) => `    ${k}: ${v}`).join("\n")
    const error = failure(`receptors:
  - id: peer
    type: conductor
${lines}
`)
    assertEquals(error.keyPath, `receptors.0.${key}`, `${field}: ${value}`)
    assert(typeof error.line === "number" && error.line >= 4, `${field}: line ${error.line}`)
  }
  const grants = failure(`receptors:
  - id: peer
    type: conductor
    admin_url: ws://127.0.0.1:4444
    app_id: forum
    grants: {dnas: [uhCAkAAAA]}
`)
  assertEquals(grants.keyPath, "receptors.0.grants.dnas.0")
})
