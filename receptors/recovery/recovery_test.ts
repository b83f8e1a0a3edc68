import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict"
import { createHash } from "node:crypto"
import { DatabaseSync } from "node:sqlite"
import { Effect, Schema } from "effect"
import { RecoveryReceptorConfig } from "../../core/config/mod.ts"
import { callReceptor, type Receptor, ReceptorError } from "../../core/receptors/mod.ts"
import { openStore } from "../../core/store/mod.ts"
import { RECOVERY_MIGRATIONS } from "./migrations.ts"
import { startRecovery } from "./recovery.ts"

const config = (extra: Record<string, unknown> = {}) =>
  Schema.decodeUnknownSync(RecoveryReceptorConfig)({ id: "edits", type: "recovery", ...extra })

/** Runs `body` against the recovery receptor in `dir`, closing it afterwards. */
function withRecovery<A>(
  dir: string,
  body: (receptor: Receptor) => Effect.Effect<A, unknown>,
  extra: Record<string, unknown> = {},
): Promise<A> {
  return Effect.runPromise(Effect.scoped(Effect.gen(function* () {
    const { receptor } = yield* startRecovery(config(extra), { dir, synchronous: "normal" })
    return yield* body(receptor)
  })))
}

const call = (r: Receptor, op: string, input: unknown) =>
  callReceptor(r, op, input) as Effect.Effect<Record<string, unknown>, ReceptorError>
const reason = (r: Receptor, op: string, input: unknown) =>
  Effect.map(Effect.flip(callReceptor(r, op, input)), (e) => e.reason)
const entries = (r: Receptor, session: string) =>
  Effect.map(call(r, "get", { session }), (g) => g.entries)

Deno.test("recovery undo, redo and a new checkpoint follow the edit line", async () => {
  const dir = await Deno.makeTempDir()
  await withRecovery(dir, (r) =>
    Effect.gen(function* () {
      const opened = yield* call(r, "open", { session: "s", initial: { title: "draft" } })
      assertEquals(opened, { session: "s", undo: 0, redo: 0, "at_baseline": true })
      assertEquals(yield* reason(r, "undo", { session: "s" }), "NothingToUndo")
      yield* call(r, "checkpoint", { session: "s", set: { a: 1 } })
      yield* call(r, "checkpoint", { session: "s", set: { a: 2, b: [1] }, delete: ["title"] })
      assertEquals(yield* entries(r, "s"), { a: 2, b: [1] })
      assertEquals(yield* call(r, "undo", { session: "s" }), {
        session: "s",
        undo: 1,
        redo: 1,
        "at_baseline": false,
      })
      assertEquals(yield* entries(r, "s"), { a: 1, title: "draft" })
      // Undo to the baseline is a success that says so; one more is "nothing to undo".
      assertEquals((yield* call(r, "undo", { session: "s" }))["at_baseline"], true)
      assertEquals(yield* entries(r, "s"), { title: "draft" })
      assertEquals(yield* reason(r, "undo", { session: "s" }), "NothingToUndo")
      yield* call(r, "redo", { session: "s" })
      assertEquals(yield* entries(r, "s"), { a: 1, title: "draft" })
      // A new forward change clears what could be redone.
      const forward = yield* call(r, "checkpoint", { session: "s", set: { c: true } })
      assertEquals(forward.redo, 0)
      assertEquals(yield* reason(r, "redo", { session: "s" }), "NothingToRedo")
      assertEquals(yield* entries(r, "s"), { a: 1, c: true, title: "draft" })
    }))
})

