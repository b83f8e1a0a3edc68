/**
 * The child process of the recovery crash test: starts a `recovery` receptor on the folder given
 * as its argument and edits one session forever with a fixed sequence of operations
 * (checkpoints, and an undo and a redo every ten steps), printing `ack <n>` after operation `n`
 * returned. The test SIGKILLs it mid-stream. `modelAfter` replays the same sequence in memory.
 *
 * @module
 */
import { Effect, Schema } from "effect"
import { RecoveryReceptorConfig } from "../../core/config/mod.ts"
import { callReceptor } from "../../core/receptors/mod.ts"
import { startRecovery } from "../../receptors/recovery/recovery.ts"

/** The receptor the child and the test open. */
export const CRASH_CONFIG = Schema.decodeUnknownSync(RecoveryReceptorConfig)({
  id: "crash",
  type: "recovery",
  "max_undo": 100_000,
})

/** Operation `n` of the sequence. */
export function operationAt(n: number) {
  if (n % 10 === 8) return { op: "undo", input: { session: "s" } } as const
  if (n % 10 === 9) return { op: "redo", input: { session: "s" } } as const
  return {
    op: "checkpoint",
    input: {
      session: "s",
      set: { [`k${n}`]: { n, pad: "x".repeat(200 + (n % 13) * 50) }, last: n },
      delete: n % 7 === 0 && n >= 3 ? [`k${n - 3}`] : [],
      label: `step ${n}`,
    },
  } as const
}

/** The session's entries and undo depth after the first `count` operations. */
export function modelAfter(count: number) {
  const line: Array<Record<string, unknown>> = [{}]
  let position = 0
  for (let n = 0; n < count; n++) {
    const { op, input } = operationAt(n)
    if (op === "undo") position--
    else if (op === "redo") position++
    else {
      const next: Record<string, unknown> = { ...line[position], ...input.set }
      for (const key of input.delete) delete next[key]
      line.splice(position + 1, line.length, next)
      position++
    }
  }
  return { entries: line[position]!, undo: position, line: line.slice(0, position + 1) }
}

if (import.meta.main) {
  const dir = Deno.args[0]!
  const encoder = new TextEncoder()
  await Effect.runPromise(Effect.scoped(Effect.gen(function* () {
    const { receptor } = yield* startRecovery(CRASH_CONFIG, { dir, synchronous: "normal" })
    yield* callReceptor(receptor, "open", { session: "s" })
    for (let n = 0;; n++) {
      const { op, input } = operationAt(n)
      yield* callReceptor(receptor, op, input)
      // Written synchronously: once "ack n" is out, operation n has returned (and committed).
      Deno.stdout.writeSync(encoder.encode(`ack ${n}\n`))
    }
  })))
}
