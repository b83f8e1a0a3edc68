/**
 * The forum example as two agents use it in one conductor: posts, edits, comments and deletes
 * with the integrity zome's rules enforced (size limits, author-only changes), the read grant
 * its `init` creates, the `post_created` signal from `post_commit`, and the same app through the
 * admin HTTP API and the HTTP gateway.
 *
 * @module
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict"
import { Effect } from "effect"
import { makeHttpApp } from "../../core/admin/http_app.ts"
import { encode } from "../../core/codec/mod.ts"
import { ConductorConfig } from "../../core/config/mod.ts"
import type { RunningCell } from "../../core/cell/mod.ts"
import { bytesEqual, encodeHashB64, toBase64Url } from "../../core/hash/mod.ts"
import { ZomeCalls } from "../../core/workflow/zome_call.ts"
import {
  callZome,
  callZomeError,
  collectSignals,
  disposeConductor,
  installApp,
  makeConductor,
  packed,
} from "../support/conductor.ts"
import { step } from "../support/timeout.ts"

const CONFIG = `
log: {level: error}
http:
  gateway:
    allowed_app_ids: [alice]
    allowed_fns:
      alice: [forum/list_posts, forum/get_post]
`

type Post = {
  hash: Uint8Array
  author: Uint8Array
  title: string
  body: string
  "updated_at": number
  "created_at": number
}

Deno.test("the forum example with two agents", async (t) => {
  const conductor = makeConductor({ config: CONFIG })
  const happ = await packed("examples/forum")
  const alice = (await installApp(conductor, happ, "alice"))["forum"]!
  const bob = (await installApp(conductor, happ, "bob"))["forum"]!
  assert(bytesEqual(alice.dna.hash, bob.dna.hash), "same DNA, same space")
  const as = (cell: RunningCell, fn: string, payload: unknown = null) =>
    callZome(conductor, cell, "forum", fn, payload)

  let first: Uint8Array
  await step(
    t,
    "posts are created, listed newest first, and announced by post_commit",
    async () => {
      const signals = collectSignals(conductor)
      first = await as(alice, "create_post", { title: "Welcome", body: "First post" }) as Uint8Array
      const second = await as(bob, "create_post", { title: "Hi", body: "Bob here" }) as Uint8Array
      const posts = await as(alice, "list_posts") as Array<Post>
      assertEquals(posts.map((p) => p.title), ["Hi", "Welcome"])
      assert(bytesEqual(posts[1]!.author, alice.agent))
      while (
        signals.received.filter((s) => (s.signal as { type?: string }).type === "post_created")
          .length < 2
      ) {
        await signals.atLeast(signals.received.length + 1)
      }
      const created = signals.received.filter((s) =>
        (s.signal as { type?: string }).type === "post_created"
      )
      assert(created.some((s) => bytesEqual((s.signal as { hash: Uint8Array }).hash, second)))
      await signals.stop()
    },
  )

  await step(t, "the integrity zome's rules refuse bad content", async () => {
    const long = await callZomeError(conductor, alice, "forum", "create_post", {
      title: "x".repeat(201),
      body: "b",
    })
    assert(long.reason === "GuestError" || long.reason === "InvalidCommit", long.detail)
    assert(/title/i.test(long.detail), long.detail)
    const noPost = await callZomeError(conductor, bob, "forum", "create_comment", {
      post_hash: alice.agent,
      body: "to nowhere",
    })
    assert(noPost.detail.length > 0)
  })

  await step(t, "only the author may edit or delete a post", async () => {
    const edit = await callZomeError(conductor, bob, "forum", "update_post", {
      hash: first,
      title: "Hijacked",
      body: "no",
    })
    assert(/author/i.test(edit.detail), edit.detail)
    await as(alice, "update_post", { hash: first, title: "Welcome!", body: "First post, edited" })
    const post = await as(bob, "get_post", { hash: first }) as Post
    assertEquals(post.title, "Welcome!")
    assert(post.updated_at > post.created_at)
    const remove = await callZomeError(conductor, bob, "forum", "delete_post", { hash: first })
    assert(/author/i.test(remove.detail), remove.detail)
  })

  await step(t, "comments from anyone, listed oldest first", async () => {
    await as(bob, "create_comment", { post_hash: first, body: "Nice" })
    await as(alice, "create_comment", { post_hash: first, body: "Thanks" })
    const comments = await as(alice, "list_comments", { post_hash: first }) as Array<
      { body: string }
    >
    assertEquals(comments.map((c) => c.body), ["Nice", "Thanks"])
    const empty = await callZomeError(conductor, bob, "forum", "create_comment", {
      post_hash: first,
      body: "",
    })
    assert(empty.detail.length > 0)
  })

  await step(t, "init's unrestricted grant lets others read a cell, not write to it", async () => {
    const posts = await conductor.runPromise(Effect.gen(function* () {
      const calls = yield* ZomeCalls
      return yield* calls.call({
        cellId: alice.cellId,
        zome: "forum",
        fn: "list_posts",
        payload: encode(null),
        provenance: bob.agent,
        capSecret: null,
      })
    }))
    assert(posts.length > 1)
    const write = await callZomeError(conductor, alice, "forum", "create_post", {
      title: "As bob",
      body: "on alice's cell",
    }, bob.agent)
    assertEquals(write.reason, "Unauthorized")
  })

  await step(t, "a deleted post disappears from the list", async () => {
    await as(alice, "delete_post", { hash: first })
    assertEquals(await as(alice, "get_post", { hash: first }), null)
    assertEquals((await as(bob, "list_posts") as Array<Post>).map((p) => p.title), ["Hi"])
  })

  await step(
    t,
    "the HTTP gateway serves allowed functions with hc-http-gw's status codes",
    async () => {
      const config = await conductor.runPromise(Effect.service(ConductorConfig))
      const app = makeHttpApp((effect) => conductor.runPromise(effect), config, performance.now())
      const dna = encodeHashB64(alice.dna.hash)
      const payload = (value: unknown) =>
        toBase64Url(new TextEncoder().encode(JSON.stringify(value)))
      const list = await app.request(`/${dna}/alice/forum/list_posts`)
      assertEquals(list.status, 200)
      const posts = await list.json() as Array<{ title: string; hash: Array<number> }>
      assertEquals(posts.map((p) => p.title), ["Hi"])
      assertEquals(posts[0]!.hash.length, 39) // msgpack bin becomes an array of bytes, as hc-http-gw does
      const one = await app.request(
        `/${dna}/alice/forum/get_post?payload=${payload({ hash: posts[0]!.hash })}`,
      )
      assertEquals(one.status, 500) // JSON has no bin: the zome rejects an array where it needs a hash
      assertEquals((await app.request(`/${dna}/bob/forum/list_posts`)).status, 403)
      assertEquals((await app.request(`/${dna}/alice/forum/create_post`)).status, 403)
      assertEquals((await app.request(`/uhC0kNOTAHASH/alice/forum/list_posts`)).status, 400)
      assertEquals((await app.request(`/${dna}/alice/forum/list_posts?payload=%%%`)).status, 400)
      assertEquals(
        (await app.request(`/${dna}/alice/forum/list_posts?payload=${"A".repeat(20000)}`)).status,
        400,
      )
      assertEquals(
        (await app.request(`/${dna}/alice/forum/list_posts?payload=${payload(null).slice(0, 2)}x`))
          .status,
        400,
      )
      const otherDna = encodeHashB64(alice.dna.hash.slice().fill(7, 3, 35))
      assertEquals((await app.request(`/${otherDna}/alice/forum/list_posts`)).status, 400) // location bytes no longer match
      assertEquals(
        (await app.request(`/${dna}/alice/forum/list_posts`, { method: "POST" })).status,
        405,
      )
      const body = await (await app.request(`/${dna}/bob/forum/list_posts`)).json()
      assert(typeof body.error === "string")
    },
  )

  await step(t, "the JSON admin API lists, calls and manages apps", async () => {
    const config = await conductor.runPromise(Effect.service(ConductorConfig))
    const app = makeHttpApp((effect) => conductor.runPromise(effect), config, performance.now())
    const apps = await (await app.request("/api/apps")).json() as Array<
      { installed_app_id: string; agent_pub_key: string }
    >
    assertEquals(apps.map((a) => a.installed_app_id).sort(), ["alice", "bob"])
    assert(apps[0]!.agent_pub_key.startsWith("uhCAk"))
    const called = await app.request("/api/apps/bob/call/forum/forum/list_posts", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "null",
    })
    assertEquals(called.status, 200)
    assertEquals((await called.json() as Array<{ title: string }>)[0]!.title, "Hi")
    assertEquals(
      (await app.request("/api/apps/nobody/call/forum/forum/list_posts", { method: "POST" }))
        .status,
      404,
    )
    assertEquals(
      (await app.request("/api/apps/bob/call/forum/forum/nope", { method: "POST" })).status,
      404,
    )
    assertEquals((await app.request("/api/apps/bob/disable", { method: "POST" })).status, 200)
    assertEquals(
      (await app.request("/api/apps/bob/call/forum/forum/list_posts", { method: "POST" })).status,
      404,
    )
    assertEquals((await app.request("/api/apps/bob", { method: "DELETE" })).status, 200)
    assertEquals((await app.request("/api/apps/bob")).status, 404)
    const metrics = await (await app.request("/metrics")).text()
    assert(
      metrics.includes(
        'conductor_zome_calls_total{cell="alice/forum",zome="forum",fn="create_post",outcome="ok"}',
      ),
      metrics.slice(0, 400),
    )
    assert(metrics.includes("conductor_zome_call_duration_seconds_bucket"))
    // A function name the caller made up is not a label: metrics must not grow with bad calls.
    assert(metrics.includes('fn="(unknown)",outcome="function_not_found"'), metrics)
    assert(!metrics.includes('fn="nope"'))
    const rss = Number(metrics.match(/^process_resident_memory_bytes (\d+)$/m)?.[1])
    assert(rss > 10_000_000, "process_resident_memory_bytes is the process's RSS")
    assert(/^conductor_js_heap_bytes\{kind="used"\} \d+$/m.test(metrics))
    assertEquals((await (await app.request("/health")).json()).status, "ok")
    const bad = await app.request("/api/apps", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{",
    })
    assertEquals(bad.status, 400)
    const installed = await app.request("/api/apps?installed_app_id=carol&enable=true", {
      method: "POST",
      headers: { "content-type": "application/octet-stream" },
      body: happ as Uint8Array<ArrayBuffer>,
    })
    assertEquals(installed.status, 201)
    assertEquals((await installed.json()).status.type, "enabled")
  })

  await disposeConductor(conductor)
})

Deno.test("the forum's list_posts_page pages through every post once, newest first", async () => {
  const conductor = makeConductor({ config: "log: {level: error}\n" })
  const happ = await packed("examples/forum")
  const alice = (await installApp(conductor, happ, "alice"))["forum"]!
  const bob = (await installApp(conductor, happ, "bob"))["forum"]!
  const as = (cell: RunningCell, fn: string, payload: unknown = null) =>
    callZome(conductor, cell, "forum", fn, payload)
  try {
    // Written back to back: many share a second of the time index, and some share a timestamp's
    // neighbourhood with the other agent's.
    for (let i = 0; i < 30; i++) {
      await as(i % 2 === 0 ? alice : bob, "create_post", { title: `paged ${i}`, body: "" })
    }
    const all = await as(bob, "list_posts") as Array<Post>
    assertEquals(all.length, 30)
    const order = (a: Post, b: Post) =>
      b.created_at - a.created_at || encodeHashB64(b.hash).localeCompare(encodeHashB64(a.hash))
    assertEquals(all.map((p) => p.title), [...all].sort(order).map((p) => p.title))
    const paged: Array<Post> = []
    let cursor: unknown = null
    for (let pages = 0; pages < 100; pages++) {
      const page = await as(
        alice,
        "list_posts_page",
        cursor === null ? { limit: 4 } : {
          limit: 4,
          cursor,
        },
      ) as { posts: Array<Post>; next: unknown }
      paged.push(...page.posts)
      if (page.next === null) break
      cursor = page.next
    }
    assertEquals(paged.map((p) => encodeHashB64(p.hash)), all.map((p) => encodeHashB64(p.hash)))
    assertEquals(
      (await as(bob, "list_posts", { limit: 4 }) as Array<Post>).map((p) => p.title),
      all.slice(0, 4).map((p) => p.title),
    )
  } finally {
    await conductor.dispose()
  }
})
