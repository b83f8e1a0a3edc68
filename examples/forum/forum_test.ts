/**
 * The forum hApp against an in-memory stand-in for the conductor: a shared DHT, one source chain
 * per agent, writes validated by the integrity zome (every op, as docs/abi.md §5 describes)
 * before they commit, `init` on each agent's first call, and `post_commit` signals.
 *
 * The stand-in is deliberately small: no signatures, no gossip, one DNA. It exists so the
 * forum's functions and rules can be tested before the ribosome lands.
 *
 * @module
 */
import { blake2b } from "@noble/hashes/blake2.js"
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict"
import { buildWasm } from "../../plugins/build_wasm.ts"
import {
  type HostAnswer,
  type HostHandler,
  MockHost,
  pack,
  unpack,
} from "../../plugins/pdk/mock_host.ts"

const reports = await buildWasm({ only: ["forum_integrity", "forum"] })
const wasm = (name: string) =>
  new WebAssembly.Module(Deno.readFileSync(reports.find((r) => r.name === name)!.out))
const integrityModule = wasm("forum_integrity")
const coordinatorModule = wasm("forum")

type Bytes = Uint8Array
type Map_ = Record<string, unknown>

const ENTRY_DEFS = [{ name: "post", visibility: "public" }, {
  name: "comment",
  visibility: "public",
}]
const LINK_TYPES = ["all_posts", "post_to_comments", "author_to_posts", "time_index"]

const hex = (b: Bytes) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("")
const holoHash = (prefix: number[], core: Bytes) => {
  const out = new Uint8Array(39)
  out.set(prefix)
  out.set(core.subarray(0, 32), 3)
  return out
}
const entryHashOf = (entry: Map_) =>
  holoHash([0x84, 0x21, 0x24], blake2b(pack(entry), { dkLen: 32 }))
const actionHashOf = (action: Map_) =>
  holoHash([0x84, 0x29, 0x24], blake2b(pack(action), { dkLen: 32 }))

class StopValidation extends Error {}

interface StoredRecord {
  readonly "action_hash": Bytes
  readonly action: Map_
  readonly signature: Bytes
  readonly entry: Map_ | null
}

/** One DNA's DHT and the chains of its agents. */
class FakeDna {
  records = new Map<string, StoredRecord>()
  chains = new Map<string, StoredRecord[]>()
  signals: unknown[] = []
  #clock = 1_700_000_000_000_000
  #initialized = new Set<string>()

  /** Moves the clock forward (actions are 1 ms apart otherwise). */
  advance(micros: number): void {
    this.#clock += micros
  }

  /** Sets the clock to `micros` since the epoch (never backwards). */
  at(micros: number): void {
    this.#clock = Math.max(this.#clock, micros)
  }

  /** Links returned by `get_links_1` so far, by link type name (how much a function read). */
  linksRead: Record<string, number> = {}

  agent(n: number): Bytes {
    return holoHash([0x84, 0x20, 0x24], new Uint8Array(32).fill(n))
  }

