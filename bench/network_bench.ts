/**
 * The network over NATS, with real processes on loopback (issue 8's performance goals): a real
 * `nats-server` on a free port, conductor processes running the `network` test app with the
 * default `network:` timings, driven through `@holochain/client`.
 *
 * - sync lag: from just before `create` returns on the author to the record being held (a
 *   `strategy: "local"` get answers it) on another conductor; p50/p95 over the ops and peers,
 *   for 2 and 10 conductors, and for 2 with 50 ms added per hop by a TCP proxy in front of the
 *   reader's NATS connection. Polled every `POLL_MS`, so values carry ± that resolution.
 * - receipts complete: from the create to the author's space having no op pending (every op of
 *   it has the receipts it needs: min(5, holders)).
 * - `call_remote` round trip p50 (the client's call of a zome function that calls another
 *   conductor's agent), next to the same client calling a local zome function (the difference
 *   is the network's part), and remote signal p50 (A's call to send → B's client receives).
 * - bytes and messages the NATS server delivered per op per receiving peer (its `/varz` deltas
 *   over the ops, background traffic included).
 * - baseline in the same run: NATS request/reply p50 between two clients of this process.
 *
 * Run: `deno run -A bench/network_bench.ts [--ops 20] [--calls 100] [--two-only]`.
 *
 * @module
 */
import { connect } from "@nats-io/transport-node"
import { parseArgs } from "node:util"
import { buildWasm } from "../plugins/build_wasm.ts"
import { type NetworkNode, startNetworkNode } from "../tests/e2e/network_reach_support.ts"
import { type ForumNode, spaceMetrics } from "../tests/e2e/network_support.ts"
import { startNatsServer } from "../tests/support/nats.ts"
import { startTcpProxy } from "../tests/support/tcp_proxy.ts"
import { cleanup, waitFor } from "../tests/support/timeout.ts"
import { emit, median, quantile } from "./report.ts"

const args = parseArgs({
  args: Deno.args,
  options: {
    ops: { type: "string", default: "20" },
    calls: { type: "string", default: "100" },
    // Only the two-conductor measurements (sync lag, call_remote, signals).
    "two-only": { type: "boolean", default: false },
  },
})
const OPS = Number(args.values.ops)
const CALLS = Number(args.values.calls)
/** How often readers look for an op. */
const POLL_MS = 5

/** The `network:` section: the defaults, with the server list. */
const networkSection = (urls: ReadonlyArray<string>) =>
  `network:\n  nats: {servers: [${urls.map((u) => JSON.stringify(u)).join(", ")}]}\n`

const ms = (v: number) => Math.round(v * 100) / 100

async function startNodes(
  names: ReadonlyArray<string>,
  urlsOf: (name: string) => ReadonlyArray<string>,
): Promise<Array<NetworkNode>> {
  const nodes: Array<NetworkNode> = []
  // Two at a time: ten conductors starting at once would measure the machine, not the network.
  for (let i = 0; i < names.length; i += 2) {
    nodes.push(
      ...await Promise.all(
        names.slice(i, i + 2).map((name) =>
          startNetworkNode(name, urlsOf(name), { network: networkSection(urlsOf(name)) })
        ),
      ),
    )
  }
  return nodes
}

/** Waits until every node sees the others as peers of the space. */
async function meshed(nodes: ReadonlyArray<NetworkNode>) {
  for (const node of nodes) {
    await waitFor(
      async () =>
        (await spaceMetrics(node as unknown as ForumNode))?.gossip_state_summary.peers ===
          nodes.length - 1,
      `${node.name} to see ${nodes.length - 1} peers`,
      { timeoutMs: 120_000 },
    )
  }
}

const held = async (node: NetworkNode, hash: Uint8Array) =>
  ((await node.host("get_1", { hash, strategy: "local" })).ok ?? null) !== null

/** Creates OPS entries on `author`; returns each reader's lag per op (ms). */
async function syncLags(author: NetworkNode, readers: ReadonlyArray<NetworkNode>, label: string) {
  const lags: Array<number> = []
  const receipts: Array<number> = []
  for (let i = 0; i < OPS; i++) {
    const started = performance.now()
    const created = (await author.call("host_fns", "call_create", {
      entry_type: "thing",
      entry: { value: i },
    })) as { ok: Uint8Array }
    const seen = readers.map((reader) =>
      waitFor(
        async () => (await held(reader, created.ok)) ? performance.now() : null,
        `${reader.name} to hold op ${i} (${label})`,
        { timeoutMs: 120_000, intervalMs: POLL_MS },
      )
    )
    const receipted = waitFor(
      async () =>
        (await spaceMetrics(author as unknown as ForumNode))?.publish_state_summary.ops_pending ===
            0
          ? performance.now()
          : null,
      `${author.name}'s ops to have their receipts (${label})`,
      { timeoutMs: 120_000, intervalMs: POLL_MS },
    )
    for (const at of await Promise.all(seen)) lags.push(at - started)
    receipts.push((await receipted) - started)
  }
  return { lags: lags.sort((a, b) => a - b), receipts: receipts.sort((a, b) => a - b) }
}

function emitLags(label: string, lags: ReadonlyArray<number>, peers: number) {
  emit({
    name: `sync lag commit → held on another conductor, ${label}, p50`,
    value: ms(quantile(lags, 0.5)),
    unit: "ms",
    detail: `${OPS} ops × ${peers} readers, polled every ${POLL_MS} ms`,
  })
  emit({
    name: `sync lag commit → held on another conductor, ${label}, p95`,
    value: ms(quantile(lags, 0.95)),
    unit: "ms",
    detail: `max ${ms(lags[lags.length - 1]!)} ms`,
  })
}

