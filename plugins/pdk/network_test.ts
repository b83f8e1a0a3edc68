/**
 * The PDK's network wrappers (`plugins/pdk/assembly/network.ts`) against the mock host, through
 * the `network` test zome: each sends the documented input (strategy included) and decodes the
 * output, a host error comes back as a value, and a remote call's outcome (including
 * `network_error`) is a value too.
 *
 * @module
 */
import { deepStrictEqual as assertEquals } from "node:assert/strict"
import { buildWasm } from "../build_wasm.ts"
import { MockHost, pack } from "./mock_host.ts"

const reports = await buildWasm({ only: ["network"] })
const module = new WebAssembly.Module(Deno.readFileSync(reports[0]!.out))

const hash = (tag: number, type: number) =>
  Uint8Array.from([0x84, type, 0x24, ...new Array(36).fill(tag)])
const agent = hash(1, 0x20)
const action = hash(2, 0x29)

Deno.test("countLinks, callRemoteBytes and sendRemoteSignalBytes send their documented inputs", () => {
  const cases = [
    {
      fn: "count_links",
      args: { base: action, link_type: "thing_link", strategy: "local" },
      host: "count_links_1",
      expect: { base: action, link_type: "thing_link", strategy: "local" },
      output: 3,
    },
    {
      fn: "call_remote",
      args: { agent, zome_name: "z", fn_name: "f", payload: { a: 1 } },
      host: "call_remote_1",
      expect: { agent, zome_name: "z", fn_name: "f", cap_secret: null, payload: pack({ a: 1 }) },
      output: { type: "ok", value: pack(7) },
    },
    {
      fn: "call_remote",
      args: { agent, zome_name: "z", fn_name: "f", payload: 1 },
      host: "call_remote_1",
      expect: { agent, zome_name: "z", fn_name: "f", cap_secret: null, payload: pack(1) },
      output: { type: "network_error", value: "no answer within 60s" },
    },
    {
      fn: "signal",
      args: { agents: [agent], payload: "hi" },
      host: "send_remote_signal_1",
      expect: { agents: [agent], payload: pack("hi") },
      output: null,
    },
    {
      fn: "host",
      args: { fn: "get_agent_activity_1", input: { agent, strategy: "network" } },
      host: "get_agent_activity_1",
      expect: { agent, strategy: "network" },
      output: { status: { type: "empty" }, valid_activity: [], actions: [] },
    },
    {
      fn: "get_with",
      args: { hash: action, strategy: "network" },
      host: "get_1",
      expect: { hash: action, strategy: "network" },
      output: null,
    },
  ] as const
  for (const c of cases) {
    const host = MockHost.load(module)
    host.on(c.host, () => ({ ok: c.output }))
    assertEquals(host.callValue(c.fn, c.args), { ok: c.output }, c.fn)
    assertEquals(host.calls.map((call) => call.fn), [c.host], c.fn)
    assertEquals(host.calls[0]!.input, c.expect, `${c.fn}: host input`)
  }
})

Deno.test("a network host function's err reaches the zome as a value", () => {
  const host = MockHost.load(module)
  host.on("count_links_1", () => ({ err: { kind: "network", message: "no answer" } }))
  assertEquals(host.callValue("count_links", { base: action, strategy: "network" }), {
    err: { kind: "network", message: "no answer" },
  })
})
