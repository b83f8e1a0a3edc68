/**
 * Tests of the AssemblyScript PDK, run against a mock host: the msgpack codec (round trips of
 * every type, boundaries, malformed input), the failure paths (fail, panic, assert, host errors,
 * stack overflow), every host-function wrapper in both directions (the input the host receives
 * and the output the zome decodes), and the callbacks. One test runs through the real Extism SDK.
 *
 * @module
 */
import { createPlugin } from "@extism/extism"
import { deepStrictEqual as assertEquals, match, ok as assert } from "node:assert/strict"
import { buildWasm } from "../build_wasm.ts"
import { hostFns } from "../../core/ribosome/host_fn/registry.ts"
import {
  type GuestResult,
  HOST_FUNCTIONS,
  type HostAnswer,
  type HostFunctionName,
  MockHost,
  pack,
  unpack,
} from "./mock_host.ts"

const reports = await buildWasm({ only: ["pdk_test", "host_fns_integrity", "host_fns", "noop"] })
const modules = new Map(
  reports.map((r) => [r.name, new WebAssembly.Module(Deno.readFileSync(r.out))] as const),
)

function zome(name: string): MockHost {
  const module = modules.get(name)
  if (module === undefined) throw new Error(`no module ${name}`)
  return MockHost.load(module)
}

function failure(result: GuestResult): string {
  assert(result.rc !== 0, `expected a failure, got rc ${result.rc}`)
  assert(result.error !== null, `expected an error message (trap: ${result.trap})`)
  return result.error
}

const bytes = (...values: number[]) => Uint8Array.from(values)

// ---------------------------------------------------------------------------------------------
// msgpack codec

const pdk = zome("pdk_test")

Deno.test("roundtrip re-encodes every msgpack type byte for byte", () => {
  const ascii = (n: number) => "a".repeat(n)
  const values: unknown[] = [
    null,
    true,
    false,
    0,
    1,
    127,
    128,
    255,
    256,
    65535,
    65536,
    2 ** 32 - 1,
    2 ** 32,
    Number.MAX_SAFE_INTEGER,
    -1,
    -32,
    -33,
    -128,
    -129,
    -32768,
    -32769,
    -(2 ** 31),
    -(2 ** 31) - 1,
    Number.MIN_SAFE_INTEGER,
    1.5,
    -2.25,
    Number.MAX_VALUE,
    Infinity,
    "",
    ascii(31),
    ascii(32),
    ascii(255),
    ascii(256),
    ascii(65535),
    ascii(65536),
    "héllo wörld ✓ 🌍 𝄞",
    new Uint8Array(0),
    new Uint8Array(255).fill(7),
    new Uint8Array(256).fill(8),
    new Uint8Array(65536).fill(9),
    [],
    Array.from({ length: 15 }, (_, i) => i),
    Array.from({ length: 16 }, (_, i) => i),
    Array.from({ length: 65536 }, (_, i) => i % 100),
    {},
    Object.fromEntries(Array.from({ length: 15 }, (_, i) => [`k${i}`, i])),
    Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`k${i}`, i])),
    Object.fromEntries(Array.from({ length: 65536 }, (_, i) => [`k${i}`, i])),
    { nested: { a: [1, { b: [null, true, "x", new Uint8Array([1, 2, 3])] }], c: -5.5 } },
  ]
  for (const value of values) {
    const input = pack(value)
    for (const fn of ["roundtrip", "roundtrip_counted", "raw_copy", "echo"]) {
      const result = pdk.call(fn, input)
      assertEquals(result.rc, 0, `${fn}: ${result.error}`)
      assertEquals(result.output, input, `${fn} changed the bytes of ${String(value).slice(0, 40)}`)
    }
  }
})

Deno.test("roundtrip keeps 64-bit integers, float32 and non-string keys exact", () => {
  const cases = [
    bytes(0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), // u64 max
    bytes(0xcf, 0x80, 0, 0, 0, 0, 0, 0, 0), // 2^63
    bytes(0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0), // i64 min
    bytes(0xca, 0x3e, 0x80, 0, 0), // float32 0.25
    bytes(0x82, 0x01, 0x02, 0xc3, 0xa1, 0x78), // {1: 2, true: "x"}
  ]
  for (const input of cases) {
    assertEquals(pdk.call("roundtrip", input).output, input)
    assertEquals(pdk.call("roundtrip_counted", input).output, input)
  }
  // i64 max written by a client as uint64 comes back in the smallest form, same value.
  const max = pdk.callValue("roundtrip", 2n ** 63n - 1n)
  assertEquals(max, 2n ** 63n - 1n)
  // Non-canonical input (a small int as uint64) is re-encoded canonically.
  assertEquals(pdk.call("roundtrip", bytes(0xcf, 0, 0, 0, 0, 0, 0, 0, 5)).output, bytes(0x05))
})

