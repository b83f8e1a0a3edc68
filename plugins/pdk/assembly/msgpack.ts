/**
 * MessagePack for zomes: `Writer` builds documents, `decode` reads one into a dynamic `Value`.
 *
 * Owns the byte format. Decoding is strict (well-formed UTF-8, no trailing bytes, no ext types,
 * bounded nesting) and aborts with a message naming what is wrong; getters abort with the key and
 * the expected type. The writer keeps count of every container and refuses to hand out a document
 * whose maps or arrays are incomplete, so a zome cannot emit malformed msgpack by miscounting.
 */
import { panic } from "./abort"

/** The kind of a decoded value. */
export enum Kind {
  Nil,
  Bool,
  Int,
  Float,
  Str,
  Bin,
  Array,
  Map,
}

/** The msgpack name of a kind, for messages. */
export function kindName(kind: Kind): string {
  switch (kind) {
    case Kind.Nil:
      return "nil"
    case Kind.Bool:
      return "bool"
    case Kind.Int:
      return "int"
    case Kind.Float:
      return "float"
    case Kind.Str:
      return "string"
    case Kind.Bin:
      return "bin"
    case Kind.Array:
      return "array"
    default:
      return "map"
  }
}

/** The deepest nesting of arrays and maps that `decode` and `Writer` accept. */
export const MAX_DEPTH: i32 = 64

// Prefixes decode errors (e.g. "input", "get_1 output") so a message says where the bad data was.
let decodeContext: string = ""

/** Sets the text that prefixes decode and getter errors until the next call; "" for none. */
export function setDecodeContext(context: string): void {
  decodeContext = context
}

/** Fails the call with `message`, prefixed by the decode context (see `setDecodeContext`). */
export function decodeError(message: string): void {
  failIn(decodeContext, message)
}

function failIn(context: string, message: string): void {
  panic(context.length > 0 ? context + ": " + message : message)
}

// ---------------------------------------------------------------------------------------------
// Value

/**
 * One decoded msgpack value. Strings and bin are views into the decoded bytes: `asString()`
 * converts (and caches) on first use, `asBytes()` returns a view that shares the input buffer.
 */
@final
export class Value {
  kind: Kind = Kind.Nil
  /** The bytes this value was decoded from (or empty for `Value.nil()`). */
  source: Uint8Array
  /** Offset of this value's first byte in `source`. */
  start: i32 = 0
  /** Offset just past this value's last byte in `source`. */
  end: i32 = 0
  // Int: the two's-complement bits; `negative` tells i64 from u64 reading. Bool: 0 or 1.
  private bits: u64 = 0
  private negative: bool = false
  private flt: f64 = 0
  // Str and Bin: the payload range in `source`.
  private dataStart: i32 = 0
  private dataEnd: i32 = 0
  private text: string | null = null
  private items: Array<Value> | null = null
  private entries: ValueMap | null = null
  /** Where the value came from ("input", "get_1 output", …), prefixed to its errors. */
  context: string = ""

  constructor(source: Uint8Array) {
    this.source = source
  }

  /** A nil value that was never encoded (what `ValueMap.opt` returns for a missing key). */
  static nil(context: string = ""): Value {
    const v = new Value(new Uint8Array(0))
    v.context = context
    return v
  }

  private fail(message: string): void {
    failIn(this.context, message)
  }

  /** The kind's msgpack name: "nil", "bool", "int", "float", "string", "bin", "array", "map". */
  get kindName(): string {
    return kindName(this.kind)
  }

  isNil(): bool {
    return this.kind == Kind.Nil
  }

  /** The encoded bytes of this value (a view; nil for a value made by `Value.nil()`). */
  raw(): Uint8Array {
    if (this.end == this.start) return NIL_BYTES
    return this.source.subarray(this.start, this.end)
  }

  private expect(kind: Kind): void {
    if (this.kind != kind) {
      this.fail("expected " + kindName(kind) + ", got " + this.kindName)
    }
  }

  asBool(): bool {
    this.expect(Kind.Bool)
    return this.bits != 0
  }

  /** The integer as i64; aborts for a uint64 above i64's range or a non-integer. */
  asI64(): i64 {
    this.expect(Kind.Int)
    if (!this.negative && this.bits > <u64> i64.MAX_VALUE) {
      this.fail("integer " + this.bits.toString() + " does not fit i64")
    }
    return <i64> this.bits
  }

  /** The integer as u64; aborts for a negative integer. */
  asU64(): u64 {
    this.expect(Kind.Int)
    if (this.negative) {
      this.fail("expected an unsigned integer, got " + (<i64> this.bits).toString())
    }
    return this.bits
  }

  /** The integer as i32; aborts when it is out of range. */
  asI32(): i32 {
    const v = this.asI64()
    if (v < <i64> i32.MIN_VALUE || v > <i64> i32.MAX_VALUE) {
      this.fail("integer " + v.toString() + " does not fit i32")
    }
    return <i32> v
  }

