/**
 * The data folder is private: a real `conductor run` on a fresh folder creates it 0700 and every
 * file in it (database, -wal, -shm, the generated keystore passphrase) 0600, even under a
 * permissive umask; `conductor verify` on a loose folder warns, naming the path, the mode and
 * the fix, and still verifies.
 *
 * @module
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict"
import process from "node:process"
import { ROOT } from "../support/conductor.ts"
import { startConductor } from "../support/process.ts"
import { stopProcess } from "../support/timeout.ts"

const modeOf = (file: string) => (Deno.statSync(file).mode ?? 0) & 0o777

/** Runs `conductor verify --config <config>`; killed after 120 s. */
async function verify(config: string, cwd: string) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}main.ts`, "verify", "--config", config],
    cwd,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
    signal: AbortSignal.timeout(120_000),
  }).output()
  const decoder = new TextDecoder()
  return {
    code: output.code,
    text: decoder.decode(output.stdout) + decoder.decode(output.stderr),
  }
}

/** A config without a passphrase, so the conductor generates keystore.passphrase. */
async function writeConfig(dir: string): Promise<string> {
  const file = `${dir}/conductor.yaml`
  await Deno.writeTextFile(
    file,
    "data_dir: data\nadmin_interfaces: []\nhttp: {port: 0}\nlog: {level: warn}\n",
  )
  return file
}

Deno.test("conductor run creates its data folder 0700 and every file in it 0600", async () => {
  const dir = await Deno.makeTempDir({ prefix: "hardening-perms-" })
  // The child inherits the umask: 0 would let 0644/0755 defaults through unchanged.
  const previous = process.umask(0)
  let conductor
  try {
    conductor = await startConductor(await writeConfig(dir), 120_000)
  } finally {
    process.umask(previous)
  }
  try {
    const data = `${dir}/data`
    assertEquals(modeOf(data), 0o700)
    const names = [...Deno.readDirSync(data)].map((e) => e.name).sort()
    assertEquals(names, [
      "conductor.sqlite3",
      "conductor.sqlite3-shm",
      "conductor.sqlite3-wal",
      "keystore.passphrase",
    ])
    for (const name of names) assertEquals(modeOf(`${data}/${name}`), 0o600, name)
    assert(!conductor.output().includes("other users can access"), conductor.output())
  } finally {
    conductor.child.kill("SIGTERM")
    let timer: ReturnType<typeof setTimeout> | undefined
    const status = await Promise.race([
      conductor.exited,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error("conductor did not stop in 30 s")), 30_000)
      }),
    ]).finally(() => clearTimeout(timer))
    assertEquals(status.code, 0, conductor.output())
    await Deno.remove(dir, { recursive: true })
  }
})

Deno.test("conductor verify warns about a data folder others can read, and still verifies", async () => {
  const dir = await Deno.makeTempDir({ prefix: "hardening-perms-" })
  try {
    const config = await writeConfig(dir)
    // verify refuses a missing data folder: a conductor run makes it (and stops).
    const conductor = await startConductor(config, 120_000)
    await stopProcess(conductor.child, "the conductor")
    const first = await verify(config, dir)
    assertEquals(first.code, 0, first.text)
    assert(!first.text.includes("other users can access"), first.text)
    const data = `${dir}/data`
    Deno.chmodSync(data, 0o755)
    Deno.chmodSync(`${data}/keystore.passphrase`, 0o644)
    const second = await verify(config, dir)
    const output = second.text
    assertEquals(second.code, 0, output)
    assert(output.includes(`data folder ${data} has mode 0755`), output)
    assert(output.includes(`fix: chmod 700 ${data}`), output)
    assert(output.includes(`file ${data}/keystore.passphrase has mode 0644`), output)
    assert(output.includes(`fix: chmod 600 ${data}/keystore.passphrase`), output)
    assert(output.includes("WARN"), output)
    assert(output.includes("0 chain(s) checked, 0 problem(s)"), output)
  } finally {
    await Deno.remove(dir, { recursive: true })
  }
})
