/**
 * A `validate` callback that never returns (the `host_abuse` fixture's integrity zome loops for
 * an `abuse {mode: "loop"}` entry): validation is bounded by the call's fuel and by its
 * wall-clock deadline, each named in the error; the commit fails and writes nothing; other cells
 * are served while it loops; and the looping cell serves its next call.
 *
 * @module
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict"
import { Effect } from "effect"
import { Chain } from "../../core/chain/mod.ts"
import type { RunningCell } from "../../core/cell/mod.ts"
import {
  callZome,
  callZomeError,
  disposeConductor,
  installApp,
  makeConductor,
  packed,
  type TestConductor,
} from "../support/conductor.ts"
import { step } from "../support/timeout.ts"

async function setup(config: string) {
  const conductor = makeConductor({ config })
  const abuse =
    (await installApp(conductor, await packed("tests/fixtures/happs/host_abuse"), "abuse"))[
      "host_abuse"
    ]!
  const noop =
    (await installApp(conductor, await packed("tests/fixtures/happs/noop"), "noop"))["noop"]!
  // The first call runs `init`, which commits; count the chain after it.
  await callZome(conductor, abuse, "host_abuse", "noop", null)
  return { conductor, abuse, noop }
}

const chainLength = (conductor: TestConductor, cell: RunningCell) =>
  conductor.runPromise(
    Effect.map(Effect.service(Chain), (chain) => chain.length(cell.dna.hash, cell.agent)),
  )

Deno.test("a looping validate callback runs out of fuel and the commit fails", async (t) => {
  const { conductor, abuse } = await setup(
    "log: {level: error}\nribosome: {fuel_per_call: 1000000000}\n",
  )
  try {
    await step(t, "the commit fails naming validation and the fuel limit", async () => {
      const before = await chainLength(conductor, abuse)
      const error = await callZomeError(conductor, abuse, "host_abuse", "create_abuse", "loop")
      assertEquals(error.reason, "InvalidCommit")
      assert(error.detail.includes("validate"), error.detail)
      assert(error.detail.includes("ran out of fuel"), error.detail)
      assert(error.detail.includes("1000000000"), error.detail)
      assertEquals(await chainLength(conductor, abuse), before)
    })
    await step(t, "the cell commits the next, valid entry", async () => {
      const before = await chainLength(conductor, abuse)
      const answer = await callZome(conductor, abuse, "host_abuse", "create_abuse", "ok")
      assert((answer as { ok?: unknown }).ok instanceof Uint8Array, JSON.stringify(answer))
      assertEquals(await chainLength(conductor, abuse), before + 1)
    })
  } finally {
    await disposeConductor(conductor)
  }
})

Deno.test("a looping validate callback stops at the deadline without stalling other cells", async () => {
  // Fuel enough for hours: only the wall-clock deadline can stop this validation.
  const { conductor, abuse, noop } = await setup(`log: {level: error}
ribosome:
  fuel_per_call: 100000000000000
  call_timeout_ms: 8000
`)
  try {
    const before = await chainLength(conductor, abuse)
    let looping = true
    const failed = callZomeError(conductor, abuse, "host_abuse", "create_abuse", "loop")
      .finally(() => looping = false)
    for (let i = 0; i < 20; i++) {
      assertEquals(await callZome(conductor, noop, "noop", "noop", { i }), { i })
    }
    assertEquals(looping, true, "the other cell's calls completed while validation still looped")
    const error = await failed
    assertEquals(error.reason, "InvalidCommit")
    assert(error.detail.includes("validate"), error.detail)
    assert(
      error.detail.includes("wall-clock deadline of 8000 ms (ribosome.call_timeout_ms)"),
      error.detail,
    )
    assertEquals(await chainLength(conductor, abuse), before)
    assertEquals(await callZome(conductor, noop, "noop", "noop", "after"), "after")
  } finally {
    await disposeConductor(conductor)
  }
})
