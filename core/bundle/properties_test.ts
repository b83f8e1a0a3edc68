import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict"
import { Effect, Exit, Result } from "effect"
import { canonicalProperties, encodeProperties, Msg, propertiesFromYaml } from "./mod.ts"

const hex = (bytes: Uint8Array) =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")
const props = (text: string) => hex(Effect.runSync(propertiesFromYaml(text)))
const fails = (text: string) => {
  const exit = Effect.runSyncExit(propertiesFromYaml(text, "props.yaml"))
  assert(Exit.isFailure(exit))
  const error = Exit.findErrorOption(exit)
  assert(error._tag === "Some" && error.value.reason._tag === "ManifestInvalid")
  return error.value.reason
}

Deno.test("propertiesFromYaml keeps YAML map order, integer-like keys included", () => {
  // JS objects would put "1" first; Holochain keeps the document order.
  assertEquals(props('b: 1\n"1": 2\na: 3\n'), "83" + "a16201" + "a13102" + "a16103")
})

Deno.test("propertiesFromYaml keeps 1.0 a float64 and 1 an int", () => {
  assertEquals(
    props("[1, 1.0, -1, 2.5]"),
    "94" + "01" + "cb3ff0000000000000" + "ff" + "cb4004000000000000",
  )
})

Deno.test("propertiesFromYaml encodes null and an empty document as c0", () => {
  assertEquals(props("~"), "c0")
  assertEquals(props("null"), "c0")
  assertEquals(props(""), "c0")
})

Deno.test("propertiesFromYaml keeps non-string keys as msgpack ints", () => {
  assertEquals(props("1: a\n"), "81" + "01" + "a161")
})

Deno.test("propertiesFromYaml writes large integers like serde_yaml", () => {
  assertEquals(props("18446744073709551615"), "cfffffffffffffffff")
  assertEquals(props("-9223372036854775808"), "d38000000000000000")
  // Beyond u64 serde_yaml falls back to f64.
  assertEquals(props("18446744073709551616").slice(0, 2), "cb")
})

Deno.test("propertiesFromYaml expands aliases", () => {
  assertEquals(props("a: &x [1]\nb: *x\n"), "82" + "a161" + "9101" + "a162" + "9101")
})

Deno.test("propertiesFromYaml stops an alias bomb", () => {
  const lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
  for (let i = 1; i < 8; i++) {
    const ref = `*a${i - 1}`
    lines.push(`a${i}: &a${i} [${new Array(10).fill(ref).join(", ")}]`)
  }
  const reason = fails(lines.join("\n") + "\n")
  assert(reason.detail.includes("alias expansion"))
})

Deno.test("propertiesFromYaml rejects custom tags with their line", () => {
  const reason = fails("a: 1\nb: !thing x\n")
  assertEquals(reason.line, 2)
  assertEquals(reason.file, "props.yaml")
})

Deno.test("canonicalProperties rewrites float32 as float64 and rejects bin", () => {
  const canon = canonicalProperties(Msg.array([Msg.float(1), Msg.int(300)]))
  assert(Result.isSuccess(canon))
  assertEquals(hex(canon.success), "92cb3ff0000000000000cd012c")
  const bad = canonicalProperties(Msg.record([["k", Msg.bin(new Uint8Array(1))]]))
  assert(Result.isFailure(bad))
  assert(bad.failure.includes("binary value at k"))
})

Deno.test("encodeProperties gives c0 for null and undefined and msgpack otherwise", () => {
  assertEquals(hex(encodeProperties(null)), "c0")
  assertEquals(hex(encodeProperties(undefined)), "c0")
  assertEquals(hex(encodeProperties({ foo: "bar" })), "81a3666f6fa3626172")
})