Deno.test("Writer produces every type with boundary values", () => {
  assertEquals(pdk.callValue("write_types"), {
    nil: null,
    t: true,
    f: false,
    i8: -100,
    u8: 200,
    i64_min: -(2n ** 63n),
    i64_max: 2n ** 63n - 1n,
    u64_max: 2n ** 64n - 1n,
    neg_fix: -32,
    neg_33: -33,
    i32_min: -(2 ** 31),
    f64: 1.5,
    f32: 0.25,
    str: "héllo 🌍",
    empty: "",
    bin: bytes(1, 2, 255),
    ints: [1, 2, 3],
    strs: ["a", "b"],
    nested: [[1], [2, 3]],
    point: { x: 3, y: -4 },
    points: [{ x: 1, y: 2 }],
    sub: { k: "v" },
    explicit: { a: [], b: {} },
  })
  // Smallest encodings: each key followed by the expected header bytes.
  const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("")
  const doc = hex(pdk.call("write_types").output!)
  const entry = (key: string, value: string) => hex(pack(key)) + value
  assert(doc.includes(entry("u64_max", "cf" + "ff".repeat(8))), "u64 max as uint64")
  assert(doc.includes(entry("i64_min", "d3" + "80" + "00".repeat(7))), "i64 min as int64")
  assert(doc.includes(entry("u8", "ccc8")), "200 as uint8")
  assert(doc.includes(entry("i8", "d09c")), "-100 as int8")
  assert(doc.includes(entry("neg_fix", "e0")), "-32 as a negative fixint")
  assert(doc.includes(entry("neg_33", "d0df")), "-33 as int8")
  assert(doc.includes(entry("f32", "ca3e800000")), "a float32")
})

Deno.test("counted containers widen their headers past 15 and 65535 items", () => {
  const out = pdk.call("write_counted_large").output!
  assertEquals(Array.from(out.subarray(0, 4)), [0x92, 0xde, 0x00, 0x14])
  const value = unpack(out) as [Record<string, number>, number[]]
  assertEquals(Object.keys(value[0]).length, 20)
  assertEquals(value[0].k19, 19)
  assertEquals(value[1].length, 70000)
  assertEquals(value[1][69999], 69999 & 0x7f)
})

Deno.test("typed getters read every type and report optional keys", () => {
  const input = {
    s: "héllo",
    i: -5,
    u: 2n ** 64n - 1n,
    i32: 7,
    b: true,
    f: 2,
    bin: bytes(0xab, 0x01),
    arr: [1, 2],
    m: { x: 1, y: 2 },
  }
  assertEquals(pdk.callValue("getters", input), {
    s: "héllo",
    i: -5,
    u: 2n ** 64n - 1n,
    i32: 7,
    b: true,
    f: 2,
    bin_hex: "ab01",
    arr_len: 2,
    m_keys: ["x", "y"],
    opt_missing: null,
    opt_default: 7,
    has_s: true,
    code_points: 5,
    describe:
      '{s: "héllo", i: -5, u: 18446744073709551615, i32: 7, b: true, f: 2, bin: <bin 2>, arr: [1, 2], m: {x: 1, y: 2}}',
  })
  assertEquals(pdk.callValue("encode_decode"), [7, 8])
  assertEquals(pdk.callValue("inspect", { a: 1 }), { kind: "map", size: 4, same: true })
  assertEquals(
    pdk.callValue("hash_string", bytes(0x84, 0x20, 0x24, 0xff)),
    "uhCAk_w",
  )
})

Deno.test("malformed input fails the call with a message naming the problem", () => {
  const deep = (n: number) => new Uint8Array([...new Array(n).fill(0x91), 0x01])
  const cases: [Uint8Array, string][] = [
    [bytes(0xc1), "input: msgpack: reserved byte 0xc1 at offset 0"],
    [bytes(0x92, 0x01), "input: msgpack: truncated array at offset 1"],
    [bytes(0x01, 0x02), "input: msgpack: 1 trailing byte(s) after the value"],
    [bytes(0xd4, 0x01, 0x00), "input: msgpack: ext type (0xd4) at offset 0 is not supported"],
    [bytes(0xc7, 0x01, 0x01, 0x00), "ext type (0xc7)"],
    [bytes(0xa2, 0xc3, 0x28), "input: msgpack: invalid UTF-8 in the string at offset 0"],
    [bytes(0xa2, 0xc0, 0x80), "invalid UTF-8"], // overlong NUL
    [bytes(0xa3, 0xed, 0xa0, 0x80), "invalid UTF-8"], // a UTF-16 surrogate
    [bytes(0xa4, 0xf4, 0x90, 0x80, 0x80), "invalid UTF-8"], // above U+10FFFF
    [bytes(0xa1, 0xc3), "invalid UTF-8"], // cut multi-byte sequence
    [bytes(0xdb, 0xff, 0xff, 0xff, 0xff), "input: msgpack: truncated str"],
    [bytes(0xc6, 0x00, 0x00, 0x01, 0x00, 0x01), "input: msgpack: truncated bin"],
    [bytes(0xdd, 0xff, 0xff, 0xff, 0xff), "input: msgpack: truncated array"],
    [bytes(0xdf, 0x7f, 0xff, 0xff, 0xff), "input: msgpack: truncated map"],
    [bytes(0x81, 0x01), "truncated map"],
    [bytes(0x91), "truncated array"],
    [bytes(0x92, 0x01, 0x01, 0x01), "1 trailing byte(s)"],
    [bytes(0xcd, 0x01), "truncated uint16"],
    [bytes(0xcb, 0, 0, 0), "truncated float64"],
    [bytes(0xd9), "truncated str length"],
    [deep(65), "input: msgpack: nesting deeper than 64"],
  ]
  for (const [input, expected] of cases) {
    const result = pdk.call("decode_only", input)
    assertEquals(result.rc, null, `expected a trap for ${input}`)
    assert(failure(result).includes(expected), `${failure(result)} ∌ ${expected}`)
  }
  assertEquals(pdk.call("decode_only", deep(64)).rc, 0)
  // An empty payload reads as nil.
  assertEquals(pdk.call("decode_only", new Uint8Array(0)).rc, 0)
})

