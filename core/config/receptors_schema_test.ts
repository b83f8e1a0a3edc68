import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict"
import { Effect, Exit } from "effect"
import { CONFIG_TEMPLATE, type ConfigError, parseConfig } from "./mod.ts"

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

Deno.test("receptors default to an empty list", () => {
  const exit = parse("{}")
  assert(Exit.isSuccess(exit))
  assertEquals(exit.value.receptors, [])
})

Deno.test("receptors decode each type's properties with their defaults", () => {
  const exit = parse(`receptors:
  - id: notes
    type: local_store
    max_value_bytes: 4096
  - id: edits
    type: recovery
    enabled: false
`)
  assert(Exit.isSuccess(exit), String(Exit.isFailure(exit) && exit.cause))
  const [notes, edits] = exit.value.receptors
  assertEquals(notes, {
    id: "notes",
    type: "local_store",
    enabled: true,
    default: false,
    grants: { apps: [], dnas: [] },
    max_key_bytes: 1024,
    max_value_bytes: 4096,
    max_batch_ops: 1000,
    max_list: 1000,
  })
  assertEquals(edits?.type, "recovery")
  assertEquals(edits?.enabled, false)
})

Deno.test("a duplicate receptor id names both entries and both lines", () => {
  const error = failure(`data_dir: x
receptors:
  - id: notes
    type: local_store
  - id: edits
    type: recovery
  - id: notes
    type: recovery
`)
  assertEquals(error.keyPath, "receptors.2.id")
  assertEquals(error.line, 7)
  assert(error.detail.includes(`"notes"`), error.detail)
  assert(error.detail.includes("receptors.0 (line 3)"), error.detail)
  assert(error.message.startsWith(`invalid config ${FILE}:7 at receptors.2.id`), error.message)
})

Deno.test("two default receptors of one type name both entries", () => {
  const error = failure(`receptors:
  - id: a
    type: recovery
    default: true
  - id: b
    type: local_store
    default: true
  - id: c
    type: recovery
    default: true
`)
  assertEquals(error.keyPath, "receptors.2.default")
  assertEquals(error.line, 10)
  assert(error.detail.includes("receptors.0 (line 2)"), error.detail)
})

Deno.test("a bad receptor property fails with its path and line", () => {
  const error = failure(`receptors:
  - id: notes
    type: local_store
    max_value_bytes: -1
`)
  assertEquals(error.keyPath, "receptors.0.max_value_bytes")
  assertEquals(error.line, 4)
})

Deno.test("an unknown receptor property, type or bad id is refused with its line", () => {
  const unknownKey = failure(`receptors:
  - id: notes
    type: local_store
    max_valu_bytes: 10
`)
  assertEquals(unknownKey.keyPath, "receptors.0.max_valu_bytes")
  assertEquals(unknownKey.line, 4)
  const unknownType = failure(`receptors:
  - id: notes
    type: cloud_store
`)
  assert(unknownType.keyPath.startsWith("receptors.0"), unknownType.keyPath)
  assertEquals(unknownType.line !== null && unknownType.line >= 2, true)
  const badId = failure(`receptors:
  - id: ../etc
    type: recovery
`)
  assertEquals(badId.keyPath, "receptors.0.id")
  assertEquals(badId.line, 2)
})

Deno.test("the init template's commented receptors decode to their defaults when uncommented", () => {
  const text = CONFIG_TEMPLATE.replace("receptors: []", "receptors:")
    .replaceAll(/^#( {2}(?:- | {2}))/gm, "$1")
  const exit = parse(text)
  assert(Exit.isSuccess(exit), String(Exit.isFailure(exit) && exit.cause))
  const [notes, edits] = exit.value.receptors
  const defaults = parse(`receptors:
  - id: notes
    type: local_store
  - id: edits
    type: recovery
`)
  assert(Exit.isSuccess(defaults))
  assertEquals([notes, edits], defaults.value.receptors)
})
