import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict"
import { Effect, Metric } from "effect"
import { prometheusText, zomeCalls, zomeCallSeconds } from "./mod.ts"

Deno.test("prometheusText renders labelled counters and cumulative histogram buckets", async () => {
  const text = await Effect.gen(function* () {
    yield* Metric.update(zomeCalls({ cell: "c1", zome: "z", fn: "f", outcome: "ok" }), 2)
    const latency = zomeCallSeconds({ cell: "c1" })
    yield* Metric.update(latency, 0.00003)
    yield* Metric.update(latency, 0.003)
    yield* Metric.update(latency, 30)
    return yield* prometheusText
  }).pipe(Effect.provideService(Metric.MetricRegistry, new Map()), Effect.runPromise)
  assert(text.includes("# TYPE conductor_zome_calls_total counter"))
  assert(text.includes('conductor_zome_calls_total{cell="c1",zome="z",fn="f",outcome="ok"} 2'))
  const bucket = (le: string) =>
    Number(
      text.split("\n").find((l) =>
        l.startsWith(`conductor_zome_call_duration_seconds_bucket{cell="c1",le="${le}"}`)
      )?.split(" ")[1],
    )
  assertEquals(bucket("0.00005"), 1)
  assertEquals(bucket("0.005"), 2)
  assertEquals(bucket("10"), 2)
  assertEquals(bucket("+Inf"), 3)
  assert(text.includes('conductor_zome_call_duration_seconds_count{cell="c1"} 3'))
})
