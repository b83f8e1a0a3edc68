import {
  deepStrictEqual as assertEquals,
  ok as assert,
  throws as assertThrows,
} from "node:assert/strict"
import { encode } from "../codec/msgpack.ts"
import { decodeOrdered, encodeOrdered, Msg, msgGetIn, msgToJs } from "./ordered_msgpack.ts"

const hex = (bytes: Uint8Array) =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")
const unhex = (text: string) => Uint8Array.from(text.match(/../g) ?? [], (h) => parseInt(h, 16))

Deno.test("encodeOrdered writes the same bytes as @msgpack/msgpack for ints, strings, bins and containers", () => {
  const cases: ReadonlyArray<readonly [unknown, ReturnType<typeof Msg.int>]> = [
    [0, Msg.int(0)],
    [127, Msg.int(127)],
    [128, Msg.int(128)],
    [255, Msg.int(255)],
    [256, Msg.int(256)],
    [65536, Msg.int(65536)],
    [2 ** 32, Msg.int(2 ** 32)],
    [-1, Msg.int(-1)],
    [-32, Msg.int(-32)],
    [-33, Msg.int(-33)],
    [-129, Msg.int(-129)],
    [-40000, Msg.int(-40000)],
    [-(2 ** 33), Msg.int(-(2 ** 33))],
    ["x".repeat(31), Msg.str("x".repeat(31))],
    ["x".repeat(32), Msg.str("x".repeat(32))],
    ["x".repeat(300), Msg.str("x".repeat(300))],
    [new Uint8Array(300), Msg.bin(new Uint8Array(300))],
    [new Array(16).fill(null), Msg.array(new Array(16).fill(Msg.nil))],
  ]
  for (const [js, value] of cases) {
    assertEquals(hex(encodeOrdered(value)), hex(encode(js)), String(js))
  }
})

Deno.test("encodeOrdered keeps map order and non-string keys, and writes floats as float64", () => {
  const value = Msg.map([
    [Msg.str("b"), Msg.float(1)],
    [Msg.int(1), Msg.str("x")],
    [Msg.str("a"), Msg.nil],
  ])
  assertEquals(
    hex(encodeOrdered(value)),
    "83" + "a162" + "cb3ff0000000000000" + "01" + "a178" + "a161" + "c0",
  )
})

Deno.test("decodeOrdered round-trips and keeps the int/float distinction", () => {
  const bytes = unhex("83a162cb3ff000000000000001a178a161c0")
  const value = decodeOrdered(bytes)
  assertEquals(hex(encodeOrdered(value)), hex(bytes))
  assertEquals(msgGetIn(value, ["b"]), Msg.float(1))
  // float32 is read as a float (and written back as float64).
  assertEquals(decodeOrdered(unhex("ca3f800000")), Msg.float(1))
  assertEquals(decodeOrdered(unhex("cfffffffffffffffff")), Msg.int((1n << 64n) - 1n))
  assertEquals(decodeOrdered(unhex("d38000000000000000")), Msg.int(-(1n << 63n)))
})

Deno.test("decodeOrdered rejects trailing bytes", () => {
  assertThrows(() => decodeOrdered(unhex("c0c0")), /1 trailing bytes/)
})

Deno.test("decodeOrdered rejects truncated input and lying lengths", () => {
  assertThrows(() => decodeOrdered(unhex("a5616263")), /truncated/)
  assertThrows(() => decodeOrdered(unhex("c6ffffffff00")), /truncated/)
  assertThrows(() => decodeOrdered(unhex("ddffffffff00")), /claims 4294967295 elements/)
  assertThrows(() => decodeOrdered(unhex("dfffffffff00")), /claims/)
})

Deno.test("decodeOrdered rejects ext types, the 0xc1 marker and invalid UTF-8", () => {
  assertThrows(() => decodeOrdered(unhex("d4ff00")), /ext type/)
  assertThrows(() => decodeOrdered(unhex("c1")), /invalid msgpack marker/)
  assertThrows(() => decodeOrdered(unhex("a2c328")), /invalid UTF-8/)
})

Deno.test("decodeOrdered bounds nesting depth", () => {
  const deep = new Uint8Array(10_000).fill(0x91)
  assertThrows(() => decodeOrdered(Uint8Array.from([...deep, 0xc0])), /nesting deeper than 256/)
  assert(decodeOrdered(Uint8Array.from([...new Uint8Array(200).fill(0x91), 0xc0])).type === "array")
})

Deno.test("msgToJs rejects non-string keys, duplicates and unsafe integers; keeps __proto__ inert", () => {
  assertThrows(() => msgToJs(decodeOrdered(unhex("810102"))), /map keys must be strings/)
  assertThrows(() => msgToJs(decodeOrdered(unhex("82a161c0a161c0"))), /duplicate key "a"/)
  assertThrows(() => msgToJs(Msg.record([["n", Msg.int(2n ** 60n)]])), /n: integer .* out of range/)
  const obj = msgToJs(Msg.record([["__proto__", Msg.record([["polluted", Msg.bool(true)]])]]))
  assertEquals(Object.getPrototypeOf(obj), Object.prototype)
  assertEquals(({} as Record<string, unknown>)["polluted"], undefined)
})