  /** The integer as u32; aborts when it is out of range. */
  asU32(): u32 {
    const v = this.asU64()
    if (v > <u64> u32.MAX_VALUE) this.fail("integer " + v.toString() + " does not fit u32")
    return <u32> v
  }

  /** A float, or an integer converted to f64. */
  asF64(): f64 {
    if (this.kind == Kind.Int) {
      return this.negative ? <f64> <i64> this.bits : <f64> this.bits
    }
    this.expect(Kind.Float)
    return this.flt
  }

  asString(): string {
    this.expect(Kind.Str)
    let text = this.text
    if (text === null) {
      text = String.UTF8.decodeUnsafe(
        this.source.dataStart + <usize> this.dataStart,
        <usize> (this.dataEnd - this.dataStart),
      )
      this.text = text
    }
    return text
  }

  /** The UTF-8 bytes of a string, without converting it. */
  asStringBytes(): Uint8Array {
    this.expect(Kind.Str)
    return this.source.subarray(this.dataStart, this.dataEnd)
  }

  /** The bytes of a bin (a view into the decoded buffer). */
  asBytes(): Uint8Array {
    this.expect(Kind.Bin)
    return this.source.subarray(this.dataStart, this.dataEnd)
  }

  asArray(): Array<Value> {
    this.expect(Kind.Array)
    return this.items!
  }

  asMap(): ValueMap {
    this.expect(Kind.Map)
    return this.entries!
  }

  /** Whether this is a string equal to `text` (compares UTF-8 bytes for ASCII, no allocation). */
  isString(text: string): bool {
    if (this.kind != Kind.Str) return false
    const n = text.length
    const len = this.dataEnd - this.dataStart
    const base = this.source.dataStart + <usize> this.dataStart
    let ascii = true
    for (let i = 0; i < n; i++) {
      if (<u32> text.charCodeAt(i) >= 0x80) {
        ascii = false
        break
      }
    }
    if (!ascii) return this.asString() == text
    if (len != n) return false
    for (let i = 0; i < n; i++) {
      if (<u32> load<u8>(base + <usize> i) != <u32> text.charCodeAt(i)) return false
    }
    return true
  }

  /** A short, JSON-like rendering for logs and messages: bin shows as `<bin N>`. */
  toString(): string {
    switch (this.kind) {
      case Kind.Nil:
        return "nil"
      case Kind.Bool:
        return this.bits != 0 ? "true" : "false"
      case Kind.Int:
        return this.negative ? (<i64> this.bits).toString() : this.bits.toString()
      case Kind.Float:
        return this.flt.toString()
      case Kind.Str:
        return '"' + this.asString() + '"'
      case Kind.Bin:
        return "<bin " + (this.dataEnd - this.dataStart).toString() + ">"
      case Kind.Array: {
        const items = this.items!
        const parts = new Array<string>(items.length)
        for (let i = 0; i < items.length; i++) parts[i] = items[i].toString()
        return "[" + parts.join(", ") + "]"
      }
      default: {
        const map = this.entries!
        const parts = new Array<string>(map.size)
        for (let i = 0; i < map.size; i++) {
          const key = map.keyAt(i)
          const name = key.kind == Kind.Str ? key.asString() : key.toString()
          parts[i] = name + ": " + map.valueAt(i).toString()
        }
        return "{" + parts.join(", ") + "}"
      }
    }
  }

  /** @internal used by the decoder. */
  static make(source: Uint8Array, kind: Kind, start: i32, context: string): Value {
    const v = new Value(source)
    v.kind = kind
    v.start = start
    v.context = context
    return v
  }

  /** @internal */
  setInt(bits: u64, negative: bool): void {
    this.bits = bits
    this.negative = negative
  }

  /** @internal */
  setFloat(value: f64): void {
    this.flt = value
  }

  /** @internal */
  setData(start: i32, end: i32): void {
    this.dataStart = start
    this.dataEnd = end
  }

  /** @internal */
  setItems(items: Array<Value>): void {
    this.items = items
  }

  /** @internal */
  setEntries(entries: ValueMap): void {
    this.entries = entries
  }
}

const NIL_BYTES = new Uint8Array(1)
NIL_BYTES[0] = 0xc0

/**
 * A decoded map: keys in document order. Lookups compare string keys; `get` aborts on a missing
 * key, `opt` returns nil, and the typed getters abort with the key's name on a wrong type.
 */
@final
export class ValueMap {
  private keys: Array<Value>
  private values: Array<Value>

  constructor(
    size: i32,
    /** Prefixed to getter errors, like `Value.context`. */
    public context: string = "",
  ) {
    this.keys = new Array<Value>(size)
    this.values = new Array<Value>(size)
  }

  private fail(message: string): void {
    failIn(this.context, message)
  }

  get size(): i32 {
    return this.keys.length
  }

  keyAt(index: i32): Value {
    return this.keys[index]
  }

  valueAt(index: i32): Value {
    return this.values[index]
  }

  /** The string keys, in order (non-string keys are skipped). */
  keyNames(): Array<string> {
    const out = new Array<string>(0)
    for (let i = 0; i < this.keys.length; i++) {
      if (this.keys[i].kind == Kind.Str) out.push(this.keys[i].asString())
    }
    return out
  }

