import { deepStrictEqual as assertEquals } from "node:assert/strict"
import { Effect, Option } from "effect"
import { Command } from "effect/cli"
import { plainRun } from "../../main.ts"
import { CliEnvironment } from "./cli_environment.ts"
import { configFlag } from "./commands.ts"

/** What effect/cli makes of `argv` with the real `--config` flag of `run`. */
async function parsedByCli(argv: ReadonlyArray<string>): Promise<Option.Option<string>> {
  let seen: Option.Option<string> | undefined
  const run = Command.make("run", { config: configFlag }, ({ config }) =>
    Effect.sync(() => {
      seen = config
    }))
  const root = Command.make("conductor").pipe(Command.withSubcommands([run]))
  await Effect.runPromise(
    Command.runWith(root, { version: "test" })(argv).pipe(Effect.provide(CliEnvironment)),
  )
  if (seen === undefined) throw new Error(`effect/cli did not run ${argv.join(" ")}`)
  return seen
}

Deno.test("plainRun reads the plain run command lines as effect/cli does", async () => {
  const lines = [
    ["run"],
    ["run", "--config", "a.yaml"],
    ["run", "-c", "a.yaml"],
    ["run", "--config=a.yaml"],
    ["run", "--config", "dir/with space.yaml"],
  ]
  for (const argv of lines) {
    const fast = plainRun(argv)
    assertEquals(fast !== undefined, true, argv.join(" "))
    assertEquals(fast, await parsedByCli(argv), argv.join(" "))
  }
})

Deno.test("plainRun leaves every other command line to effect/cli", () => {
  const others = [
    [],
    ["run", "--help"],
    ["run", "-h"],
    ["run", "-c"],
    ["run", "--config"],
    ["run", "--config="],
    ["run", "--config", "--help"],
    ["run", "--config", "a.yaml", "--help"],
    ["run", "--bogus", "x"],
    ["run", "x"],
    ["verify", "--config", "a.yaml"],
    ["--version"],
  ]
  for (const argv of others) assertEquals(plainRun(argv), undefined, argv.join(" "))
})
