import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict"
import process from "node:process"
import { loosePermissions } from "./data_dir.ts"
import { openStore } from "./store.ts"

const modeOf = (file: string) => (Deno.statSync(file).mode ?? 0) & 0o777

/** Runs `f` with the process umask set to `mask` (0 lets every requested bit through). */
function withUmask<A>(mask: number, f: () => A): A {
  const previous = process.umask(mask)
  try {
    return f()
  } finally {
    process.umask(previous)
  }
}

Deno.test("openStore makes a new data folder 0700 and the database, -wal and -shm 0600", () => {
  const parent = Deno.makeTempDirSync()
  try {
    const dir = `${parent}/data`
    const file = `${dir}/conductor.sqlite3`
    const store = withUmask(0, () => openStore(file))
    store.db.exec("CREATE TABLE t (x)")
    store.db.exec("INSERT INTO t VALUES (1)")
    assertEquals(modeOf(dir), 0o700)
    for (const name of ["conductor.sqlite3", "conductor.sqlite3-wal", "conductor.sqlite3-shm"]) {
      assertEquals(modeOf(`${dir}/${name}`), 0o600, name)
    }
    assertEquals(loosePermissions(dir), [])
    store.db.close()
  } finally {
    Deno.removeSync(parent, { recursive: true })
  }
})

Deno.test("loosePermissions names each loose path, its mode and the fix", () => {
  const dir = Deno.makeTempDirSync()
  try {
    Deno.chmodSync(dir, 0o755)
    Deno.writeTextFileSync(`${dir}/keystore.passphrase`, "p\n")
    Deno.chmodSync(`${dir}/keystore.passphrase`, 0o644)
    Deno.writeTextFileSync(`${dir}/private`, "")
    Deno.chmodSync(`${dir}/private`, 0o600)
    const warnings = loosePermissions(dir)
    assertEquals(warnings.length, 2, warnings.join("\n"))
    assert(warnings[0]!.startsWith(`data folder ${dir} has mode 0755`), warnings[0])
    assert(warnings[0]!.endsWith(`fix: chmod 700 ${dir}`), warnings[0])
    assert(warnings[1]!.startsWith(`file ${dir}/keystore.passphrase has mode 0644`), warnings[1])
    assert(warnings[1]!.endsWith(`fix: chmod 600 ${dir}/keystore.passphrase`), warnings[1])
    assertEquals(loosePermissions(`${dir}/missing`), [])
  } finally {
    Deno.removeSync(dir, { recursive: true })
  }
})
