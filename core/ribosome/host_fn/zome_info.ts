/**
 * `zome_info_1`: the running zome's name, index, types and exports (abi.md §4.1). For a
 * coordinator, the types are those of the integrity zome it depends on.
 *
 * @module
 */
import { Effect, Schema } from "effect"
import { typesZomeFor } from "../../ribosome_store/mod.ts"
import { defineHostFn, DETERMINISTIC } from "./host_fn.ts"

export const zomeInfo = defineHostFn({
  name: "zome_info_1",
  input: Schema.Unknown,
  allowedIn: DETERMINISTIC,
  run: (ctx) => {
    const dna = ctx.cell.dna
    const zome = ctx.zome
    const types = typesZomeFor(dna, zome, null)
    const id = zome.kind === "integrity"
      ? zome.index
      : dna.integrity.length + dna.coordinators.findIndex((z) => z.name === zome.name)
    return Effect.succeed({
      name: zome.name,
      id,
      "entry_defs": (types?.entryDefs ?? []).map((d) => ({
        name: d.name,
        visibility: d.visibility,
      })),
      "link_types": types?.linkTypes ?? [],
      "extern_fns": zome.exports,
    })
  },
})
