/**
 * What a long-running conductor keeps per cell stays bounded by the cells running now, however
 * many come and go (install, call, uninstall), and a cell that comes back (the same agent key
 * installed again after an uninstall) is treated as new. Counts, not memory.
 *
 * @module
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict"
import { Effect } from "effect"
import { Apps } from "../../core/app/mod.ts"
import { Cells, type RunningCell } from "../../core/cell/mod.ts"
import { Chain } from "../../core/chain/mod.ts"
import { ZomeCalls } from "../../core/workflow/zome_call.ts"
import { callZome, makeConductor, packed, type TestConductor } from "../support/conductor.ts"

async function install(
  conductor: TestConductor,
  happ: Uint8Array,
  appId: string,
  agentKey?: Uint8Array,
): Promise<RunningCell> {
  return await conductor.runPromise(Effect.gen(function* () {
    const apps = yield* Apps
    yield* apps.install({
      source: { type: "bytes", value: happ },
      installedAppId: appId,
      ...(agentKey === undefined ? {} : { agentKey: agentKey as RunningCell["agent"] }),
    })
    yield* apps.enable(appId)
    return (yield* Cells).byApp(appId)[0]!
  }))
}

const uninstall = (conductor: TestConductor, appId: string) =>
  conductor.runPromise(Effect.gen(function* () {
    yield* (yield* Apps).uninstall(appId, false)
  }))

Deno.test("ZomeCalls runs init again for an agent key installed again after an uninstall", async () => {
  const conductor = makeConductor({ config: "log: {level: error}\n" })
  try {
    const happ = await packed("examples/forum")
    const first = await install(conductor, happ, "first")
    await callZome(conductor, first, "forum", "list_posts", null)
    await uninstall(conductor, "first")
    // The uninstall deleted the chain; the same key starts a new one, which needs its init.
    const again = await install(conductor, happ, "again", first.agent)
    assertEquals(again.cellId, first.cellId)
    await callZome(conductor, again, "forum", "list_posts", null)
    const inits = await conductor.runPromise(Effect.gen(function* () {
      const chain = yield* Chain
      return yield* chain.query(again.dna.hash, again.agent, {
        actionTypes: ["init_zomes_complete"],
        includeEntries: false,
      })
    }))
    assertEquals(inits.length, 1)
  } finally {
    await conductor.dispose()
  }
})

Deno.test("ZomeCalls remembers initialized cells only while they run, however many come and go", async () => {
  const conductor = makeConductor({ config: "log: {level: error}\n" })
  try {
    const happ = await packed("examples/forum")
    const stays = await install(conductor, happ, "stays")
    await callZome(conductor, stays, "forum", "list_posts", null)
    const count = () =>
      conductor.runPromise(Effect.gen(function* () {
        return (yield* ZomeCalls).initializedCount()
      }))
    const peak: Array<number> = []
    for (let i = 0; i < 100; i++) {
      const cell = await install(conductor, happ, `churn${i}`)
      await callZome(conductor, cell, "forum", "list_posts", null)
      await uninstall(conductor, `churn${i}`)
      peak.push(await count())
    }
    // Two cells run at most at a time (stays and one churn cell): 2 * 2 + 64.
    assert(Math.max(...peak) <= 2 * 2 + 64, `up to ${Math.max(...peak)} cells remembered`)
    // The cell that stayed is still known: its next call does not look for init again.
    await callZome(conductor, stays, "forum", "list_posts", null)
  } finally {
    await conductor.dispose()
  }
})