  /** @internal */
  set(index: i32, key: Value, value: Value): void {
    this.keys[index] = key
    this.values[index] = value
  }

  private indexOf(key: string): i32 {
    for (let i = 0; i < this.keys.length; i++) {
      if (this.keys[i].isString(key)) return i
    }
    return -1
  }

  has(key: string): bool {
    return this.indexOf(key) >= 0
  }

  /** The value under `key`; aborts when the key is missing. */
  get(key: string): Value {
    const i = this.indexOf(key)
    if (i < 0) this.fail('missing key "' + key + '"')
    return this.values[i]
  }

  /** The value under `key`, or nil when the key is missing. */
  opt(key: string): Value {
    const i = this.indexOf(key)
    return i < 0 ? Value.nil(this.context) : this.values[i]
  }

  private typed(key: string, kind: Kind): Value {
    const v = this.get(key)
    if (v.kind != kind) {
      this.fail('"' + key + '": expected ' + kindName(kind) + ", got " + v.kindName)
    }
    return v
  }

  getString(key: string): string {
    return this.typed(key, Kind.Str).asString()
  }

  getBytes(key: string): Uint8Array {
    return this.typed(key, Kind.Bin).asBytes()
  }

  getBool(key: string): bool {
    return this.typed(key, Kind.Bool).asBool()
  }

  getI64(key: string): i64 {
    return this.typed(key, Kind.Int).asI64()
  }

  getU64(key: string): u64 {
    return this.typed(key, Kind.Int).asU64()
  }

  getI32(key: string): i32 {
    return this.typed(key, Kind.Int).asI32()
  }

  getU32(key: string): u32 {
    return this.typed(key, Kind.Int).asU32()
  }

  getF64(key: string): f64 {
    const v = this.get(key)
    if (v.kind != Kind.Int && v.kind != Kind.Float) {
      this.fail('"' + key + '": expected a number, got ' + v.kindName)
    }
    return v.asF64()
  }

  getArray(key: string): Array<Value> {
    return this.typed(key, Kind.Array).asArray()
  }

  getMap(key: string): ValueMap {
    return this.typed(key, Kind.Map).asMap()
  }

  /** The string under `key`, or null when the key is missing or nil. */
  optString(key: string): string | null {
    const v = this.opt(key)
    return v.isNil() ? null : this.typed(key, Kind.Str).asString()
  }

  /** The bin under `key`, or null when the key is missing or nil. */
  optBytes(key: string): Uint8Array | null {
    const v = this.opt(key)
    return v.isNil() ? null : this.typed(key, Kind.Bin).asBytes()
  }

  /** The integer under `key`, or `fallback` when the key is missing or nil. */
  optI64(key: string, fallback: i64): i64 {
    const v = this.opt(key)
    return v.isNil() ? fallback : this.typed(key, Kind.Int).asI64()
  }

  /** The bool under `key`, or `fallback` when the key is missing or nil. */
  optBool(key: string, fallback: bool): bool {
    const v = this.opt(key)
    return v.isNil() ? fallback : this.typed(key, Kind.Bool).asBool()
  }

  /** The map under `key`, or null when the key is missing or nil. */
  optMap(key: string): ValueMap | null {
    const v = this.opt(key)
    return v.isNil() ? null : this.typed(key, Kind.Map).asMap()
  }

  /** The array under `key`, or null when the key is missing or nil. */
  optArray(key: string): Array<Value> | null {
    const v = this.opt(key)
    return v.isNil() ? null : this.typed(key, Kind.Array).asArray()
  }
}

// ---------------------------------------------------------------------------------------------
// Decoding

/**
 * Decodes exactly one msgpack value from `bytes`. Aborts on truncated input, trailing bytes,
 * invalid UTF-8, ext types, reserved bytes or nesting deeper than `MAX_DEPTH`.
 */
export function decode(bytes: Uint8Array): Value {
  const reader = new Reader(bytes)
  const value = reader.value(0)
  if (reader.pos != bytes.length) {
    decodeError(
      "msgpack: " + (bytes.length - reader.pos).toString() + " trailing byte(s) after the value",
    )
  }
  return value
}

/**
 * Checks that `bytes` hold exactly one well-formed msgpack value, by the same rules as `decode`,
 * without failing the call. Returns null when they do, or the reason they don't.
 */