  /** Runs a zome call as `agent`: init first if needed, then the function, then validation. */
  call(agent: Bytes, fn: string, payload: unknown = null): unknown {
    if (!this.#initialized.has(hex(agent))) {
      const init = unpack(this.#run(agent, "init", null)) as Map_
      if (init.type !== "pass") throw new Error(`init failed: ${JSON.stringify(init)}`)
      this.#initialized.add(hex(agent))
    }
    return unpack(this.#run(agent, fn, payload))
  }

  #run(agent: Bytes, fn: string, payload: unknown): Bytes {
    const chain = this.#chain(agent)
    const before = chain.length
    const coordinator = this.#instance(agent, fn === "init" ? "init" : "zome_call")
    const result = coordinator.call(fn, pack(payload))
    const pending = chain.slice(before)
    const rollback = () => {
      for (const r of pending) this.records.delete(hex(r.action_hash))
      chain.length = before
    }
    if (result.rc !== 0 || result.output === null) {
      rollback()
      throw new Error(result.error ?? result.trap ?? "failed")
    }
    for (const record of pending) {
      const reason = this.validate(record)
      if (reason !== null) {
        rollback()
        throw new Error(`invalid: ${reason}`)
      }
    }
    if (pending.length > 0 && fn !== "init") {
      const committed = pending.map(({ action_hash, action, signature }) => ({
        action_hash,
        action,
        signature,
      }))
      const post = this.#instance(agent, "post_commit").call("post_commit", pack(committed))
      if (post.rc !== 0) throw new Error(`post_commit failed: ${post.error}`)
    }
    return result.output
  }

  /** Validates every op of `record` with the integrity zome; the first invalid reason, or null. */
  validate(record: StoredRecord): string | null {
    for (const op of this.#ops(record)) {
      const integrity = this.#instance(record.action.author as Bytes, "validate")
      let answer: Map_
      try {
        const result = integrity.call("validate", pack(op))
        if (result.rc !== 0) throw new Error(`validate failed: ${result.error ?? result.trap}`)
        answer = unpack(result.output!) as Map_
      } catch (cause) {
        if (cause instanceof StopValidation) return "unresolved dependencies"
        throw cause
      }
      if (answer.type !== "valid") return String(answer.reason ?? answer.type)
    }
    return null
  }

  #ops(record: StoredRecord): Map_[] {
    const action = record.action
    const entryType = this.#entryTypeName(action.entry_type as Map_ | undefined)
    const linkType = action.type === "create_link"
      ? LINK_TYPES[action.link_type as number]!
      : action.type === "delete_link"
      ? LINK_TYPES[
        this.records.get(hex(action.link_add_address as Bytes))!.action.link_type as number
      ]!
      : null
    const base = { record, "entry_type": entryType, "link_type": linkType }
    const ops: Map_[] = [{ type: "store_record", ...base }]
    if (action.type === "create" && entryType !== null) ops.push({ type: "store_entry", ...base })
    if (action.type === "update") {
      const original = this.#signed(action.original_action_address as Bytes)
      ops.push({ type: "store_entry", ...base }, {
        type: "register_update",
        ...base,
        original_action: original,
      })
    }
    if (action.type === "delete") {
      const original = this.#signed(action.deletes_address as Bytes)
      ops.push({ type: "register_delete", ...base, original_action: original })
    }
    if (action.type === "create_link") ops.push({ type: "register_create_link", ...base })
    if (action.type === "delete_link") {
      const created = this.#signed(action.link_add_address as Bytes)
      ops.push({ type: "register_delete_link", ...base, create_link: created })
    }
    return ops
  }

