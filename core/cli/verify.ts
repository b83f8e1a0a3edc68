/**
 * `conductor verify [--config file]`: checks every source chain in the data folder offline
 * (hash links, hashes, signatures, sequence numbers, entries) and exits non-zero if any chain
 * is damaged. Used after crashes and by the SIGKILL robustness test. Opening the store also warns
 * (log level warning) about a data folder or file other users can access, naming the fix
 * (`store/data_dir.ts`); that does not fail the verification.
 *
 * @module
 */
import { Console, Effect, Schema } from "effect"
import { Chain } from "../chain/mod.ts"
import { type AgentPubKey, type DnaHash, encodeHashB64 } from "../hash/mod.ts"
import { Keystore } from "../keystore/mod.ts"
import { Store } from "../store/mod.ts"

/** One or more chains did not verify. */
export class VerifyFailed
  extends Schema.TaggedError<VerifyFailed>()("VerifyFailed", { faults: Schema.Number }) {
  override get message(): string {
    return `${this.faults} problem(s) found`
  }
}

/** Verifies every chain; prints one line per chain. */
export const verifyCommand = Effect.gen(function* () {
  // A wrong passphrase is reported even though verifying needs no key.
  yield* (yield* Keystore).ready
  const store = yield* Store
  const chain = yield* Chain
  const chains = store.prepare(
    "SELECT DISTINCT dna_hash, author FROM actions ORDER BY dna_hash, author",
  ).all() as Array<{
    "dna_hash": Uint8Array
    author: Uint8Array
  }>
  let faults = 0
  for (const { dna_hash: dna, author } of chains) {
    const found = yield* chain.verify(dna as DnaHash, author as AgentPubKey)
    const length = chain.length(dna as DnaHash, author as AgentPubKey)
    const name = `${encodeHashB64(dna).slice(0, 12)}…/${encodeHashB64(author).slice(0, 12)}…`
    if (found.length === 0) yield* Console.log(`ok   ${name} ${length} actions`)
    for (const fault of found) yield* Console.log(`FAIL ${name} #${fault.seq}: ${fault.problem}`)
    faults += found.length
  }
  yield* Console.log(`${chains.length} chain(s) checked, ${faults} problem(s)`)
  if (faults > 0) return yield* new VerifyFailed({ faults })
})
