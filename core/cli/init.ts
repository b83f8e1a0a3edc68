/**
 * `conductor init [file] [--force]`: writes the commented default `conductor.yaml`.
 *
 * @module
 */
import { Console, Effect, Schema } from "effect"
import * as fs from "node:fs"
import { CONFIG_TEMPLATE } from "../config/mod.ts"

/** `init` could not write the file. */
export class InitFailed
  extends Schema.TaggedError<InitFailed>()("InitFailed", { detail: Schema.String }) {
  override get message(): string {
    return this.detail
  }
}

/** Writes the template to `file`; refuses to overwrite unless `force`. */
export const initCommand = (file: string, force: boolean) =>
  Effect.gen(function* () {
    if (!force && fs.existsSync(file)) {
      return yield* new InitFailed({
        detail: `${file} already exists; pass --force to overwrite it`,
      })
    }
    yield* Effect.try({
      try: () => fs.writeFileSync(file, CONFIG_TEMPLATE),
      catch: (cause) =>
        new InitFailed({
          detail: `cannot write ${file}: ${cause instanceof Error ? cause.message : cause}`,
        }),
    })
    yield* Console.log(`wrote ${file}; start the conductor with: conductor run --config ${file}`)
  })
