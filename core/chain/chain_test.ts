import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict"
import { Effect } from "effect"
import { encode } from "../codec/mod.ts"
import { type DnaHash, Hasher } from "../hash/mod.ts"
import { Keystore } from "../keystore/mod.ts"
import { Spaces } from "../space/mod.ts"
import { Store } from "../store/mod.ts"
import { Chain, entryTypeKey } from "./mod.ts"
import { commitBare as commit, type CommitTestServices, runCommitTest } from "./test_support.ts"

const run = <A, E>(effect: Effect.Effect<A, E, CommitTestServices>) => runCommitTest(effect)

const postType = { type: "app", "zome_index": 0, "entry_index": 0, visibility: "public" } as const
const secretType = {
  type: "app",
  "zome_index": 0,
  "entry_index": 1,
  visibility: "private",
} as const

const setup = Effect.gen(function* () {
  const hasher = yield* Hasher
  const keystore = yield* Keystore
  const chain = yield* Chain
  const agent = yield* keystore.generate
  const dna = hasher.hashContent("dna", new Uint8Array([1])) as DnaHash
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
  return { hasher, keystore, chain, agent, dna }
})

Deno.test("Commits.commit writes a linked, signed chain that verifies", async () => {
  await run(Effect.gen(function* () {
    const { chain, agent, dna } = yield* setup
    assertEquals(chain.head(dna, agent)?.seq, 2)
    const ws = yield* chain.open(dna, agent)
    const entry = { "entry_type": "app", entry: encode({ title: "hello" }) } as const
    const created = ws.append({
      type: "create",
      "entry_type": postType,
      "entry_hash": ws.entryHash(entry),
    }, entry)
    assertEquals(created.record.action.action_seq, 3)
    yield* commit(ws)
    assertEquals(chain.length(dna, agent), 4)
    assertEquals(yield* chain.verify(dna, agent), [])
    const posts = yield* chain.query(dna, agent, { entryTypes: [entryTypeKey(postType)] })
    assertEquals(posts.length, 1)
    assertEquals(posts[0]?.entry, entry)
    const newestFirst = yield* chain.query(dna, agent, { descending: true, includeEntries: false })
    assertEquals(newestFirst.map((r) => r.action.action_seq), [3, 2, 1, 0])
  }))
})

Deno.test("Commits.commit refuses a workspace whose base head moved", async () => {
  await run(Effect.gen(function* () {
    const { chain, agent, dna } = yield* setup
    const a = yield* chain.open(dna, agent)
    const b = yield* chain.open(dna, agent)
    const entry = { "entry_type": "app", entry: encode(1) } as const
    a.append({ type: "create", "entry_type": postType, "entry_hash": a.entryHash(entry) }, entry)
    b.append({ type: "create", "entry_type": postType, "entry_hash": b.entryHash(entry) }, entry)
    yield* commit(a)
    const error = yield* Effect.flip(commit(b))
    assertEquals(error.reason, "HeadMoved")
    assertEquals(chain.length(dna, agent), 4)
  }))
})

Deno.test("Chain.verify reports a tampered action", async () => {
  await run(Effect.gen(function* () {
    const { chain, agent, dna } = yield* setup
    const store = yield* Store
    store.db.prepare("UPDATE actions SET signature = zeroblob(64) WHERE seq = 1").run()
    store.db.prepare("DELETE FROM entries").run()
    assertEquals(yield* chain.verify(dna, agent), [
      { seq: 1, problem: "signature does not verify" },
      { seq: 2, problem: "entry is missing" },
    ])
  }))
})

Deno.test("Spaces answers get, get_details and links, hiding private entries from others", async () => {
  await run(Effect.gen(function* () {
    const { chain, agent, dna, keystore } = yield* setup
    const spaces = yield* Spaces
    const ws = yield* chain.open(dna, agent)
    const post = { "entry_type": "app", entry: encode({ title: "public" }) } as const
    const secret = { "entry_type": "app", entry: encode({ pin: 1234 }) } as const
    const created = ws.append({
      type: "create",
      "entry_type": postType,
      "entry_hash": ws.entryHash(post),
    }, post)
    const hidden = ws.append(
      { type: "create", "entry_type": secretType, "entry_hash": ws.entryHash(secret) },
      secret,
      true,
    )
    const link = ws.append({
      type: "create_link",
      "base_address": agent,
      "target_address": created.record.action_hash,
      "zome_index": 0,
      "link_type": 2,
      tag: new Uint8Array([7, 8]),
    }, null)
    yield* commit(ws)
    const other = yield* keystore.generate
    const byEntry = yield* spaces.get(dna, ws.entryHash(post), other)
    assertEquals(byEntry?.action_hash, created.record.action_hash)
    assertEquals(yield* spaces.get(dna, ws.entryHash(secret), other), null)
    assertEquals((yield* spaces.get(dna, hidden.record.action_hash, other))?.entry, null)
    assertEquals((yield* spaces.get(dna, hidden.record.action_hash, agent))?.entry, secret)
    const links = yield* spaces.getLinks(dna, {
      base: agent,
      types: [[0, 2]],
      tagPrefix: new Uint8Array([7]),
    })
    assertEquals(links.map((l) => l.createLinkHash), [link.record.action_hash])

    const ws2 = yield* chain.open(dna, agent)
    ws2.append({
      type: "delete_link",
      "base_address": agent,
      "link_add_address": link.record.action_hash,
    }, null)
    ws2.append({
      type: "delete",
      "deletes_address": created.record.action_hash,
      "deletes_entry_address": ws.entryHash(post),
    }, null)
    yield* commit(ws2)
    assertEquals((yield* spaces.getLinks(dna, { base: agent })).length, 0)
    assertEquals(yield* spaces.get(dna, ws.entryHash(post), other), null)
    const details = yield* spaces.getDetails(dna, ws.entryHash(post), other)
    assert(details?.type === "entry")
    assertEquals(details.entryDhtStatus, "dead")
    assertEquals(details.deletes.length, 1)
  }))
})

Deno.test("Spaces tracks capability grants and their revocation", async () => {
  await run(Effect.gen(function* () {
    const { chain, agent, dna } = yield* setup
    const spaces = yield* Spaces
    const ws = yield* chain.open(dna, agent)
    const grant = {
      "entry_type": "cap_grant",
      entry: { tag: "read", access: { type: "unrestricted" }, functions: { type: "all" } },
    } as const
    const created = ws.append(
      { type: "create", "entry_type": { type: "cap_grant" }, "entry_hash": ws.entryHash(grant) },
      grant,
      true,
    )
    yield* commit(ws)
    assertEquals((yield* spaces.grants(dna, agent, false)).map((g) => g.grant.tag), ["read"])
    const ws2 = yield* chain.open(dna, agent)
    ws2.append({
      type: "delete",
      "deletes_address": created.record.action_hash,
      "deletes_entry_address": ws.entryHash(grant),
    }, null)
    yield* commit(ws2)
    assertEquals((yield* spaces.grants(dna, agent, false)).length, 0)
    assertEquals((yield* spaces.grants(dna, agent, true)).length, 1)
  }))
})
