/**
 * `conductor init [file] [--force]`: writes the commented default `conductor.yaml`.
 *
 * @module
 */
import { Console, Effect, Schema } from "effect"
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
    yield* Effect.try({
      // Without --force the file is created only if it does not exist (atomically).
      try: () => Deno.writeTextFileSync(file, CONFIG_TEMPLATE, { createNew: !force }),
      catch: (cause) =>
        new InitFailed({
          detail: cause instanceof Deno.errors.AlreadyExists
            ? `${file} already exists; pass --force to overwrite it`
            : `cannot write ${file}: ${cause instanceof Error ? cause.message : cause}`,
        }),
    })
    yield* Console.log(`wrote ${file}; start the conductor with: conductor run --config ${file}`)
  })
