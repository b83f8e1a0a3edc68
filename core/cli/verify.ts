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
import * as path from "node:path"
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

/** The data folder holds no conductor database, so there is nothing to verify. */
export class NothingToVerify
  extends Schema.TaggedError<NothingToVerify>()("NothingToVerify", { detail: Schema.String }) {
  override get message(): string {
    return this.detail
  }
}

/**
 * Fails with `NothingToVerify` unless `dataDirPath` holds a conductor database, so that verify
 * never creates a data folder or a database (the store's file is `conductor.sqlite3`).
 */
export const requireDatabase = (dataDirPath: string, configSource: string) =>
  Effect.suspend(() => {
    const file = path.join(dataDirPath, "conductor.sqlite3")
    const missing = !isFile(dataDirPath, "dir")
      ? `no data folder at ${dataDirPath}`
      : !isFile(file, "file")
      ? `no conductor database in ${dataDirPath}`
      : undefined
    return missing === undefined ? Effect.void : Effect.fail(
      new NothingToVerify({
        detail: `${missing} (data_dir of ${configSource}); nothing to verify, and nothing was ` +
          "created. Point --config at the conductor's config.",
      }),
    )
  })

function isFile(file: string, kind: "dir" | "file"): boolean {
  try {
    const info = Deno.statSync(file)
    return kind === "dir" ? info.isDirectory : info.isFile
  } catch {
    return false
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
