/**
 * Tests of `msgpackProblem` (core/codec/check.ts), the structural check that runs before any
 * untrusted websocket bytes reach `@msgpack/msgpack`: it accepts every document the encoder
 * writes, refuses the tiny "huge container" documents that would make the decoder allocate
 * without bound, and agrees with the decoder: a structural fuzz of headers, lengths, extensions
 * and map keys checks that the check accepts a document exactly when the decoder decodes it
 * (nesting stays under the check's depth limit, the one place they differ on purpose). Every
 * random input is seeded (tests/support/random.ts; `TEST_SEED` replays a run).
 *
 * @module
 */
import fc from "fast-check"
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict"
import { decode, encode, msgpackProblem } from "../../core/codec/mod.ts"
import { testSeed } from "../support/random.ts"

/** Values of every kind the encoder writes: JSON-like trees with bins of every header width. */
const msgpackValue = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.maxSafeInteger(),
    fc.double({ noNaN: true }),
    fc.string({ maxLength: 300 }),
    fc.string({ unit: "grapheme", maxLength: 50 }),
    fc.constantFrom(0, 200, 300, 70_000).map((n) => new Uint8Array(n).fill(7)),
    fc.array(tie("value"), { maxLength: 20 }),
    fc.dictionary(fc.string({ maxLength: 20 }), tie("value"), { maxKeys: 20 }),
  ),
})).value

/** True when the decoder (as the conductor configures it) reads `bytes`. */
function decodes(bytes: Uint8Array): boolean {
  try {
    decode(bytes)
    return true
  } catch {
    return false
  }
}