export function msgpackProblem(bytes: Uint8Array): string | null {
  const base = bytes.dataStart
  const len = bytes.length
  // Items still to read in each open container; the bottom entry is the document itself.
  const pending = new StaticArray<i64>(MAX_DEPTH + 1)
  pending[0] = 1
  let depth = 0
  let pos = 0
  while (true) {
    while (depth >= 0 && pending[depth] == 0) depth--
    if (depth < 0) break
    pending[depth]--
    if (pos >= len) return "msgpack: truncated value at offset " + pos.toString()
    const at = pos
    const b = <u32> load<u8>(base + <usize> pos)
    pos++
    let skip: i64 = 0
    let items: i64 = -1
    let isStr = false
    if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
      // single byte
    } else if (b >= 0xa0 && b <= 0xbf) {
      skip = b & 0x1f
      isStr = true
    } else if (b >= 0x90 && b <= 0x9f) {
      items = b & 0x0f
    } else if (b >= 0x80 && b <= 0x8f) {
      items = (b & 0x0f) * 2
    } else {
      let size = 0
      switch (b) {
        case 0xcc:
        case 0xd0:
          skip = 1
          break
        case 0xcd:
        case 0xd1:
          skip = 2
          break
        case 0xca:
        case 0xce:
        case 0xd2:
          skip = 4
          break
        case 0xcb:
        case 0xcf:
        case 0xd3:
          skip = 8
          break
        case 0xc4:
        case 0xd9:
          size = 1
          break
        case 0xc5:
        case 0xda:
        case 0xdc:
        case 0xde:
          size = 2
          break
        case 0xc6:
        case 0xdb:
        case 0xdd:
        case 0xdf:
          size = 4
          break
        case 0xc1:
          return "msgpack: reserved byte 0xc1 at offset " + at.toString()
        default:
          return "msgpack: ext type (0x" + b.toString(16) + ") at offset " + at.toString() +
            " is not supported"
      }
      if (size > 0) {
        if (len - pos < size) return "msgpack: truncated length at offset " + at.toString()
        let n: i64 = 0
        for (let k = 0; k < size; k++) n = (n << 8) | <i64> load<u8>(base + <usize> (pos + k))
        pos += size
        if (b == 0xdc || b == 0xdd) items = n
        else if (b == 0xde || b == 0xdf) items = n * 2
        else {
          skip = n
          isStr = b >= 0xd9
        }
      }
    }
    if (skip > <i64> (len - pos)) return "msgpack: truncated value at offset " + at.toString()
    if (isStr && !validUtf8(base + <usize> pos, <i32> skip)) {
      return "msgpack: invalid UTF-8 in the string at offset " + at.toString()
    }
    pos += <i32> skip
    if (items >= 0) {
      if (depth >= MAX_DEPTH) return "msgpack: nesting deeper than " + MAX_DEPTH.toString()
      if (items > <i64> (len - pos)) {
        return "msgpack: truncated container at offset " + at.toString()
      }
      if (items > 0) {
        // The items of a container at level `depth` sit one level deeper.
        depth++
        pending[depth] = items
      }
    }
  }
  if (pos != len) {
    return "msgpack: " + (len - pos).toString() + " trailing byte(s) after the value"
  }
  return null
}

/** `decode`, or null when `bytes` are not exactly one well-formed value (see `msgpackProblem`). */
export function tryDecode(bytes: Uint8Array): Value | null {
  return msgpackProblem(bytes) === null ? decode(bytes) : null
}

@final
class Reader {
  pos: i32 = 0
  private base: usize
  private len: i32

  private context: string

  constructor(private src: Uint8Array) {
    this.base = src.dataStart
    this.len = src.length
    this.context = decodeContext
  }

  private need(n: i32, what: string): void {
    if (n < 0 || this.len - this.pos < n) {
      decodeError(
        "msgpack: truncated " + what + " at offset " + this.pos.toString() + " (needs " +
          n.toString() + " byte(s), " + (this.len - this.pos).toString() + " left)",
      )
    }
  }

  private u8(): u32 {
    const v = <u32> load<u8>(this.base + <usize> this.pos)
    this.pos += 1
    return v
  }

  private u16(): u32 {
    const v = <u32> bswap<u16>(load<u16>(this.base + <usize> this.pos))
    this.pos += 2
    return v
  }

  private u32(): u32 {
    const v = bswap<u32>(load<u32>(this.base + <usize> this.pos))
    this.pos += 4
    return v
  }

  private u64(): u64 {
    const v = bswap<u64>(load<u64>(this.base + <usize> this.pos))
    this.pos += 8
    return v
  }

  // Reads a length of `size` bytes (1, 2 or 4). Lengths above i32 can never fit the input.
  private length(size: i32, what: string): i32 {
    this.need(size, what + " length")
    const n: u32 = size == 1 ? this.u8() : size == 2 ? this.u16() : this.u32()
    if (n > <u32> i32.MAX_VALUE) this.need(i32.MAX_VALUE, what)
    return <i32> n
  }