Deno.test("getters fail with the key and the expected type", () => {
  const cases: [string, unknown, string][] = [
    ["get_title", { title: 5 }, 'input: "title": expected string, got int'],
    ["get_title", {}, 'input: missing key "title"'],
    ["get_title", null, "input: expected map, got nil"],
    ["get_title", [1], "input: expected map, got array"],
    ["as_i32", 2 ** 31, "input: integer 2147483648 does not fit i32"],
    ["as_i32", "x", "input: expected int, got string"],
    ["as_u64", -1, "input: expected an unsigned integer, got -1"],
    ["as_i64", 2n ** 64n - 1n, "input: integer 18446744073709551615 does not fit i64"],
  ]
  for (const [fn, input, expected] of cases) {
    assertEquals(failure(pdk.call(fn, pack(input))), expected)
  }
  // A value keeps its origin in its errors, even after other decodes (here a host call).
  const host = zome("pdk_test").on("sys_time_1", () => ({ ok: 1 }))
  assertEquals(
    failure(host.call("late_getter", pack({ title: 1 }))),
    'input: "title": expected string, got int',
  )
  assertEquals(pdk.callValue("as_i64", -(2n ** 63n)), -(2n ** 63n))
  assertEquals(pdk.callValue("as_u64", 2n ** 64n - 1n), 2n ** 64n - 1n)
})

// ---------------------------------------------------------------------------------------------
// Failure paths

Deno.test("fail() sets the error and returns 1 without trapping", () => {
  assertEquals(pdk.call("fail_value", pack("no thanks")), {
    rc: 1,
    output: null,
    error: "refused: no thanks",
    trap: null,
  })
})

Deno.test("assert, throw and panic reach the host through the abort handler", () => {
  const asserted = pdk.call("assert_fail", pack(null))
  assertEquals(asserted.trap !== null, true)
  match(
    failure(asserted),
    /^custom assert message \(plugins\/pdk\/test_zome\/assembly\/index\.ts:\d+:\d+\)$/,
  )
  match(
    failure(pdk.call("throw_error", pack("ünïcode"))),
    /^thrown: ünïcode \(plugins\/.+:\d+:\d+\)$/,
  )
  assertEquals(failure(pdk.call("panic_deep")), "deep failure")
})

Deno.test("the Writer refuses incomplete or extra values", () => {
  assertEquals(failure(pdk.call("writer_miscount")), "Writer: map(2) got 1 entry")
  assertEquals(
    failure(pdk.call("writer_two_values")),
    "ok: the Writer holds 2 values; a zome function returns exactly one",
  )
  assertEquals(
    failure(pdk.call("writer_bad_end")),
    "Writer.end: the innermost container has a declared size; it closes by itself",
  )
})

Deno.test("a stack overflow is reported, and the instance keeps working afterwards", () => {
  assertEquals(failure(pdk.call("recurse", pack(5000))), "stack overflow (unbounded recursion?)")
  // The abort handler reset the shadow stack, so the same instance serves the next call.
  for (let i = 0; i < 3; i++) assertEquals(pdk.callValue("recurse", 100), 100)
  assertEquals(failure(pdk.call("recurse", pack(5000))), "stack overflow (unbounded recursion?)")
  assertEquals(pdk.callValue("roundtrip", { still: "fine" }), { still: "fine" })
})

Deno.test("a host err envelope is a value to inspect, and unwrap() fails with its message", () => {
  const host = zome("pdk_test")
  host.on("sys_time_1", () => ({ err: { kind: "denied", message: "not in this context" } }))
  assertEquals(host.callValue("host_result"), {
    err: { fn: "sys_time_1", kind: "denied", message: "not in this context" },
  })
  assertEquals(
    failure(host.call("host_unwrap")),
    "sys_time_1 failed (denied): not in this context",
  )
  host.on("sys_time_1", () => ({ ok: 1_700_000_000_000_000 }))
  assertEquals(host.callValue("host_result"), { ok: 1_700_000_000_000_000 })
  assertEquals(host.callValue("host_unwrap"), 1_700_000_000_000_000)
  assertEquals(host.calls.every((c) => c.fn === "sys_time_1" && c.input === null), true)
  assertEquals(host.liveBlocks, 2, "envelope blocks are freed: only the input and output remain")
})

Deno.test("a malformed envelope fails the call with a message naming the host function", () => {
  const host = zome("pdk_test")
  host.on("sys_time_1", () => ({ raw: bytes(0xc1) }))
  assertEquals(
    failure(host.call("host_result")),
    "sys_time_1 output: msgpack: reserved byte 0xc1 at offset 0",
  )
  host.on("sys_time_1", () => ({ raw: pack({ neither: 1 }) }))
  assertEquals(
    failure(host.call("host_result")),
    "sys_time_1: the host's answer is neither {ok} nor {err}",
  )
  host.on("sys_time_1", () => ({ ok: "not a number" }))
  assertEquals(failure(host.call("host_unwrap")), "sys_time_1 output: expected int, got string")
})

// ---------------------------------------------------------------------------------------------
// Host-function wrappers: for each, the input the host receives and the output the zome decodes