  #entryTypeName(entryType: Map_ | undefined): string | null {
    if (entryType?.type !== "app" || entryType.zome_index !== 0) return null
    return ENTRY_DEFS[entryType.entry_index as number]?.name ?? null
  }

  #signed(hash: Bytes) {
    const r = this.records.get(hex(hash))
    if (r === undefined) throw new Error("no such action")
    return { action_hash: r.action_hash, action: r.action, signature: r.signature }
  }

  #chain(agent: Bytes): StoredRecord[] {
    let chain = this.chains.get(hex(agent))
    if (chain === undefined) {
      chain = []
      this.chains.set(hex(agent), chain)
    }
    return chain
  }

  /** Appends an action (and its entry) to `agent`'s chain; visible to reads at once. */
  #write(agent: Bytes, fields: Map_, entry: Map_ | null): Bytes {
    const chain = this.#chain(agent)
    const prev = chain.at(-1)
    const action = {
      type: fields.type,
      author: agent,
      timestamp: this.#clock += 1000,
      "action_seq": chain.length + 3,
      "prev_action": prev?.action_hash ?? actionHashOf({ genesis: hex(agent) }),
      ...Object.fromEntries(Object.entries(fields).filter(([k]) => k !== "type")),
    }
    const record = {
      "action_hash": actionHashOf(action),
      action,
      signature: new Uint8Array(64),
      entry,
    }
    chain.push(record)
    this.records.set(hex(record.action_hash), record)
    return record.action_hash
  }

  #instance(agent: Bytes, context: string): MockHost {
    const integrity = context === "validate"
    const host = MockHost.load(integrity ? integrityModule : coordinatorModule)
    const ok = (value: unknown): HostAnswer => ({ ok: value })
    const err = (kind: string, message: string): HostAnswer => ({ err: { kind, message } })
    const writable = context === "zome_call" || context === "init"
    const write = (f: (input: Map_) => HostAnswer): HostHandler => (input) =>
      writable ? f(input as Map_) : err("denied", `no writes in ${context}`)
    const mustGet = (hash: Bytes): StoredRecord => {
      const r = this.records.get(hex(hash))
      if (r === undefined) {
        if (integrity) throw new StopValidation()
        throw new Error("not found")
      }
      return r
    }
    const startsWith = (tag: Bytes, prefix: Bytes | undefined) =>
      prefix === undefined || hex(tag.subarray(0, prefix.length)) === hex(prefix)
    const liveLinks = (base: Bytes, type: number, prefix?: Bytes) =>
      [...this.records.values()]
        .filter((r) =>
          r.action.type === "create_link" && hex(r.action.base_address as Bytes) === hex(base)
        )
        .filter((r) => r.action.link_type === type && startsWith(r.action.tag as Bytes, prefix))
        .filter((r) =>
          ![...this.records.values()].some((d) =>
            d.action.type === "delete_link" &&
            hex(d.action.link_add_address as Bytes) === hex(r.action_hash)
          )
        )
    return host
      .on("agent_info_1", () =>
        ok({
          "agent_initial_pubkey": agent,
          "agent_latest_pubkey": agent,
          "chain_head": { "action_hash": agent, "action_seq": 0, timestamp: this.#clock },
        }))
      .on("zome_info_1", () =>
        ok({
          name: integrity ? "forum_integrity" : "forum",
          id: integrity ? 0 : 1,
          "entry_defs": ENTRY_DEFS,
          "link_types": LINK_TYPES,
          "extern_fns": [],
        }))
      .on("dna_info_1", () =>
        ok({
          name: "forum",
          hash: holoHash([0x84, 0x2d, 0x24], new Uint8Array(32)),
          modifiers: { "network_seed": "", properties: pack(null) },
          "zome_names": ["forum_integrity", "forum"],
        }))
      .on("hash_1", (input) => {
        const i = input as Map_
        if (i.type !== "entry") return err("invalid_input", "only entry hashes here")
        return ok(entryHashOf({ "entry_type": "app", entry: i.entry }))
      })
      .on(
        "create_1",
        write((i) => {
          const index = ENTRY_DEFS.findIndex((d) => d.name === i.entry_type)
          if (index < 0) return err("not_found", `no entry type ${i.entry_type}`)
          const entry = { "entry_type": "app", entry: i.entry }
          const entryType = {
            type: "app",
            "zome_index": 0,
            "entry_index": index,
            visibility: "public",
          }
          return ok(
            this.#write(agent, {
              type: "create",
              "entry_type": entryType,
              "entry_hash": entryHashOf(entry),
            }, entry),
          )
        }),
      )
      .on(
        "update_1",
        write((i) => {
          const original = this.records.get(hex(i.original_action_hash as Bytes))
          if (original === undefined) return err("invalid", "no original")
          const entry = { "entry_type": "app", entry: i.entry }
          return ok(this.#write(agent, {
            type: "update",
            "entry_type": original.action.entry_type,
            "entry_hash": entryHashOf(entry),
            "original_action_address": original.action_hash,
            "original_entry_address": original.action.entry_hash,
          }, entry))
        }),
      )
      .on(
        "delete_1",
        write((i) => {
          const original = this.records.get(hex(i.deletes_action_hash as Bytes))
          if (original === undefined) return err("invalid", "no original")
          return ok(this.#write(agent, {
            type: "delete",
            "deletes_address": original.action_hash,
            "deletes_entry_address": original.action.entry_hash,
          }, null))
        }),
      )
      .on(
        "create_link_1",
        write((i) => {
          const type = LINK_TYPES.indexOf(i.link_type as string)
          if (type < 0) return err("not_found", `no link type ${i.link_type}`)
          return ok(this.#write(agent, {
            type: "create_link",
            "base_address": i.base,
            "target_address": i.target,
            "zome_index": 0,
            "link_type": type,
            tag: i.tag ?? new Uint8Array(0),
          }, null))
        }),
      )
      .on(
        "delete_link_1",
        write((i) => {
          const created = this.records.get(hex(i.create_link_hash as Bytes))
          if (created === undefined) return err("invalid", "no link")
          return ok(this.#write(agent, {
            type: "delete_link",
            "base_address": created.action.base_address,
            "link_add_address": created.action_hash,
          }, null))
        }),
      )
      .on(
        "create_cap_grant_1",
        write((i) => {
          const entry = { "entry_type": "cap_grant", entry: i }
          return ok(this.#write(agent, {
            type: "create",
            "entry_type": { type: "cap_grant" },
            "entry_hash": entryHashOf(entry),
          }, entry))
        }),
      )
      .on("get_1", (input) => ok(this.records.get(hex((input as Map_).hash as Bytes)) ?? null))
      .on("get_details_1", (input) => {
        const r = this.records.get(hex((input as Map_).hash as Bytes))
        if (r === undefined) return ok(null)
        const refs = (type: string, key: string) =>
          [...this.records.values()]
            .filter((x) =>
              x.action.type === type && hex(x.action[key] as Bytes) === hex(r.action_hash)
            )
            .map((x) => this.#signed(x.action_hash))
        return ok({
          type: "record",
          record: r,
          deletes: refs("delete", "deletes_address"),
          updates: refs("update", "original_action_address"),
        })
      })
      .on("get_links_1", (input) => {
        const i = input as Map_
        const type = LINK_TYPES.indexOf(i.link_type as string)
        const links = liveLinks(i.base as Bytes, type, i.tag_prefix as Bytes | undefined)
        const name = i.link_type as string
        this.linksRead[name] = (this.linksRead[name] ?? 0) + links.length
        return ok(
          links.map((r) => ({
            "create_link_hash": r.action_hash,
            author: r.action.author,
            timestamp: r.action.timestamp,
            base: r.action.base_address,
            target: r.action.target_address,
            "zome_index": 0,
            "link_type": type,
            "link_type_name": i.link_type,
            tag: r.action.tag,
          })),
        )
      })
      .on("must_get_valid_record_1", (input) => {
        const r = mustGet((input as Map_).hash as Bytes)
        return this.validate(r) === null ? ok(r) : err("not_found", "invalid record")
      })
      .on(
        "must_get_action_1",
        (input) => ok(this.#signed(mustGet((input as Map_).hash as Bytes).action_hash)),
      )
      .on("emit_signal_1", (input) => {
        if (context !== "post_commit" && context !== "zome_call") return err("denied", "no signals")
        this.signals.push(unpack(input as Bytes))
        return ok(null)
      })
  }

  /**
   * Validates an action `agent` writes without any zome code (so the coordinator's own checks
   * cannot step in), then takes it back: the integrity zome's verdict alone.
   */
  check(agent: Bytes, fields: Map_, entry: Map_ | null = null): string | null {
    const chain = this.#chain(agent)
    const hash = this.#write(agent, fields, entry)
    try {
      return this.validate(this.records.get(hex(hash))!)
    } finally {
      this.records.delete(hex(hash))
      chain.pop()
    }
  }
}

