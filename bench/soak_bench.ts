/**
 * Soak benchmark: a real `conductor run` process under mixed load for a long time, with its
 * resident memory sampled as it goes. Its goal is flat RSS after warm-up, and nothing lost.
 *
 * The load, from the unmodified `@holochain/client` 0.21 over loopback, against two forum apps
 * (two agents): `workers` app clients in a loop, each connecting to the app websocket with a fresh
 * single-use token, listening for signals, making `creates_per_session` `create_post` calls (each
 * announced by a `post_created` signal from `post_commit`) and one `list_posts {limit: 20}`, then
 * disconnecting; beside them an admin client making `list_apps`, `list_app_interfaces`,
 * `list_cell_ids` and token requests, and now and then an admin connection opened and closed.
 *
 * Every `--interval` seconds it reads the conductor's VmRSS from `/proc/<pid>/status` and its JS
 * heap and external memory from `/metrics`, and prints a row of the curve (time, RSS, heap, counts
 * of operations so far). At the end it prints the RSS slope after warm-up (least squares over the
 * samples after `--warmup` minutes, in MiB per 10 minutes), checks that every acknowledged post is
 * listed (walking `list_posts` page by page) and that every post's signal arrived, and prints one
 * JSON line per result for `bench/run.ts`.
 *
 * Run: `deno run -A bench/soak_bench.ts [--minutes 30] [--interval 10] [--warmup 5]
 * [--workers 2] [--max-creates 500000] [--inspect] [--heap-diff [--heap-dir DIR]] [--forum examples/forum]`, or `deno task bench --only soak` (not in the default
 * set: it is long).
 *
 * @module
 */
// Benchmarks are command-line programs: their results go to stdout.
// deno-lint-ignore-file no-console
import {
  type AdminWebsocket,
  type AppWebsocket,
  type CellId,
  type Signal,
  type WsClient,
} from "@holochain/client"
import { parseArgs } from "node:util"
import { packHapp } from "./forum_bench.ts"
import { connectAdmin, connectApp, startConductor } from "../tests/e2e/support.ts"

/** Options of one soak run. */
export interface SoakOptions {
  /** How long the load runs. @default 30 */
  readonly minutes: number
  /** Seconds between samples. @default 10 */
  readonly interval: number
  /** Minutes left out of the slope. @default 5 (capped at half the run) */
  readonly warmup: number
  /** Concurrent app clients. @default 2 */
  readonly workers: number
  /**
   * The forum folder to install, relative to the repository root or absolute (an older forum
   * built elsewhere, to compare). @default "examples/forum"
   */
  readonly forum: string
  /** Stop creating after this many posts (bounds the run's work). @default 500,000 */
  readonly maxCreates: number
  /** `create_post` calls per app connection. @default 20 */
  readonly createsPerSession: number
  /**
   * Run the conductor under `--inspect` and force a full GC before every sample, so that the JS
   * heap figure is live data. @default false
   */
  readonly inspect: boolean
  /**
   * Also take heap snapshots at the end of warm-up (the load paused) and at the end, and print
   * what grew in between, by constructor. The snapshot itself costs the conductor memory (its
   * RSS jumps at that sample). Implies `inspect`. @default false
   */
  readonly heapDiff: boolean
  /** Where `heapDiff` saves its two snapshots (`warm.heapsnapshot`, `end.heapsnapshot`). */
  readonly heapDir?: string
}

/**
 * A client of the conductor's V8 inspector (`deno run --inspect`): forces a full garbage
 * collection before a sample, so that the JS heap figure is live data and not garbage yet to be
 * collected, and takes heap snapshots to see which kinds of object grow.
 */
class Inspector {
  #socket: WebSocket
  #next = 1
  #waiting = new Map<number, (result: unknown) => void>()
  #chunks: Array<string> | null = null

