/**
 * Reads, calls and signals that reach other conductors, with real processes: a real
 * `nats-server`, three conductors running the `network` test app, the unmodified
 * `@holochain/client`. A zero-arc conductor reads what another authored with `strategy:
 * "network"` (get, details, links, count, agent activity, must_get); `call_remote`
 * is refused without the callee's grant and round-trips with it, signed by the caller (the callee
 * sees the caller as provenance); a remote signal reaches the target's `recv_remote_signal` and
 * its app client; a call to an agent nobody runs is a `network_error` value the zome gets back.
 *
 * @module
 */
import { decode } from "@msgpack/msgpack"
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict"
import { startNatsServer } from "../support/nats.ts"
import { startTcpProxy } from "../support/tcp_proxy.ts"
import { cleanup, step, waitFor } from "../support/timeout.ts"
import { type ForumNode, spaceMetrics } from "./network_support.ts"
import { type NetworkNode, startNetworkNode } from "./network_reach_support.ts"

const same = (a: unknown, b: Uint8Array) =>
  a instanceof Uint8Array && a.length === b.length && a.every((x, i) => x === b[i])

Deno.test("reads, remote calls and signals reach other conductors over NATS", async (t) => {
  const nats = await startNatsServer()
  const nodes: Array<NetworkNode> = []
  try {
    const [a, b, z] = await Promise.all([
      startNetworkNode("a", [nats.url]),
      startNetworkNode("b", [nats.url]),
      // z subscribes to no ops (a zero arc), answers no authority queries and fetches nothing
      // by repair, which runs often here so that a repair that fetched would be seen.
      startNetworkNode("z", [nats.url], { extra: "  arc: zero", repairIntervalMs: 200 }),
    ])
    nodes.push(a!, b!, z!)
    // Conductors dial NATS in the background: wait until each sees the two others.
    for (const node of nodes) {
      await waitFor(
        async () =>
          (await spaceMetrics(node as unknown as ForumNode))?.gossip_state_summary.peers === 2,
        `${node.name} to see its two peers`,
      )
    }
    const thing = (await a!.call("host_fns", "call_create", {
      entry_type: "thing",
      entry: { value: 7 },
    })) as { ok: Uint8Array }
    const hash = thing.ok
    const link = (await a!.call("host_fns", "call_create_link", {
      base: a!.agent,
      target: hash,
      link_type: "thing_link",
    })) as { ok: Uint8Array }
    assert(link.ok instanceof Uint8Array)

    await step(
      t,
      "a zero-arc node reads A's data with strategy network",
      async () => {
        // The holders learn of A's data by publish; then z's network reads find it.
        const record = await waitFor(async () => {
          const got = await z!.host("get_1", { hash, strategy: "network" })
          return (got.ok as { action_hash?: Uint8Array } | null)?.action_hash ? got.ok : null
        }, "z to get A's record over the network")
        assert(same((record as { action_hash: Uint8Array }).action_hash, hash))
        const viaWrapper =
          (await z!.call("network", "get_with", { hash, strategy: "network" })) as {
            ok: { action_hash: Uint8Array }
          }
        assert(same(viaWrapper.ok.action_hash, hash))
        const links = await waitFor(async () => {
          const got = await z!.host("get_links_1", { base: a!.agent, strategy: "network" })
          return (got.ok as Array<unknown>).length === 1
            ? got.ok as Array<{ target: Uint8Array }>
            : null
        }, "z to get A's link over the network")
        assert(same(links[0]!.target, hash))
        assertEquals(
          await z!.call("network", "count_links", { base: a!.agent, strategy: "network" }),
          { ok: 1 },
        )
        const details = (await z!.host("get_details_1", { hash, strategy: "network" })) as {
          ok: { type: string }
        }
        assertEquals(details.ok.type, "record")
        const action = (await z!.host("must_get_action_1", { hash })) as {
          ok: { action_hash: Uint8Array }
        }
        assert(same(action.ok.action_hash, hash))
        const activity = (await z!.host("get_agent_activity_1", {
          agent: a!.agent,
          include_full_actions: true,
        })) as { ok: { status: { type: string }; valid_activity: Array<[number, Uint8Array]> } }
        assertEquals(activity.ok.status.type, "valid")
        assert(activity.ok.valid_activity.some(([, h]) => same(h, hash)))
        // Two more repair rounds of z after all that: z still holds none of it, so every answer
        // above came from the network.
        const rounds = (await spaceMetrics(z! as unknown as ForumNode))!.gossip_state_summary
          .repair_rounds
        await waitFor(
          async () =>
            (await spaceMetrics(z! as unknown as ForumNode))!.gossip_state_summary
              .repair_rounds >= rounds + 2,
          "z to run two more repair rounds",
        )
        assertEquals(await z!.host("get_1", { hash, strategy: "local" }), { ok: null })
        assertEquals(
          await z!.host("get_links_1", { base: a!.agent, strategy: "local" }),
          { ok: [] },
        )
        assertEquals(
          await z!.call("network", "count_links", { base: a!.agent, strategy: "local" }),
          { ok: 0 },
        )
      },
    )

    await step(
      t,
      "call_remote is refused without the callee's grant and round-trips with it",
      async () => {
        const call = () =>
          a!.call("network", "call_remote", {
            agent: b!.agent,
            zome_name: "network",
            fn_name: "whoami",
            payload: { n: 1 },
          }) as Promise<{ ok: { type: string; value: unknown } }>
        const refused = await call()
        assertEquals(refused.ok.type, "unauthorized")
        await b!.call("host_fns", "call_create_cap_grant", {
          tag: "remote",
          access: { type: "unrestricted" },
          functions: {
            type: "listed",
            value: [["network", "whoami"], ["network", "recv_remote_signal"]],
          },
        })
        const answered = await call()
        assertEquals(answered.ok.type, "ok")
        const who = decode(answered.ok.value as Uint8Array) as {
          agent: Uint8Array
          provenance: Uint8Array
          payload: unknown
        }
        assert(same(who.agent, b!.agent), "the callee is B")
        assert(same(who.provenance, a!.agent), "B sees A as the provenance")
        assertEquals(who.payload, { n: 1 })
      },
    )

    await step(t, "a remote signal reaches B's recv_remote_signal and B's app client", async () => {
      await a!.call("network", "signal", { agents: [b!.agent], payload: { hello: "b" } })
      await waitFor(
        () => b!.signals.some((s) => JSON.stringify(s) === JSON.stringify({ hello: "b" })),
        "B's client to receive the remote signal",
      )
    })

    await step(t, "a call to an agent nobody runs is a network_error value", async () => {
      const nobody = await b!.admin.generateAgentPubKey()
      const answer = (await a!.call("network", "call_remote", {
        agent: nobody,
        zome_name: "network",
        fn_name: "whoami",
        payload: null,
      })) as { ok: { type: string; value: string } }
      assertEquals(answer.ok.type, "network_error")
      assert(answer.ok.value.length > 0)
    })
  } finally {
    await cleanup([
      ...nodes.map((n) => [`stopping ${n.name}`, () => n.stop()] as const),
      ["closing nats-server", () => nats.close()],
    ])
  }
})

