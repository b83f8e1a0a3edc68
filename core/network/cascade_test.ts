/**
 * The Cascade's strategies and verification beyond `get` (network_test.ts covers that): a read
 * with `local` never asks the network and `network` asks only what is not held (content
 * addressed) or merges (absence-sensitive); link activity, details and agent activity from the
 * network are verified item by item, so forged, foreign or reordered answers are refused while
 * the honest items around them are kept.
 *
 * @module
 */
import { deepStrictEqual as assertEquals } from "node:assert/strict"
import { Effect } from "effect"
import { Chain } from "../chain/mod.ts"
import { commitBare, runCommitTest as run } from "../chain/test_support.ts"
import { encode } from "../codec/mod.ts"
import { type DnaHash, Hasher } from "../hash/mod.ts"
import { Keystore } from "../keystore/mod.ts"
import { encodeAction, type SignedAction } from "../types/mod.ts"
import { localOnlyNetwork, makeCascade, Network, NetworkError, type NetworkShape } from "./mod.ts"

const postType = { type: "app", "zome_index": 0, "entry_index": 0, visibility: "public" } as const

const signedOf = (r: SignedAction): SignedAction => ({
  action: r.action,
  "action_hash": r.action_hash,
  signature: r.signature,
})

/** A local agent with one committed post; a stranger's chain (not held here) with links. */
const setup = Effect.gen(function* () {
  const hasher = yield* Hasher
  const keystore = yield* Keystore
  const chain = yield* Chain
  const dna = hasher.hashContent("dna", new Uint8Array([9])) as DnaHash
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
  const genesis = elsewhere.append({ type: "dna", "dna_hash": dna }, null).record
  const remoteEntry = { "entry_type": "app", entry: encode({ title: "remote" }) } as const
  const remoteEntryHash = elsewhere.entryHash(remoteEntry)
  const remote = elsewhere.append(
    { type: "create", "entry_type": postType, "entry_hash": remoteEntryHash },
    remoteEntry,
  ).record
  const link = (tag: number) =>
    elsewhere.append({
      type: "create_link",
      "base_address": agent,
      "target_address": remote.action_hash,
      "zome_index": 0,
      "link_type": 0,
      tag: new Uint8Array([tag]),
    }, null).record
  const kept = link(1)
  const deleted = link(2)
  const other = link(3)
  const deletion = elsewhere.append({
    type: "delete_link",
    "base_address": agent,
    "link_add_address": deleted.action_hash,
  }, null).record
  const deleteOfRemote = elsewhere.append({
    type: "delete",
    "deletes_address": remote.action_hash,
    "deletes_entry_address": remoteEntryHash,
  }, null).record
  const chainNewestFirst = [deleteOfRemote, deletion, other, deleted, kept, remote, genesis]
    .map(signedOf)
  return {
    dna,
    agent,
    stranger,
    local,
    remote,
    remoteEntryHash,
    kept,
    deleted,
    deletion,
    deleteOfRemote,
    other,
    chainNewestFirst,
    /** A well-formed action with a correct hash whose signature is not its author's. */
    forge: (action: SignedAction["action"]): SignedAction => ({
      action,
      "action_hash": hasher.hashContent(
        "action",
        encodeAction(action),
      ) as SignedAction["action_hash"],
      signature: new Uint8Array(64).fill(1),
    }),
  }
})

/** A cascade over a network that records what it was asked. */
const cascadeWith = (network: Partial<NetworkShape>) => {
  const asked: Array<string> = []
  const counting: NetworkShape = { ...localOnlyNetwork }
  for (const [key, method] of Object.entries(network)) {
    ;(counting as unknown as Record<string, unknown>)[key] = (...args: Array<unknown>) => {
      asked.push(key)
      return (method as (...a: Array<unknown>) => unknown)(...args)
    }
  }
  return Effect.map(
    Effect.provide(makeCascade, Network.layerFrom(counting)),
    (cascade) => ({ cascade, asked }),
  )
}

Deno.test("Cascade: strategy local never asks the network; network asks only for what is not held", async () => {
  await run(Effect.gen(function* () {
    const s = yield* setup
    const { cascade, asked } = yield* cascadeWith({ get: () => Effect.succeed(s.remote) })
    assertEquals(yield* cascade.get(s.dna, s.remote.action_hash, s.agent, "local"), null)
    assertEquals(asked, [])
    assertEquals(
      (yield* cascade.get(s.dna, s.local.action_hash, s.agent, "network"))?.action_hash,
      s.local.action_hash,
    )
    assertEquals(asked, [])
    assertEquals(yield* cascade.get(s.dna, s.remote.action_hash, s.agent, "network"), s.remote)
    assertEquals(asked, ["get"])
    assertEquals(yield* cascade.getAction(s.dna, s.remote.action_hash, "local"), null)
    assertEquals(yield* cascade.getAction(s.dna, s.remote.action_hash), signedOf(s.remote))
    assertEquals(
      yield* cascade.getEntry(s.dna, s.remoteEntryHash, null),
      s.remote.entry,
    )
  }))
})