const appEntry = (value: unknown) => ({ "entry_type": "app", entry: pack(value) })
/** The hash of the anchor `name`, as the zomes compute it. */
const anchor = (name: string) => entryHashOf({ "entry_type": "app", entry: pack({ anchor: name }) })
/** An all_posts tag: the timestamp, 8 bytes big-endian. */
const timestampTag = (micros: number) => {
  const tag = new Uint8Array(8)
  new DataView(tag.buffer).setBigInt64(0, BigInt(micros))
  return tag
}
/** A small deterministic PRNG (mulberry32): the paging test prints its seed. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
const postType = { type: "app", "zome_index": 0, "entry_index": 0, visibility: "public" }
const commentType = { type: "app", "zome_index": 0, "entry_index": 1, visibility: "public" }

function setup() {
  const dna = new FakeDna()
  return { dna, alice: dna.agent(1), bob: dna.agent(2) }
}

function throws(f: () => unknown, expected: string): void {
  try {
    f()
  } catch (cause) {
    const message = cause instanceof Error ? cause.message : String(cause)
    assert(message.includes(expected), `"${message}" does not mention "${expected}"`)
    return
  }
  throw new Error(`expected a failure mentioning "${expected}"`)
}

interface PostView {
  hash: Bytes
  "action_hash": Bytes
  author: Bytes
  "created_at": number
  "updated_at": number
  title: string
  body: string
}

Deno.test("forum: a post can be written, read, listed and announced", () => {
  const { dna, alice, bob } = setup()
  const hash = dna.call(alice, "create_post", { title: "Hello", body: "First post" }) as Bytes
  assertEquals(hash.length, 39)
  const post = dna.call(bob, "get_post", { hash }) as PostView
  assertEquals([post.title, post.body, hex(post.author), hex(post.hash)], [
    "Hello",
    "First post",
    hex(alice),
    hex(hash),
  ])
  assertEquals(post.created_at, post.updated_at)
  assertEquals(post.action_hash, hash)
  assertEquals((dna.call(bob, "list_posts") as PostView[]).map((p) => p.title), ["Hello"])
  assertEquals(dna.signals, [{ type: "post_created", hash }])
  // init opened the read functions to everyone with an unrestricted grant.
  const grant = dna.chains.get(hex(alice))!.find((r) => r.entry?.entry_type === "cap_grant")!
  assertEquals(grant.entry!.entry, {
    tag: "public_reads",
    access: { type: "unrestricted" },
    functions: {
      type: "listed",
      value: [
        ["forum", "list_posts"],
        ["forum", "list_posts_page"],
        ["forum", "get_post"],
        ["forum", "list_comments"],
      ],
    },
  })
})

Deno.test("forum: lists are newest first, per author, and honour a limit", () => {
  const { dna, alice, bob } = setup()
  dna.call(alice, "create_post", { title: "one", body: "" })
  dna.call(bob, "create_post", { title: "two", body: "" })
  dna.call(alice, "create_post", { title: "three", body: "" })
  const titles = (posts: unknown) => (posts as PostView[]).map((p) => p.title)
  assertEquals(titles(dna.call(bob, "list_posts")), ["three", "two", "one"])
  assertEquals(titles(dna.call(bob, "list_posts", { limit: 2 })), ["three", "two"])
  assertEquals(titles(dna.call(alice, "get_my_posts")), ["three", "one"])
  assertEquals(titles(dna.call(alice, "get_posts_by_author", { author: bob })), ["two"])
  assertEquals(dna.signals.length, 3)
})

Deno.test("forum: the author edits and deletes; nobody else can", () => {
  const { dna, alice, bob } = setup()
  const hash = dna.call(alice, "create_post", { title: "Draft", body: "v1" }) as Bytes
  throws(
    () => dna.call(bob, "update_post", { hash, title: "Mine now", body: "" }),
    "only the author can edit",
  )
  const edit = dna.call(alice, "update_post", { hash, title: "Final", body: "v2" }) as Bytes
  const post = dna.call(bob, "get_post", { hash }) as PostView
  assertEquals([post.title, post.body, hex(post.action_hash)], ["Final", "v2", hex(edit)])
  assert(post.updated_at > post.created_at)
  throws(() => dna.call(bob, "delete_post", { hash }), "only the author can delete")
  dna.call(alice, "delete_post", { hash })
  assertEquals(dna.call(bob, "get_post", { hash }), null)
  assertEquals(dna.call(bob, "list_posts"), [])
  assertEquals(dna.call(alice, "get_my_posts"), [])
  throws(() => dna.call(alice, "delete_post", { hash }), "post not found")
})

Deno.test("forum: content rules are enforced with clear messages", () => {
  const { dna, alice } = setup()
  throws(() => dna.call(alice, "create_post", { title: "", body: "x" }), "a post needs a title")
  throws(() => dna.call(alice, "create_post", { title: "   ", body: "x" }), "a post needs a title")
  throws(
    () => dna.call(alice, "create_post", { title: "t".repeat(201), body: "" }),
    "at most 200 characters",
  )
  throws(
    () => dna.call(alice, "create_post", { title: "t", body: "b".repeat(10_001) }),
    "at most 10000",
  )
  throws(
    () => dna.call(alice, "create_post", { title: 5, body: "" }),
    '"title": expected string, got int',
  )
  throws(() => dna.call(alice, "create_post", null), "input: expected map, got nil")
  // 200 emoji are 200 characters (400 UTF-16 code units).
  dna.call(alice, "create_post", { title: "🌍".repeat(200), body: "b".repeat(10_000) })
})

Deno.test("forum: comments belong to a post, in order, and only their author removes them", () => {
  const { dna, alice, bob } = setup()
  const post = dna.call(alice, "create_post", { title: "Topic", body: "" }) as Bytes
  const first = dna.call(bob, "create_comment", { "post_hash": post, body: "first!" }) as Bytes
  dna.call(alice, "create_comment", { "post_hash": post, body: "welcome" })
  const comments = dna.call(bob, "list_comments", { "post_hash": post }) as Map_[]
  assertEquals(comments.map((c) => c.body), ["first!", "welcome"])
  assertEquals(hex(comments[0]!.author as Bytes), hex(bob))
  assertEquals(hex(comments[0]!.post_hash as Bytes), hex(post))
  throws(
    () => dna.call(bob, "create_comment", { "post_hash": post, body: "" }),
    "a comment cannot be empty",
  )
  throws(
    () => dna.call(bob, "create_comment", { "post_hash": post, body: "c".repeat(2001) }),
    "at most 2000",
  )
  throws(
    () => dna.call(bob, "create_comment", { "post_hash": first, body: "hi" }),
    "post not found",
  )
  throws(
    () => dna.call(alice, "delete_comment", { hash: first }),
    "only the author can delete a comment",
  )
  dna.call(bob, "delete_comment", { hash: first })
  assertEquals(
    (dna.call(alice, "list_comments", { "post_hash": post }) as Map_[]).map((c) => c.body),
    ["welcome"],
  )
})

Deno.test("forum integrity: rules hold against actions written without the coordinator", () => {
  const { dna, alice, bob } = setup()
  const post = dna.call(alice, "create_post", { title: "Alice's", body: "" }) as Bytes
  const noHash = new Uint8Array(39)
  const edit = (original: Bytes, type: Map_) => ({
    type: "update",
    "entry_type": type,
    "entry_hash": noHash,
    "original_action_address": original,
    "original_entry_address": noHash,
  })
  const create = (type: Map_) => ({ type: "create", "entry_type": type, "entry_hash": noHash })
  const link = (base: Bytes, target: Bytes, type: number, tag = new Uint8Array(0)) => ({
    type: "create_link",
    "base_address": base,
    "target_address": target,
    "zome_index": 0,
    "link_type": type,
    tag,
  })

  assertEquals(
    dna.check(bob, edit(post, postType), appEntry({ title: "Bob's now", body: "" })),
    "only the author can edit a post or comment",
  )
  assertEquals(
    dna.check(bob, { type: "delete", "deletes_address": post, "deletes_entry_address": noHash }),
    "only the author can delete a post or comment",
  )
  assertEquals(
    dna.check(alice, create(postType), appEntry({ title: 1 })),
    "a post is {title: string, body: string}",
  )
  assertEquals(
    dna.check(alice, create(postType), { "entry_type": "app", entry: Uint8Array.of(0xc1) }),
    "a post is {title: string, body: string}",
  )
  assertEquals(
    dna.check(alice, create(postType), appEntry({ title: "", body: "" })),
    "a post needs a title",
  )
  assertEquals(
    dna.check(bob, link(bob, post, 2)),
    "a link must point at the link author's own post or comment",
  )
  assertEquals(
    dna.check(alice, link(bob, post, 2)),
    "author_to_posts links start at the author's own key",
  )
  // all_posts links start at the post's second of the time index and carry its timestamp.
  const postedAt = dna.records.get(hex(post))!.action.timestamp as number
  assertEquals(
    dna.check(alice, link(alice, post, 0)),
    "an all_posts link's tag is the post's timestamp",
  )
  assertEquals(
    dna.check(alice, link(alice, post, 0, timestampTag(postedAt + 1))),
    "an all_posts link's tag is the post's timestamp",
  )
  assertEquals(
    dna.check(alice, link(alice, post, 0, timestampTag(postedAt))),
    "all_posts links start at the time bucket of the post",
  )
  const second = "all_posts/2023-11/14/22/13/20"
  assertEquals(dna.check(alice, link(anchor(second), post, 0, timestampTag(postedAt))), null)
  // time_index links join a bucket to a sub-bucket, named by the tag; anyone may write them.
  const indexLink = (base: string, target: string, tag: string) =>
    link(anchor(base), anchor(target), 3, new TextEncoder().encode(tag))
  const minute = "all_posts/2023-11/14/22/13"
  assertEquals(dna.check(bob, indexLink(minute, second, second)), null)
  assertEquals(
    dna.check(bob, indexLink("all_posts", "all_posts/2023-11", "all_posts/2023-11")),
    null,
  )
  for (
    const bad of [
      "all_posts",
      "all_posts/2023-13",
      "all_posts/2023-11/00",
      "all_posts/2023-11/14/24",
      "all_posts/2023-11/14/22/60",
      "all_posts/2023-11/14/22/13/20/00",
      "posts/2023-11",
      "all_posts/2023-1x",
    ]
  ) {
    assertEquals(
      dna.check(bob, indexLink(minute, bad, bad)),
      "a time_index link's tag is a bucket path",
      bad,
    )
  }
  assertEquals(
    dna.check(bob, indexLink("all_posts", second, second)),
    "a time_index link starts at its bucket's parent",
  )
  assertEquals(
    dna.check(bob, indexLink(minute, minute, second)),
    "a time_index link points at its bucket",
  )
  assertEquals(
    dna.check(alice, link(alice, post, 2, new Uint8Array(101))),
    "a link tag has at most 100 bytes",
  )
  assertEquals(dna.check(alice, link(alice, post, 2, new Uint8Array(100))), null)

  // A comment sits under a post, its link starts at that post, and an edit cannot move it.
  const comment = dna.call(bob, "create_comment", { "post_hash": post, body: "hi" }) as Bytes
  assertEquals(
    dna.check(alice, create(commentType), appEntry({ "post_hash": comment, body: "x" })),
    "post_hash must be the hash of a post",
  )
  assertEquals(
    dna.check(bob, link(alice, comment, 1)),
    "post_to_comments links start at the comment's post",
  )
  assertEquals(
    dna.check(bob, link(post, post, 1)),
    "a link must point at the link author's own post or comment",
  )
  const other = dna.call(bob, "create_post", { title: "Bob's", body: "" }) as Bytes
  assertEquals(
    dna.check(bob, edit(comment, commentType), appEntry({ "post_hash": other, body: "moved" })),
    "an edited comment must stay under the same post",
  )
  assertEquals(
    dna.check(bob, edit(comment, commentType), appEntry({ "post_hash": post, body: "edited" })),
    null,
  )

  // Only a link's author deletes it.
  const allPostsLink = [...dna.records.values()].find((r) =>
    r.action.type === "create_link" && hex(r.action.target_address as Bytes) === hex(post)
  )!
  assertEquals(
    dna.check(bob, {
      type: "delete_link",
      "base_address": allPostsLink.action.base_address,
      "link_add_address": allPostsLink.action_hash,
    }),
    "only the author of a link can delete it",
  )

  // A comment on a post this agent cannot see yet waits for it.
  assertEquals(
    dna.check(
      bob,
      create(commentType),
      appEntry({ "post_hash": new Uint8Array(39).fill(7), body: "early" }),
    ),
    "unresolved dependencies",
  )
})

interface PostPage {
  posts: PostView[]
  next: { timestamp: number; hash: Bytes } | null
}

/** Every post, page by page with `limits` (cycled); checks each page's shape on the way. */
function allPages(
  dna: FakeDna,
  reader: Bytes,
  limits: () => number,
  from: PostPage["next"] = null,
): PostView[] {
  const seen: PostView[] = []
  let cursor = from
  for (let pages = 0; pages < 10_000; pages++) {
    const limit = limits()
    const page = dna.call(
      reader,
      "list_posts_page",
      cursor === null ? { limit } : { limit, cursor },
    ) as PostPage
    assert(page.posts.length <= limit, `a page of ${page.posts.length} with limit ${limit}`)
    seen.push(...page.posts)
    if (page.next === null) return seen
    assert(page.posts.length === limit, "only a full page has a next cursor")
    const last = page.posts.at(-1)!
    assertEquals([page.next.timestamp, hex(page.next.hash)], [last.created_at, hex(last.hash)])
    cursor = page.next
  }
  throw new Error("more than 10,000 pages")
}

