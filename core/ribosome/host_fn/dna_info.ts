/**
 * `dna_info_1`: the running DNA's name, hash, modifiers and zome names (abi.md §4.1).
 *
 * @module
 */
import { Effect, Schema } from "effect"
import { defineHostFn, DETERMINISTIC } from "./host_fn.ts"

export const dnaInfo = defineHostFn({
  name: "dna_info_1",
  input: Schema.Unknown,
  allowedIn: DETERMINISTIC,
  run: (ctx) => {
    const dna = ctx.cell.dna
    return Effect.succeed({
      name: dna.name,
      hash: dna.hash,
      modifiers: {
        "network_seed": dna.modifiers.networkSeed,
        properties: dna.modifiers.properties,
      },
      "zome_names": [...dna.integrity.map((z) => z.name), ...dna.coordinators.map((z) => z.name)],
    })
  },
})
