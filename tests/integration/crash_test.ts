/**
 * SIGKILL in the middle of a burst of writing zome calls: after a restart every chain verifies
 * (hash links, signatures, sequence numbers), every call that returned success is present with
 * its DHT ops in the durable outbox, and no zome call is half-written (each `create_post` writes a post and its two links, or nothing).
 *
 * @module
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict"
import { DatabaseSync } from "node:sqlite"
import { decodeHashB64 } from "../../core/hash/mod.ts"
import { packed } from "../support/conductor.ts"
import { conductorCommand, startConductor, writeConfig } from "../support/process.ts"
import { CLEANUP_TIMEOUT_MS, waitFor, withTimeout } from "../support/timeout.ts"

Deno.test("a conductor killed with SIGKILL during a burst of writes loses nothing it acknowledged", async () => {
  const dir = await Deno.makeTempDir()
  const config = await writeConfig(dir)
  const happ = await packed("examples/forum")

  const first = await startConductor(config)
  const install = await fetch(`${first.http}/api/apps?installed_app_id=forum&enable=true`, {
    method: "POST",
    headers: { "content-type": "application/octet-stream" },
    body: happ as Uint8Array<ArrayBuffer>,
  })
  assertEquals(install.status, 201, await install.clone().text())
  await install.body?.cancel()

  // Three clients write as fast as they can; the kill lands while requests are in flight.
  const acknowledged: Array<string> = []
  let stop = false
  const writer = async (id: number) => {
    for (let i = 0; !stop; i++) {
      const response = await fetch(`${first.http}/api/apps/forum/call/forum/forum/create_post`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ title: `post ${id}.${i}`, body: "x".repeat(200) }),
      }).catch(() => undefined)
      if (response === undefined) return
      if (response.status === 200) acknowledged.push(await response.json() as string)
      else await response.body?.cancel()
    }
  }
  const writers = [writer(1), writer(2), writer(3)]
  await waitFor(() => acknowledged.length >= 150, "150 acknowledged posts")
  const killed = first.stop("SIGKILL")
  stop = true
  await withTimeout(Promise.all(writers), CLEANUP_TIMEOUT_MS, "the writers ending")
  const status = await killed
  assertEquals(status.signal, "SIGKILL")

  const verify = await conductorCommand(["verify", "--config", config])
  assertEquals(verify.code, 0, verify.stdout + verify.stderr)
  assert(verify.stdout.includes(", 0 problem(s)"), verify.stdout)

  const db = new DatabaseSync(`${dir}/data/conductor.sqlite3`, { readOnly: true })
  const exists = db.prepare("SELECT 1 FROM actions WHERE hash = ?")
  for (const hash of acknowledged) {
    assert(
      exists.get(decodeHashB64(hash, "action")!) !== undefined,
      `acknowledged post ${hash} is missing`,
    )
  }
  // Every acknowledged post has its DHT ops queued for the network (store_record,
  // register_agent_activity, store_entry), and no committed action lacks its outbox rows.
  const queued = db.prepare(
    "SELECT count(*) AS n FROM actions a JOIN outbox o ON o.id / 16 = a.id WHERE a.hash = ?",
  )
  for (const hash of acknowledged) {
    const { n } = queued.get(decodeHashB64(hash, "action")!) as { n: number }
    assertEquals(n, 3, `acknowledged post ${hash} has ${n} outbox ops`)
  }
  const unqueued = db.prepare(
    "SELECT count(*) AS n FROM actions a WHERE NOT EXISTS (SELECT 1 FROM outbox o WHERE o.id / 16 = a.id)",
  ).get() as { n: number }
  assertEquals(unqueued.n, 0)
  // No half zome calls: every post create has both of its links.
  const halves = db.prepare(
    `SELECT count(*) AS n FROM actions a WHERE a.type = 'create' AND a.entry_type LIKE 'app:%'
     AND (SELECT count(*) FROM links l WHERE l.target = a.hash) <> 2`,
  ).get() as { n: number }
  assertEquals(halves.n, 0)
  const posts = (db.prepare(
    "SELECT count(*) AS n FROM actions WHERE type = 'create' AND entry_type LIKE 'app:%'",
  ).get() as { n: number }).n
  assert(posts >= acknowledged.length)
  db.close()

  const second = await startConductor(config)
  const listed = await fetch(`${second.http}/api/apps/forum/call/forum/forum/list_posts`, {
    method: "POST",
  })
  assertEquals(listed.status, 200)
  assertEquals((await listed.json() as Array<unknown>).length, posts)
  const after = await fetch(`${second.http}/api/apps/forum/call/forum/forum/create_post`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ title: "after the crash", body: "still writing" }),
  })
  assertEquals(after.status, 200)
  await after.body?.cancel()
  assertEquals((await second.stop()).code, 0)
  await Deno.remove(dir, { recursive: true })
})
