/**
 * Benchmarks of the Conductor API over websockets, with the unmodified `@holochain/client` 0.21
 * as the driver against a `conductor run` subprocess (default config: `synchronous = normal`):
 * - a bare websocket echo (a Deno server in its own process answering each request envelope
 *   with a response carrying the same bytes, through the same client library), the baseline;
 * - a trivial signed zome call (`noop`) round trip: p50, p99 and sequential calls per second,
 *   and its p50 as a ratio to the echo's;
 * - create entry (`host_fns/call_create`, validated and committed) as the client sees it;
 * - 10,000 signals emitted by one call: time from the call until the last signal arrived.
 * Each figure is the median over several runs. Prints one JSON line per result (as the other
 * benchmarks, for `bench/run.ts`) and a table on stderr.
 *
 * Run: `deno run -A bench/websocket_bench.ts [--runs N]`.
 *
 * @module
 */
// deno-lint-ignore-file no-console
import { type AppWebsocket, type Signal, WsClient } from "@holochain/client"
import { decode, encode } from "@msgpack/msgpack"
import { connectAdmin, installEnabled, openApp, startConductor } from "../tests/e2e/support.ts"

/** One measurement. */
export interface Result {
  readonly name: string
  readonly value: number
  readonly unit: string
  readonly detail?: string
}

const ECHO_FLAG = "--echo-server"

/** The baseline server: the envelope and nothing else. */
function echoServer(): void {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
    const { socket, response } = Deno.upgradeWebSocket(request)
    socket.binaryType = "arraybuffer"
    socket.onmessage = (event) => {
      const message = decode(new Uint8Array(event.data as ArrayBuffer)) as {
        id: number
        data: Uint8Array
      }
      socket.send(encode({ type: "response", id: message.id, data: message.data }))
    }
    return response
  })
  console.log(`echo ready ${server.addr.port}`)
}

function quantile(sorted: ReadonlyArray<number>, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!
}

function median(values: ReadonlyArray<number>): number {
  return quantile([...values].sort((a, b) => a - b), 0.5)
}

/** Times `count` sequential runs of `f` after `warmup` untimed ones; milliseconds. */
async function sample(count: number, warmup: number, f: (i: number) => Promise<unknown>) {
  for (let i = 0; i < warmup; i++) await f(i)
  const samples: Array<number> = []
  const begin = performance.now()
  for (let i = 0; i < count; i++) {
    const start = performance.now()
    await f(warmup + i)
    samples.push(performance.now() - start)
  }
  const total = performance.now() - begin
  samples.sort((a, b) => a - b)
  return {
    p50: quantile(samples, 0.5),
    p99: quantile(samples, 0.99),
    perSecond: count / (total / 1000),
  }
}

async function startEcho(): Promise<{ port: number; stop: () => Promise<void> }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(import.meta.url).pathname, ECHO_FLAG],
    stdout: "piped",
    stderr: "inherit",
  }).spawn()
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader()
  let text = ""
  while (!/echo ready (\d+)/.test(text)) {
    const { value, done } = await reader.read()
    if (done) throw new Error("the echo server exited")
    text += value
  }
  reader.releaseLock()
  return {
    port: Number(/echo ready (\d+)/.exec(text)![1]),
    stop: async () => {
      child.kill("SIGTERM")
      await child.status
      await child.stdout.cancel().catch(() => {})
    },
  }
}

async function signalBurst(app: AppWebsocket, n: number): Promise<number> {
  const { promise, resolve } = Promise.withResolvers<number>()
  let count = 0
  const stop = app.on("signal", (signal: Signal) => {
    if (signal.type === "app" && ++count === n) resolve(performance.now())
  })
  const start = performance.now()
  await app.callZome({
    role_name: "main",
    zome_name: "emit_many",
    fn_name: "emit_many",
    payload: n,
  })
  const end = await promise
  stop()
  return end - start
}