async function natsBaseline(url: string) {
  const server = await connect({ servers: url })
  const client = await connect({ servers: url })
  try {
    const sub = server.subscribe("bench.echo")
    ;(async () => {
      for await (const m of sub) m.respond(m.data)
    })()
    await server.flush()
    const payload = new Uint8Array(256)
    const samples: Array<number> = []
    for (let i = 0; i < 1000; i++) {
      const started = performance.now()
      await client.request("bench.echo", payload, { timeout: 5000 })
      samples.push(performance.now() - started)
    }
    return median(samples)
  } finally {
    await client.close()
    await server.close()
  }
}

async function main() {
  await buildWasm({ only: ["host_fns_integrity", "host_fns", "network"] })
  const nats = await startNatsServer()
  const proxy = startTcpProxy({ port: nats.ports.client })
  const nodes: Array<NetworkNode> = []
  try {
    const baseline = await natsBaseline(nats.url)
    emit({
      name: "baseline: NATS request/reply p50 (256 B, one process)",
      value: ms(baseline),
      unit: "ms",
    })

    // Two conductors.
    nodes.push(...await startNodes(["a", "b"], () => [nats.url]))
    const [a, b] = nodes as [NetworkNode, NetworkNode]
    await meshed([a, b])
    const two = await syncLags(a, [b], "2 conductors")
    emitLags("2 conductors", two.lags, 1)
    emit({
      name: "all receipts back, 2 conductors, p50",
      value: ms(quantile(two.receipts, 0.5)),
      unit: "ms",
      detail: "1 receipt needed (min(5, holders))",
    })

    // call_remote and remote signals between a and b.
    await b.call("host_fns", "call_create_cap_grant", {
      tag: "bench",
      access: { type: "unrestricted" },
      functions: {
        type: "listed",
        value: [["network", "whoami"], ["network", "recv_remote_signal"]],
      },
    })
    const local: Array<number> = []
    const remote: Array<number> = []
    const signals: Array<number> = []
    for (let i = 0; i < CALLS; i++) {
      let started = performance.now()
      await a.call("network", "whoami", i)
      local.push(performance.now() - started)
      started = performance.now()
      const answer = (await a.call("network", "call_remote", {
        agent: b.agent,
        zome_name: "network",
        fn_name: "whoami",
        payload: i,
      })) as { ok: { type: string } }
      remote.push(performance.now() - started)
      if (answer.ok.type !== "ok") throw new Error(`call_remote: ${JSON.stringify(answer)}`)
      const before = b.signals.length
      started = performance.now()
      await a.call("network", "signal", { agents: [b.agent], payload: i })
      const arrived = await waitFor(
        () => (b.signals.length > before ? performance.now() : null),
        "the remote signal",
        { timeoutMs: 30_000, intervalMs: 0 },
      )
      signals.push(arrived - started)
    }
    const localP50 = median(local)
    const remoteP50 = median(remote)
    emit({
      name: "call_remote round trip as the client sees it, p50",
      value: ms(remoteP50),
      unit: "ms",
      detail: `a local zome call from the same client: ${ms(localP50)} ms; network part ≈ ${
        ms(remoteP50 - localP50)
      } ms (${(remoteP50 - localP50) / baseline | 0}× NATS request/reply)`,
    })
    emit({
      name: "call_remote network part (round trip − local call), p50",
      value: ms(remoteP50 - localP50),
      unit: "ms",
    })
    emit({
      name: "remote signal, A's call → B's client, p50",
      value: ms(median(signals)),
      unit: "ms",
      detail: `includes A's websocket call (${ms(localP50)} ms for a local call)`,
    })

    if (args.values["two-only"]) return

    // 50 ms per hop through the proxy: a third conductor reading through it.
    const slow = await startNetworkNode("slow", [proxy.url()], {
      network: networkSection([proxy.url()]),
    })
    nodes.push(slow)
    proxy.setDelay(50)
    await meshed([a, b, slow])
    const delayed = await syncLags(a, [slow], "50 ms per hop")
    emitLags("2 conductors, 50 ms per hop (proxy)", delayed.lags, 1)
    proxy.setDelay(0)

    // Ten conductors (a, b, slow and seven more).
    nodes.push(
      ...await startNodes(["c", "d", "e", "f", "g", "h", "i"], () => [nats.url]),
    )
    await meshed(nodes)
    const readers = nodes.filter((n) => n !== a)
    const varz = () => nats.monitor<{ out_msgs: number; out_bytes: number }>("varz")
    const before = await varz()
    const ten = await syncLags(a, readers, "10 conductors")
    const after = await varz()
    emitLags("10 conductors", ten.lags, readers.length)
    emit({
      name: "all receipts back, 10 conductors, p50",
      value: ms(quantile(ten.receipts, 0.5)),
      unit: "ms",
      detail: "5 receipts needed",
    })
    const perOpPeer = OPS * readers.length
    emit({
      name: "NATS messages delivered per op per peer, 10 conductors",
      value: ms((after.out_msgs - before.out_msgs) / perOpPeer),
      unit: "msgs",
      detail: "server out_msgs delta, background agent infos and repair included",
    })
    emit({
      name: "NATS bytes delivered per op per peer, 10 conductors",
      value: Math.round((after.out_bytes - before.out_bytes) / perOpPeer),
      unit: "B",
      detail: "server out_bytes delta, background agent infos and repair included",
    })
  } finally {
    await cleanup([
      ...nodes.map((n) => [`stopping ${n.name}`, () => n.stop()] as const),
      ["closing the proxy", () => proxy.close()],
      ["closing nats-server", () => nats.close()],
    ])
  }
}

await main()