  private constructor(socket: WebSocket) {
    this.#socket = socket
    socket.onmessage = (event) => {
      const message = JSON.parse(event.data as string) as {
        id?: number
        method?: string
        params?: { chunk?: string }
        result?: unknown
      }
      if (message.method === "HeapProfiler.addHeapSnapshotChunk") {
        this.#chunks?.push(message.params?.chunk ?? "")
      } else if (message.id !== undefined) {
        this.#waiting.get(message.id)?.(message.result)
        this.#waiting.delete(message.id)
      }
    }
  }

  static async connect(url: string): Promise<Inspector> {
    const socket = new WebSocket(url)
    await withTimeout(
      "inspector connect",
      new Promise((resolve, reject) => {
        socket.onopen = resolve
        socket.onerror = reject
      }),
    )
    return new Inspector(socket)
  }

  send(method: string, params: Record<string, unknown> = {}, ms = REQUEST_TIMEOUT_MS) {
    const id = this.#next++
    const { promise, resolve } = Promise.withResolvers<unknown>()
    this.#waiting.set(id, resolve)
    this.#socket.send(JSON.stringify({ id, method, params }))
    return withTimeout(method, promise, ms)
  }

  collectGarbage() {
    return this.send("HeapProfiler.collectGarbage")
  }

  /** A heap snapshot, summarised: bytes and count of objects by kind and constructor name. */
  async heapSummary(saveAs?: string): Promise<Map<string, { count: number; bytes: number }>> {
    this.#chunks = []
    await this.send("HeapProfiler.takeHeapSnapshot", { reportProgress: false }, 300_000)
    const text = this.#chunks.join("")
    this.#chunks = null
    // Kept for a closer look (Chrome DevTools opens .heapsnapshot files).
    if (saveAs !== undefined) await Deno.writeTextFile(saveAs, text)
    const snapshot = JSON.parse(text) as {
      snapshot: { meta: { "node_fields": Array<string>; "node_types": [Array<string>] } }
      nodes: Array<number>
      strings: Array<string>
    }
    const fields = snapshot.snapshot.meta.node_fields
    const width = fields.length
    const typeAt = fields.indexOf("type")
    const nameAt = fields.indexOf("name")
    const sizeAt = fields.indexOf("self_size")
    const types = snapshot.snapshot.meta.node_types[0]
    const summary = new Map<string, { count: number; bytes: number }>()
    for (let i = 0; i < snapshot.nodes.length; i += width) {
      const type = types[snapshot.nodes[i + typeAt]!]!
      const name = type === "string" || type === "concatenated string" || type === "sliced string"
        ? "(strings)"
        : snapshot.strings[snapshot.nodes[i + nameAt]!]!.slice(0, 60)
      const key = `${type} ${name}`
      const entry = summary.get(key) ?? { count: 0, bytes: 0 }
      entry.count++
      entry.bytes += snapshot.nodes[i + sizeAt]!
      summary.set(key, entry)
    }
    return summary
  }

  close() {
    this.#socket.close()
  }
}

/** What grew between two heap summaries, largest growth first. */
function heapGrowth(
  before: Map<string, { count: number; bytes: number }>,
  after: Map<string, { count: number; bytes: number }>,
  top: number,
): Array<string> {
  return [...after]
    .map(([key, a]) => {
      const b = before.get(key) ?? { count: 0, bytes: 0 }
      return { key, count: a.count - b.count, bytes: a.bytes - b.bytes, total: a.count }
    })
    .sort((x, y) => y.bytes - x.bytes)
    .slice(0, top)
    .map((g) =>
      `${(g.bytes / 1024).toFixed(0).padStart(8)} KiB ${
        String(g.count).padStart(8)
      } objects (${g.total} now)  ${g.key}`
    )
}

/** One row of the curve. */
interface Sample {
  readonly seconds: number
  readonly rssMiB: number
  readonly heapUsedMiB: number
  readonly heapTotalMiB: number
  readonly externalMiB: number
  readonly creates: number
  readonly lists: number
  readonly signals: number
  readonly sessions: number
  readonly admin: number
}

