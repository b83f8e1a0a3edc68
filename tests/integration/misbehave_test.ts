/**
 * Zomes that trap, loop forever, allocate without bound, flood the kernel, answer garbage or
 * abuse host functions: each call fails with a clear error within its configured budget, the
 * instance is replaced, and the conductor keeps serving other cells (and the same one).
 *
 * @module
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict"
import { Effect } from "effect"
import { Chain } from "../../core/chain/mod.ts"
import { decode } from "../../core/codec/mod.ts"
import { TaskManager } from "../../core/task/mod.ts"
import {
  callZome,
  callZomeError,
  collectSignals,
  disposeConductor,
  installApp,
  makeConductor,
  packed,
} from "../support/conductor.ts"
import { step, STEP_TIMEOUT_MS, withTimeout } from "../support/timeout.ts"

const CONFIG = `
log: {level: error}
ribosome:
  fuel_per_call: 1000000000
  max_memory_mb: 32
  max_kernel_mb: 16
`

Deno.test("misbehaving zomes lose only their own call", async (t) => {
  const conductor = makeConductor({ config: CONFIG })
  const bad =
    (await installApp(conductor, await packed("tests/fixtures/happs/misbehave"), "misbehave"))[
      "misbehave"
    ]!
  const good =
    (await installApp(conductor, await packed("tests/fixtures/happs/noop"), "noop"))["noop"]!
  const healthy = async () =>
    assertEquals(await callZome(conductor, good, "noop", "noop", { still: "here" }), {
      still: "here",
    })

  await step(t, "traps fail with the trap's message, then the zome serves again", async () => {
    const unreachable = await callZomeError(conductor, bad, "trap", "trap")
    assertEquals(unreachable.reason, "Trap")
    assert(unreachable.detail.includes("trap/trap trapped"), unreachable.detail)
    const panic = await callZomeError(conductor, bad, "trap", "panic_message")
    assert(panic.detail.includes("deliberate panic"), panic.detail)
    const asserted = await callZomeError(conductor, bad, "trap", "assert_fails")
    assert(asserted.detail.includes("assert failed on purpose"), asserted.detail)
    for (const fn of ["out_of_bounds", "divide_by_zero"]) {
      assertEquals((await callZomeError(conductor, bad, "trap", fn)).reason, "Trap")
    }
    assertEquals(await callZome(conductor, bad, "trap", "still_alive"), "alive")
    await healthy()
  })

  await step(
    t,
    "an infinite loop runs out of fuel; so does one that spins on host calls",
    async () => {
      for (const fn of ["spin", "spin_host"]) {
        // Bounded so that a hang fails here, naming the function; the budget must end it.
        const error = await withTimeout(
          callZomeError(conductor, bad, "spin", fn),
          STEP_TIMEOUT_MS,
          `spin.${fn} running out of fuel`,
        )
        assertEquals(error.reason, "Trap")
        assert(
          error.detail.includes("budget of 1000000000 units (ribosome.fuel_per_call)"),
          error.detail,
        )
      }
      const recursion = await callZomeError(conductor, bad, "spin", "recurse")
      assert(
        recursion.detail.includes("overflowed the call stack") ||
          recursion.detail.includes("ran out of fuel"),
        recursion.detail,
      )
      await healthy()
    },
  )

  await step(t, "unbounded allocation stops at the memory cap", async () => {
    const error = await callZomeError(conductor, bad, "grow", "grow")
    assertEquals(error.reason, "Trap")
    const pages = await callZome(conductor, bad, "grow", "grow_pages") as number
    assert(pages <= 32 * 16, `grew to ${pages} pages past the 32 MiB cap`)
    await healthy()
  })

  await step(t, "a kernel allocation flood stops at the kernel budget", async () => {
    const error = await callZomeError(conductor, bad, "kernel_flood", "flood")
    assertEquals(error.reason, "Trap")
    assert(error.detail.includes("kernel memory"), error.detail)
    const huge = await callZomeError(conductor, bad, "kernel_flood", "huge_output", 32)
    assertEquals(huge.reason, "Trap")
    assertEquals(
      (await callZome(conductor, bad, "kernel_flood", "huge_output", 1) as Uint8Array).length,
      1 << 20,
    )
    await healthy()
  })

  await step(t, "output that is not exactly one msgpack value is refused", async () => {
    for (
      const fn of ["not_msgpack", "trailing", "truncated", "empty", "no_output", "huge_header"]
    ) {
      const error = await callZomeError(conductor, bad, "bad_output", fn)
      assertEquals(error.reason, "GuestError", fn)
      assert(error.detail.includes("not one msgpack value"), `${fn}: ${error.detail}`)
    }
    await healthy()
  })

  await disposeConductor(conductor)
})

Deno.test("host functions refuse abuse with the right error kinds", async (t) => {
  // Default memory: the 5 MiB entry must reach the host's limit, not the guest's memory cap.
  const conductor = makeConductor({
    config: "log: {level: error}\nribosome: {fuel_per_call: 1000000000}\n",
  })
  const cell =
    (await installApp(conductor, await packed("tests/fixtures/happs/host_abuse"), "abuse"))[
      "host_abuse"
    ]!
  const call = (fn: string, payload: unknown = null) =>
    callZome(conductor, cell, "host_abuse", fn, payload)
  const kind = (answer: unknown) => (answer as { err?: { kind: string } }).err?.kind

  await step(t, "limits and malformed input", async () => {
    assertEquals(kind(await call("random_too_big")), "limit")
    assertEquals(kind(await call("garbage_input")), "invalid_input")
    assertEquals(kind(await call("huge_header_input")), "invalid_input")
    assertEquals(kind(await call("wrong_shape")), "not_found")
    assertEquals(kind(await call("bad_offset")), "invalid_input")
    assertEquals(kind(await call("huge_entry")), "limit")
    assertEquals(kind(await call("huge_tag")), "limit")
    assertEquals(kind(await call("sign_other_key")), "unauthorized")
    assertEquals(kind(await call("unknown_entry_type")), "not_found")
    assertEquals(kind(await call("huge_signal")), "limit")
    assertEquals(kind(await call("bad_trace_level")), "invalid_input")
    assertEquals((await call("huge_trace") as { ok: unknown }).ok, null)
  })

  await step(t, "endless call_1 recursion is bounded", async () => {
    // The innermost call is refused; every level above passes the refusal up as its answer.
    let answer = await call("recurse") as { ok: { type: string; value: unknown } }
    let depth = 0
    while (answer.ok.type === "ok") {
      answer = decode(answer.ok.value as Uint8Array) as typeof answer
      depth++
    }
    assertEquals(depth, 16)
    assertEquals(answer.ok.type, "error")
    assert(String(answer.ok.value).includes("nests deeper than 16 calls"), String(answer.ok.value))
  })

  await step(
    t,
    "validation may not write, read non-deterministic state, sign, emit or call",
    async () => {
      const chain = await conductor.runPromise(Effect.service(Chain))
      const before = chain.length(cell.dna.hash, cell.agent)
      for (
        const [mode, fn] of [
          ["write", "create_1"],
          ["random", "random_bytes_1"],
          ["time", "sys_time_1"],
          ["agent", "agent_info_1"],
          ["sign", "sign_1"],
          ["emit", "emit_signal_1"],
          ["call", "call_1"],
          ["get", "get_1"],
        ]
      ) {
        const error = await callZomeError(conductor, cell, "host_abuse", "create_abuse", mode)
        assertEquals(error.reason, "InvalidCommit", mode)
        assert(error.detail.includes(`${fn}: denied`), `${mode}: ${error.detail}`)
      }
      const looping = await callZomeError(conductor, cell, "host_abuse", "create_abuse", "loop")
      assert(looping.detail.includes("ran out of fuel"), looping.detail)
      const trapping = await callZomeError(conductor, cell, "host_abuse", "create_abuse", "trap")
      assertEquals(trapping.reason, "InvalidCommit")
      assertEquals(chain.length(cell.dna.hash, cell.agent), before)
    },
  )

  await step(t, "post_commit may not write", async () => {
    const signals = collectSignals(conductor)
    await call("create_abuse", "ok")
    await signals.atLeast(1)
    const signal = signals.received.find((s) =>
      (s.signal as { type?: string }).type === "post_commit_write"
    )?.signal as
      | { result: { err?: { kind: string } } }
      | undefined
    assertEquals(signal?.result.err?.kind, "denied")
    await signals.stop()
    await conductor.runPromise(
      Effect.flatMap(Effect.service(TaskManager), (tasks) => tasks.awaitIdle),
    )
  })

  await disposeConductor(conductor)
})