Deno.test("a zome call waiting on the network does not block other calls of the same cell", async (t) => {
  const nats = await startNatsServer()
  const proxy = startTcpProxy({ port: nats.ports.client })
  const nodes: Array<NetworkNode> = []
  try {
    const a = await startNetworkNode("a", [nats.url])
    nodes.push(a)
    // z reaches NATS through a proxy the test pauses; long timeouts so only the pause decides.
    const z = await startNetworkNode("z", [proxy.url()], {
      network: [
        `network:`,
        `  nats: {servers: [${JSON.stringify(proxy.url())}], ping_interval_ms: 600000}`,
        `  request_timeout_ms: 120000`,
      ].join("\n"),
    })
    nodes.push(z)
    for (const node of nodes) {
      await waitFor(
        async () =>
          (await spaceMetrics(node as unknown as ForumNode))?.gossip_state_summary.peers === 1,
        `${node.name} to see its peer`,
      )
    }
    await step(t, "a read held up by the network leaves a local call free to run", async () => {
      // A hash nobody holds: z must ask a, and the paused proxy holds the question.
      const missing = new Uint8Array([0x84, 0x29, 0x24, ...new Array(36).fill(5)])
      proxy.pause()
      let settled = false
      const slow = z.host("get_1", { hash: missing, strategy: "network" }).finally(() => {
        settled = true
      })
      await waitFor(() => proxy.heldBytes > 0, "z's question to reach the paused proxy")
      const who = (await z.call("network", "whoami", "meanwhile")) as { payload: unknown }
      assertEquals(who.payload, "meanwhile")
      assert(!settled, "the read cannot have settled while its question is held")
      proxy.resume()
      assertEquals(await slow, { ok: null })
    })
  } finally {
    await cleanup([
      ...nodes.map((n) => [`stopping ${n.name}`, () => n.stop()] as const),
      ["closing the proxy", () => proxy.close()],
      ["closing nats-server", () => nats.close()],
    ])
  }
})