  value(depth: i32): Value {
    this.need(1, "value")
    const start = this.pos
    const b = this.u8()
    if (b <= 0x7f) return this.int(start, <u64> b, false)
    if (b >= 0xe0) return this.int(start, <u64> <i64> <i8> b, true)
    if (b >= 0xa0 && b <= 0xbf) return this.str(start, <i32> (b & 0x1f))
    if (b >= 0x90 && b <= 0x9f) return this.array(start, <i32> (b & 0x0f), depth)
    if (b >= 0x80 && b <= 0x8f) return this.map(start, <i32> (b & 0x0f), depth)
    switch (b) {
      case 0xc0: {
        const v = Value.make(this.src, Kind.Nil, start, this.context)
        v.end = this.pos
        return v
      }
      case 0xc2:
      case 0xc3: {
        const v = Value.make(this.src, Kind.Bool, start, this.context)
        v.setInt(b == 0xc3 ? 1 : 0, false)
        v.end = this.pos
        return v
      }
      case 0xc4:
        return this.bin(start, this.length(1, "bin"))
      case 0xc5:
        return this.bin(start, this.length(2, "bin"))
      case 0xc6:
        return this.bin(start, this.length(4, "bin"))
      case 0xca: {
        this.need(4, "float32")
        const v = Value.make(this.src, Kind.Float, start, this.context)
        v.setFloat(<f64> reinterpret<f32>(this.u32()))
        v.end = this.pos
        return v
      }
      case 0xcb: {
        this.need(8, "float64")
        const v = Value.make(this.src, Kind.Float, start, this.context)
        v.setFloat(reinterpret<f64>(this.u64()))
        v.end = this.pos
        return v
      }
      case 0xcc:
        this.need(1, "uint8")
        return this.int(start, <u64> this.u8(), false)
      case 0xcd:
        this.need(2, "uint16")
        return this.int(start, <u64> this.u16(), false)
      case 0xce:
        this.need(4, "uint32")
        return this.int(start, <u64> this.u32(), false)
      case 0xcf:
        this.need(8, "uint64")
        return this.int(start, this.u64(), false)
      case 0xd0: {
        this.need(1, "int8")
        const v = <i64> <i8> this.u8()
        return this.int(start, <u64> v, v < 0)
      }
      case 0xd1: {
        this.need(2, "int16")
        const v = <i64> <i16> this.u16()
        return this.int(start, <u64> v, v < 0)
      }
      case 0xd2: {
        this.need(4, "int32")
        const v = <i64> <i32> this.u32()
        return this.int(start, <u64> v, v < 0)
      }
      case 0xd3: {
        this.need(8, "int64")
        const v = <i64> this.u64()
        return this.int(start, <u64> v, v < 0)
      }
      case 0xd9:
        return this.str(start, this.length(1, "str"))
      case 0xda:
        return this.str(start, this.length(2, "str"))
      case 0xdb:
        return this.str(start, this.length(4, "str"))
      case 0xdc:
        return this.array(start, this.length(2, "array"), depth)
      case 0xdd:
        return this.array(start, this.length(4, "array"), depth)
      case 0xde:
        return this.map(start, this.length(2, "map"), depth)
      case 0xdf:
        return this.map(start, this.length(4, "map"), depth)
      case 0xc1:
        decodeError("msgpack: reserved byte 0xc1 at offset " + start.toString())
        break
      default:
        // 0xc7-0xc9 and 0xd4-0xd8 are the ext family.
        decodeError(
          "msgpack: ext type (0x" + b.toString(16) + ") at offset " + start.toString() +
            " is not supported",
        )
    }
    return unreachable()
  }

  private int(start: i32, bits: u64, negative: bool): Value {
    const v = Value.make(this.src, Kind.Int, start, this.context)
    v.setInt(bits, negative)
    v.end = this.pos
    return v
  }

  private bin(start: i32, n: i32): Value {
    this.need(n, "bin")
    const v = Value.make(this.src, Kind.Bin, start, this.context)
    v.setData(this.pos, this.pos + n)
    this.pos += n
    v.end = this.pos
    return v
  }

  private str(start: i32, n: i32): Value {
    this.need(n, "str")
    if (!validUtf8(this.base + <usize> this.pos, n)) {
      decodeError("msgpack: invalid UTF-8 in the string at offset " + start.toString())
    }
    const v = Value.make(this.src, Kind.Str, start, this.context)
    v.setData(this.pos, this.pos + n)
    this.pos += n
    v.end = this.pos
    return v
  }

  private array(start: i32, n: i32, depth: i32): Value {
    if (depth >= MAX_DEPTH) decodeError("msgpack: nesting deeper than " + MAX_DEPTH.toString())
    // Every element takes at least one byte, so a count above what is left is a truncation.
    this.need(n, "array")
    const items = new Array<Value>(n)
    for (let i = 0; i < n; i++) items[i] = this.value(depth + 1)
    const v = Value.make(this.src, Kind.Array, start, this.context)
    v.setItems(items)
    v.end = this.pos
    return v
  }

  private map(start: i32, n: i32, depth: i32): Value {
    if (depth >= MAX_DEPTH) decodeError("msgpack: nesting deeper than " + MAX_DEPTH.toString())
    if (n > (this.len - this.pos) / 2) this.need(n * 2, "map")
    const entries = new ValueMap(n, this.context)
    for (let i = 0; i < n; i++) {
      const key = this.value(depth + 1)
      entries.set(i, key, this.value(depth + 1))
    }
    const v = Value.make(this.src, Kind.Map, start, this.context)
    v.setEntries(entries)
    v.end = this.pos
    return v
  }
}

