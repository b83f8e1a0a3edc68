/**
 * CLI specs in Deno's own style: each folder holds `__test__.jsonc` (`args`, optional `files` to
 * create, `setup` commands to run first, the expected `exitCode`, an optional `check` of a file
 * the command must write, an optional `signal` to send once a `run` prints `conductor ready`)
 * and `expected.out`, the combined stdout and stderr, where `[WILDCARD]` matches anything and
 * `[WILDLINE]` the rest of a line. Each case runs `main.ts` in a fresh temporary folder; `$ROOT`
 * in arguments is the repository root. A `setup` that is a `run` is stopped with SIGTERM once
 * it logs `keystore unlocked` (so its config needs `log.level` info or lower) and must exit 0.
 *
 * @module
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict"
import { ROOT } from "../support/conductor.ts"
import { COMMAND_TIMEOUT_MS } from "../support/process.ts"
import { CLEANUP_TIMEOUT_MS, withTimeout } from "../support/timeout.ts"

interface Spec {
  readonly args: ReadonlyArray<string>
  readonly exitCode: number
  readonly files?: Readonly<Record<string, string | null>>
  readonly setup?: ReadonlyArray<ReadonlyArray<string>>
  readonly check?: { readonly file: string; readonly contains?: string }
  readonly signal?: Deno.Signal
  /** Hold a loopback port for the case; `$PORT` in `files` is its number. */
  readonly holdPort?: boolean
  /** A path the command must not have created. */
  readonly absent?: string
}

/** How long a spec's conductor may take to print `conductor ready`. */
const READY_TIMEOUT_MS = 60_000

function pattern(expected: string): RegExp {
  const escaped = expected.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
  const source = escaped.replaceAll("\\[WILDCARD\\]", "[\\s\\S]*").replaceAll(
    "\\[WILDLINE\\]",
    "[^\\n]*",
  )
  return new RegExp(`^${source}$`)
}

/**
 * Runs `main.ts` with `args` in `cwd`. With `signal`, sends it once the output shows `until`
 * (or the process exits, or `READY_TIMEOUT_MS` passes: then SIGKILL).
 */
async function conductor(
  args: ReadonlyArray<string>,
  cwd: string,
  signal?: { readonly signal: Deno.Signal; readonly until: string },
) {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      `${ROOT}main.ts`,
      ...args.map((a) => a.replaceAll("$ROOT", ROOT.replace(/\/$/, ""))),
    ],
    cwd,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn()
  const out = { stdout: "", stderr: "" }
  let seen: () => void = () => {}
  const isSeen = new Promise<void>((resolve) => seen = resolve)
  const collect = (stream: ReadableStream<Uint8Array>, key: "stdout" | "stderr") =>
    stream.pipeThrough(new TextDecoderStream()).pipeTo(
      new WritableStream({
        write(chunk) {
          out[key] += chunk
          if (signal !== undefined && (out.stdout + out.stderr).includes(signal.until)) seen()
        },
      }),
    )
  const collected = Promise.all([collect(child.stdout, "stdout"), collect(child.stderr, "stderr")])
  if (signal !== undefined) {
    let timer: ReturnType<typeof setTimeout> | undefined
    const outcome = await Promise.race([
      isSeen.then(() => "seen" as const),
      child.status.then(() => "exited" as const),
      new Promise<"timeout">((resolve) =>
        timer = setTimeout(() => resolve("timeout"), READY_TIMEOUT_MS)
      ),
    ])
    clearTimeout(timer)
    if (outcome === "timeout") child.kill("SIGKILL")
    if (outcome === "seen") child.kill(signal.signal)
  }
  // Bounded: a conductor that outlives its signal is killed, and the test fails naming it.
  const status = await withTimeout(child.status, COMMAND_TIMEOUT_MS, `conductor ${args.join(" ")}`)
    .catch(async (error) => {
      child.kill("SIGKILL")
      await withTimeout(child.status, CLEANUP_TIMEOUT_MS, "the conductor after SIGKILL")
      throw error
    })
  await withTimeout(collected, CLEANUP_TIMEOUT_MS, "the conductor's output")
  return { code: status.code, text: out.stdout + out.stderr }
}

const here = new URL(".", import.meta.url).pathname
for (
  const entry of [...Deno.readDirSync(here)].filter((e) => e.isDirectory).sort((a, b) =>
    a.name.localeCompare(b.name)
  )
) {
  Deno.test(`conductor CLI: ${entry.name.replaceAll("_", " ")}`, async () => {
    const spec: Spec = JSON.parse(await Deno.readTextFile(`${here}${entry.name}/__test__.jsonc`))
    const expected = await Deno.readTextFile(`${here}${entry.name}/expected.out`)
    const cwd = await Deno.makeTempDir()
    const held = spec.holdPort ? Deno.listen({ hostname: "127.0.0.1", port: 0 }) : undefined
    const port = held === undefined ? "" : String((held.addr as Deno.NetAddr).port)
    try {
      for (const [name, content] of Object.entries(spec.files ?? {})) {
        // A null content makes a folder.
        if (content === null) await Deno.mkdir(`${cwd}/${name}`, { recursive: true })
        else await Deno.writeTextFile(`${cwd}/${name}`, content.replaceAll("$PORT", port))
      }
      for (const setup of spec.setup ?? []) {
        const done = await conductor(
          setup,
          cwd,
          setup[0] === "run" ? { signal: "SIGTERM", until: "keystore unlocked" } : undefined,
        )
        assertEquals(done.code, 0, `setup ${setup.join(" ")} failed:\n${done.text}`)
      }
      const { code, text } = await conductor(
        spec.args,
        cwd,
        spec.signal === undefined ? undefined : { signal: spec.signal, until: "conductor ready " },
      )
      assert(
        pattern(expected).test(text),
        `output of conductor ${spec.args.join(" ")}:\n${text}\n--- expected:\n${expected}`,
      )
      assertEquals(code, spec.exitCode, text)
      if (spec.check !== undefined) {
        const content = await Deno.readFile(`${cwd}/${spec.check.file}`)
        if (spec.check.contains !== undefined) {
          assert(new TextDecoder().decode(content).includes(spec.check.contains))
        }
      }
      if (spec.absent !== undefined) {
        const exists = await Deno.lstat(`${cwd}/${spec.absent}`).then(() => true, () => false)
        assert(!exists, `${spec.absent} was created`)
      }
    } finally {
      held?.close()
      await Deno.remove(cwd, { recursive: true })
    }
  })
}
