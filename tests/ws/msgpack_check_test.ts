/**
 * Tests of `msgpackProblem` (core/codec/check.ts), the structural check that runs before any
 * untrusted websocket bytes reach `@msgpack/msgpack`: it accepts every document the encoder
 * writes, refuses what the decoder refuses, and refuses the tiny "huge container" documents that
 * would make the decoder allocate without bound.
 *
 * @module
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict"
import { decode, encode, msgpackProblem } from "../../core/codec/mod.ts"

function randomValue(depth: number): unknown {
  const pick = Math.floor(Math.random() * (depth > 3 ? 8 : 10))
  switch (pick) {
    case 0:
      return null
    case 1:
      return Math.random() < 0.5
    case 2:
      return Math.floor((Math.random() - 0.5) * 2 ** (Math.random() * 53))
    case 3:
      return Math.random() * 1e6
    case 4:
      return "s".repeat(Math.floor(Math.random() * 300))
    case 5: // bins of every header width (bin8, bin16, bin32)
      return new Uint8Array([0, 200, 300, 70_000][Math.floor(Math.random() * 4)]!).fill(7)
    case 6:
      return -Math.floor(Math.random() * 2 ** 40)
    case 7:
      return "é✓".repeat(Math.floor(Math.random() * 50))
    case 8:
      return Array.from({ length: Math.floor(Math.random() * 20) }, () => randomValue(depth + 1))
    default:
      return Object.fromEntries(
        Array.from(
          { length: Math.floor(Math.random() * 20) },
          (_, i) => [`k${i}`, randomValue(depth + 1)],
        ),
      )
  }
}

Deno.test("msgpackProblem accepts every document the encoder writes", () => {
  for (let i = 0; i < 2000; i++) {
    const bytes = encode(randomValue(0))
    assertEquals(msgpackProblem(bytes), undefined)
  }
  // Long containers and every width of header.
  for (const n of [15, 16, 65_535, 65_536]) {
    assertEquals(msgpackProblem(encode(new Array(n).fill(0))), undefined)
    assertEquals(
      msgpackProblem(encode(Object.fromEntries(Array.from({ length: n }, (_, i) => [i, 0])))),
      undefined,
    )
  }
  assertEquals(msgpackProblem(Uint8Array.of(0xd4, 0x01, 0x02)), undefined) // fixext 1
  assertEquals(msgpackProblem(Uint8Array.of(0xc7, 0x01, 0x05, 0xaa)), undefined) // ext 8
})

Deno.test("msgpackProblem refuses tiny documents that declare huge containers", () => {
  for (
    const bytes of [
      [0xdd, 0x05, 0xf5, 0xe1, 0x00], // array of 100M
      [0xdf, 0x7f, 0xff, 0xff, 0xff], // map of 2^31-1
      [0xdc, 0xff, 0xff, 0x00], // array of 65,535 with one byte
      [0x91, 0xdd, 0x00, 0x10, 0x00, 0x00, 0x00], // nested
    ]
  ) {
    const problem = msgpackProblem(Uint8Array.from(bytes))
    assert(problem !== undefined && problem.includes("declares"), String(problem))
  }
})

Deno.test("msgpackProblem refuses truncation, trailing bytes, c1 and deep nesting", () => {
  const valid = encode({ type: "request", id: 7, data: new Uint8Array(40) })
  for (let cut = 0; cut < valid.length; cut++) {
    assert(msgpackProblem(valid.subarray(0, cut)) !== undefined, `cut at ${cut}`)
  }
  assert(msgpackProblem(Uint8Array.of(0xc0, 0xc0))?.includes("after the value"))
  assert(msgpackProblem(Uint8Array.of(0xc1))?.includes("not a msgpack type"))
  const deep = new Uint8Array(600).fill(0x91)
  deep[599] = 0xc0
  assert(msgpackProblem(deep)?.includes("deeper"))
  assertEquals(msgpackProblem(deep, 1000), undefined)
})

Deno.test("msgpackProblem accepts only what the decoder can decode (random bytes)", () => {
  let accepted = 0
  for (let i = 0; i < 20_000; i++) {
    const bytes = crypto.getRandomValues(new Uint8Array(1 + Math.floor(Math.random() * 64)))
    if (msgpackProblem(bytes) !== undefined) continue
    accepted++
    decode(bytes) // must not throw
  }
  assert(accepted > 0)
})
