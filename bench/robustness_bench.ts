/**
 * Memory of a `conductor run` subprocess under repeated websocket abuse (tests/ws/abuse.ts: random
 * and truncated frames, an oversized message, 2,000 connections opened and dropped, a consumer that
 * never reads while 200,000 signals go out). The conductor runs with a capped old generation
 * (`--max-old-space-size=160`), so V8 collects instead of growing lazily and a JS leak would end
 * in an out-of-memory exit; resident memory then reflects what is live. The first round warms the
 * conductor up (heap sizing, wasm and kernel memories), so growth is measured between the end of
 * round 1 and the end of round 2, each read once the ping timers of the dropped connections have
 * expired.
 * This was an assertion of tests/ws/robustness_test.ts; a test has no memory thresholds, so it is
 * measured here. Prints one JSON line per result, as the other benchmarks.
 *
 * Run: `deno run -A bench/robustness_bench.ts`.
 *
 * @module
 */
// deno-lint-ignore-file no-console
import { PING_INTERVAL_SECONDS } from "../core/wire/mod.ts"
import {
  APP_ORIGIN,
  closeClient,
  connectAdmin,
  installEnabled,
  openApp,
  startConductor,
} from "../tests/e2e/support.ts"
import { DEFAULT_SEED } from "../tests/support/random.ts"
import { abuseRound } from "../tests/ws/abuse.ts"

const conductor = await startConductor({ v8Flags: "--max-old-space-size=160" })
const admin = await connectAdmin(conductor.adminPort)
const cellId = await installEnabled(admin, "robust")
const appPort = (await admin.attachAppInterface({ allowed_origins: APP_ORIGIN })).port
await admin.authorizeSigningCredentials(cellId)
const app = await openApp(admin, appPort, "robust")
const target = { adminPort: conductor.adminPort, appPort, admin, app, appId: "robust" }

const mib = (kib: number) => Math.round(kib / 102.4) / 10
/**
 * RSS once the sockets of dropped connections are released: Deno keeps each one referenced from
 * its ping timer for up to two ping intervals. (A benchmark may wait out a timer; a test may not.)
 */
async function settledRss(): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, (2 * PING_INTERVAL_SECONDS + 1) * 1000))
  return conductor.rssKiB()
}

const fresh = conductor.rssKiB()
await abuseRound({ ...target, seed: DEFAULT_SEED + 1 })
const first = await settledRss()
await abuseRound({ ...target, seed: DEFAULT_SEED + 2 })
const second = await settledRss()
await closeClient(app)
await closeClient(admin)
const code = await conductor.stop()
if (code !== 0) throw new Error(`the conductor exited with ${code}:\n${conductor.output()}`)

const detail = `RSS before ${mib(fresh)} MiB, after round 1 ${mib(first)}, after round 2 ${
  mib(second)
}; heap capped at 160 MiB`
for (
  const result of [
    { name: "conductor RSS growth between two websocket abuse rounds", value: mib(second - first) },
    { name: "conductor RSS after two websocket abuse rounds", value: mib(second) },
  ]
) console.log(JSON.stringify({ ...result, unit: "MiB", detail }))
