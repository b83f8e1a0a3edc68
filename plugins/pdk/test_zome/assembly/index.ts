// The PDK's own test zome: exercises the msgpack codec, the I/O helpers and the failure paths.
// plugins/pdk/pdk_test.ts runs it against a mock host.
import {
  bytesEqual,
  codePoints,
  decode,
  echoInput,
  encode,
  fail,
  hashToString,
  input,
  inputBytes,
  Kind,
  ok,
  okBytes,
  panic,
  sysTime,
  toHex,
  Value,
  Writer,
} from "pdk/assembly"

// Re-encodes a decoded value through the typed accessors (not the raw bytes), so a round trip
// exercises both the decoder and every writer method.
function rebuild(v: Value, w: Writer, counted: bool): void {
  switch (v.kind) {
    case Kind.Nil:
      w.nil()
      break
    case Kind.Bool:
      w.bool(v.asBool())
      break
    case Kind.Int:
      if (v.raw()[0] >= 0xe0 || (v.raw()[0] >= 0xd0 && v.raw()[0] <= 0xd3)) {
        const i = v.asI64()
        if (i < 0) {
          w.int(i)
          break
        }
      }
      w.uint(v.asU64())
      break
    case Kind.Float:
      if (v.raw()[0] == 0xca) w.float32(<f32> v.asF64())
      else w.float(v.asF64())
      break
    case Kind.Str:
      w.str(v.asString())
      break
    case Kind.Bin:
      w.bin(v.asBytes())
      break
    case Kind.Array: {
      const items = v.asArray()
      if (counted) w.beginArray()
      else w.array(items.length)
      for (let i = 0; i < items.length; i++) rebuild(items[i], w, counted)
      if (counted) w.end()
      break
    }
    default: {
      const m = v.asMap()
      if (counted) w.beginMap()
      else w.map(m.size)
      for (let i = 0; i < m.size; i++) {
        rebuild(m.keyAt(i), w, counted)
        rebuild(m.valueAt(i), w, counted)
      }
      if (counted) w.end()
    }
  }
}

/** Decodes the input and re-encodes it with sized containers. */
export function roundtrip(): i32 {
  const w = new Writer()
  rebuild(input(), w, false)
  return ok(w)
}

/** Decodes the input and re-encodes it with counted containers (beginMap/beginArray/end). */
export function roundtrip_counted(): i32 {
  const w = new Writer()
  rebuild(input(), w, true)
  return ok(w)
}

/** Decodes the input and answers nil: for malformed-input tests. */
export function decode_only(): i32 {
  input()
  return ok<Value | null>(null)
}

/** Answers with the input's bytes copied through `Value.raw`. */
export function raw_copy(): i32 {
  return ok(input())
}

/** Answers with the input without copying it (kernel input block reused as output). */
export function echo(): i32 {
  return echoInput()
}

class Point {
  constructor(
    public x: i32,
    public y: i32,
  ) {}

  encode(w: Writer): void {
    w.map(2).field("x", this.x).field("y", this.y)
  }
}

/** A document holding every type the writer can produce, with boundary values. */
export function write_types(): i32 {
  const bytes = new Uint8Array(3)
  bytes[0] = 1
  bytes[1] = 2
  bytes[2] = 255
  const w = new Writer()
  w.beginMap()
    .field("nil", <string | null> null)
    .field("t", true)
    .field("f", false)
    .field("i8", <i8> -100)
    .field("u8", <u8> 200)
    .field("i64_min", i64.MIN_VALUE)
    .field("i64_max", i64.MAX_VALUE)
    .field("u64_max", u64.MAX_VALUE)
    .field("neg_fix", -32)
    .field("neg_33", -33)
    .field("i32_min", i32.MIN_VALUE)
    .field("f64", 1.5)
    .field("f32", <f32> 0.25)
    .field("str", "héllo 🌍")
    .field("empty", "")
    .field("bin", bytes)
    .field("ints", [1, 2, 3])
    .field("strs", ["a", "b"])
    .field("nested", [[1], [2, 3]])
    .field("point", new Point(3, -4))
    .field("points", [new Point(1, 2)])
    .field("sub", new Writer().map(1).field("k", "v"))
    .str("explicit").map(2).str("a").array(0).str("b").map(0)
    .end()
  return ok(w)
}

/** Large counted containers: 20 and 70000 items (header widening to 16 and 32 bits). */
export function write_counted_large(): i32 {
  const w = new Writer()
  w.beginArray()
  w.beginMap()
  for (let i = 0; i < 20; i++) w.field("k" + i.toString(), i)
  w.end()
  w.beginArray()
  for (let i = 0; i < 70000; i++) w.uint(<u64> (i & 0x7f))
  w.end()
  w.end()
  return ok(w)
}

