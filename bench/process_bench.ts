/**
 * Benchmarks of the conductor as a process:
 * - start to admin ready: from spawning `conductor run` to the first successful `GET /health`
 *   (median of several starts), from source and from the bundle `deno task compile` builds the
 *   single executable from; with the CPU time the process had used by then (all its threads,
 *   from `/proc`), and, started in turn with it, a bare `Deno.serve` answering `/health` as the
 *   baseline (the machine is shared: the ratio to it moves less than either). Further arguments
 *   name other bundles to start in turn as well (`startup BEFORE.js [OTHER.js …]`: before/after a
 *   change);
 * - resident memory with 10 forum apps installed, enabled and called.
 * Prints one JSON line per result; `bench/run.ts` collects them.
 *
 * @module
 */
// Benchmarks are command-line programs: their results go to stdout.
// deno-lint-ignore-file no-console
import { packed, ROOT } from "../tests/support/conductor.ts"
import { writeConfig } from "../tests/support/process.ts"

function emit(result: { name: string; value: number; unit: string; detail?: string }) {
  console.log(JSON.stringify(result))
}

function median(values: Array<number>): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 })
  const port = (listener.addr as Deno.NetAddr).port
  listener.close()
  return port
}

/** A bare Deno HTTP server answering `/health`: the floor under any start to ready. */
const BARE_SERVER =
  'Deno.serve({ hostname: "127.0.0.1", port: Number(Deno.args[0]), onListen() {} }, () => new Response("ok"))\n'

/** CPU time a process has used so far, in ms, summed over its threads (Linux; NaN elsewhere). */
function cpuMs(pid: number): number {
  try {
    let ns = 0
    for (const task of Deno.readDirSync(`/proc/${pid}/task`)) {
      ns += Number(Deno.readTextFileSync(`/proc/${pid}/task/${task.name}/schedstat`).split(" ")[0])
    }
    return ns / 1e6
  } catch {
    return NaN
  }
}

/**
 * Spawns a conductor (or, for the `.bare.js` baseline, the bare server) on a known port and
 * resolves once /health answers; returns wall ms and the CPU ms used by then.
 */
async function startOnce(
  entry: string,
  dir: string,
  extra = "",
): Promise<{ ms: number; cpu: number; child: Deno.ChildProcess; http: string }> {
  const port = freePort()
  const config = await writeConfig(dir, extra)
  await Deno.writeTextFile(
    config,
    (await Deno.readTextFile(config)).replace("  port: 0", `  port: ${port}`),
  )
  const http = `http://127.0.0.1:${port}`
  const bare = entry.endsWith(".bare.js")
  const start = performance.now()
  const child = new Deno.Command(Deno.execPath(), {
    // A bundle needs no deno.json; the source entry needs the repository's import map.
    args: [
      "run",
      "-A",
      entry.endsWith(".js") ? "--no-config" : `--config=${ROOT}deno.json`,
      entry,
      ...(bare ? [String(port)] : ["run", "--config", config]),
    ],
    cwd: dir,
    stdout: "null",
    stderr: "piped",
  }).spawn()
  let exited = false
  const status = child.status.then((s) => {
    exited = true
    return s
  })
  while (true) {
    const ok = await fetch(`${http}/health`).then(async (r) => {
      await r.body?.cancel()
      return r.ok
    }, () => false)
    if (ok) return { ms: performance.now() - start, cpu: cpuMs(child.pid), child, http }
    if (exited) {
      const stderr = new TextDecoder().decode(await new Response(child.stderr).arrayBuffer())
      throw new Error(
        `conductor exited with ${(await status).code} before it was ready:\n${stderr}`,
      )
    }
    await new Promise((resolve) => setTimeout(resolve, 1))
  }
}

/** Starts each entry in turn, `rounds` times; emits each one's medians and its ratio to the first. */
async function startup(entries: ReadonlyArray<{ label: string; entry: string }>, rounds = 9) {
  const samples = entries.map(() => ({ ms: [] as Array<number>, cpu: [] as Array<number> }))
  for (let i = 0; i < rounds; i++) {
    for (const [n, { entry }] of entries.entries()) {
      const dir = await Deno.makeTempDir()
      const { ms, cpu, child } = await startOnce(entry, dir)
      samples[n]!.ms.push(ms)
      samples[n]!.cpu.push(cpu)
      child.kill("SIGTERM")
      await child.status
      await Deno.remove(dir, { recursive: true })
    }
  }
  const floor = median(samples[0]!.ms)
  for (const [n, { label }] of entries.entries()) {
    const { ms, cpu } = samples[n]!
    emit({
      name: `start to admin ready (${label}), median`,
      value: median(ms),
      unit: "ms",
      detail: `${rounds} starts in turn with the others: ${
        ms.map((s) => s.toFixed(0)).join(", ")
      } ms; CPU by then ${median(cpu).toFixed(0)} ms; ${
        (median(ms) / floor).toFixed(2)
      }× the bare Deno.serve; spawn to first HTTP 200, empty data folder`,
    })
  }
}