async function main(runs: number): Promise<ReadonlyArray<Result>> {
  const echo = await startEcho()
  const conductor = await startConductor({ adminOrigins: "bench" })
  const admin = await connectAdmin(conductor.adminPort, "bench")
  const cellId = await installEnabled(admin, "bench")
  const appPort = (await admin.attachAppInterface({ allowed_origins: "e2e-app" })).port
  const app = await openApp(admin, appPort, "bench")
  await admin.authorizeSigningCredentials(cellId)
  const echoClient = await WsClient.connect(new URL(`ws://127.0.0.1:${echo.port}`), {
    origin: "bench",
  })

  const echoes: Array<number> = []
  const calls: Array<{ p50: number; p99: number; perSecond: number }> = []
  const creates: Array<{ p50: number; p99: number }> = []
  const bursts: Array<number> = []
  for (let run = 0; run < runs; run++) {
    // The echo and the call alternate so that both see the same machine state.
    const e = await sample(3000, 500, () => echoClient.request({ type: "echo", value: null }))
    echoes.push(e.p50)
    calls.push(
      await sample(
        3000,
        500,
        () =>
          app.callZome({ role_name: "main", zome_name: "noop", fn_name: "noop", payload: null }),
      ),
    )
    creates.push(
      await sample(500, 50, (i) =>
        app.callZome({
          role_name: "main",
          zome_name: "host_fns",
          fn_name: "call_create",
          payload: { "entry_type": "thing", entry: { value: run * 1000 + i } },
        })),
    )
    bursts.push(await signalBurst(app, 10_000))
  }
  await echoClient.close()
  await (app.client as WsClient).close()
  await admin.client.close()
  await conductor.stop()
  await echo.stop()

  const echoP50 = median(echoes)
  const callP50 = median(calls.map((c) => c.p50))
  const detail = `median of ${runs} runs`
  return [
    { name: "bare websocket echo round trip, p50", value: echoP50 * 1000, unit: "µs", detail },
    {
      name: "trivial zome call over the app websocket, p50",
      value: callP50 * 1000,
      unit: "µs",
      detail: `${detail}; ${(callP50 / echoP50).toFixed(2)}x the echo`,
    },
    {
      name: "trivial zome call over the app websocket, p99",
      value: median(calls.map((c) => c.p99)) * 1000,
      unit: "µs",
      detail,
    },
    {
      name: "trivial zome calls per second, sequential, one client",
      value: median(calls.map((c) => c.perSecond)),
      unit: "calls/s",
      detail,
    },
    {
      name: "create entry as the client sees it, p50",
      value: median(creates.map((c) => c.p50)) * 1000,
      unit: "µs",
      detail: `${detail}; p99 ${(median(creates.map((c) => c.p99)) * 1000).toFixed(0)} µs`,
    },
    {
      name: "10,000 signals from one call, all delivered",
      value: median(bursts),
      unit: "ms",
      detail,
    },
  ]
}

if (import.meta.main) {
  if (Deno.args.includes(ECHO_FLAG)) {
    echoServer()
  } else {
    const runsAt = Deno.args.indexOf("--runs")
    const runs = runsAt >= 0 ? Number(Deno.args[runsAt + 1]) : 5
    const results = await main(runs)
    for (const result of results) console.log(JSON.stringify(result))
    const width = Math.max(...results.map((r) => r.name.length))
    console.error(
      `\nwebsocket benchmark (${Deno.build.os} ${Deno.build.arch}, ${navigator.hardwareConcurrency} cores, Deno ${Deno.version.deno})`,
    )
    for (const r of results) {
      console.error(
        `  ${r.name.padEnd(width)}  ${r.value.toFixed(r.value < 10 ? 2 : 0).padStart(8)} ${
          r.unit.padEnd(7)
        } ${r.detail ?? ""}`,
      )
    }
    Deno.exit(0)
  }
}
