import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict"
import { Duration, Effect } from "effect"
import { Chain } from "../chain/mod.ts"
import { commitBare, runCommitTest as run } from "../chain/test_support.ts"
import { encode } from "../codec/mod.ts"
import { type DnaHash, Hasher } from "../hash/mod.ts"
import { Keystore } from "../keystore/mod.ts"
import { Outbox, PUBLISH_BACKOFF_MIN_MICROS } from "../space/mod.ts"
import {
  localOnlyNetwork,
  makeCascade,
  Network,
  type NetworkShape,
  publishDue,
  withTimeouts,
} from "./mod.ts"

const postType = { type: "app", "zome_index": 0, "entry_index": 0, visibility: "public" } as const

/** A chain with one committed post, and a signed post of another agent that is not local. */
const setup = Effect.gen(function* () {
  const hasher = yield* Hasher
  const keystore = yield* Keystore
  const chain = yield* Chain
  const dna = hasher.hashContent("dna", new Uint8Array([3])) as DnaHash
  const agent = yield* keystore.generate
  const ws = yield* chain.open(dna, agent)
  ws.append({ type: "dna", "dna_hash": dna }, null)
  const entry = { "entry_type": "app", entry: encode({ title: "local" }) } as const
  const local = ws.append(
    { type: "create", "entry_type": postType, "entry_hash": ws.entryHash(entry) },
    entry,
  ).record
  yield* commitBare(ws)
  const stranger = yield* keystore.generate
  const elsewhere = yield* chain.open(dna, stranger)
  elsewhere.append({ type: "dna", "dna_hash": dna }, null)
  const remoteEntry = { "entry_type": "app", entry: encode({ title: "remote" }) } as const
  const remote = elsewhere.append(
    { type: "create", "entry_type": postType, "entry_hash": elsewhere.entryHash(remoteEntry) },
    remoteEntry,
  ).record
  return { dna, agent, local, remote }
})

Deno.test("the local-only Network has no peers, publishes nothing and refuses remote calls", async () => {
  await run(Effect.gen(function* () {
    const { dna, agent } = yield* setup
    const network = yield* Network
    const outbox = yield* Outbox
    assertEquals(yield* network.peers(dna), 0)
    assertEquals(yield* network.get(dna, agent), null)
    assertEquals(yield* network.getLinks(dna, { base: agent }), [])
    assertEquals(yield* network.agentActivity(dna, agent, agent), null)
    yield* network.sendRemoteSignal(dna, {
      from: agent,
      zome: "z",
      targets: [agent],
      payload: new Uint8Array([1]),
    })
    const refused = yield* Effect.flip(network.callRemote(dna, {
      target: agent,
      zome: "z",
      fn: "f",
      payload: new Uint8Array(),
      capSecret: null,
      provenance: agent,
    }))
    assertEquals(refused.reason, "NoPeers")
    const before = yield* outbox.stats(dna)
    assertEquals(yield* publishDue(100), 0)
    assertEquals(yield* outbox.stats(dna), before)
    const due = yield* outbox.due(Number.MAX_SAFE_INTEGER, 100)
    assert(due.length > 0 && due.every((op) => op.attempts === 0))
  }))
})

Deno.test("publishDue hands due ops to the network and backs off only the ones it took", async () => {
  await run(Effect.gen(function* () {
    yield* setup
    const outbox = yield* Outbox
    const seen: Array<number> = []
    // A network that takes every other op it is given, plus an id it was not given.
    const fake: NetworkShape = {
      ...localOnlyNetwork,
      publish: (ops) =>
        Effect.sync(() => {
          seen.push(...ops.map((op) => op.id))
          return [...ops.filter((_, i) => i % 2 === 0).map((op) => op.id), 999_999]
        }),
    }
    const due = yield* outbox.due(Number.MAX_SAFE_INTEGER, 100)
    const taken = yield* Effect.provide(publishDue(100), Network.layerFrom(fake))
    assertEquals(seen, due.map((op) => op.id))
    assertEquals(taken, Math.ceil(due.length / 2))
    for (const [i, op] of due.entries()) {
      const [after] = (yield* outbox.ofAction(op.actionHash)).filter((o) => o.id === op.id)
      if (i % 2 === 0) {
        assertEquals(after?.attempts, 1)
        assertEquals(after?.nextPublishAt, after!.lastPublishedAt! + PUBLISH_BACKOFF_MIN_MICROS)
      } else {
        assertEquals(after?.attempts, 0)
      }
    }
  }))
})

Deno.test("Network requests that get no answer fail with Timeout", async () => {
  const silent = withTimeouts({ ...localOnlyNetwork, get: () => Effect.never }, {
    request: Duration.millis(20),
    callRemote: Duration.millis(20),
    publish: Duration.millis(20),
    signal: Duration.millis(20),
  })
  const error = await Effect.runPromise(
    Effect.flip(silent.get(new Uint8Array(39) as DnaHash, new Uint8Array(39))),
  )
  assertEquals(error.reason, "Timeout")
  assertEquals(error.operation, "Network.get")
})

Deno.test("Cascade.get reads locally first and takes only verified records from the network", async () => {
  await run(Effect.gen(function* () {
    const { dna, agent, local, remote } = yield* setup
    const tampered = { ...remote, signature: new Uint8Array(64) }
    const wrongEntry = {
      ...remote,
      entry: { "entry_type": "app", entry: encode({ title: "forged" }) },
    } as const
    const answering = (answer: typeof remote | null) =>
      Effect.provide(
        makeCascade,
        Network.layerFrom({ ...localOnlyNetwork, get: () => Effect.succeed(answer) }),
      )
    const honest = yield* answering(remote)
    assertEquals((yield* honest.get(dna, local.action_hash, agent))?.action_hash, local.action_hash)
    assertEquals(yield* honest.get(dna, remote.action_hash, agent), remote)
    const entryHash = remote.action.type === "create"
      ? remote.action.entry_hash
      : remote.action_hash
    assertEquals(yield* honest.get(dna, entryHash, agent), remote)
    // An honest record that answers a different hash is not an answer.
    assertEquals(yield* honest.get(dna, local.action.author, agent), null)
    assertEquals(yield* (yield* answering(tampered)).get(dna, remote.action_hash, agent), null)
    assertEquals(yield* (yield* answering(wrongEntry)).get(dna, remote.action_hash, agent), null)
    assertEquals(yield* (yield* answering(null)).get(dna, remote.action_hash, agent), null)
  }))
})
