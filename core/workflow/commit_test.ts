import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict"
import { Effect } from "effect"
import { Chain } from "../chain/mod.ts"
import {
  commitBare as commit,
  commitTestLayer,
  runCommitTest as run,
} from "../chain/test_support.ts"
import { encode } from "../codec/mod.ts"
import { type AgentPubKey, type DnaHash, Hasher } from "../hash/mod.ts"
import { Keystore } from "../keystore/mod.ts"
import {
  backoffMicros,
  DEFAULT_REQUIRED_RECEIPTS,
  locationOf,
  Outbox,
  PUBLISH_BACKOFF_MAX_MICROS,
  PUBLISH_BACKOFF_MIN_MICROS,
} from "../space/mod.ts"
import { Store } from "../store/mod.ts"
import { DHT_OP_TYPES, opsForAction } from "../types/mod.ts"

const postType = { type: "app", "zome_index": 0, "entry_index": 0, visibility: "public" } as const

/** A cell with its three genesis actions committed. */
const genesis = Effect.gen(function* () {
  const hasher = yield* Hasher
  const keystore = yield* Keystore
  const chain = yield* Chain
  const agent = yield* keystore.generate
  const dna = hasher.hashContent("dna", new Uint8Array([2])) as DnaHash
  const ws = yield* chain.open(dna, agent)
  ws.append({ type: "dna", "dna_hash": dna }, null)
  ws.append({ type: "agent_validation_pkg", "membrane_proof": null }, null)
  const agentEntry = { "entry_type": "agent", entry: agent } as const
  ws.append({
    type: "create",
    "entry_type": { type: "agent_pub_key" },
    "entry_hash": ws.entryHash(agentEntry),
  }, agentEntry)
  yield* commit(ws)
  return { chain, agent, dna }
})

interface Cell {
  readonly chain: Chain["Service"]
  readonly agent: AgentPubKey
  readonly dna: DnaHash
}

/** Opens a workspace on a cell and appends one public post. */
const post = ({ chain, agent, dna }: Cell, n: number) =>
  Effect.gen(function* () {
    const ws = yield* chain.open(dna, agent)
    const entry = { "entry_type": "app", entry: encode({ n }) } as const
    const created = ws.append(
      { type: "create", "entry_type": postType, "entry_hash": ws.entryHash(entry) },
      entry,
    )
    return { ws, created }
  })

Deno.test("Commits.commit queues every DHT op of the commit in the outbox", async () => {
  await run(Effect.gen(function* () {
    const { chain, agent, dna } = yield* genesis
    const outbox = yield* Outbox
    const ws = yield* chain.open(dna, agent)
    const entry = { "entry_type": "app", entry: encode({ title: "hi" }) } as const
    const created = ws.append(
      { type: "create", "entry_type": postType, "entry_hash": ws.entryHash(entry) },
      entry,
    )
    const link = ws.append({
      type: "create_link",
      "base_address": agent,
      "target_address": created.record.action_hash,
      "zome_index": 0,
      "link_type": 0,
      tag: new Uint8Array(),
    }, null)
    yield* commit(ws)
    for (const { record } of [created, link]) {
      const queued = yield* outbox.ofAction(record.action_hash)
      // In op type order, as they are keyed.
      const expected = [...opsForAction(record.action, record.action_hash, true)].sort((a, b) =>
        DHT_OP_TYPES.indexOf(a.type) - DHT_OP_TYPES.indexOf(b.type)
      )
      assertEquals(queued.map((op) => op.opType), expected.map((op) => op.type))
      assertEquals(queued.map((op) => [...op.basis]), expected.map((op) => [...op.basis]))
      for (const op of queued) {
        assertEquals(op.dna, dna)
        assertEquals(op.author, agent)
        assertEquals(op.basisLoc, locationOf(op.basis))
        assertEquals(op.receipts, 0)
        assertEquals(op.requiredReceipts, DEFAULT_REQUIRED_RECEIPTS)
        assertEquals(op.nextPublishAt, op.createdAt)
        assertEquals(op.doneAt, null)
      }
    }
    // Genesis (3 actions: 2 + 2 + 3 ops) and this commit (3 + 3 ops).
    assertEquals(yield* outbox.stats(dna), { pending: 13, done: 0 })
  }))
})

Deno.test("Commits.commit of a workspace whose head moved writes nothing, not even outbox rows", async () => {
  await run(Effect.gen(function* () {
    const cell = yield* genesis
    const { chain, agent, dna } = cell
    const outbox = yield* Outbox
    const a = yield* post(cell, 1)
    const b = yield* post(cell, 2)
    yield* commit(a.ws)
    const error = yield* Effect.flip(commit(b.ws))
    assertEquals(error._tag, "ChainError")
    assert(error._tag === "ChainError" && error.reason === "HeadMoved")
    assertEquals(yield* outbox.ofAction(b.created.record.action_hash), [])
    assertEquals((yield* outbox.ofAction(a.created.record.action_hash)).length, 3)
    assertEquals(chain.length(dna, agent), 4)
    assertEquals(yield* chain.verify(dna, agent), [])
  }))
})