Deno.test("recovery matches a model over seeded random edits, undos and redos, across reopens", async () => {
  const seed = Number(Deno.env.get("RECOVERY_SEED") ?? 20261202)
  // deno-lint-ignore no-console
  console.log(`seed ${seed} (set RECOVERY_SEED to replay)`)
  let state = seed >>> 0
  const random = (n: number) => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0
    return state % n
  }
  const dir = await Deno.makeTempDir()
  const history: Array<Record<string, unknown>> = [{}]
  let position = 0
  await withRecovery(dir, (r) => call(r, "open", { session: "m" }))
  for (let round = 0; round < 4; round++) {
    await withRecovery(dir, (r) =>
      Effect.gen(function* () {
        assertEquals(yield* entries(r, "m"), history[position], `round ${round} after reopen`)
        for (let step = 0; step < 60; step++) {
          const choice = random(10)
          if (choice < 2) {
            const result = yield* Effect.result(callReceptor(r, "undo", { session: "m" }))
            assertEquals(result._tag === "Success", position > 0)
            if (position > 0) position--
          } else if (choice < 4) {
            const result = yield* Effect.result(callReceptor(r, "redo", { session: "m" }))
            assertEquals(result._tag === "Success", position < history.length - 1)
            if (position < history.length - 1) position++
          } else {
            const current = { ...history[position] }
            const set: Record<string, unknown> = {}
            const remove: Array<string> = []
            for (let n = random(4) + 1; n > 0; n--) {
              const key = `k${random(12)}`
              if (key in set || remove.includes(key)) continue
              if (random(4) === 0) {
                remove.push(key)
                delete current[key]
              } else {
                set[key] = { v: random(1000), s: "x".repeat(random(50)) }
                current[key] = set[key]
              }
            }
            yield* call(r, "checkpoint", { session: "m", set, delete: remove })
            history.splice(position + 1, history.length, current)
            position++
          }
          assertEquals(yield* entries(r, "m"), history[position], `round ${round} step ${step}`)
        }
      }))
  }
})

