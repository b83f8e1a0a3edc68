import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict"
import { Effect, Exit, Redacted } from "effect"
import { CONFIG_TEMPLATE, EMBEDDED_DEFAULT, parseConfig } from "./mod.ts"

const env = (vars: Record<string, string> = {}) => ({
  cwd: "/srv/work",
  env: (name: string) => vars[name],
  readFile: () => undefined,
})

const parse = (text: string, vars: Record<string, string> = {}) =>
  Effect.runSyncExit(parseConfig(text, "/etc/conductor/conductor.yaml", env(vars)))

Deno.test("parseConfig gives every default for an empty file", () => {
  const exit = Effect.runSyncExit(parseConfig("", EMBEDDED_DEFAULT, env()))
  assert(Exit.isSuccess(exit))
  assertEquals(exit.value.dataDirPath, "/srv/work/conductor-data")
  assertEquals(exit.value.admin_interfaces[0]?.driver.port, 4444)
  assertEquals(exit.value.storage.synchronous, "normal")
  assertEquals(exit.value.passphrase, undefined)
})

Deno.test("the init template decodes to the embedded default", () => {
  const fromTemplate = Effect.runSync(parseConfig(CONFIG_TEMPLATE, EMBEDDED_DEFAULT, env()))
  const fromEmpty = Effect.runSync(parseConfig("{}", EMBEDDED_DEFAULT, env()))
  assertEquals(fromTemplate, fromEmpty)
})

Deno.test("parseConfig resolves data_dir against the config file's folder", () => {
  const exit = parse("data_dir: ../data\n")
  assert(Exit.isSuccess(exit))
  assertEquals(exit.value.dataDirPath, "/etc/data")
})

Deno.test("parseConfig names the key path and line of a bad value", () => {
  const exit = parse(
    "data_dir: x\nadmin_interfaces:\n  - driver:\n      type: websocket\n      port: 99999\n",
  )
  assert(Exit.isFailure(exit))
  const error = Exit.findErrorOption(exit)
  assert(error._tag === "Some")
  assertEquals(error.value.keyPath, "admin_interfaces.0.driver.port")
  assertEquals(error.value.line, 5)
  assert(
    error.value.message.startsWith(
      "invalid config /etc/conductor/conductor.yaml:5 at admin_interfaces.0.driver.port",
    ),
  )
})

Deno.test("parseConfig rejects an unknown key with its line", () => {
  const exit = parse("log:\n  level: info\n  colour: true\n")
  const error = Exit.findErrorOption(exit)
  assert(error._tag === "Some")
  assertEquals(error.value.keyPath, "log.colour")
  assertEquals(error.value.line, 3)
})

Deno.test("parseConfig reports YAML syntax errors with their line", () => {
  const exit = parse("log:\n  level: info\n bad: [\n")
  const error = Exit.findErrorOption(exit)
  assert(error._tag === "Some")
  assertEquals(error.value.line, 3)
})

Deno.test("parseConfig rejects a literal that is not allowed", () => {
  const exit = parse("storage:\n  synchronous: sometimes\n")
  const error = Exit.findErrorOption(exit)
  assert(error._tag === "Some")
  assertEquals(error.value.keyPath, "storage.synchronous")
  assertEquals(error.value.line, 2)
})

Deno.test("parseConfig reads the passphrase from the named environment variable", () => {
  const exit = parse("keystore:\n  passphrase_env: MY_PASS\n", { MY_PASS: "s3cret" })
  assert(Exit.isSuccess(exit))
  assertEquals(exit.value.passphrase && Redacted.value(exit.value.passphrase), "s3cret")
})

Deno.test("parseConfig reports every problem at once, each on its key's line, in line order", () => {
  const exit = parse(
    "ribosome:\n  fuel: 5\nhttp:\n  prot: 3\n  port: 99999\nlog:\n  level: loud\nstorgae:\n  x: 1\n",
  )
  const error = Exit.findErrorOption(exit)
  assert(error._tag === "Some")
  assertEquals(
    error.value.problems.map((p) => [p.line, p.keyPath]),
    [[2, "ribosome.fuel"], [4, "http.prot"], [5, "http.port"], [7, "log.level"], [8, "storgae"]],
  )
  const lines = error.value.message.split("\n")
  assertEquals(lines[0], "invalid config /etc/conductor/conductor.yaml, 5 problems:")
  assertEquals(lines.length, 6)
})

Deno.test("parseConfig suggests the closest allowed key for a misspelt one", () => {
  const detail = (text: string) => {
    const error = Exit.findErrorOption(parse(text))
    assert(error._tag === "Some")
    return error.value.detail
  }
  assertEquals(detail("http:\n  prot: 3\n"), 'unknown key "prot"; did you mean "port"?')
  assertEquals(
    detail("ribosome:\n  fuel: 5\n"),
    'unknown key "fuel"; did you mean "fuel_per_call"?',
  )
  assertEquals(detail("storgae: {}\n"), 'unknown key "storgae"; did you mean "storage"?')
  assertEquals(
    detail(
      "admin_interfaces:\n  - driver:\n      type: websocket\n      port: 1\n      alowed_origins: '*'\n",
    ),
    'unknown key "alowed_origins"; did you mean "allowed_origins"?',
  )
  assertEquals(
    detail("log:\n  zzzzzzzz: 1\n"),
    'unknown key "zzzzzzzz"; allowed here: level, format',
  )
})

Deno.test("parseConfig puts a problem under a block mapping on the key's line, not the value's", () => {
  const error = Exit.findErrorOption(parse("data_dir: x\nhtpp:\n  port: 1\n"))
  assert(error._tag === "Some")
  assertEquals(error.value.line, 2)
  assertEquals(error.value.keyPath, "htpp")
})

Deno.test("parseConfig reports a missing required key at its parent's line", () => {
  const error = Exit.findErrorOption(
    parse("admin_interfaces:\n  - driver:\n      type: websocket\n"),
  )
  assert(error._tag === "Some")
  assertEquals(error.value.keyPath, "admin_interfaces.0.driver.port")
  assertEquals(error.value.line, 2)
})
