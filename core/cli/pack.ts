/**
 * `conductor pack <dir> [-o out]`: builds a `.happ` (folder with `happ.yaml`) or a `.dna`
 * (folder with `dna.yaml`) and prints what it wrote.
 *
 * @module
 */
import { Console, Effect, Schema } from "effect"
import { packDirectory } from "../bundle/mod.ts"
import { Hasher } from "../hash/mod.ts"

/** A zome's `.wasm` is not there: the zomes have not been built. */
export class WasmNotBuilt
  extends Schema.TaggedError<WasmNotBuilt>()("WasmNotBuilt", { detail: Schema.String }) {
  override get message(): string {
    return this.detail
  }
}

/** Packs `dir`. */
export const packCommand = (dir: string, outPath: string | undefined) =>
  Effect.gen(function* () {
    const result = yield* packDirectory(dir, outPath === undefined ? {} : { outPath }).pipe(
      Effect.mapError((error) =>
        error.reason._tag === "ResourceMissing" && error.reason.resource.endsWith(".wasm")
          ? new WasmNotBuilt({
            detail: `${error.message}; build the zomes first: npx -y deno@2.9.6 task build:wasm`,
          })
          : error
      ),
    )
    yield* Console.log(`wrote ${result.path} (${result.kind}, ${result.bytes.length} bytes)`)
    for (const dna of result.dnas) {
      yield* Console.log(
        `  ${dna.role === null ? "dna" : `role ${dna.role}:`} ${dna.name} ${dna.dnaHashB64}`,
      )
    }
  }).pipe(Effect.provide(Hasher.layer))