Deno.test("Commits.commit run concurrently on one cell commits one workspace per head", async () => {
  await run(Effect.gen(function* () {
    const cell = yield* genesis
    const { chain, agent, dna } = cell
    const outbox = yield* Outbox
    // Ten workspaces opened on the same head race to commit; the lock serialises them and
    // exactly one wins. The losers are re-run on the new head, as a caller would.
    const pending = yield* Effect.all(Array.from({ length: 10 }, (_, i) => post(cell, i)))
    const exits = yield* Effect.all(pending.map((p) => Effect.exit(commit(p.ws))), {
      concurrency: "unbounded",
    })
    assertEquals(exits.filter((e) => e._tag === "Success").length, 1)
    for (let i = 0; i < 9; i++) yield* Effect.flatMap(post(cell, 100 + i), (p) => commit(p.ws))
    assertEquals(chain.length(dna, agent), 3 + 10)
    assertEquals(yield* chain.verify(dna, agent), [])
    const all = yield* chain.query(dna, agent, { includeEntries: false })
    for (const record of all) {
      assert((yield* outbox.ofAction(record.action_hash)).length >= 2)
    }
  }))
})

Deno.test("Outbox.published backs off and Outbox.receipt counts distinct validators until done", async () => {
  await run(Effect.gen(function* () {
    const cell = yield* genesis
    const { dna } = cell
    const outbox = yield* Outbox
    const keystore = yield* Keystore
    const { ws, created } = yield* post(cell, 7)
    yield* commit(ws)
    const ops = yield* outbox.ofAction(created.record.action_hash)
    const first = ops[0]!
    const now = first.createdAt
    const due = yield* outbox.due(now, 1000)
    assertEquals(due.length, 10)
    assert(due.every((op, i) => i === 0 || due[i - 1]!.nextPublishAt <= op.nextPublishAt))
    assertEquals((yield* outbox.due(now, 2)).length, 2)
    yield* outbox.published([first.id], now)
    const [afterOne] = yield* outbox.ofAction(created.record.action_hash)
    assertEquals(afterOne?.attempts, 1)
    assertEquals(afterOne?.lastPublishedAt, now)
    assertEquals(afterOne?.nextPublishAt, now + PUBLISH_BACKOFF_MIN_MICROS)
    assert(!(yield* outbox.due(now, 1000)).some((op) => op.id === first.id))
    yield* outbox.published([first.id], now + 1)
    const [afterTwo] = yield* outbox.ofAction(created.record.action_hash)
    assertEquals(afterTwo?.nextPublishAt, now + 1 + 2 * PUBLISH_BACKOFF_MIN_MICROS)
    assertEquals(backoffMicros(50), PUBLISH_BACKOFF_MAX_MICROS)

    const validators = yield* Effect.all(Array.from({ length: 5 }, () => keystore.generate))
    assertEquals(yield* outbox.receipt(first, validators[0]!, now), {
      receipts: 1,
      done: false,
    })
    // The same validator counts once.
    assertEquals(yield* outbox.receipt(first, validators[0]!, now), {
      receipts: 1,
      done: false,
    })
    for (const v of validators.slice(1)) yield* outbox.receipt(first, v, now + 5)
    const [done] = yield* outbox.ofAction(created.record.action_hash)
    assertEquals(done?.receipts, 5)
    assertEquals(done?.doneAt, now + 5)
    assert(
      !(yield* outbox.due(now + PUBLISH_BACKOFF_MAX_MICROS, 1000)).some((op) => op.id === first.id),
    )
    assertEquals(yield* outbox.stats(dna), { pending: 9, done: 1 })
    // An op that is not queued here is not counted.
    assertEquals(
      yield* outbox.receipt(
        { actionHash: new Uint8Array(39), opType: "store_record" },
        validators[0]!,
        now,
      ),
      null,
    )
  }))
})

Deno.test("Outbox rows survive a restart over the same SQLite file", async () => {
  const dir = await Deno.makeTempDir()
  const file = `${dir}/conductor.sqlite3`
  const layer = commitTestLayer(Store.layerAt(file))
  const written = await run(
    Effect.gen(function* () {
      const cell = yield* genesis
      const { ws, created } = yield* post(cell, 1)
      yield* commit(ws)
      const outbox = yield* Outbox
      return {
        dna: cell.dna,
        hash: created.record.action_hash,
        ops: yield* outbox.ofAction(created.record.action_hash),
      }
    }),
    layer,
  )
  assertEquals(written.ops.length, 3)
  const reopened = await run(
    Effect.gen(function* () {
      const outbox = yield* Outbox
      return { ops: yield* outbox.ofAction(written.hash), stats: yield* outbox.stats(written.dna) }
    }),
    commitTestLayer(Store.layerAt(file)),
  )
  assertEquals(reopened.ops, written.ops)
  assertEquals(reopened.stats, { pending: 10, done: 0 })
  await Deno.remove(dir, { recursive: true })
})