/** Whether `len` bytes at `ptr` are well-formed UTF-8 (no overlongs, surrogates or > U+10FFFF). */
export function validUtf8(ptr: usize, len: i32): bool {
  let i = 0
  while (i < len) {
    // Fast path: 8 ASCII bytes at once.
    if (i + 8 <= len && (load<u64>(ptr + <usize> i) & 0x8080808080808080) == 0) {
      i += 8
      continue
    }
    const b0 = <u32> load<u8>(ptr + <usize> i)
    if (b0 < 0x80) {
      i++
      continue
    }
    let need = 0
    let min: u32 = 0
    let cp: u32 = 0
    if ((b0 & 0xe0) == 0xc0) {
      need = 1
      min = 0x80
      cp = b0 & 0x1f
    } else if ((b0 & 0xf0) == 0xe0) {
      need = 2
      min = 0x800
      cp = b0 & 0x0f
    } else if ((b0 & 0xf8) == 0xf0) {
      need = 3
      min = 0x10000
      cp = b0 & 0x07
    } else {
      return false
    }
    if (i + need >= len) return false
    for (let k = 1; k <= need; k++) {
      const b = <u32> load<u8>(ptr + <usize> (i + k))
      if ((b & 0xc0) != 0x80) return false
      cp = (cp << 6) | (b & 0x3f)
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000)) return false
    i += need + 1
  }
  return true
}

// ---------------------------------------------------------------------------------------------
// Writing

/**
 * Builds one msgpack document. Every method returns the writer, so calls chain:
 *
 * ```ts
 * const bytes = new Writer().map(2).field("title", title).field("body", body).toBytes();
 * ```
 *
 * `map(n)` / `array(n)` declare their size up front; `beginMap()` / `beginArray()` count their
 * items until `end()`. Integers use the smallest msgpack encoding, so equal values always encode
 * to equal bytes (which matters for hashes).
 */
@final
export class Writer {
  private buf: Uint8Array
  private pos: i32 = 0
  // Open containers: items still expected (-1: counted until end()), items seen, header offset,
  // and whether it is a map (whose items are keys and values).
  private remaining: StaticArray<i32> = new StaticArray<i32>(MAX_DEPTH)
  private counts: StaticArray<i32> = new StaticArray<i32>(MAX_DEPTH)
  private headers: StaticArray<i32> = new StaticArray<i32>(MAX_DEPTH)
  private maps: StaticArray<bool> = new StaticArray<bool>(MAX_DEPTH)
  private depth: i32 = 0
  private roots: i32 = 0

  constructor(capacity: i32 = 64) {
    this.buf = new Uint8Array(capacity > 8 ? capacity : 8)
  }

  /** Bytes written so far. */
  get length(): i32 {
    return this.pos
  }

  /** Complete top-level values written so far. */
  get values(): i32 {
    return this.roots
  }

  /** Forgets everything written, keeping the buffer. */
  reset(): Writer {
    this.pos = 0
    this.depth = 0
    this.roots = 0
    return this
  }

  /** A copy of the document. Aborts if a container is unfinished. */
  toBytes(): Uint8Array {
    this.checkComplete()
    return this.buf.slice(0, this.pos)
  }

  /** @internal the written bytes as (pointer, length), valid until the next write. */
  get dataStart(): usize {
    return this.buf.dataStart
  }

  /** Aborts unless every container is finished. */
  checkComplete(): void {
    if (this.depth == 0) return
    const top = this.depth - 1
    const isMap = this.maps[top]
    if (this.remaining[top] < 0) {
      panic("Writer: begin" + (isMap ? "Map" : "Array") + "() without end()")
    }
    const seen = this.counts[top]
    const declared = seen + this.remaining[top]
    if (isMap) {
      const entries = seen / 2
      panic(
        "Writer: map(" + (declared / 2).toString() + ") got " + entries.toString() +
          (entries == 1 ? " entry" : " entries") +
          (seen % 2 == 1 ? " and a key without a value" : ""),
      )
    }
    panic("Writer: array(" + declared.toString() + ") got " + seen.toString() + " item(s)")
  }

  private ensure(n: i32): usize {
    const needed = this.pos + n
    if (needed > this.buf.length) {
      let size = this.buf.length * 2
      while (size < needed) size *= 2
      const next = new Uint8Array(size)
      memory.copy(next.dataStart, this.buf.dataStart, <usize> this.pos)
      this.buf = next
    }
    return this.buf.dataStart + <usize> this.pos
  }

  // Records that one complete value was written at the current depth, closing every sized
  // container this completes.
  private done(): void {
    while (this.depth > 0) {
      const top = this.depth - 1
      this.counts[top] += 1
      const left = this.remaining[top]
      if (left > 0) {
        if (left == 1) {
          this.remaining[top] = 0
          this.depth = top
          continue
        }
        this.remaining[top] = left - 1
      }
      return
    }
    this.roots++
  }

  private push(remaining: i32, isMap: bool): void {
    if (this.depth >= MAX_DEPTH) panic("Writer: nesting deeper than " + MAX_DEPTH.toString())
    const d = this.depth
    this.remaining[d] = remaining
    this.counts[d] = 0
    this.headers[d] = this.pos
    this.maps[d] = isMap
    this.depth = d + 1
  }

