/**
 * The ordered list of schema migrations. Append only: a shipped migration never changes.
 *
 * @module
 */
import { sql as initial } from "./001_initial.ts"
import { sql as identifiersWithoutNul } from "./002_identifiers_without_nul.ts"
import { sql as outbox } from "./003_outbox.ts"
import { sql as network } from "./004_network.ts"

/** A numbered migration. */
export interface Migration {
  readonly version: number
  readonly name: string
  readonly sql: string
}

/** Every migration, in order. */
export const migrations: ReadonlyArray<Migration> = [
  { version: 1, name: "initial", sql: initial },
  { version: 2, name: "identifiers without NUL", sql: identifiersWithoutNul },
  { version: 3, name: "outbox", sql: outbox },
  { version: 4, name: "network", sql: network },
]