const APPS = ["soak-a", "soak-b"] as const
const ROLE = "forum"
/** Longest a single request may take before the run is declared stuck. */
const REQUEST_TIMEOUT_MS = 30_000
/** Longest the end-of-run checks wait for the last signals. */
const SIGNAL_WAIT_MS = 30_000

function withTimeout<T>(what: string, promise: Promise<T>, ms = REQUEST_TIMEOUT_MS): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took more than ${ms} ms`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

const hex = (bytes: Uint8Array) =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")

/** Least-squares slope of y over x. */
export function slope(points: ReadonlyArray<readonly [number, number]>): number {
  const n = points.length
  if (n < 2) return NaN
  const mx = points.reduce((s, [x]) => s + x, 0) / n
  const my = points.reduce((s, [, y]) => s + y, 0) / n
  let num = 0
  let den = 0
  for (const [x, y] of points) {
    num += (x - mx) * (y - my)
    den += (x - mx) ** 2
  }
  return den === 0 ? NaN : num / den
}

async function metricsOf(httpPort: number) {
  const text = await withTimeout(
    "GET /metrics",
    fetch(`http://127.0.0.1:${httpPort}/metrics`).then((r) => r.text()),
  )
  const gauge = (pattern: RegExp) => Number(pattern.exec(text)?.[1] ?? NaN) / 2 ** 20
  return {
    heapUsedMiB: gauge(/^conductor_js_heap_bytes\{kind="used"\} (\d+)$/m),
    heapTotalMiB: gauge(/^conductor_js_heap_bytes\{kind="total"\} (\d+)$/m),
    externalMiB: gauge(/^conductor_external_memory_bytes (\d+)$/m),
  }
}