/** Newest first: by creation time, then by hash, largest first. */
function newestFirst(a: PostView, b: PostView): number {
  if (a.created_at !== b.created_at) return b.created_at - a.created_at
  return hex(b.hash) < hex(a.hash) ? -1 : hex(b.hash) > hex(a.hash) ? 1 : 0
}

Deno.test("forum: posts are indexed by the UTC second they were written in", () => {
  const { dna, alice } = setup()
  // 2024-02-29T23:59:59.5Z, a leap day, then past midnight into March.
  dna.at(1_709_251_199_500_000)
  const leap = dna.call(alice, "create_post", { title: "leap", body: "" }) as Bytes
  dna.at(1_709_251_200_000_000)
  dna.call(alice, "create_post", { title: "march", body: "" })
  const tags = [...dna.records.values()]
    .filter((r) => r.action.type === "create_link" && r.action.link_type === 3)
    .map((r) => new TextDecoder().decode(r.action.tag as Bytes))
  assertEquals(tags, [
    "all_posts/2024-02/29/23/59/59",
    "all_posts/2024-02/29/23/59",
    "all_posts/2024-02/29/23",
    "all_posts/2024-02/29",
    "all_posts/2024-02",
    "all_posts/2024-03/01/00/00/00",
    "all_posts/2024-03/01/00/00",
    "all_posts/2024-03/01/00",
    "all_posts/2024-03/01",
    "all_posts/2024-03",
  ])
  // A second post in the same second adds no index link, only its own.
  dna.at(1_709_251_200_400_000)
  dna.call(alice, "create_post", { title: "march again", body: "" })
  assertEquals(
    [...dna.records.values()].filter((r) =>
      r.action.link_type === 3 && r.action.type === "create_link"
    )
      .length,
    10,
  )
  const titles = (dna.call(alice, "list_posts") as PostView[]).map((p) => p.title)
  assertEquals(titles, ["march again", "march", "leap"])
  dna.call(alice, "delete_post", { hash: leap })
  assertEquals((dna.call(alice, "list_posts") as PostView[]).map((p) => p.title), [
    "march again",
    "march",
  ])
})