const h = (prefix: [number, number, number], fill: number) => {
  const out = new Uint8Array(39).fill(fill)
  out.set(prefix)
  return out
}
const agent = h([0x84, 0x20, 0x24], 1)
const agent2 = h([0x84, 0x20, 0x24], 2)
const actionHash = h([0x84, 0x29, 0x24], 3)
const actionHash2 = h([0x84, 0x29, 0x24], 4)
const entryHash = h([0x84, 0x21, 0x24], 5)
const dnaHash = h([0x84, 0x2d, 0x24], 6)
const signature = new Uint8Array(64).fill(9)
const secret = new Uint8Array(64).fill(10)
const ts = 1_700_000_000_123_456
const appType = { type: "app", "zome_index": 0, "entry_index": 1, visibility: "public" }
const header = (type: string, seq: number) => ({
  type,
  author: agent,
  timestamp: ts + seq,
  action_seq: seq,
  prev_action: seq === 0 ? null : actionHash2,
})
const actions = {
  dna: { ...header("dna", 0), dna_hash: dnaHash },
  avp: { ...header("agent_validation_pkg", 1), membrane_proof: bytes(1, 2) },
  init: header("init_zomes_complete", 3),
  create: { ...header("create", 4), entry_type: appType, entry_hash: entryHash },
  update: {
    ...header("update", 5),
    entry_type: appType,
    entry_hash: entryHash,
    original_action_address: actionHash,
    original_entry_address: entryHash,
  },
  delete: { ...header("delete", 6), deletes_address: actionHash, deletes_entry_address: entryHash },
  createLink: {
    ...header("create_link", 7),
    base_address: agent,
    target_address: actionHash,
    zome_index: 0,
    link_type: 2,
    tag: bytes(1, 2, 3),
  },
  deleteLink: { ...header("delete_link", 8), base_address: agent, link_add_address: actionHash },
  agentCreate: {
    ...header("create", 2),
    entry_type: { type: "agent_pub_key" },
    entry_hash: entryHash,
  },
}
const signed = (action: unknown) => ({ action_hash: actionHash, action, signature })
const appEntry = { "entry_type": "app", entry: pack({ value: 5 }) }
const record = (action: unknown, entry: unknown = null) => ({ ...signed(action), entry })
const grant = {
  tag: "reads",
  access: { type: "assigned", value: { secret, assignees: [agent, agent2] } },
  functions: { type: "listed", value: [["z", "f"], ["z", "g"]] },
}
const claim = { tag: "claim", grantor: agent2, secret }
const link = {
  "create_link_hash": actionHash,
  author: agent,
  timestamp: ts,
  base: agent,
  target: actionHash2,
  "zome_index": 0,
  "link_type": 1,
  "link_type_name": "thing_link",
  tag: bytes(7),
}

interface WrapperCase {
  /** The host_fns zome function. */
  readonly fn: string
  readonly args: unknown
  readonly host: HostFunctionName
  /** What the host function must receive. */
  readonly expectInput: unknown
  /** What the host answers (the zome must answer `{ok: this}`). */
  readonly output: unknown
}