Deno.test("msgpackProblem accepts every document the encoder writes", () => {
  fc.assert(
    fc.property(msgpackValue, (value) => msgpackProblem(encode(value)) === undefined),
    { seed: testSeed("encoder documents"), numRuns: 2000 },
  )
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

Deno.test("msgpackProblem refuses a timestamp extension the decoder cannot read", () => {
  // The fuzz failure: fixext 2 of type -1 (a timestamp must have 4, 8 or 12 bytes).
  const found = Uint8Array.of(0xd5, 0xff, 0xa7, 0xb3)
  assert(!decodes(found))
  assert(msgpackProblem(found)?.includes("timestamp"), msgpackProblem(found))
  const sizes = [0, 1, 2, 3, 4, 5, 8, 12, 16]
  for (const size of sizes) {
    const ext8 = Uint8Array.from([0xc7, size, 0xff, ...new Uint8Array(size)])
    assertEquals(msgpackProblem(ext8) === undefined, decodes(ext8), `ext 8 of ${size} bytes`)
    assertEquals(msgpackProblem(ext8) === undefined, [4, 8, 12].includes(size))
  }
  for (const [header, size] of [[0xd4, 1], [0xd5, 2], [0xd6, 4], [0xd7, 8], [0xd8, 16]]) {
    const fixext = Uint8Array.from([header!, 0xff, ...new Uint8Array(size!)])
    assertEquals(msgpackProblem(fixext) === undefined, decodes(fixext), `fixext ${size}`)
    // Other extension types decode to raw extension data, whatever their size.
    const other = Uint8Array.from([header!, 0x05, ...new Uint8Array(size!)])
    assertEquals(msgpackProblem(other), undefined)
    assert(decodes(other))
  }
})

Deno.test("msgpackProblem refuses a map key that decodes to __proto__, in any spelling", () => {
  const proto = new TextEncoder().encode("__proto__")
  const cases: Array<[string, Array<number>]> = [
    ["fixstr", [0x81, 0xa9, ...proto, 0x01]],
    ["str 8", [0x81, 0xd9, 9, ...proto, 0x01]],
    // The decoder's short-string UTF-8 takes the overlong c1 9f for "_" ...
    ["overlong", [0x81, 0xaa, 0xc1, 0x9f, ...proto.subarray(1), 0x01]],
    // ... and completes a sequence cut by the string's end with the next byte (here 0x1f).
    ["cut", [0x81, 0xa9, ...proto.subarray(0, 8), 0xc1, 0x1f]],
  ]
  for (const [name, bytes] of cases) {
    const doc = Uint8Array.from(bytes)
    assert(!decodes(doc), `${name}: the decoder refuses it`)
    assert(msgpackProblem(doc)?.includes("__proto__"), `${name}: ${msgpackProblem(doc)}`)
  }
  // As a value, or as a key of another spelling, it is an ordinary string.
  for (const doc of [encode(["__proto__"]), encode({ "__proto_": "__proto__" })]) {
    assertEquals(msgpackProblem(doc), undefined)
    assert(decodes(doc))
  }
})

/**
 * A document built from a list of choices: headers of every type with lengths that are right or
 * off by one, extensions of every size (the timestamp type included), strings from an alphabet
 * that spells `__proto__` in its loose forms, containers of declared and actual sizes that may
 * disagree, and now and then a cut or an extra byte.
 */
function structured(choices: ReadonlyArray<number>): Uint8Array {
  let next = 0
  const pick = (n: number) => choices[next++ % choices.length]! % n
  const out: Array<number> = []
  const u16 = (n: number) => out.push((n >> 8) & 0xff, n & 0xff)
  const off = () => [0, 0, 0, 0, 0, 1, -1][pick(7)]!
  const alphabet = [[0x5f], [0x70], [0x72], [0x6f], [0x74], [0xc1, 0x9f], [0xc3, 0xa9], [0xc1], [
    0xe2,
    0x9c,
    0x93,
  ]]
  const protoSpelled = [0x5f, 0x5f, 0x70, 0x72, 0x6f, 0x74, 0x6f, 0x5f, 0x5f]
  const value = (depth: number): void => {
    switch (pick(depth > 4 ? 6 : 9)) {
      case 0: // one-byte values: fixints, nil, booleans, c1
        out.push([0x00, 0x7f, 0xe0, 0xff, 0xc0, 0xc2, 0xc3, 0xc1][pick(8)]!)
        return
      case 1: { // fixed-size numbers
        const b = [0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf, 0xd0, 0xd1, 0xd2, 0xd3][pick(10)]!
        const size = { 0xca: 4, 0xcb: 8, 0xcc: 1, 0xcd: 2, 0xce: 4, 0xcf: 8 }[b as 0xca] ??
          [1, 2, 4, 8][b - 0xd0]!
        out.push(b)
        for (let i = 0; i < size + (pick(10) === 0 ? off() : 0); i++) out.push(pick(256))
        return
      }
      case 2: // ext: fixext or ext 8/16, timestamp or not, sizes right or wrong
      case 3: {
        const size = [0, 1, 2, 3, 4, 8, 12, 16, 5][pick(9)]!
        const fixed = [1, 2, 4, 8, 16].indexOf(size)
        const type = [0xff, 0xff, 0x00, 0x7f, 0x80][pick(5)]!
        if (fixed >= 0 && pick(2) === 0) out.push(0xd4 + fixed, type)
        else if (pick(2) === 0) out.push(0xc7, size + off(), type)
        else (out.push(0xc8), u16(size + off()), out.push(type))
        for (let i = 0; i < size; i++) out.push(pick(256))
        return
      }
      case 4: // str or bin
      case 5: {
        const bytes: Array<number> = []
        if (pick(3) === 0) bytes.push(...protoSpelled)
        else for (let i = pick(12); i > 0; i--) bytes.push(...alphabet[pick(alphabet.length)]!)
        if (pick(8) === 0) bytes.pop()
        const length = Math.max(0, bytes.length + off())
        const kind = pick(4)
        if (kind === 0 && length < 32) out.push(0xa0 | length)
        else if (kind === 1) out.push(0xd9, length)
        else if (kind === 2) (out.push(0xda), u16(length))
        else out.push(0xc4, length)
        out.push(...bytes)
        return
      }
      default: { // containers
        const map = pick(2) === 0
        const n = pick(5)
        const declared = Math.max(0, n + off())
        if (pick(3) === 0) (out.push(map ? 0xde : 0xdc), u16(declared))
        else out.push((map ? 0x80 : 0x90) | declared)
        for (let i = 0; i < (map ? 2 * n : n); i++) value(depth + 1)
      }
    }
  }
  value(0)
  if (pick(10) === 0) out.pop()
  if (pick(10) === 0) out.push(pick(256))
  return Uint8Array.from(out)
}

Deno.test("msgpackProblem and the decoder agree on structured documents", () => {
  let accepted = 0
  fc.assert(
    fc.property(
      fc.array(fc.nat(), { minLength: 1, maxLength: 200 }),
      (choices) => {
        const bytes = structured(choices)
        const checked = msgpackProblem(bytes) === undefined
        if (checked) accepted++
        // check-accepts ⇒ decoder-accepts is the safety property; the converse is agreement.
        return checked === decodes(bytes)
      },
    ),
    { seed: testSeed("structured documents"), numRuns: 30_000 },
  )
  assert(accepted > 1000, `only ${accepted} documents were well-formed`)
})

Deno.test("msgpackProblem accepts only what the decoder can decode (random bytes)", () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 1, maxLength: 64 }),
      (bytes) => msgpackProblem(bytes) !== undefined || decodes(bytes),
    ),
    { seed: testSeed("random bytes"), numRuns: 20_000 },
  )
})