Deno.test("forum: list_posts_page returns every post exactly once across pages, newest first", () => {
  const seed = Number(Deno.env.get("FORUM_SEED") ?? Date.now() % 2 ** 31)
  // The seed is printed so that a failure can be replayed.
  // deno-lint-ignore no-console
  console.log(`seed ${seed} (FORUM_SEED=${seed} repeats this run)`)
  const random = mulberry32(seed)
  const { dna, alice, bob } = setup()
  const hashes: Bytes[] = []
  for (let i = 0; i < 45; i++) {
    // Several posts in one second, in one minute, hours and days apart: every level of the index.
    const gap = [
      0,
      0,
      300_000,
      20_000_000,
      3_000_000_000,
      90_000_000_000,
    ][Math.floor(random() * 6)]!
    dna.advance(gap)
    hashes.push(
      dna.call(i % 3 === 0 ? bob : alice, "create_post", { title: `p${i}`, body: "" }) as Bytes,
    )
  }
  // Two deleted posts leave every page.
  dna.call(alice, "delete_post", { hash: hashes[7] })
  dna.call(bob, "delete_post", { hash: hashes[9] })
  const everything = dna.call(bob, "list_posts") as PostView[]
  assertEquals(everything.length, 43)
  assertEquals(
    everything.map((p) => hex(p.hash)),
    [...everything].sort(newestFirst).map((p) => hex(p.hash)),
  )
  assertEquals(
    new Set(everything.map((p) => hex(p.hash))),
    new Set(hashes.filter((_, i) => i !== 7 && i !== 9).map(hex)),
  )
  for (
    const limits of [() => 1, () => 7, () => 43, () => 1000, () => 1 + Math.floor(random() * 12)]
  ) {
    const paged = allPages(dna, alice, limits)
    assertEquals(paged.map((p) => hex(p.hash)), everything.map((p) => hex(p.hash)))
  }
  // list_posts {limit} is the first page.
  assertEquals(
    (dna.call(bob, "list_posts", { limit: 5 }) as PostView[]).map((p) => p.title),
    everything.slice(0, 5).map((p) => p.title),
  )
  // A post written while a reader pages is newer than the first page: it never shows up later.
  const first = dna.call(bob, "list_posts_page", { limit: 10 }) as PostPage
  dna.advance(1_000_000)
  dna.call(alice, "create_post", { title: "late", body: "" })
  const rest = allPages(dna, bob, () => 10, first.next)
  assertEquals(rest.map((p) => p.title), everything.slice(10).map((p) => p.title))
  const second = dna.call(bob, "list_posts_page", { limit: 33, cursor: first.next }) as PostPage
  assertEquals(second.posts.map((p) => p.title), everything.slice(10).map((p) => p.title))
  assertEquals(second.next !== null, true)
  const after = dna.call(bob, "list_posts_page", { limit: 5, cursor: second.next }) as PostPage
  assertEquals(after, { posts: [], next: null })
})