const wrapperCases: WrapperCase[] = [
  {
    fn: "call_agent_info",
    args: null,
    host: "agent_info_1",
    expectInput: null,
    output: {
      agent_initial_pubkey: agent,
      agent_latest_pubkey: agent2,
      chain_head: { action_hash: actionHash, action_seq: 7, timestamp: ts },
    },
  },
  {
    fn: "call_dna_info",
    args: null,
    host: "dna_info_1",
    expectInput: null,
    output: {
      name: "dna",
      hash: dnaHash,
      modifiers: { network_seed: "seed", properties: pack({ a: 1 }) },
      zome_names: ["i", "c"],
    },
  },
  {
    fn: "call_zome_info",
    args: null,
    host: "zome_info_1",
    expectInput: null,
    output: {
      name: "c",
      id: 1,
      entry_defs: [{ name: "thing", visibility: "public" }, {
        name: "secret",
        visibility: "private",
      }],
      link_types: ["thing_link"],
      extern_fns: ["call_get", "init"],
    },
  },
  {
    fn: "call_call_info",
    args: null,
    host: "call_info_1",
    expectInput: null,
    output: {
      provenance: agent,
      zome_name: "c",
      fn_name: "f",
      cap_grant: { type: "chain_author" },
    },
  },
  {
    fn: "call_call_info",
    args: null,
    host: "call_info_1",
    expectInput: null,
    output: {
      provenance: agent2,
      zome_name: "c",
      fn_name: "f",
      cap_grant: { type: "grant", value: { tag: "reads", action_hash: actionHash } },
    },
  },
  { fn: "call_sys_time", args: null, host: "sys_time_1", expectInput: null, output: ts },
  {
    fn: "call_random_bytes",
    args: 16,
    host: "random_bytes_1",
    expectInput: 16,
    output: new Uint8Array(16).fill(3),
  },
  {
    fn: "call_trace",
    args: { level: "info", message: "hello ✓" },
    host: "trace_1",
    expectInput: { level: "info", message: "hello ✓" },
    output: null,
  },
  {
    fn: "call_hash",
    args: { type: "blake2b", data: bytes(1, 2) },
    host: "hash_1",
    expectInput: { type: "blake2b", data: bytes(1, 2), output_len: 32 },
    output: new Uint8Array(32).fill(1),
  },
  {
    fn: "call_hash",
    args: { type: "blake2b", data: bytes(1), output_len: 16 },
    host: "hash_1",
    expectInput: { type: "blake2b", data: bytes(1), output_len: 16 },
    output: new Uint8Array(16).fill(1),
  },
  {
    fn: "call_hash",
    args: { type: "sha256", data: bytes(1) },
    host: "hash_1",
    expectInput: { type: "sha256", data: bytes(1) },
    output: new Uint8Array(32).fill(2),
  },
  {
    fn: "call_hash",
    args: { type: "sha512", data: bytes(1) },
    host: "hash_1",
    expectInput: { type: "sha512", data: bytes(1) },
    output: new Uint8Array(64).fill(2),
  },
  {
    fn: "call_hash",
    args: { type: "entry", entry: pack({ value: 1 }) },
    host: "hash_1",
    expectInput: { type: "entry", entry: pack({ value: 1 }) },
    output: entryHash,
  },
  {
    fn: "call_hash",
    args: { type: "action", action: actions.createLink },
    host: "hash_1",
    expectInput: { type: "action", action: actions.createLink },
    output: actionHash,
  },
  {
    fn: "call_sign",
    args: { key: agent, data: bytes(5) },
    host: "sign_1",
    expectInput: { key: agent, data: bytes(5) },
    output: signature,
  },
  {
    fn: "call_verify_signature",
    args: { key: agent, signature, data: bytes(5) },
    host: "verify_signature_1",
    expectInput: { key: agent, signature, data: bytes(5) },
    output: true,
  },
  {
    fn: "call_create",
    args: { entry_type: "thing", entry: { value: 5 } },
    host: "create_1",
    expectInput: { entry_type: "thing", entry: pack({ value: 5 }) },
    output: actionHash,
  },
  {
    fn: "call_create",
    args: { entry_type: "thing", entry: [1, "x"], zome: "other" },
    host: "create_1",
    expectInput: { entry_type: "thing", entry: pack([1, "x"]), zome: "other" },
    output: actionHash,
  },
  {
    fn: "call_update",
    args: { original_action_hash: actionHash, entry: { value: 6 } },
    host: "update_1",
    expectInput: { original_action_hash: actionHash, entry: pack({ value: 6 }) },
    output: actionHash2,
  },
  {
    fn: "call_delete",
    args: { deletes_action_hash: actionHash },
    host: "delete_1",
    expectInput: { deletes_action_hash: actionHash },
    output: actionHash2,
  },
  {
    fn: "call_create_link",
    args: { base: agent, target: actionHash, link_type: "thing_link", tag: bytes(1) },
    host: "create_link_1",
    expectInput: { base: agent, target: actionHash, link_type: "thing_link", tag: bytes(1) },
    output: actionHash2,
  },
  {
    fn: "call_create_link",
    args: { base: agent, target: actionHash, link_type: "thing_link", zome: "z" },
    host: "create_link_1",
    expectInput: { base: agent, target: actionHash, link_type: "thing_link", zome: "z" },
    output: actionHash2,
  },
  {
    fn: "call_delete_link",
    args: { create_link_hash: actionHash },
    host: "delete_link_1",
    expectInput: { create_link_hash: actionHash },
    output: actionHash2,
  },
  {
    fn: "call_create_cap_grant",
    args: grant,
    host: "create_cap_grant_1",
    expectInput: grant,
    output: actionHash,
  },
  {
    fn: "call_create_cap_grant",
    args: { tag: "all", access: { type: "unrestricted" }, functions: { type: "all" } },
    host: "create_cap_grant_1",
    expectInput: { tag: "all", access: { type: "unrestricted" }, functions: { type: "all" } },
    output: actionHash,
  },
  {
    fn: "call_create_cap_grant",
    args: {
      tag: "t",
      access: { type: "transferable", value: { secret } },
      functions: { type: "all" },
    },
    host: "create_cap_grant_1",
    expectInput: {
      tag: "t",
      access: { type: "transferable", value: { secret } },
      functions: { type: "all" },
    },
    output: actionHash,
  },
  {
    fn: "call_create_cap_claim",
    args: claim,
    host: "create_cap_claim_1",
    expectInput: claim,
    output: actionHash,
  },
  {
    fn: "call_get",
    args: { hash: actionHash },
    host: "get_1",
    expectInput: { hash: actionHash },
    output: record(actions.create, appEntry),
  },
  {
    fn: "call_get",
    args: { hash: entryHash },
    host: "get_1",
    expectInput: { hash: entryHash },
    output: null,
  },
  {
    fn: "call_get",
    args: { hash: actionHash },
    host: "get_1",
    expectInput: { hash: actionHash },
    output: record(actions.create, { entry_type: "cap_grant", entry: grant }),
  },
  {
    fn: "call_get_details",
    args: { hash: actionHash },
    host: "get_details_1",
    expectInput: { hash: actionHash },
    output: {
      type: "record",
      record: record(actions.create, appEntry),
      deletes: [signed(actions.delete)],
      updates: [signed(actions.update)],
    },
  },
  {
    fn: "call_get_details",
    args: { hash: entryHash },
    host: "get_details_1",
    expectInput: { hash: entryHash },
    output: {
      type: "entry",
      entry: appEntry,
      actions: [signed(actions.create)],
      entry_dht_status: "live",
      deletes: [],
      updates: [signed(actions.update)],
    },
  },
  {
    fn: "call_get_links",
    args: { base: agent, link_type: "thing_link", tag_prefix: bytes(7), author: agent },
    host: "get_links_1",
    expectInput: { base: agent, link_type: "thing_link", tag_prefix: bytes(7), author: agent },
    output: [link, { ...link, tag: new Uint8Array(0) }],
  },
  {
    fn: "call_query",
    args: { action_types: ["create"], entry_types: ["thing"], seq_range: [2, 9], descending: true },
    host: "query_1",
    expectInput: {
      action_types: ["create"],
      entry_types: ["thing"],
      seq_range: [2, 9],
      include_entries: true,
      descending: true,
    },
    output: Object.values(actions).map((a) => record(a)),
  },
  {
    fn: "call_query",
    args: null,
    host: "query_1",
    expectInput: { include_entries: true },
    output: [record(actions.agentCreate, { entry_type: "agent", entry: agent })],
  },
  {
    fn: "call_must_get_entry",
    args: { hash: entryHash },
    host: "must_get_entry_1",
    expectInput: { hash: entryHash },
    output: { entry_type: "cap_claim", entry: claim },
  },
  {
    fn: "call_must_get_action",
    args: { hash: actionHash },
    host: "must_get_action_1",
    expectInput: { hash: actionHash },
    output: signed(actions.avp),
  },
  {
    fn: "call_must_get_valid_record",
    args: { hash: actionHash },
    host: "must_get_valid_record_1",
    expectInput: { hash: actionHash },
    output: record(actions.update, appEntry),
  },
  {
    fn: "call_must_get_agent_activity",
    args: { author: agent, chain_top: actionHash },
    host: "must_get_agent_activity_1",
    expectInput: { author: agent, chain_top: actionHash },
    output: [signed(actions.init), signed(actions.dna)],
  },
  {
    fn: "call_emit_signal",
    args: { type: "hello", n: [1, 2] },
    host: "emit_signal_1",
    expectInput: pack({ type: "hello", n: [1, 2] }),
    output: null,
  },
  {
    fn: "call_call",
    args: { target: { type: "local" }, zome_name: "z", fn_name: "f", payload: { a: 1 } },
    host: "call_1",
    expectInput: {
      target: { type: "local" },
      zome_name: "z",
      fn_name: "f",
      cap_secret: null,
      payload: pack({ a: 1 }),
    },
    output: { type: "ok", value: pack("answer") },
  },
  {
    fn: "call_call",
    args: {
      target: { type: "cell", value: [dnaHash, agent2] },
      zome_name: "z",
      fn_name: "f",
      payload: null,
      cap_secret: secret,
    },
    host: "call_1",
    expectInput: {
      target: { type: "cell", value: [dnaHash, agent2] },
      zome_name: "z",
      fn_name: "f",
      cap_secret: secret,
      payload: pack(null),
    },
    output: { type: "unauthorized", value: "no grant" },
  },
  {
    fn: "call_call",
    args: { target: { type: "role", value: "other" }, zome_name: "z", fn_name: "f", payload: 1 },
    host: "call_1",
    expectInput: {
      target: { type: "role", value: "other" },
      zome_name: "z",
      fn_name: "f",
      cap_secret: null,
      payload: pack(1),
    },
    output: { type: "error", value: "boom" },
  },
  {
    fn: "call_receptor_call",
    args: { receptor: "notes", operation: "get", input: { key: "k" } },
    host: "receptor_call_1",
    expectInput: { receptor: "notes", operation: "get", input: { key: "k" } },
    output: { type: "ok", value: { key: "k", value: [1, "two", null], version: 3 } },
  },
  {
    fn: "call_receptor_call",
    args: { type: "recovery", operation: "undo", input: { session: "s" } },
    host: "receptor_call_1",
    expectInput: { type: "recovery", operation: "undo", input: { session: "s" } },
    output: { type: "error", reason: "NothingToUndo", detail: "nothing to undo" },
  },
]