  private byte(b: u32): void {
    store<u8>(this.ensure(1), <u8> b)
    this.pos += 1
  }

  private byteU8(b: u32, v: u32): void {
    const p = this.ensure(2)
    store<u8>(p, <u8> b)
    store<u8>(p, <u8> v, 1)
    this.pos += 2
  }

  private byteU16(b: u32, v: u32): void {
    const p = this.ensure(3)
    store<u8>(p, <u8> b)
    store<u16>(p, bswap<u16>(<u16> v), 1)
    this.pos += 3
  }

  private byteU32(b: u32, v: u32): void {
    const p = this.ensure(5)
    store<u8>(p, <u8> b)
    store<u32>(p, bswap<u32>(v), 1)
    this.pos += 5
  }

  private byteU64(b: u32, v: u64): void {
    const p = this.ensure(9)
    store<u8>(p, <u8> b)
    store<u64>(p, bswap<u64>(v), 1)
    this.pos += 9
  }

  nil(): Writer {
    this.byte(0xc0)
    this.done()
    return this
  }

  bool(value: bool): Writer {
    this.byte(value ? 0xc3 : 0xc2)
    this.done()
    return this
  }

  /** A signed integer, in the smallest encoding (non-negative values use the uint forms). */
  int(value: i64): Writer {
    if (value >= 0) return this.uint(<u64> value)
    if (value >= -32) this.byte(<u32> (<i32> value & 0xff))
    else if (value >= <i64> i8.MIN_VALUE) this.byteU8(0xd0, <u32> (<i32> value & 0xff))
    else if (value >= <i64> i16.MIN_VALUE) this.byteU16(0xd1, <u32> (<i32> value & 0xffff))
    else if (value >= <i64> i32.MIN_VALUE) this.byteU32(0xd2, <u32> <i32> value)
    else this.byteU64(0xd3, <u64> value)
    this.done()
    return this
  }

  /** An unsigned integer, in the smallest encoding. */
  uint(value: u64): Writer {
    if (value < 128) this.byte(<u32> value)
    else if (value <= 0xff) this.byteU8(0xcc, <u32> value)
    else if (value <= 0xffff) this.byteU16(0xcd, <u32> value)
    else if (value <= 0xffffffff) this.byteU32(0xce, <u32> value)
    else this.byteU64(0xcf, value)
    this.done()
    return this
  }

  /** A float64. */
  float(value: f64): Writer {
    this.byteU64(0xcb, reinterpret<u64>(value))
    this.done()
    return this
  }

  /** A float32. */
  float32(value: f32): Writer {
    this.byteU32(0xca, reinterpret<u32>(value))
    this.done()
    return this
  }

  private strHeader(n: i32): void {
    if (n < 32) this.byte(0xa0 | <u32> n)
    else if (n <= 0xff) this.byteU8(0xd9, <u32> n)
    else if (n <= 0xffff) this.byteU16(0xda, <u32> n)
    else this.byteU32(0xdb, <u32> n)
  }

  /** A string, as UTF-8 (a lone surrogate becomes U+FFFD). */
  str(value: string): Writer {
    const n = String.UTF8.byteLength(value)
    this.strHeader(n)
    const p = this.ensure(n)
    String.UTF8.encodeUnsafe(
      changetype<usize>(value),
      value.length,
      p,
      false,
      String.UTF8.ErrorMode.REPLACE,
    )
    this.pos += n
    this.done()
    return this
  }

  /** A string given as UTF-8 bytes (not checked). */
  strBytes(utf8: Uint8Array): Writer {
    const n = utf8.length
    this.strHeader(n)
    memory.copy(this.ensure(n), utf8.dataStart, <usize> n)
    this.pos += n
    this.done()
    return this
  }

  /** Bytes as msgpack bin. */
  bin(value: Uint8Array): Writer {
    const n = value.length
    if (n <= 0xff) this.byteU8(0xc4, <u32> n)
    else if (n <= 0xffff) this.byteU16(0xc5, <u32> n)
    else this.byteU32(0xc6, <u32> n)
    memory.copy(this.ensure(n), value.dataStart, <usize> n)
    this.pos += n
    this.done()
    return this
  }

  /** A string, or nil for null. */
  strOrNil(value: string | null): Writer {
    return value === null ? this.nil() : this.str(value)
  }

  /** Bytes as bin, or nil for null. */
  binOrNil(value: Uint8Array | null): Writer {
    return value === null ? this.nil() : this.bin(value)
  }

  /** A map of `entries` key/value pairs; write the keys and values next. */
  map(entries: i32): Writer {
    if (entries < 0) panic("Writer.map: negative size")
    if (entries < 16) this.byte(0x80 | <u32> entries)
    else if (entries <= 0xffff) this.byteU16(0xde, <u32> entries)
    else this.byteU32(0xdf, <u32> entries)
    if (entries == 0) this.done()
    else this.push(entries * 2, true)
    return this
  }

