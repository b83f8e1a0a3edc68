/**
 * Many concurrent writers on the same chains, through the admin HTTP API of a real conductor
 * process: every chain verifies afterwards, every write that was acknowledged is on its chain
 * with its DHT ops in the outbox, and every refused write was refused as a whole (a moved head
 * is a 409, never a half-written or interleaved chain). Calls are synchronous today, so every
 * write succeeds; once calls interleave, some may be refused with HeadMoved and the same checks
 * still hold.
 *
 * @module
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict"
import { DatabaseSync } from "node:sqlite"
import { decodeHashB64 } from "../../core/hash/mod.ts"
import { packed } from "../support/conductor.ts"
import { conductorCommand, startConductor, writeConfig } from "../support/process.ts"

const APPS = ["alice", "bob"]
const WRITERS_PER_APP = 6
const POSTS_PER_WRITER = 8

Deno.test("concurrent writers on one chain commit one at a time and lose nothing acknowledged", async () => {
  const dir = await Deno.makeTempDir()
  const config = await writeConfig(dir)
  const happ = await packed("examples/forum")
  const conductor = await startConductor(config)
  const request = (path: string, init: RequestInit = {}) =>
    fetch(`${conductor.http}${path}`, { ...init, signal: AbortSignal.timeout(60_000) })

  for (const app of APPS) {
    const install = await request(`/api/apps?installed_app_id=${app}&enable=true`, {
      method: "POST",
      headers: { "content-type": "application/octet-stream" },
      body: happ as Uint8Array<ArrayBuffer>,
    })
    assertEquals(install.status, 201, await install.clone().text())
    await install.body?.cancel()
  }

  const acknowledged = new Map<string, Array<string>>(APPS.map((app) => [app, []]))
  let refused = 0
  const writer = async (app: string, id: number) => {
    for (let i = 0; i < POSTS_PER_WRITER; i++) {
      const response = await request(`/api/apps/${app}/call/forum/forum/create_post`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ title: `${app} ${id}.${i}`, body: "y".repeat(100) }),
      })
      if (response.status === 200) {
        acknowledged.get(app)!.push(await response.json() as string)
      } else {
        assertEquals(response.status, 409, await response.text())
        refused++
      }
    }
  }
  await Promise.all(
    APPS.flatMap((app) => Array.from({ length: WRITERS_PER_APP }, (_, id) => writer(app, id))),
  )
  const total = [...acknowledged.values()].reduce((n, list) => n + list.length, 0)
  assertEquals(total + refused, APPS.length * WRITERS_PER_APP * POSTS_PER_WRITER)

  for (const app of APPS) {
    const listed = await request(`/api/apps/${app}/call/forum/forum/list_posts`, {
      method: "POST",
    })
    assertEquals(listed.status, 200)
    // Both agents share the forum's DNA, so each sees every post.
    assertEquals((await listed.json() as Array<unknown>).length, total)
  }
  conductor.child.kill("SIGTERM")
  assertEquals((await conductor.exited).code, 0)

  const verify = await conductorCommand(["verify", "--config", config])
  assertEquals(verify.code, 0, verify.stdout + verify.stderr)
  assert(verify.stdout.includes(", 0 problem(s)"), verify.stdout)

  const db = new DatabaseSync(`${dir}/data/conductor.sqlite3`, { readOnly: true })
  const authorOf = db.prepare("SELECT author FROM actions WHERE hash = ?")
  const queued = db.prepare(
    "SELECT count(*) AS n FROM actions a JOIN outbox o ON o.id / 16 = a.id WHERE a.hash = ?",
  )
  for (const [app, hashes] of acknowledged) {
    const authors = new Set<string>()
    for (const hash of hashes) {
      const bytes = decodeHashB64(hash, "action")!
      const row = authorOf.get(bytes) as { author: Uint8Array } | undefined
      assert(row !== undefined, `acknowledged post ${hash} of ${app} is missing`)
      authors.add(row.author.join(","))
      assertEquals((queued.get(bytes) as { n: number }).n, 3)
    }
    assertEquals(authors.size, 1, `the posts of ${app} are on one chain`)
  }
  db.close()
  await Deno.remove(dir, { recursive: true })
})
