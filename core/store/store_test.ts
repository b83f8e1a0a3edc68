import { deepStrictEqual as assertEquals, ok as assert, throws } from "node:assert/strict"
import { Effect, Exit } from "effect"
import { openStore, Store } from "./mod.ts"

Deno.test("openStore runs the migrations once and records the version", () => {
  const dir = Deno.makeTempDirSync()
  const file = `${dir}/db.sqlite3`
  const first = openStore(file)
  const version = first.db.prepare("PRAGMA user_version").get() as { user_version: number }
  assertEquals(version.user_version, 2)
  first.db.close()
  const second = openStore(file)
  assert(second.db.prepare("SELECT count(*) AS n FROM apps").get())
  second.db.close()
  Deno.removeSync(dir, { recursive: true })
})

Deno.test("openStore refuses a database from a newer conductor", () => {
  const dir = Deno.makeTempDirSync()
  const file = `${dir}/db.sqlite3`
  const store = openStore(file)
  store.db.exec("PRAGMA user_version = 99")
  store.db.close()
  throws(() => openStore(file), /schema version 99 is newer/)
  Deno.removeSync(dir, { recursive: true })
})

Deno.test("Store.transaction rolls back everything when the body throws", () => {
  const store = openStore(":memory:")
  store.db.exec("CREATE TABLE t (x INTEGER)")
  throws(() =>
    store.transaction(() => {
      store.prepare("INSERT INTO t VALUES (1)").run()
      store.transaction(() => store.prepare("INSERT INTO t VALUES (2)").run())
      throw new Error("boom")
    })
  )
  assertEquals((store.prepare("SELECT count(*) AS n FROM t").get() as { n: number }).n, 0)
  store.transaction(() => store.prepare("INSERT INTO t VALUES (3)").run())
  assertEquals((store.prepare("SELECT count(*) AS n FROM t").get() as { n: number }).n, 1)
})

Deno.test("Store.make fails with a StoreError naming the file", async () => {
  const exit = await Effect.runPromiseExit(
    Effect.scoped(Store.make("/proc/definitely/not/writable/db.sqlite3")),
  )
  assert(Exit.isFailure(exit))
  const error = Exit.findErrorOption(exit)
  assert(error._tag === "Some")
  assert(error.value.message.includes("/proc/definitely/not/writable/db.sqlite3"))
})