  /** An array of `items` values; write them next. */
  array(items: i32): Writer {
    if (items < 0) panic("Writer.array: negative size")
    if (items < 16) this.byte(0x90 | <u32> items)
    else if (items <= 0xffff) this.byteU16(0xdc, <u32> items)
    else this.byteU32(0xdd, <u32> items)
    if (items == 0) this.done()
    else this.push(items, false)
    return this
  }

  /** A map whose size is counted: write keys and values, then call `end()`. */
  beginMap(): Writer {
    this.push(-1, true)
    this.byte(0x80)
    return this
  }

  /** An array whose size is counted: write the items, then call `end()`. */
  beginArray(): Writer {
    this.push(-1, false)
    this.byte(0x90)
    return this
  }

  /** Closes the innermost `beginMap()` / `beginArray()`. */
  end(): Writer {
    if (this.depth == 0) panic("Writer.end: no open container")
    const top = this.depth - 1
    if (this.remaining[top] >= 0) {
      panic("Writer.end: the innermost container has a declared size; it closes by itself")
    }
    const isMap = this.maps[top]
    let n = this.counts[top]
    if (isMap) {
      if (n % 2 == 1) panic("Writer.end: a map key has no value")
      n /= 2
    }
    const header = this.headers[top]
    if (n >= 16) {
      // The header was reserved as one byte; widen it in place.
      const extra = n <= 0xffff ? 2 : 4
      this.ensure(extra)
      const base = this.buf.dataStart + <usize> header
      memory.copy(base + 1 + <usize> extra, base + 1, <usize> (this.pos - header - 1))
      this.pos += extra
      if (extra == 2) {
        store<u8>(base, isMap ? 0xde : 0xdc)
        store<u16>(base, bswap<u16>(<u16> n), 1)
      } else {
        store<u8>(base, isMap ? 0xdf : 0xdd)
        store<u32>(base, bswap<u32>(<u32> n), 1)
      }
    } else {
      store<u8>(this.buf.dataStart + <usize> header, (isMap ? 0x80 : 0x90) | <u32> n)
    }
    this.depth = top
    this.done()
    return this
  }

  /** A map entry: the key, then `value` written as by `write`. */
  field<T>(key: string, value: T): Writer {
    this.str(key)
    return this.write<T>(value)
  }

  /** A decoded value, re-encoded byte for byte. */
  value(value: Value): Writer {
    return this.raw(value.raw())
  }

  /**
   * Bytes that already hold exactly one msgpack value (not checked: use `value()` for data you
   * did not encode yourself).
   */
  raw(encoded: Uint8Array): Writer {
    const n = encoded.length
    memory.copy(this.ensure(n), encoded.dataStart, <usize> n)
    this.pos += n
    this.done()
    return this
  }

  /**
   * Writes any supported value: bool, integers, floats, string, `Uint8Array` (bin), `Value`,
   * `Writer` (its complete document), arrays of supported values, null (nil), and any class with
   * an `encode(w: Writer): void` method.
   */
  write<T>(value: T): Writer {
    if (isBoolean<T>()) {
      return this.bool(<bool> value)
    } else if (isInteger<T>()) {
      if (isSigned<T>()) return this.int(<i64> value)
      else return this.uint(<u64> value)
    } else if (isFloat<T>()) {
      if (sizeof<T>() == 4) return this.float32(<f32> value)
      else return this.float(<f64> value)
    } else if (isReference<T>()) {
      if (isNullable<T>()) {
        if (changetype<usize>(value) == 0) return this.nil()
      }
      if (isString<T>()) {
        return this.str(changetype<string>(value))
      } else if (idof<NonNullable<T>>() == idof<Uint8Array>()) {
        return this.bin(changetype<Uint8Array>(value))
      } else if (idof<NonNullable<T>>() == idof<Value>()) {
        return this.value(changetype<Value>(value))
      } else if (idof<NonNullable<T>>() == idof<Writer>()) {
        const other = changetype<Writer>(value)
        other.checkComplete()
        const n = other.length
        memory.copy(this.ensure(n), other.dataStart, <usize> n)
        this.pos += n
        for (let i = 0; i < other.values; i++) this.done()
        return this
      } else if (isArray<T>()) {
        // @ts-ignore: valueof on a generic array
        const items = changetype<Array<valueof<T>>>(value)
        this.array(items.length)
        // @ts-ignore
        for (let i = 0; i < items.length; i++) this.write<valueof<T>>(items[i])
        return this
      } else if (isDefined(value.encode)) {
        // @ts-ignore: checked by isDefined
        changetype<NonNullable<T>>(value).encode(this)
        return this
      } else {
        ERROR("Writer.write: the type has no encode(w: Writer): void method")
      }
    } else {
      ERROR("Writer.write: unsupported type")
    }
    return this
  }
}

/** Encodes one value (see `Writer.write`) to msgpack bytes. */
export function encode<T>(value: T): Uint8Array {
  return new Writer().write<T>(value).toBytes()
}