Deno.test("Cascade.getLinks merges verified remote links, drops forged and deleted ones", async () => {
  await run(Effect.gen(function* () {
    const s = yield* setup
    // Signed by nobody (its hash is right), and an honest link relabelled (its hash is not).
    const forged = s.forge({ ...s.kept.action, tag: new Uint8Array([5]) } as SignedAction["action"])
    const relabelled = {
      ...signedOf(s.kept),
      action: { ...s.kept.action, tag: new Uint8Array([9]) },
    } as SignedAction
    const { cascade, asked } = yield* cascadeWith({
      getLinks: () =>
        Effect.succeed([
          forged,
          relabelled,
          signedOf(s.deleted),
          signedOf(s.deletion),
          signedOf(s.other),
        ]),
    })
    assertEquals(yield* cascade.getLinks(s.dna, { base: s.agent }, "local"), [])
    assertEquals(asked, [])
    const links = yield* cascade.getLinks(s.dna, { base: s.agent })
    assertEquals(links.map((l) => l.createLinkHash), [s.other.action_hash])
    // A query for another tag selects nothing of it.
    assertEquals(
      yield* cascade.getLinks(s.dna, { base: s.agent, tagPrefix: new Uint8Array([7]) }),
      [],
    )
  }))
})

Deno.test("Cascade.getDetails keeps only verified updates and deletes of the asked record", async () => {
  await run(Effect.gen(function* () {
    const s = yield* setup
    const forgedDelete = s.forge({ ...s.deleteOfRemote.action, timestamp: 1 })
    const { cascade } = yield* cascadeWith({
      getDetails: () =>
        Effect.succeed({
          type: "record",
          record: s.remote,
          deletes: [forgedDelete, signedOf(s.deleteOfRemote), signedOf(s.deletion)],
          updates: [],
        }),
    })
    const details = yield* cascade.getDetails(s.dna, s.remote.action_hash, s.agent)
    assertEquals(details?.type, "record")
    assertEquals(
      details?.type === "record" ? details.deletes.map((d) => d.action_hash) : [],
      [s.deleteOfRemote.action_hash],
    )
    assertEquals(yield* cascade.getDetails(s.dna, s.remote.action_hash, s.agent, "local"), null)
  }))
})

Deno.test("Cascade.agentActivity takes only a whole verified chain", async () => {
  await run(Effect.gen(function* () {
    const s = yield* setup
    const answer = (chain: ReadonlyArray<SignedAction>) =>
      Effect.flatMap(
        cascadeWith({ agentActivity: () => Effect.succeed(chain) }),
        ({ cascade }) => cascade.agentActivity(s.dna, s.stranger, null),
      )
    const chain = s.chainNewestFirst
    assertEquals(yield* answer(chain), chain)
    assertEquals(yield* answer([...chain].reverse()), null)
    assertEquals(yield* answer(chain.slice(0, -1)), null)
    assertEquals(yield* answer([chain[0]!, ...chain.slice(2)]), null)
    assertEquals(
      yield* answer([{ ...chain[0]!, signature: new Uint8Array(64) }, ...chain.slice(1)]),
      null,
    )
    // A chain of someone else is not the stranger's.
    const { cascade } = yield* cascadeWith({ agentActivity: () => Effect.succeed(chain) })
    assertEquals(yield* cascade.agentActivity(s.dna, s.agent, null, "network"), null)
    assertEquals(yield* cascade.agentActivity(s.dna, s.stranger, null, "local"), null)
  }))
})

Deno.test("Cascade: a failing network leaves links to the local answer but fails a miss", async () => {
  await run(Effect.gen(function* () {
    const s = yield* setup
    const down = Effect.fail(
      new NetworkError({ reason: "Timeout", operation: "test", detail: "no answer" }),
    )
    const { cascade } = yield* cascadeWith({
      get: () => down,
      getLinks: () => down,
      getDetails: () => down,
    })
    assertEquals(yield* cascade.getLinks(s.dna, { base: s.agent }), [])
    const local = yield* cascade.getDetails(s.dna, s.local.action_hash, s.agent)
    assertEquals(local?.type, "record")
    const miss = yield* Effect.flip(cascade.get(s.dna, s.remote.action_hash, s.agent))
    assertEquals(miss._tag === "NetworkError" ? miss.reason : miss._tag, "Timeout")
    const detailsMiss = yield* Effect.flip(cascade.getDetails(s.dna, s.remote.action_hash, s.agent))
    assertEquals(
      detailsMiss._tag === "NetworkError" ? detailsMiss.reason : detailsMiss._tag,
      "Timeout",
    )
  }))
})