Deno.test("every host-function wrapper sends the documented input and decodes the output", () => {
  const covered = new Set<string>()
  for (const c of wrapperCases) {
    const host = zome("host_fns")
    host.on(c.host, () => ({ ok: c.output }))
    const answer = host.callValue(c.fn, c.args)
    const label = `${c.fn} ${
      JSON.stringify(c.args, (_k, v) => typeof v === "bigint" ? String(v) : v)
    }`
    assertEquals(host.calls.length, 1, `${label}: one host call`)
    assertEquals(host.calls[0]!.fn, c.host, label)
    assertEquals(host.calls[0]!.input, c.expectInput, `${label}: host input`)
    assertEquals(answer, { ok: c.output }, `${label}: decoded output`)
    covered.add(c.host)
  }
  // sign_1 without a key asks agent_info_1 for this cell's key first.
  const host = zome("host_fns")
  host.on("agent_info_1", () => ({
    ok: {
      agent_initial_pubkey: agent,
      agent_latest_pubkey: agent,
      chain_head: { action_hash: actionHash, action_seq: 1, timestamp: ts },
    },
  }))
  host.on("sign_1", () => ({ ok: signature }))
  assertEquals(host.callValue("call_sign", { data: bytes(1) }), { ok: signature })
  assertEquals(host.calls.map((c) => c.fn), ["agent_info_1", "sign_1"])
  assertEquals(host.calls[1]!.input, { key: agent, data: bytes(1) })
  // The network host functions' wrappers are covered by network_test.ts (the network zome).
  const network = new Set([
    "count_links_1",
    "get_agent_activity_1",
    "call_remote_1",
    "send_remote_signal_1",
  ])
  const missing = HOST_FUNCTIONS.filter((fn) => !covered.has(fn) && !network.has(fn))
  assertEquals(missing, [])
})

