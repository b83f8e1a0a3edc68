/**
 * CLI specs in Deno's own style: each folder holds `__test__.jsonc` (`args`, optional `files` to
 * create, `setup` commands to run first, the expected `exitCode`, an optional `check` of a file
 * the command must write) and `expected.out`, the combined stdout and stderr, where `[WILDCARD]`
 * matches anything and `[WILDLINE]` the rest of a line. Each case runs `main.ts` in a fresh
 * temporary folder; `$ROOT` in arguments is the repository root.
 *
 * @module
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict"
import { ROOT } from "../support/conductor.ts"
import { denoRun } from "../support/process.ts"

interface Spec {
  readonly args: ReadonlyArray<string>
  readonly exitCode: number
  readonly files?: Readonly<Record<string, string>>
  readonly setup?: ReadonlyArray<ReadonlyArray<string>>
  readonly check?: { readonly file: string; readonly contains?: string }
}

function pattern(expected: string): RegExp {
  const escaped = expected.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
  const source = escaped.replaceAll("\\[WILDCARD\\]", "[\\s\\S]*").replaceAll(
    "\\[WILDLINE\\]",
    "[^\\n]*",
  )
  return new RegExp(`^${source}$`)
}

async function conductor(args: ReadonlyArray<string>, cwd: string) {
  const output = await denoRun([
    "run",
    "-A",
    `${ROOT}main.ts`,
    ...args.map((a) => a.replaceAll("$ROOT", ROOT.replace(/\/$/, ""))),
  ], { cwd, env: { NO_COLOR: "1" } })
  return { code: output.code, text: output.stdout + output.stderr }
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
    try {
      for (const [name, content] of Object.entries(spec.files ?? {})) {
        await Deno.writeTextFile(`${cwd}/${name}`, content)
      }
      for (const setup of spec.setup ?? []) {
        const done = await conductor(setup, cwd)
        assertEquals(done.code, 0, `setup ${setup.join(" ")} failed:\n${done.text}`)
      }
      const { code, text } = await conductor(spec.args, cwd)
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
    } finally {
      await Deno.remove(cwd, { recursive: true })
    }
  })
}
