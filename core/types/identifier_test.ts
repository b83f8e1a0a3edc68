import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict"
import {
  IDENTIFIER_MAX_BYTES,
  identifierProblem,
  identifiersProblem,
  NETWORK_SEED_MAX_BYTES,
  networkSeedProblem,
} from "./identifier.ts"

Deno.test("identifierProblem accepts printable text up to the byte bound", () => {
  for (const ok of ["forum", "my app (v2)", "ünïcödé ✓", "🙂", "a".repeat(IDENTIFIER_MAX_BYTES)]) {
    assertEquals(identifierProblem("installed_app_id", ok), undefined, JSON.stringify(ok))
  }
  // 128 two-byte characters are exactly the bound.
  assertEquals(identifierProblem("x", "é".repeat(IDENTIFIER_MAX_BYTES / 2)), undefined)
})

Deno.test("identifierProblem refuses control characters, naming the first one", () => {
  const cases: Array<[string, string]> = [
    ["x\u0000y", "U+0000 at index 1"],
    ["\u001fa", "U+001F at index 0"],
    ["ab\u007f", "U+007F at index 2"],
    ["a\u0085", "U+0085 at index 1"],
    ["a\u009f", "U+009F at index 1"],
    ["line\nbreak", "U+000A at index 4"],
  ]
  for (const [value, expected] of cases) {
    const problem = identifierProblem("installed_app_id", value)
    assert(problem?.startsWith("installed_app_id contains the control character"), problem)
    assert(problem?.includes(expected), problem)
  }
})

Deno.test("identifierProblem refuses empty, over-long and ill-formed identifiers", () => {
  assertEquals(identifierProblem("role_name", ""), "role_name must not be empty")
  assertEquals(
    identifierProblem("role_name", "a".repeat(IDENTIFIER_MAX_BYTES + 1)),
    `role_name is longer than ${IDENTIFIER_MAX_BYTES} bytes of UTF-8`,
  )
  // Under the bound in UTF-16 units, over it in UTF-8 bytes.
  assert(identifierProblem("x", "é".repeat(IDENTIFIER_MAX_BYTES / 2 + 1))?.includes("longer"))
  assert(identifierProblem("x", "a".repeat(100_000))?.includes("longer"))
  assert(identifierProblem("x", "a\ud800")?.includes("lone surrogate"))
})

Deno.test("identifiersProblem skips absent values and returns the first problem", () => {
  assertEquals(identifiersProblem([["a", null], ["b", undefined], ["c", "ok"]]), undefined)
  assertEquals(identifiersProblem([["a", "ok"], ["b", ""], ["c", "\u0000"]]), "b must not be empty")
})

Deno.test("networkSeedProblem allows any characters and bounds only the size", () => {
  assertEquals(networkSeedProblem("network_seed", "\u0000 any \u0085 data"), undefined)
  assertEquals(networkSeedProblem("network_seed", "s".repeat(NETWORK_SEED_MAX_BYTES)), undefined)
  assertEquals(
    networkSeedProblem("network_seed", "s".repeat(NETWORK_SEED_MAX_BYTES + 1)),
    `network_seed is longer than ${NETWORK_SEED_MAX_BYTES} bytes of UTF-8`,
  )
})
