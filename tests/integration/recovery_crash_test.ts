/**
 * SIGKILL between checkpoints: a real child process edits a recovery session in a loop and
 * prints each acknowledged operation; the test kills it with SIGKILL mid-stream, reopens the
 * receptor file and checks that the session is exactly the state after the last acknowledged
 * operation (or the one after it, which may have committed before its "ack" was printed):
 * nothing acknowledged lost, nothing half-written, every checkpoint's hash intact so that undo
 * walks back through every earlier state.
 *
 * @module
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict"
import { Effect } from "effect"
import { callReceptor } from "../../core/receptors/mod.ts"
import { startRecovery } from "../../receptors/recovery/recovery.ts"
import { CRASH_CONFIG, modelAfter } from "../support/recovery_crash_child.ts"

const CHILD = new URL("../support/recovery_crash_child.ts", import.meta.url).pathname

async function killAfterAcks(dir: string, acks: number, timeoutMs = 60_000): Promise<number> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CHILD, dir],
    stdout: "piped",
    stderr: "piped",
  }).spawn()
  const stderr = new Response(child.stderr).text()
  let text = ""
  let last = -1
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs)
  const decoder = new TextDecoder()
  try {
    for await (const chunk of child.stdout) {
      text += decoder.decode(chunk, { stream: true })
      const lines = text.split("\n")
      text = lines.pop()!
      for (const line of lines) last = Number(line.replace("ack ", ""))
      if (last + 1 >= acks) {
        child.kill("SIGKILL")
        break
      }
    }
  } finally {
    clearTimeout(timer)
  }
  const status = await child.status
  assertEquals(status.signal, "SIGKILL", await stderr)
  assert(last + 1 >= acks, `the child stopped after ${last + 1} acks:\n${await stderr}`)
  return last
}

Deno.test("a recovery session killed with SIGKILL between checkpoints comes back as acknowledged", async () => {
  const dir = await Deno.makeTempDir()
  const last = await killAfterAcks(dir, 300)
  await Effect.runPromise(Effect.scoped(Effect.gen(function* () {
    const { receptor, report } = yield* startRecovery(CRASH_CONFIG, { dir, synchronous: "normal" })
    assertEquals(report.quarantined, [])
    assertEquals(report.restored, 1)
    const got = (yield* callReceptor(receptor, "get", { session: "s" })) as {
      entries: Record<string, unknown>
      undo: number
    }
    // Operations 0..last were acknowledged; last + 1 may have committed before its ack.
    const candidates = [modelAfter(last + 1), modelAfter(last + 2)]
    const match = candidates.find((m) =>
      JSON.stringify(sorted(m.entries)) === JSON.stringify(sorted(got.entries)) &&
      m.undo === got.undo
    )
    assert(
      match !== undefined,
      `after ${last + 1} acknowledged operations the session (undo ${got.undo}, last ${
        JSON.stringify(got.entries.last)
      }) is neither state`,
    )
    // Every earlier state is still reachable through hash-checked checkpoints.
    for (let position = match.undo - 1; position >= 0; position--) {
      yield* callReceptor(receptor, "undo", { session: "s" })
      const back = (yield* callReceptor(receptor, "get", { session: "s" })) as {
        entries: Record<string, unknown>
      }
      assertEquals(sorted(back.entries), sorted(match.line[position]!))
    }
  })))
})

function sorted(entries: Record<string, unknown>) {
  return Object.fromEntries(Object.entries(entries).sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0))
}
