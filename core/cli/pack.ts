/**
 * `conductor pack <dir> [-o out]`: builds a `.happ` (folder with `happ.yaml`) or a `.dna`
 * (folder with `dna.yaml`) and prints what it wrote.
 *
 * @module
 */
import { Console, Effect } from "effect"
import { packDirectory } from "../bundle/mod.ts"
import { Hasher } from "../hash/mod.ts"

/** Packs `dir`. */
export const packCommand = (dir: string, outPath: string | undefined) =>
  Effect.gen(function* () {
    const result = yield* packDirectory(dir, outPath === undefined ? {} : { outPath })
    yield* Console.log(`wrote ${result.path} (${result.kind}, ${result.bytes.length} bytes)`)
    for (const dna of result.dnas) {
      yield* Console.log(
        `  ${dna.role === null ? "dna" : `role ${dna.role}:`} ${dna.name} ${dna.dnaHashB64}`,
      )
    }
  }).pipe(Effect.provide(Hasher.layer))