Deno.test("every host-function wrapper hands back the host's err as a value", () => {
  for (const c of wrapperCases) {
    const host = zome("host_fns")
    host.on(c.host, () => ({ err: { kind: "not_found", message: `nothing at ${c.fn}` } }))
    assertEquals(host.callValue(c.fn, c.args), {
      err: { kind: "not_found", message: `nothing at ${c.fn}` },
    })
  }
})

// ---------------------------------------------------------------------------------------------
// Callbacks

const validateOp = (op: Record<string, unknown>) => {
  const host = zome("host_fns_integrity")
  host.on("must_get_valid_record_1", () => ({ ok: record(actions.create, appEntry) }))
  return { answer: host.callValue("validate", op) as { type: string; reason?: string }, host }
}
const thingOp = (value: unknown, type = "store_entry") => ({
  type,
  record: record(actions.create, { entry_type: "app", entry: pack(value) }),
  entry_type: "thing",
  link_type: null,
})

Deno.test("entry_defs answers the declared types in order", () => {
  assertEquals(zome("host_fns_integrity").callValue("entry_defs"), {
    entry_defs: [
      { name: "thing", visibility: "public" },
      { name: "secret", visibility: "private" },
      { name: "init_marker", visibility: "public" },
      { name: "ref", visibility: "public" },
    ],
    link_types: ["thing_link"],
  })
})

Deno.test("validate decodes the Op and answers valid, invalid or via must_get", () => {
  assertEquals(validateOp(thingOp({ value: 5 })).answer, { type: "valid" })
  assertEquals(validateOp(thingOp({ value: -1 })).answer, {
    type: "invalid",
    reason: "thing.value must be >= 0",
  })
  assertEquals(validateOp(thingOp({ value: -1 }, "store_record")).answer.type, "invalid")
  assertEquals(validateOp(thingOp("not a map")).answer, {
    type: "invalid",
    reason: "thing must be {value: int}",
  })
  // A malformed entry is invalid, not a crash of the callback.
  const malformed = thingOp(null)
  ;(malformed.record as { entry: unknown }).entry = { entry_type: "app", entry: bytes(0xc1) }
  assertEquals(validateOp(malformed).answer.type, "invalid")
  const ref = { ...thingOp({ target: actionHash }), "entry_type": "ref" }
  const { answer, host } = validateOp(ref)
  assertEquals(answer, { type: "valid" })
  assertEquals(host.calls.map((c) => [c.fn, c.input]), [["must_get_valid_record_1", {
    hash: actionHash,
  }]])
  const badLink = {
    type: "register_create_link",
    record: record({ ...actions.createLink, tag: new TextEncoder().encode("invalid") }),
    "entry_type": null,
    "link_type": "thing_link",
  }
  assertEquals(validateOp(badLink).answer, { type: "invalid", reason: 'the tag is "invalid"' })
  for (const type of ["register_update", "register_delete"]) {
    const op = {
      type,
      record: record(actions.update),
      "entry_type": "thing",
      "original_action": signed(actions.create),
    }
    assertEquals(validateOp(op).answer, { type: "valid" })
  }
  const deleteLink = {
    type: "register_delete_link",
    record: record(actions.deleteLink),
    "link_type": "thing_link",
    "create_link": signed(actions.createLink),
  }
  assertEquals(validateOp(deleteLink).answer, { type: "valid" })
  assertEquals(
    validateOp({ type: "register_agent_activity", record: record(actions.dna) }).answer,
    {
      type: "valid",
    },
  )
  assertEquals(
    failure(zome("host_fns_integrity").call("validate", pack({ type: "store_entry" }))),
    'validate input: missing key "record"',
  )
})

Deno.test('genesis_self_check rejects the membrane proof "bad"', () => {
  const dnaInfo = {
    name: "dna",
    hash: dnaHash,
    modifiers: { network_seed: "", properties: pack(null) },
    "zome_names": ["host_fns_integrity", "host_fns"],
  }
  const check = (proof: Uint8Array | null) =>
    zome("host_fns_integrity").callValue("genesis_self_check", {
      membrane_proof: proof,
      agent_key: agent,
      dna_info: dnaInfo,
    })
  assertEquals(check(null), { type: "valid" })
  assertEquals(check(bytes(1, 2)), { type: "valid" })
  const invalid = { type: "invalid", reason: "membrane proof is bad" }
  assertEquals(check(new TextEncoder().encode("bad")), invalid)
  assertEquals(check(pack("bad")), invalid)
})