/** Reads `{s, i, u, b, f, bin, arr, m, opt?}` with the typed getters and echoes what it read. */
export function getters(): i32 {
  const m = input().asMap()
  const arr = m.getArray("arr")
  const sub = m.getMap("m")
  const w = new Writer()
  w.beginMap()
    .field("s", m.getString("s"))
    .field("i", m.getI64("i"))
    .field("u", m.getU64("u"))
    .field("i32", m.getI32("i32"))
    .field("b", m.getBool("b"))
    .field("f", m.getF64("f"))
    .field("bin_hex", toHex(m.getBytes("bin")))
    .field("arr_len", arr.length)
    .field("m_keys", sub.keyNames())
    .field("opt_missing", m.optString("nope"))
    .field("opt_default", m.optI64("nope", 7))
    .field("has_s", m.has("s"))
    .field("code_points", codePoints(m.getString("s")))
    .field("describe", input().toString())
    .end()
  return ok(w)
}

/** Reads `input.title` as a string, whatever the input holds (for getter errors). */
export function get_title(): i32 {
  return ok(input().asMap().getString("title"))
}

/** Reads the input as an i32. */
export function as_i32(): i32 {
  return ok(input().asI32())
}

/** Reads the input as a u64. */
export function as_u64(): i32 {
  return ok(input().asU64())
}

/** Reads the input as an i64. */
export function as_i64(): i32 {
  return ok(input().asI64())
}

/** `return fail("refused: " + input)`. */
export function fail_value(): i32 {
  return fail("refused: " + input().asString())
}

/** A failing `assert` (message with location). */
export function assert_fail(): i32 {
  assert(input().isNil() == false, "custom assert message")
  return ok(1)
}

/** `throw new Error(...)`. */
export function throw_error(): i32 {
  throw new Error("thrown: " + input().asString())
}

/** `panic(...)` from deep inside. */
export function panic_deep(): i32 {
  panic("deep failure")
  return 0
}

/** An unfinished map handed to ok(). */
export function writer_miscount(): i32 {
  return ok(new Writer().map(2).str("a").int(1))
}

/** Two top-level values handed to ok(). */
export function writer_two_values(): i32 {
  return ok(new Writer().int(1).int(2))
}

/** `end()` while the innermost container is a sized map. */
export function writer_bad_end(): i32 {
  return ok(new Writer().beginArray().map(2).str("a").end())
}

/** Reads the input through `decode(inputBytes())` and reports kinds and sizes. */
export function inspect(): i32 {
  const bytes = inputBytes()
  const v = decode(bytes)
  return ok(
    new Writer().map(3).field("kind", v.kindName).field("size", bytes.length)
      .field("same", bytesEqual(v.raw(), bytes)),
  )
}

/** `encode` of a class, then decode of the result. */
export function encode_decode(): i32 {
  const bytes = encode(new Point(7, 8))
  const m = decode(bytes).asMap()
  return ok(new Writer().array(2).int(m.getI32("x")).int(m.getI32("y")))
}

/** Answers with bytes that are not msgpack (0xc1). */
export function raw_invalid(): i32 {
  const b = new Uint8Array(1)
  b[0] = 0xc1
  return okBytes(b)
}

/** `sysTime().unwrap()`: with a host that answers err, the call fails with its message. */
export function host_unwrap(): i32 {
  return ok(sysTime().unwrap())
}

/** `sysTime()` inspected without unwrap: answers `{ok}` or `{err: {kind, message}}`. */
export function host_result(): i32 {
  const r = sysTime()
  if (r.isOk) return ok(new Writer().map(1).field("ok", r.unwrap()))
  const e = r.error!
  return ok(
    new Writer().map(1).str("err").map(3).field("fn", e.fn).field("kind", e.kind)
      .field("message", e.message),
  )
}

/** `hashToString` of the input bin. */
export function hash_string(): i32 {
  return ok(hashToString(input().asBytes()))
}

/** Stack overflow through unbounded recursion: the abort handler must still report it. */
export function recurse(): i32 {
  return ok(depth(input().asI32()))
}

function depth(n: i32): i32 {
  if (n == 0) return 0
  const s = "x" + n.toString() // a managed local keeps a shadow-stack slot per frame
  return depth(n - 1) + s.length - s.length + 1
}

/** Reads `input.title` after a host call: the error still names the input. */
export function late_getter(): i32 {
  const m = input().asMap()
  sysTime()
  return ok(m.getString("title"))
}