Deno.test("forum: a page reads the newest buckets, not every post", () => {
  const { dna, alice } = setup()
  for (let i = 0; i < 60; i++) {
    dna.advance(3_600_000_000) // one post an hour, over three days
    dna.call(alice, "create_post", { title: `p${i}`, body: "" })
  }
  dna.linksRead = {}
  const page = dna.call(alice, "list_posts", { limit: 3 }) as PostView[]
  assertEquals(page.map((p) => p.title), ["p59", "p58", "p57"])
  // The post links read are those of the page (one post a second here), and the index links a
  // walk of the calendar down to three seconds: at most a month's days and a day's hours, plus a
  // minute and a second per post, whatever the size of the forum.
  assertEquals(dna.linksRead.all_posts, 3)
  assert(dna.linksRead.time_index! <= 1 + 31 + 24 + 3 * 2, JSON.stringify(dna.linksRead))
  dna.linksRead = {}
  const next = dna.call(alice, "list_posts_page", {
    limit: 3,
    cursor: { timestamp: page[2]!.created_at, hash: page[2]!.hash },
  }) as PostPage
  assertEquals(next.posts.map((p) => p.title), ["p56", "p55", "p54"])
  // The cursor's own second is read again, and its posts up to the cursor skipped.
  assertEquals(dna.linksRead.all_posts, 4)
  dna.linksRead = {}
  dna.call(alice, "list_posts")
  assertEquals(dna.linksRead.all_posts, 60)
})

Deno.test("forum: list_posts_page refuses a bad limit or cursor", () => {
  const { dna, alice } = setup()
  dna.call(alice, "create_post", { title: "one", body: "" })
  throws(() => dna.call(alice, "list_posts_page", { limit: 0 }), "limit must be from 1 to 1000")
  throws(() => dna.call(alice, "list_posts_page", { limit: 1001 }), "limit must be from 1 to 1000")
  throws(
    () => dna.call(alice, "list_posts_page", { cursor: { timestamp: 1, hash: new Uint8Array(3) } }),
    "cursor.hash must be a 39-byte action hash",
  )
  throws(
    () => dna.call(alice, "list_posts_page", { cursor: { hash: new Uint8Array(39) } }),
    "timestamp",
  )
  assertEquals((dna.call(alice, "list_posts_page", null) as PostPage).posts.length, 1)
  // A cursor before 1970 has no bucket: nothing comes after it.
  assertEquals(
    dna.call(alice, "list_posts_page", { cursor: { timestamp: -5, hash: new Uint8Array(39) } }),
    { posts: [], next: null },
  )
})