Deno.test("init writes a marker and can fail; post_commit emits a signal", () => {
  const dnaInfo = (properties: unknown) => ({
    ok: {
      name: "dna",
      hash: dnaHash,
      modifiers: { network_seed: "", properties: pack(properties) },
      zome_names: ["host_fns_integrity", "host_fns"],
    },
  })
  const host = zome("host_fns")
  host.on("dna_info_1", () => dnaInfo(null)).on("create_1", () => ({ ok: actionHash }))
  assertEquals(host.callValue("init"), { type: "pass" })
  assertEquals(host.calls[1]!.input, { entry_type: "init_marker", entry: pack({ n: 1 }) })
  host.on("dna_info_1", () => dnaInfo({ fail_init: true }))
  assertEquals(host.callValue("init"), {
    type: "fail",
    reason: "the DNA properties ask init to fail",
  })

  const signals: unknown[] = []
  const committer = zome("host_fns")
  committer.on("emit_signal_1", (input) => {
    signals.push(unpack(input as Uint8Array))
    return { ok: null } satisfies HostAnswer
  })
  const committed = [signed(actions.create), {
    ...signed(actions.createLink),
    action_hash: actionHash2,
  }]
  assertEquals(committer.callValue("post_commit", committed), null)
  assertEquals(signals, [{ type: "post_commit", hashes: [actionHash, actionHash2] }])
})

// ---------------------------------------------------------------------------------------------
// Decoding on demand and the paths that avoid allocations

Deno.test("entries of every size travel as bin, byte for byte", () => {
  for (const size of [0, 20, 300, 70_000]) {
    const host = zome("host_fns").on("create_1", () => ({ ok: actionHash }))
    const entry = { text: "x".repeat(size), n: [1, -2, 2n ** 63n] }
    assertEquals(host.callValue("call_create", { entry_type: "thing", entry }), { ok: actionHash })
    assertEquals(host.calls[0]!.input, { entry_type: "thing", entry: pack(entry) }, `${size}`)
  }
})

Deno.test("a record decoded on first use fails with the messages of an eager decode", () => {
  const fails = (op: unknown) => failure(zome("host_fns_integrity").call("validate", pack(op)))
  const noAction = thingOp({ value: 1 })
  delete (noAction.record as { action?: unknown }).action
  assertEquals(fails(noAction), 'validate input: missing key "action"')
  const badAuthor = thingOp({ value: 1 }, "store_record")
  ;(badAuthor.record as { action: unknown }).action = { ...actions.create, author: "me" }
  assertEquals(fails(badAuthor), 'validate input: "author": expected bin, got string')
  // The record itself is checked up front, even by an op whose check never reads it.
  assertEquals(
    fails({ type: "register_agent_activity", record: 5 }),
    "validate input: expected map, got int",
  )
})

Deno.test("many distinct short strings decode correctly (they share a small cache)", () => {
  const doc: Record<string, unknown> = {}
  for (let i = 0; i < 300; i++) doc[`k${i}`] = [`v${i}`, `k${i}`, "é" + i]
  for (let round = 0; round < 2; round++) assertEquals(pdk.callValue("roundtrip", doc), doc)
})

Deno.test("one instance stays within its memory over 100,000 calls", () => {
  const validator = zome("host_fns_integrity")
  const ops = [
    thingOp({ value: 1 }),
    thingOp({ value: 1 }, "store_record"),
    { type: "register_agent_activity", record: record(actions.create, appEntry) },
  ].map(pack)
  const creator = zome("host_fns").on("create_1", () => ({ ok: actionHash }))
  const create = pack({ entry_type: "thing", entry: { value: 1 } })
  const run = (calls: number) => {
    for (let i = 0; i < calls; i++) {
      assertEquals(validator.call("validate", ops[i % 3]!).rc, 0)
      if (i % 4 === 0) assertEquals(creator.call("call_create", create).rc, 0)
    }
  }
  run(10_000)
  const settled = [validator.memoryBytes, creator.memoryBytes]
  run(90_000)
  assertEquals([validator.memoryBytes, creator.memoryBytes], settled)
  assert(settled.every((bytes) => bytes <= 256 * 1024), `${settled}`)
})

// ---------------------------------------------------------------------------------------------
// The real Extism SDK

Deno.test("the zomes run unchanged under @extism/extism with host functions", async () => {
  const functions = {
    "extism:host/user": {
      sys_time_1: (ctx: { store(data: Uint8Array): bigint }, _input: bigint) =>
        ctx.store(pack({ ok: 42 })),
    },
  }
  const plugin = await createPlugin(
    { wasm: [{ data: Deno.readFileSync(reports.find((r) => r.name === "pdk_test")!.out) }] },
    { useWasi: false, functions },
  )
  try {
    const input = pack({ title: "héllo", n: [1, 2n ** 63n] })
    assertEquals(
      (await plugin.call("roundtrip", input))?.bytes(),
      pack({ title: "héllo", n: [1, 2n ** 63n] }),
    )
    assertEquals((await plugin.call("echo", input))?.bytes(), input)
    assertEquals(unpack((await plugin.call("host_result", pack(null)))!.bytes()), { ok: 42 })
    let message = ""
    try {
      await plugin.call("fail_value", pack("nope"))
    } catch (cause) {
      message = cause instanceof Error ? cause.message : String(cause)
    }
    match(message, /refused: nope/)
  } finally {
    await plugin.close()
  }
  const noop = await createPlugin(
    { wasm: [{ data: Deno.readFileSync(reports.find((r) => r.name === "noop")!.out) }] },
    { useWasi: false },
  )
  try {
    const payload = pack({ any: "thing" })
    assertEquals((await noop.call("noop", payload))?.bytes(), payload)
    assertEquals(unpack((await noop.call("echo_len", payload))!.bytes()), payload.length)
  } finally {
    await noop.close()
  }
})

Deno.test("the mock host and the wasm build know exactly the conductor's host functions", () => {
  assertEquals([...HOST_FUNCTIONS], hostFns.map((fn) => fn.name))
})