/** How long `memory` leaves the loaded conductor alone before its second sample. */
const IDLE_MS = 20_000

async function memory(entry: string, extra: string) {
  const dir = await Deno.makeTempDir()
  const { child, http } = await startOnce(entry, dir, extra === "" ? "" : `${extra}\n`)
  const config = extra === "" ? "" : `; config ${extra}`
  const happ = (await packed("examples/forum")) as Uint8Array<ArrayBuffer>
  const rss = () => {
    const status = Deno.readTextFileSync(`/proc/${child.pid}/status`)
    return Number(status.match(/VmRSS:\s+(\d+)/)![1]) / 1024
  }
  const idle = rss()
  /** RSS, how much of it is file-backed (the `deno` binary's text) or anonymous, and V8's view. */
  const sample = async () => {
    const rollup = Deno.readTextFileSync(`/proc/${child.pid}/smaps_rollup`)
    const kb = (field: string) =>
      Number(rollup.match(new RegExp(`^${field}:\\s+(\\d+) kB`, "m"))?.[1] ?? NaN) / 1024
    const metrics = await (await fetch(`${http}/metrics`)).text()
    const gauge = (pattern: RegExp) => Number(metrics.match(pattern)?.[1] ?? NaN) / 2 ** 20
    const heapUsed = gauge(/^conductor_js_heap_bytes\{kind="used"\} (\d+)$/m)
    const heapTotal = gauge(/^conductor_js_heap_bytes\{kind="total"\} (\d+)$/m)
    const external = gauge(/^conductor_external_memory_bytes (\d+)$/m)
    const value = rss()
    return {
      rss: value,
      detail: `${kb("Anonymous").toFixed(0)} MB anonymous, ${
        (value - kb("Anonymous")).toFixed(0)
      } MB file-backed; JS heap ${heapUsed.toFixed(0)} MB used of ${
        heapTotal.toFixed(0)
      } MB reserved, external ${external.toFixed(0)} MB`,
    }
  }
  for (let i = 0; i < 10; i++) {
    const installed = await fetch(`${http}/api/apps?installed_app_id=forum${i}&enable=true`, {
      method: "POST",
      headers: { "content-type": "application/octet-stream" },
      body: happ,
    })
    if (installed.status !== 201) throw new Error(await installed.text())
    await installed.body?.cancel()
  }
  for (let round = 0; round < 20; round++) {
    for (let i = 0; i < 10; i++) {
      const post = await fetch(`${http}/api/apps/forum${i}/call/forum/forum/create_post`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ title: `post ${round}`, body: "x".repeat(500) }),
      })
      await post.body?.cancel()
      const list = await fetch(`${http}/api/apps/forum${i}/call/forum/forum/list_posts`, {
        method: "POST",
      })
      await list.body?.cancel()
    }
  }
  await new Promise((resolve) => setTimeout(resolve, 1500))
  const loaded = await sample()
  emit({
    name: "RSS with 10 apps installed, enabled and called",
    value: loaded.rss,
    unit: "MB",
    detail: `idle conductor ${
      idle.toFixed(0)
    } MB; ${loaded.detail}; 10 forum apps, 200 creates and 200 lists, 1.5 s after the last call${config}`,
  })
  // V8 shrinks its heap once allocation stays low for a while (its memory reducer, ~8 s).
  await new Promise((resolve) => setTimeout(resolve, IDLE_MS))
  const settled = await sample()
  emit({
    name: "RSS with 10 apps installed, enabled and called, then idle",
    value: settled.rss,
    unit: "MB",
    detail: `${settled.detail}; the same process ${
      IDLE_MS / 1000
    } s later, no requests between${config}`,
  })
  child.kill("SIGTERM")
  await child.status
  await Deno.remove(dir, { recursive: true })
}

if (import.meta.main) {
  // The bundle `deno task compile` embeds, built by the same task.
  const built = await new Deno.Command(Deno.execPath(), {
    args: ["task", "bundle"],
    cwd: ROOT,
    stdout: "null",
    stderr: "piped",
  }).output()
  if (built.code !== 0) throw new Error(new TextDecoder().decode(built.stderr))
  const bundle = `${ROOT}dist/main.js`
  const only = Deno.args[0]
  if (only === undefined || only === "startup") {
    const bare = `${await Deno.makeTempDir()}/server.bare.js`
    await Deno.writeTextFile(bare, BARE_SERVER)
    const others = Deno.args.slice(1)
    await startup([
      { label: "bare Deno.serve, the baseline", entry: bare },
      { label: "bundle, as the executable runs it", entry: bundle },
      ...others.map((other) => ({ label: `other bundle ${other}`, entry: other })),
      { label: "from source", entry: `${ROOT}main.ts` },
    ])
  }
  // `memory '<yaml>'`: extra conductor config for the memory part (e.g. `ribosome: {workers: 0}`).
  if (only === undefined || only === "memory") {
    await memory(bundle, only === "memory" ? Deno.args[1] ?? "" : "")
  }
}
