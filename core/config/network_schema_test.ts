import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict"
import { Effect, Exit } from "effect"
import { CONFIG_TEMPLATE, type ConfigError, parseConfig } from "./mod.ts"

const env = { cwd: "/srv/work", env: () => undefined, readFile: () => undefined }
const parse = (text: string) =>
  Effect.runSyncExit(parseConfig(text, "/etc/conductor/conductor.yaml", env))
const problems = (text: string) => {
  const exit = parse(text)
  assert(Exit.isFailure(exit))
  const error = Exit.findErrorOption(exit)
  assert(error._tag === "Some")
  return (error.value as ConfigError).problems.map((p) => `${p.keyPath}@${p.line}: ${p.detail}`)
}

Deno.test("network: absent means local-only; present gets defaults and resolved files", () => {
  const local = parse("")
  assert(Exit.isSuccess(local))
  assertEquals(local.value.network, null)
  const exit = parse(
    "network:\n  nats:\n    servers: [nats://127.0.0.1:4222]\n    credentials: keys/user.creds\n" +
      "    tls: {ca_file: /etc/ca.pem}\n",
  )
  assert(Exit.isSuccess(exit))
  const network = exit.value.network!
  assertEquals(network.nats.servers, ["nats://127.0.0.1:4222"])
  assertEquals(network.nats.credentials, "/etc/conductor/keys/user.creds")
  assertEquals(network.nats.tls?.ca_file, "/etc/ca.pem")
  assertEquals([network.arc, network.required_receipts, network.agent_info_ttl_ms], [
    "full",
    5,
    60_000,
  ])
})

Deno.test("network: every problem at once, with lines and did-you-mean", () => {
  assertEquals(
    problems(
      "network:\n  nats:\n    servers: []\n    tokn: x\n  arc: half\n  repair_intervl_ms: 5\n",
    ),
    [
      "network.nats.servers@3: Expected a value with a length of at least 1",
      'network.nats.tokn@4: unknown key "tokn"; did you mean "token"?',
      'network.arc@5: Expected "full" | "zero", got "half"',
      'network.repair_intervl_ms@6: unknown key "repair_intervl_ms"; did you mean "repair_interval_ms"?',
    ],
  )
  assertEquals(problems("network:\n  nats:\n    servers: ['http://x/y']\n"), [
    'network.nats.servers.0@3: a NATS server is nats://host:port, tls://host:port or host:port, got "http://x/y"',
  ])
})

Deno.test("the init template's commented network section decodes when uncommented", () => {
  const block = CONFIG_TEMPLATE.slice(CONFIG_TEMPLATE.indexOf("# network:"))
  const text = CONFIG_TEMPLATE + "\n" + block.replaceAll(/^# /gm, "")
  const exit = Effect.runSyncExit(parseConfig(text, "/etc/conductor/conductor.yaml", env))
  assert(Exit.isSuccess(exit))
  assertEquals(exit.value.network?.nats.servers, ["nats://127.0.0.1:4222"])
  assertEquals(exit.value.network?.required_receipts, 5)
})