/** Runs the soak; returns the curve and the verdicts. */
export async function soak(options: SoakOptions) {
  const conductor = await startConductor({
    adminOrigins: "soak-admin",
    ...(options.inspect || options.heapDiff ? { denoFlags: ["--inspect=127.0.0.1:0"] } : {}),
  })
  let inspector: Inspector | null = null
  if (options.inspect || options.heapDiff) {
    const url = /Debugger listening on (ws:\/\/\S+)/.exec(conductor.output())?.[1]
    if (url === undefined) throw new Error("the conductor printed no inspector address")
    inspector = await Inspector.connect(url)
  }
  const heaps: Array<Map<string, { count: number; bytes: number }>> = []
  const snapshotPath = (name: string) =>
    options.heapDir === undefined ? undefined : `${options.heapDir}/${name}.heapsnapshot`
  const counts = { creates: 0, lists: 0, signals: 0, sessionSignals: 0, sessions: 0, admin: 0 }
  const acknowledged = new Map<string, Set<string>>(APPS.map((a) => [a, new Set<string>()]))
  const signalled = new Map<string, Set<string>>(APPS.map((a) => [a, new Set<string>()]))
  const samples: Array<Sample> = []
  const started = performance.now()
  const deadline = started + options.minutes * 60_000
  const running = () => performance.now() < deadline && counts.creates < options.maxCreates
  let admin: AdminWebsocket | null = null
  try {
    admin = await connectAdmin(conductor.adminPort, "soak-admin")
    const happ = await packHapp(options.forum)
    const cells = new Map<string, CellId>()
    for (const appId of APPS) {
      const info = await admin.installApp({
        source: { type: "bytes", value: happ },
        agent_key: await admin.generateAgentPubKey(),
        installed_app_id: appId,
      })
      await admin.enableApp({ installed_app_id: appId })
      const cell = info.cell_info[ROLE]?.[0]
      if (cell?.type !== "provisioned") throw new Error(`${appId} has no provisioned cell`)
      cells.set(appId, cell.value.cell_id)
      await admin.authorizeSigningCredentials(cell.value.cell_id)
    }
    const appPort = (await admin.attachAppInterface({ allowed_origins: "e2e-app" })).port
    const adminClient = admin

    const open = async (appId: string): Promise<AppWebsocket> => {
      const { token } = await withTimeout(
        "issue_app_authentication_token",
        adminClient.issueAppAuthenticationToken({ installed_app_id: appId }),
      )
      return await withTimeout("app connect", connectApp(appPort, token))
    }
    const call = <T>(app: AppWebsocket, fn: string, payload: unknown) =>
      withTimeout(
        fn,
        app.callZome({ role_name: ROLE, zome_name: "forum", fn_name: fn, payload }),
      ) as Promise<T>

    // One connection per app open for the whole run, counting every post's signal.
    const listeners: Array<AppWebsocket> = []
    for (const appId of APPS) {
      const listener = await open(appId)
      const heard = signalled.get(appId)!
      listener.on("signal", (signal: Signal) => {
        if (signal.type !== "app") return
        const payload = signal.value.payload as { type?: string; hash?: Uint8Array }
        if (payload.type === "post_created" && payload.hash instanceof Uint8Array) {
          heard.add(hex(payload.hash))
          counts.signals++
        }
      })
      listeners.push(listener)
    }

    // The load pauses while a heap snapshot is taken (it stops the conductor for seconds): each
    // loop waits at its checkpoint, and the snapshot starts once none is busy.
    let paused: PromiseWithResolvers<void> | null = null
    let busy = 0
    const checkpoint = async () => {
      if (paused === null) return
      busy--
      await paused.promise
      busy++
    }
    const pausedDo = async <T>(f: () => Promise<T>): Promise<T> => {
      paused = Promise.withResolvers()
      try {
        while (busy > 0) await new Promise((resolve) => setTimeout(resolve, 20))
        return await f()
      } finally {
        paused.resolve()
        paused = null
      }
    }
    const looping = async (loop: () => Promise<void>) => {
      busy++
      try {
        await loop()
      } finally {
        busy--
      }
    }

    const worker = async (index: number) => {
      const appId = APPS[index % APPS.length]!
      const mine = acknowledged.get(appId)!
      let n = 0
      while (running()) {
        await checkpoint()
        const app = await open(appId)
        counts.sessions++
        // Each session listens too (a signal subscription made and dropped per connection);
        // the long-lived listeners below are the ones that account for every post.
        let sessionSignals = 0
        const stop = app.on("signal", (signal: Signal) => {
          if (signal.type === "app") sessionSignals++
        })
        try {
          for (let i = 0; i < options.createsPerSession && running(); i++) {
            const hash = await call<Uint8Array>(app, "create_post", {
              title: `soak ${index}.${n++}`,
              body: "x".repeat(200 + (n % 7) * 100),
            })
            mine.add(hex(hash))
            counts.creates++
          }
          const page = await call<Array<unknown>>(app, "list_posts", { limit: 20 })
          if (page.length === 0 && mine.size > 0) throw new Error("list_posts returned nothing")
          counts.lists++
        } finally {
          counts.sessionSignals += sessionSignals
          stop()
          await (app.client as WsClient).close()
        }
      }
    }

    const adminLoop = async () => {
      let round = 0
      while (running()) {
        await checkpoint()
        round++
        await withTimeout("list_apps", adminClient.listApps({}))
        await withTimeout("list_app_interfaces", adminClient.listAppInterfaces())
        await withTimeout("list_cell_ids", adminClient.listCellIds())
        // A token that is issued and never used: the conductor must let it expire.
        await withTimeout(
          "issue_app_authentication_token",
          adminClient.issueAppAuthenticationToken({ installed_app_id: APPS[0], expiry_seconds: 1 }),
        )
        counts.admin += 4
        if (round % 20 === 0) {
          // A second admin connection, opened and closed.
          const other = await withTimeout(
            "admin connect",
            connectAdmin(conductor.adminPort, "soak-admin"),
          )
          await withTimeout("list_apps", other.listApps({}))
          await other.client.close()
          counts.admin++
        }
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    }

    const sampler = async () => {
      console.error(
        "   time    RSS MiB  heap used/total MiB  external MiB   creates    lists  signals  sessions  admin",
      )
      const warmupEnd = started + Math.min(options.warmup, options.minutes / 2) * 60_000
      while (true) {
        if (inspector !== null) {
          await inspector.collectGarbage()
          if (options.heapDiff && heaps.length === 0 && performance.now() >= warmupEnd) {
            const summary = await pausedDo(() => inspector!.heapSummary(snapshotPath("warm")))
            heaps.push(summary)
          }
        }
        const memory = await metricsOf(conductor.ready.http_port)
        const sample: Sample = {
          seconds: (performance.now() - started) / 1000,
          rssMiB: conductor.rssKiB() / 1024,
          ...memory,
          ...counts,
        }
        samples.push(sample)
        console.error(
          [
            `${(sample.seconds / 60).toFixed(1).padStart(6)}m`,
            sample.rssMiB.toFixed(1).padStart(10),
            `${sample.heapUsedMiB.toFixed(1)}/${sample.heapTotalMiB.toFixed(1)}`.padStart(20),
            sample.externalMiB.toFixed(1).padStart(13),
            String(sample.creates).padStart(9),
            String(sample.lists).padStart(8),
            String(sample.signals).padStart(8),
            String(sample.sessions).padStart(9),
            String(sample.admin).padStart(6),
          ].join(" "),
        )
        if (!running()) return
        const wait = Math.min(options.interval * 1000, Math.max(0, deadline - performance.now()))
        await new Promise((resolve) => setTimeout(resolve, wait))
      }
    }

    await Promise.all([
      ...Array.from({ length: options.workers }, (_, i) => looping(() => worker(i))),
      looping(adminLoop),
      sampler(),
    ])

    // Everything acknowledged is there: walk the list page by page, newest first, as each agent
    // (both apps run the same DNA, so each sees every post).
    const missing: Array<string> = []
    let listed = 0
    for (const appId of APPS) {
      const app = await open(appId)
      try {
        const seen = new Set<string>()
        let cursor: unknown = null
        for (let pages = 0; pages < 1_000_000; pages++) {
          const page = await call<{ posts: Array<{ hash: Uint8Array }>; next: unknown }>(
            app,
            "list_posts_page",
            cursor === null ? { limit: 500 } : { limit: 500, cursor },
          ).catch(async (error) => {
            // A forum from before list_posts_page (`--forum`): one list of everything.
            if (!String(error).includes("no callable function list_posts_page")) throw error
            const posts = await call<Array<{ hash: Uint8Array }>>(app, "list_posts", null)
            return { posts, next: null }
          })
          for (const post of page.posts) seen.add(hex(post.hash))
          if (page.next === null) break
          cursor = page.next
        }
        listed = Math.max(listed, seen.size)
        for (const mine of acknowledged.values()) {
          for (const hash of mine) if (!seen.has(hash)) missing.push(`${appId} misses ${hash}`)
        }
      } finally {
        await (app.client as WsClient).close()
      }
    }
    // Every post's signal reached the app's listener (post_commit runs after the call returns,
    // so the last ones get a bounded wait).
    const signalWaitEnd = performance.now() + SIGNAL_WAIT_MS
    const unsignalled = () =>
      APPS.reduce((sum, appId) => {
        const heard = signalled.get(appId)!
        let n = 0
        for (const hash of acknowledged.get(appId)!) if (!heard.has(hash)) n++
        return sum + n
      }, 0)
    while (unsignalled() > 0 && performance.now() < signalWaitEnd) {
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    for (const listener of listeners) await (listener.client as WsClient).close()
    let growth: Array<string> = []
    if (inspector !== null && heaps.length === 1) {
      await inspector.collectGarbage()
      growth = heapGrowth(heaps[0]!, await inspector.heapSummary(snapshotPath("end")), 25)
    }
    return { samples, counts, listed, missing, unsignalled: unsignalled(), growth }
  } finally {
    inspector?.close()
    await admin?.client.close()
    const code = await conductor.stop()
    if (code !== 0) console.error(`conductor exited with ${code}:\n${conductor.output()}`)
    await Deno.remove(conductor.dir, { recursive: true })
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      minutes: { type: "string", default: "30" },
      interval: { type: "string", default: "10" },
      warmup: { type: "string", default: "5" },
      workers: { type: "string", default: "2" },
      "max-creates": { type: "string", default: "500000" },
      "creates-per-session": { type: "string", default: "20" },
      inspect: { type: "boolean", default: false },
      forum: { type: "string", default: "examples/forum" },
      "heap-diff": { type: "boolean", default: false },
      "heap-dir": { type: "string" },
    },
  })
  type Numeric = Exclude<keyof typeof values, "inspect" | "heap-diff" | "heap-dir" | "forum">
  const number = (name: Numeric, min: number, max: number) => {
    const value = Number(values[name])
    if (!Number.isFinite(value) || value < min || value > max) {
      console.error(`--${name} must be a number from ${min} to ${max}, got ${values[name]}`)
      Deno.exit(2)
    }
    return value
  }
  const options: SoakOptions = {
    minutes: number("minutes", 0.1, 24 * 60),
    interval: number("interval", 1, 600),
    warmup: number("warmup", 0, 24 * 60),
    workers: number("workers", 1, 16),
    maxCreates: number("max-creates", 1, 10_000_000),
    createsPerSession: number("creates-per-session", 1, 10_000),
    inspect: values.inspect,
    forum: values.forum,
    heapDiff: values["heap-diff"],
    ...(values["heap-dir"] === undefined ? {} : { heapDir: values["heap-dir"] }),
  }
  const result = await soak(options)
  const warmup = Math.min(options.warmup, options.minutes / 2) * 60
  const after = result.samples.filter((s) => s.seconds >= warmup)
  const rssSlope = slope(after.map((s) => [s.seconds / 600, s.rssMiB] as const))
  const heapSlope = slope(after.map((s) => [s.seconds / 600, s.heapUsedMiB] as const))
  const first = after[0]
  const last = result.samples.at(-1)
  const run =
    `${options.minutes} min, ${options.workers} app clients, ${result.counts.creates} creates, ${result.counts.lists} lists, ${result.counts.sessions} app connections, ${result.counts.admin} admin requests`
  console.error(
    `RSS after ${(warmup / 60).toFixed(1)} min warm-up: ${first?.rssMiB.toFixed(1)} → ${
      last?.rssMiB.toFixed(1)
    } MiB, slope ${rssSlope.toFixed(2)} MiB per 10 min (JS heap used ${
      heapSlope.toFixed(2)
    } MiB per 10 min)`,
  )
  console.error(
    `posts acknowledged ${result.counts.creates}, listed ${result.listed}, missing ${result.missing.length}, without their signal ${result.unsignalled}`,
  )
  if (result.growth.length > 0) {
    console.error("JS heap growth from the end of warm-up to the end (after a full GC):")
    for (const line of result.growth) console.error(line)
  }
  const emit = (name: string, value: number, unit: string, detail: string) =>
    console.log(JSON.stringify({ name, value, unit, detail }))
  emit("soak: RSS slope after warm-up", rssSlope, "MiB/10 min", run)
  emit(
    "soak: RSS at the end",
    last?.rssMiB ?? NaN,
    "MiB",
    `${first?.rssMiB.toFixed(0)} MiB after warm-up; JS heap used ${
      last?.heapUsedMiB.toFixed(0)
    } of ${last?.heapTotalMiB.toFixed(0)} MiB`,
  )
  emit(
    "soak: acknowledged posts missing from the list",
    result.missing.length,
    "posts",
    `${result.counts.creates} acknowledged, ${result.listed} listed; ${result.unsignalled} without their signal`,
  )
  if (result.missing.length > 0) Deno.exit(1)
}