Deno.test("recovery commit and abort delete the session's rows and close it", async () => {
  const dir = await Deno.makeTempDir()
  await withRecovery(dir, (r) =>
    Effect.gen(function* () {
      for (const s of ["c", "a"]) {
        yield* call(r, "open", { session: s, initial: { x: 1 } })
        yield* call(r, "checkpoint", { session: s, set: { y: 2 } })
      }
      assertEquals(yield* call(r, "commit", { session: "c" }), {
        session: "c",
        outcome: "committed",
      })
      assertEquals(yield* call(r, "abort", { session: "a" }), { session: "a", outcome: "aborted" })
      assertEquals(yield* reason(r, "checkpoint", { session: "c", set: { z: 1 } }), "Closed")
      assertEquals(yield* reason(r, "undo", { session: "a" }), "Closed")
      assertEquals(yield* reason(r, "open", { session: "c" }), "Conflict")
      assertEquals(yield* reason(r, "get", { session: "nope" }), "NotFound")
    }))
  const db = new DatabaseSync(`${dir}/edits.sqlite3`, { readOnly: true })
  for (const table of ["session", "session_entry", "session_delta"]) {
    assertEquals((db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n, 0)
  }
  db.close()
})

Deno.test("recovery quarantines a corrupt session when it is first used and serves the others", async () => {
  const dir = await Deno.makeTempDir()
  await withRecovery(dir, (r) =>
    Effect.gen(function* () {
      for (const s of ["good", "bad-entry", "bad-delta", "bad-unused"]) {
        yield* call(r, "open", { session: s })
        yield* call(r, "checkpoint", { session: s, set: { a: 1, b: "two" } })
        yield* call(r, "checkpoint", { session: s, set: { a: 3 } })
      }
    }))
  const db = new DatabaseSync(`${dir}/edits.sqlite3`)
  for (const s of ["bad-entry", "bad-unused"]) {
    db.prepare(`UPDATE session_entry SET value = '"tampered"' WHERE session_id = ? AND key = 'b'`)
      .run(s)
  }
  db.prepare(
    `UPDATE session_delta SET forward = '[["a",4]]' WHERE session_id = 'bad-delta' AND seq = 2`,
  )
    .run()
  db.close()
  await withRecovery(dir, (r) =>
    Effect.gen(function* () {
      // The start reads formats only: nothing is hashed, nothing is quarantined yet.
      const atStart = yield* r.health
      assertEquals(atStart.status, "ok")
      assertEquals(atStart.info["unchecked"], 4)
      const listed = () =>
        Effect.map(
          call(r, "list", {}),
          (out) =>
            (out as { sessions: Array<{ session: string; state: string; checked: boolean }> })
              .sessions,
        )
      assertEquals((yield* listed()).every((s) => !s.checked && s.state === "open"), true)
      // First use: the check runs, a corrupt session is quarantined and the call refused.
      assertEquals(yield* entries(r, "good"), { a: 3, b: "two" })
      yield* call(r, "undo", { session: "good" })
      assertEquals(yield* entries(r, "good"), { a: 1, b: "two" })
      const refused = yield* Effect.flip(callReceptor(r, "get", { session: "bad-entry" }))
      assertEquals(refused.reason, "Quarantined")
      assert(refused.detail.includes("digest"), refused.detail)
      assertEquals(
        yield* reason(r, "checkpoint", { session: "bad-delta", set: { a: 0 } }),
        "Quarantined",
      )
      const health = yield* r.health
      assertEquals(health.status, "degraded")
      assertEquals(health.info["unchecked"], 1)
      const quarantined = health.info.quarantined as Array<{ session: string; reason: string }>
      assertEquals(quarantined.map((q) => q.session).sort(), ["bad-delta", "bad-entry"])
      assert(quarantined.find((q) => q.session === "bad-delta")!.reason.includes("checkpoint 2"))
      const after = yield* listed()
      assertEquals(after.find((s) => s.session === "bad-entry")?.state, "quarantined")
      assertEquals(after.find((s) => s.session === "bad-unused"), {
        ...after.find((s) => s.session === "bad-unused")!,
        state: "open",
        checked: false,
      })
      // Aborting discards without a check; the quarantined ones are discarded the same way.
      for (const s of ["bad-entry", "bad-delta", "bad-unused"]) {
        yield* call(r, "abort", { session: s })
      }
      assertEquals((yield* r.health).status, "ok")
      assertEquals((yield* r.health).info["unchecked"], 0)
    }))
})

Deno.test("recovery quarantines a session whose checkpoint is corrupted while it runs", async () => {
  const dir = await Deno.makeTempDir()
  await withRecovery(dir, (r) =>
    Effect.gen(function* () {
      yield* call(r, "open", { session: "s" })
      yield* call(r, "checkpoint", { session: "s", set: { a: 1 } })
      const db = new DatabaseSync(`${dir}/edits.sqlite3`)
      db.prepare(`UPDATE session_delta SET inverse = '[["a",9]]' WHERE session_id = 's'`).run()
      db.close()
      assertEquals(yield* reason(r, "undo", { session: "s" }), "Quarantined")
      assertEquals((yield* r.health).status, "degraded")
      assertEquals(yield* reason(r, "get", { session: "s" }), "Quarantined")
    }))
})

Deno.test("recovery reads format_version: format 1 sessions are migrated, unknown ones quarantined", async () => {
  const dir = await Deno.makeTempDir()
  // A format 1 file, as the first schema wrote it: whole snapshots on undo and redo stacks.
  const v1 = openStore(`${dir}/edits.sqlite3`, { migrations: RECOVERY_MIGRATIONS.slice(0, 1) })
  const snapshot = (state: Record<string, unknown>) => {
    const blob = JSON.stringify(state)
    return { blob, hash: createHash("sha256").update(blob).digest("hex") }
  }
  const insertSession = v1.db.prepare(
    `INSERT INTO recovery_session (session_id, latest_checkpoint_id, format_version, updated_at_ms)
     VALUES (?, ?, ?, 0)`,
  )
  const insertCheckpoint = v1.db.prepare(
    `INSERT INTO recovery_checkpoint (checkpoint_id, session_id, stack_kind, stack_pos,
     snapshot_blob, snapshot_hash, created_at_ms) VALUES (?, ?, ?, ?, ?, ?, 0)`,
  )
  const states = [{ t: "a" }, { t: "ab" }, { t: "abc", n: 1 }, { t: "abcd", n: 1 }]
  insertSession.run("old", "c2", 1)
  for (const [i, state] of states.slice(0, 3).entries()) {
    const { blob, hash } = snapshot(state)
    insertCheckpoint.run(`c${i}`, "old", "undo", i, blob, hash)
  }
  const undone = snapshot(states[3]!)
  insertCheckpoint.run("c3", "old", "redo", 0, undone.blob, undone.hash)
  insertSession.run("broken", "b0", 1)
  insertCheckpoint.run("b0", "broken", "undo", 0, '{"t":"x"}', "0".repeat(64))
  insertSession.run("future", null, 9)
  v1.db.close()

  await withRecovery(dir, (r) =>
    Effect.gen(function* () {
      const health = yield* r.health
      assertEquals(health.info["migrated_at_start"], 1)
      const quarantined = health.info.quarantined as Array<{ session: string; reason: string }>
      assertEquals(quarantined.map((q) => q.session).sort(), ["broken", "future"])
      assert(quarantined.find((q) => q.session === "future")!.reason.includes("format_version 9"))
      assert(quarantined.find((q) => q.session === "broken")!.reason.includes("hash"))
      assertEquals(yield* call(r, "get", { session: "old" }), {
        session: "old",
        undo: 3,
        redo: 1,
        "at_baseline": false,
        label: null,
        entries: states[2],
      })
      yield* call(r, "redo", { session: "old" })
      assertEquals(yield* entries(r, "old"), states[3])
      for (const expected of [states[2], states[1], states[0], {}]) {
        yield* call(r, "undo", { session: "old" })
        assertEquals(yield* entries(r, "old"), expected)
      }
      assertEquals(yield* reason(r, "undo", { session: "old" }), "NothingToUndo")
    }))
  const db = new DatabaseSync(`${dir}/edits.sqlite3`, { readOnly: true })
  const formats = db.prepare("SELECT session_id, format_version FROM session ORDER BY session_id")
    .all()
  assertEquals(formats.map((f) => [f.session_id, f.format_version]), [
    ["broken", 1],
    ["future", 9],
    ["old", 2],
  ])
  assertEquals(
    (db.prepare("SELECT count(*) AS n FROM recovery_checkpoint WHERE session_id = 'old'").get() as {
      n: number
    }).n,
    0,
  )
  db.close()
})

Deno.test("recovery keeps max_undo checkpoints and refuses what exceeds its limits", async () => {
  const dir = await Deno.makeTempDir()
  await withRecovery(dir, (r) =>
    Effect.gen(function* () {
      yield* call(r, "open", { session: "s" })
      for (let i = 1; i <= 5; i++) yield* call(r, "checkpoint", { session: "s", set: { n: i } })
      for (let i = 0; i < 3; i++) yield* call(r, "undo", { session: "s" })
      assertEquals(yield* entries(r, "s"), { n: 2 })
      const error = yield* Effect.flip(callReceptor(r, "undo", { session: "s" }))
      assertEquals(error.reason, "NothingToUndo")
      assert(error.detail.includes("oldest kept checkpoint"), error.detail)
      assertEquals(
        yield* reason(r, "checkpoint", { session: "s", set: { big: "x".repeat(100) } }),
        "TooLarge",
      )
      assertEquals(
        yield* reason(r, "checkpoint", { session: "s", set: { a: 1, b: 2, c: 3 } }),
        "TooLarge",
      )
      assertEquals(
        yield* reason(r, "checkpoint", { session: "s", set: { a: 1 }, delete: ["a"] }),
        "InvalidInput",
      )
      assertEquals(yield* reason(r, "open", { session: "../x" }), "InvalidInput")
      yield* call(r, "open", { session: "t" })
      assertEquals(yield* reason(r, "open", { session: "u" }), "LimitReached")
      // Nothing refused was written.
      assertEquals(yield* entries(r, "s"), { n: 2 })
    }), { "max_undo": 3, "max_value_bytes": 64, "max_changes": 2, "max_sessions": 2 })
})
