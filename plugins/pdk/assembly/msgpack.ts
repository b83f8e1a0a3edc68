/**
 * MessagePack for zomes: `Writer` builds documents, `decode` reads one into a dynamic `Value`.
 *
 * Owns the byte format. Decoding is strict (well-formed UTF-8, no trailing bytes, no ext types,
 * bounded nesting) and aborts with a message naming what is wrong; getters abort with the key and
 * the expected type. `decode` checks the whole document in one pass that allocates nothing, then
 * reads on demand (scan.ts): values, maps and strings are made only when zome code asks for them. The writer keeps count of every container and refuses to hand out a document
 * whose maps or arrays are incomplete, so a zome cannot emit malformed msgpack by miscounting.
 */
import { panic } from "./abort"
import {
  failIn,
  hBits,
  hEnd,
  hFloat,
  hFrom,
  hKind,
  hNegative,
  hTo,
  intToI32,
  intToI64,
  intToU32,
  intToU64,
  keyEquals,
  Kind,
  kindName,
  readHead,
  skipValue,
  stringFromUtf8,
  utf8Equals,
} from "./scan"

export { Kind, kindName }

/** The deepest nesting of arrays and maps that `decode` and `Writer` accept. */
export const MAX_DEPTH: i32 = 64

// i32s per open container in a Writer's stack (see `Writer`).
const STACK_WORDS = 4

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

// ---------------------------------------------------------------------------------------------
// Value

// A shared empty buffer: the source of values that were never encoded.
const EMPTY = new Uint8Array(0)

/**
 * One decoded msgpack value. Strings and bin are views into the decoded bytes: `asString()`
 * converts (and caches) on first use, `asBytes()` returns a view that shares the input buffer.
 * Arrays and maps decode their items on first use (`asArray()`, `asMap()`): `decode` has already
 * checked the whole document, so what a zome never reads costs nothing.
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
  // Str and Bin: the payload range in `source`. Array and Map: the offset of the first item and
  // the number of items (entries for a map), read on first use.
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
    const v = new Value(EMPTY)
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
    return intToI64(this.bits, this.negative, this.context)
  }

  /** The integer as u64; aborts for a negative integer. */
  asU64(): u64 {
    this.expect(Kind.Int)
    return intToU64(this.bits, this.negative, this.context)
  }

  /** The integer as i32; aborts when it is out of range. */
  asI32(): i32 {
    this.expect(Kind.Int)
    return intToI32(this.bits, this.negative, this.context)
  }

  /** The integer as u32; aborts when it is out of range. */
  asU32(): u32 {
    this.expect(Kind.Int)
    return intToU32(this.bits, this.negative, this.context)
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
      text = stringFromUtf8(
        this.source.dataStart + <usize> this.dataStart,
        this.dataEnd - this.dataStart,
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
    let items = this.items
    if (items === null) {
      const n = this.dataEnd
      items = new Array<Value>(n)
      const source = this.source
      let pos = this.dataStart
      for (let i = 0; i < n; i++) {
        const item = Value.at(source, pos, -1, this.context)
        unchecked(items[i] = item)
        pos = item.end
      }
      this.items = items
    }
    return items
  }

  asMap(): ValueMap {
    this.expect(Kind.Map)
    let entries = this.entries
    if (entries === null) {
      entries = ValueMap.decoded(this.source, this.dataStart, this.dataEnd, this.context)
      this.entries = entries
    }
    return entries
  }

  /** Whether this is a string equal to `text` (compares the UTF-8 bytes in place). */
  isString(text: string): bool {
    if (this.kind != Kind.Str) return false
    return utf8Equals(
      this.source.dataStart + <usize> this.dataStart,
      this.dataEnd - this.dataStart,
      text,
    )
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
        const items = this.asArray()
        const parts = new Array<string>(items.length)
        for (let i = 0; i < items.length; i++) parts[i] = items[i].toString()
        return "[" + parts.join(", ") + "]"
      }
      default: {
        const map = this.asMap()
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

  /**
   * @internal the value encoded at `pos` of a checked document; `end` is where it ends, or -1 to
   * find out.
   */
  static at(source: Uint8Array, pos: i32, end: i32, context: string): Value {
    const base = source.dataStart
    readHead(base, pos)
    const v = new Value(source)
    const kind = hKind
    v.kind = kind
    v.start = pos
    v.context = context
    if (kind == Kind.Int || kind == Kind.Bool) {
      v.bits = hBits
      v.negative = hNegative
    } else if (kind == Kind.Float) {
      v.flt = hFloat
    } else {
      v.dataStart = hFrom
      v.dataEnd = hTo
    }
    v.end = end >= 0 ? end : hEnd >= 0 ? hEnd : skipValue(base, pos)
    return v
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
  // A map built with the constructor and `set` holds its keys and values here.
  private keys: Array<Value> | null = null
  private values: Array<Value> | null = null
  // A decoded map holds the offsets of its keys and values in `src` (key i at 2i, its value at
  // 2i + 1, and the map's end last), and makes a `Value` only for what is asked.
  private src: Uint8Array = EMPTY
  private offsets: StaticArray<i32> | null = null
  private cache: StaticArray<Value | null> | null = null
  private count: i32 = 0

  constructor(
    size: i32,
    /** Prefixed to getter errors, like `Value.context`. */
    public context: string = "",
  ) {
    if (size >= 0) {
      this.keys = new Array<Value>(size)
      this.values = new Array<Value>(size)
      this.count = size
    }
  }

  /** @internal the map of `count` entries starting at `first` in a checked document. */
  static decoded(src: Uint8Array, first: i32, count: i32, context: string): ValueMap {
    const m = new ValueMap(-1, context)
    const base = src.dataStart
    const offsets = new StaticArray<i32>((count << 1) + 1)
    let pos = first
    for (let i = 0, n = count << 1; i < n; i++) {
      unchecked(offsets[i] = pos)
      pos = skipValue(base, pos)
    }
    unchecked(offsets[count << 1] = pos)
    m.src = src
    m.offsets = offsets
    m.count = count
    return m
  }

  private fail(message: string): void {
    failIn(this.context, message)
  }

  get size(): i32 {
    return this.count
  }

  // The `Value` of the item at `slot` (2i: key i, 2i + 1: its value) of a decoded map.
  private item(slot: i32): Value {
    let cache = this.cache
    if (cache === null) {
      cache = new StaticArray<Value | null>(this.count << 1)
      this.cache = cache
    }
    let v = unchecked(cache[slot])
    if (v === null) {
      const offsets = this.offsets!
      v = Value.at(this.src, unchecked(offsets[slot]), unchecked(offsets[slot + 1]), this.context)
      unchecked(cache[slot] = v)
    }
    return v
  }

  private checkIndex(index: i32): void {
    if (<u32> index >= <u32> this.count) throw new RangeError("Index out of range")
  }

  keyAt(index: i32): Value {
    const keys = this.keys
    if (keys !== null) return keys[index]
    this.checkIndex(index)
    return this.item(index << 1)
  }

  valueAt(index: i32): Value {
    const values = this.values
    if (values !== null) return values[index]
    this.checkIndex(index)
    return this.item((index << 1) + 1)
  }

  /** The string keys, in order (non-string keys are skipped). */
  keyNames(): Array<string> {
    const out = new Array<string>(0)
    const keys = this.keys
    if (keys !== null) {
      for (let i = 0; i < keys.length; i++) {
        if (keys[i].kind == Kind.Str) out.push(keys[i].asString())
      }
      return out
    }
    const offsets = this.offsets!
    const base = this.src.dataStart
    for (let i = 0; i < this.count; i++) {
      readHead(base, unchecked(offsets[i << 1]))
      if (hKind == Kind.Str) out.push(stringFromUtf8(base + <usize> hFrom, hTo - hFrom))
    }
    return out
  }

  /** @internal */
  set(index: i32, key: Value, value: Value): void {
    this.keys![index] = key
    this.values![index] = value
  }

  private indexOf(key: string): i32 {
    const keys = this.keys
    if (keys !== null) {
      for (let i = 0; i < keys.length; i++) {
        if (keys[i].isString(key)) return i
      }
      return -1
    }
    const offsets = this.offsets!
    const base = this.src.dataStart
    for (let i = 0, n = this.count; i < n; i++) {
      if (keyEquals(base + <usize> unchecked(offsets[i << 1]), key)) return i
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
    return this.valueAt(i)
  }

  /** The value under `key`, or nil when the key is missing. */
  opt(key: string): Value {
    const i = this.indexOf(key)
    return i < 0 ? Value.nil(this.context) : this.valueAt(i)
  }

  private typed(key: string, kind: Kind): Value {
    const v = this.get(key)
    if (v.kind != kind) {
      this.fail('"' + key + '": expected ' + kindName(kind) + ", got " + v.kindName)
    }
    return v
  }

  // For a decoded map: reads the header of the value under `key` into the `h*` globals, or
  // aborts when the key is missing (or, unless `nilOk`, has another kind than `kind`). Returns
  // false for a missing key or a nil value when `nilOk`.
  private head(key: string, kind: Kind, nilOk: bool): bool {
    const i = this.indexOf(key)
    if (i < 0) {
      if (nilOk) return false
      this.fail('missing key "' + key + '"')
    }
    readHead(this.src.dataStart, unchecked(this.offsets![(i << 1) + 1]))
    if (hKind != kind) {
      if (nilOk && hKind == Kind.Nil) return false
      this.fail('"' + key + '": expected ' + kindName(kind) + ", got " + kindName(hKind))
    }
    return true
  }

  getString(key: string): string {
    if (this.keys !== null) return this.typed(key, Kind.Str).asString()
    this.head(key, Kind.Str, false)
    return stringFromUtf8(this.src.dataStart + <usize> hFrom, hTo - hFrom)
  }

  getBytes(key: string): Uint8Array {
    if (this.keys !== null) return this.typed(key, Kind.Bin).asBytes()
    this.head(key, Kind.Bin, false)
    return this.src.subarray(hFrom, hTo)
  }

  getBool(key: string): bool {
    if (this.keys !== null) return this.typed(key, Kind.Bool).asBool()
    this.head(key, Kind.Bool, false)
    return hBits != 0
  }

  getI64(key: string): i64 {
    if (this.keys !== null) return this.typed(key, Kind.Int).asI64()
    this.head(key, Kind.Int, false)
    return intToI64(hBits, hNegative, this.context)
  }

  getU64(key: string): u64 {
    if (this.keys !== null) return this.typed(key, Kind.Int).asU64()
    this.head(key, Kind.Int, false)
    return intToU64(hBits, hNegative, this.context)
  }

  getI32(key: string): i32 {
    if (this.keys !== null) return this.typed(key, Kind.Int).asI32()
    this.head(key, Kind.Int, false)
    return intToI32(hBits, hNegative, this.context)
  }

  getU32(key: string): u32 {
    if (this.keys !== null) return this.typed(key, Kind.Int).asU32()
    this.head(key, Kind.Int, false)
    return intToU32(hBits, hNegative, this.context)
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
    if (this.keys !== null) {
      const v = this.opt(key)
      return v.isNil() ? null : this.typed(key, Kind.Str).asString()
    }
    if (!this.head(key, Kind.Str, true)) return null
    return stringFromUtf8(this.src.dataStart + <usize> hFrom, hTo - hFrom)
  }

  /** The bin under `key`, or null when the key is missing or nil. */
  optBytes(key: string): Uint8Array | null {
    if (this.keys !== null) {
      const v = this.opt(key)
      return v.isNil() ? null : this.typed(key, Kind.Bin).asBytes()
    }
    if (!this.head(key, Kind.Bin, true)) return null
    return this.src.subarray(hFrom, hTo)
  }

  /** The integer under `key`, or `fallback` when the key is missing or nil. */
  optI64(key: string, fallback: i64): i64 {
    if (this.keys !== null) {
      const v = this.opt(key)
      return v.isNil() ? fallback : this.typed(key, Kind.Int).asI64()
    }
    if (!this.head(key, Kind.Int, true)) return fallback
    return intToI64(hBits, hNegative, this.context)
  }

  /** The bool under `key`, or `fallback` when the key is missing or nil. */
  optBool(key: string, fallback: bool): bool {
    if (this.keys !== null) {
      const v = this.opt(key)
      return v.isNil() ? fallback : this.typed(key, Kind.Bool).asBool()
    }
    if (!this.head(key, Kind.Bool, true)) return fallback
    return hBits != 0
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
 * invalid UTF-8, ext types, reserved bytes or nesting deeper than `MAX_DEPTH`. The whole
 * document is checked here; arrays and maps then decode their items on first use.
 */
export function decode(bytes: Uint8Array): Value {
  const end = checkDocument(bytes)
  return Value.at(bytes, 0, end, decodeContext)
}

/**
 * @internal Checks that `bytes` hold exactly one well-formed value, failing the call with the
 * message `decode` gives (prefixed by the decode context) when they don't. Returns its length.
 */
export function checkDocument(bytes: Uint8Array): i32 {
  const len = bytes.length
  const end = checkValues(bytes.dataStart, len)
  if (end != len) {
    decodeError("msgpack: " + (len - end).toString() + " trailing byte(s) after the value")
  }
  return end
}

// Items still to read in each open container of `checkValues`; the bottom entry is the document
// itself. Shared: the check never calls out of this module.
const checkPending = new StaticArray<i32>(MAX_DEPTH + 1)

// The messages of the (formerly recursive) decoder: "msgpack: truncated <what> at offset <pos>
// (needs <n> byte(s), <left> left)", where pos is the offset of what is missing.
function truncated(pos: i32, n: i32, what: string, len: i32): void {
  decodeError(
    "msgpack: truncated " + what + " at offset " + pos.toString() + " (needs " + n.toString() +
      " byte(s), " + (len - pos).toString() + " left)",
  )
}

// @ts-ignore: decorator
@inline
function need(pos: i32, n: i32, what: string, len: i32): void {
  if (n < 0 || len - pos < n) truncated(pos, n, what, len)
}

// Reads a length of `size` bytes (1, 2 or 4) at `pos`. Lengths above i32 can never fit the input.
function lengthAt(base: usize, pos: i32, size: i32, what: string, len: i32): i32 {
  if (len - pos < size) truncated(pos, size, what + " length", len)
  const at = base + <usize> pos
  const n: u32 = size == 1
    ? <u32> load<u8>(at)
    : size == 2
    ? <u32> bswap<u16>(load<u16>(at))
    : bswap<u32>(load<u32>(at))
  if (n > <u32> i32.MAX_VALUE) truncated(pos + size, i32.MAX_VALUE, what, len)
  return <i32> n
}

// Checks the value at offset 0 and returns where it ends, failing the call on anything malformed
// with the first problem in document order.
function checkValues(base: usize, len: i32): i32 {
  const pending = checkPending
  unchecked(pending[0] = 1)
  let depth = 0 // of the value being read: the number of containers it is in
  let pos = 0
  while (true) {
    while (unchecked(pending[depth]) == 0) {
      if (depth == 0) return pos
      depth--
    }
    unchecked(pending[depth] = unchecked(pending[depth]) - 1)
    need(pos, 1, "value", len)
    const start = pos
    const b = <u32> load<u8>(base + <usize> pos)
    pos++
    if (b <= 0x7f || b >= 0xe0) continue
    let items: i32
    let isMap = false
    if (b >= 0xa0 && b <= 0xbf) {
      pos = checkStr(base, start, pos, <i32> (b & 0x1f), len)
      continue
    } else if (b >= 0x90 && b <= 0x9f) {
      items = <i32> (b & 0x0f)
    } else if (b >= 0x80 && b <= 0x8f) {
      items = <i32> (b & 0x0f)
      isMap = true
    } else {
      switch (b) {
        case 0xc0:
        case 0xc2:
        case 0xc3:
          continue
        case 0xc4: {
          const n = lengthAt(base, pos, 1, "bin", len)
          need(pos + 1, n, "bin", len)
          pos += 1 + n
          continue
        }
        case 0xc5: {
          const n = lengthAt(base, pos, 2, "bin", len)
          need(pos + 2, n, "bin", len)
          pos += 2 + n
          continue
        }
        case 0xc6: {
          const n = lengthAt(base, pos, 4, "bin", len)
          need(pos + 4, n, "bin", len)
          pos += 4 + n
          continue
        }
        case 0xca:
          need(pos, 4, "float32", len)
          pos += 4
          continue
        case 0xcb:
          need(pos, 8, "float64", len)
          pos += 8
          continue
        case 0xcc:
          need(pos, 1, "uint8", len)
          pos += 1
          continue
        case 0xcd:
          need(pos, 2, "uint16", len)
          pos += 2
          continue
        case 0xce:
          need(pos, 4, "uint32", len)
          pos += 4
          continue
        case 0xcf:
          need(pos, 8, "uint64", len)
          pos += 8
          continue
        case 0xd0:
          need(pos, 1, "int8", len)
          pos += 1
          continue
        case 0xd1:
          need(pos, 2, "int16", len)
          pos += 2
          continue
        case 0xd2:
          need(pos, 4, "int32", len)
          pos += 4
          continue
        case 0xd3:
          need(pos, 8, "int64", len)
          pos += 8
          continue
        case 0xd9: {
          const n = lengthAt(base, pos, 1, "str", len)
          pos = checkStr(base, start, pos + 1, n, len)
          continue
        }
        case 0xda: {
          const n = lengthAt(base, pos, 2, "str", len)
          pos = checkStr(base, start, pos + 2, n, len)
          continue
        }
        case 0xdb: {
          const n = lengthAt(base, pos, 4, "str", len)
          pos = checkStr(base, start, pos + 4, n, len)
          continue
        }
        case 0xdc:
          items = lengthAt(base, pos, 2, "array", len)
          pos += 2
          break
        case 0xdd:
          items = lengthAt(base, pos, 4, "array", len)
          pos += 4
          break
        case 0xde:
          items = lengthAt(base, pos, 2, "map", len)
          pos += 2
          isMap = true
          break
        case 0xdf:
          items = lengthAt(base, pos, 4, "map", len)
          pos += 4
          isMap = true
          break
        case 0xc1:
          decodeError("msgpack: reserved byte 0xc1 at offset " + start.toString())
          return unreachable()
        default:
          // 0xc7-0xc9 and 0xd4-0xd8 are the ext family.
          decodeError(
            "msgpack: ext type (0x" + b.toString(16) + ") at offset " + start.toString() +
              " is not supported",
          )
          return unreachable()
      }
    }
    if (depth >= MAX_DEPTH) decodeError("msgpack: nesting deeper than " + MAX_DEPTH.toString())
    // Every item takes at least one byte, so a count above what is left is a truncation.
    if (isMap) {
      if (items > (len - pos) / 2) need(pos, items * 2, "map", len)
      items <<= 1
    } else {
      need(pos, items, "array", len)
    }
    if (items > 0) {
      depth++
      unchecked(pending[depth] = items)
    }
  }
  return unreachable()
}

function checkStr(base: usize, start: i32, pos: i32, n: i32, len: i32): i32 {
  need(pos, n, "str", len)
  // Most strings (keys, tags) are short ASCII: check those here, the rest in `validUtf8`.
  const ptr = base + <usize> pos
  let i = 0
  while (i < n && load<u8>(ptr + <usize> i) < 0x80) i++
  if (i < n && !validUtf8(ptr + <usize> i, n - i)) {
    decodeError("msgpack: invalid UTF-8 in the string at offset " + start.toString())
  }
  return pos + n
}

// Items still to read in each open container for `msgpackProblem`; the bottom entry is the
// document itself. Shared: the check never calls out.
const pending = new StaticArray<i64>(MAX_DEPTH + 1)

/**
 * Checks that `bytes` hold exactly one well-formed msgpack value, by the same rules as `decode`,
 * without failing the call. Returns null when they do, or the reason they don't.
 */
export function msgpackProblem(bytes: Uint8Array): string | null {
  const base = bytes.dataStart
  const len = bytes.length
  unchecked(pending[0] = 1)
  let depth = 0
  let pos = 0
  while (true) {
    while (depth >= 0 && unchecked(pending[depth]) == 0) depth--
    if (depth < 0) break
    unchecked(pending[depth] = unchecked(pending[depth]) - 1)
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
        unchecked(pending[depth] = items)
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
  private buf: ArrayBuffer
  private pos: i32 = 0
  // Open containers, STACK_WORDS i32s each: items still expected (-1: counted until end()),
  // items seen, header offset, and 1 for a map (whose items are keys and values). Grows on
  // demand up to MAX_DEPTH levels.
  private stack: StaticArray<i32> = new StaticArray<i32>(STACK_WORDS * 4)
  private depth: i32 = 0
  private roots: i32 = 0

  constructor(capacity: i32 = 64) {
    this.buf = new ArrayBuffer(capacity > 8 ? capacity : 8)
  }

  /** Bytes written so far. */
  get length(): i32 {
    return this.pos
  }

  /** @internal the size of the buffer. */
  get capacity(): i32 {
    return this.buf.byteLength
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
    const out = new Uint8Array(this.pos)
    memory.copy(out.dataStart, changetype<usize>(this.buf), <usize> this.pos)
    return out
  }

  /** @internal the written bytes as (pointer, length), valid until the next write. */
  get dataStart(): usize {
    return changetype<usize>(this.buf)
  }

  /** Aborts unless every container is finished. */
  checkComplete(): void {
    if (this.depth == 0) return
    const top = (this.depth - 1) * STACK_WORDS
    const stack = this.stack
    const isMap = stack[top + 3] != 0
    const remaining = stack[top]
    if (remaining < 0) {
      panic("Writer: begin" + (isMap ? "Map" : "Array") + "() without end()")
    }
    const seen = stack[top + 1]
    const declared = seen + remaining
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
    const capacity = this.buf.byteLength
    if (needed > capacity) {
      let size = capacity * 2
      while (size < needed) size *= 2
      const next = new ArrayBuffer(size)
      memory.copy(changetype<usize>(next), changetype<usize>(this.buf), <usize> this.pos)
      this.buf = next
    }
    return changetype<usize>(this.buf) + <usize> this.pos
  }

  // Records that one complete value was written at the current depth, closing every sized
  // container this completes.
  private done(): void {
    const stack = this.stack
    while (this.depth > 0) {
      const top = (this.depth - 1) * STACK_WORDS
      unchecked(stack[top + 1] += 1)
      const left = unchecked(stack[top])
      if (left > 0) {
        if (left == 1) {
          unchecked(stack[top] = 0)
          this.depth--
          continue
        }
        unchecked(stack[top] = left - 1)
      }
      return
    }
    this.roots++
  }

  private push(remaining: i32, isMap: bool): void {
    const d = this.depth
    if (d >= MAX_DEPTH) panic("Writer: nesting deeper than " + MAX_DEPTH.toString())
    let stack = this.stack
    const top = d * STACK_WORDS
    if (top + STACK_WORDS > stack.length) {
      const next = new StaticArray<i32>(stack.length * 2)
      memory.copy(changetype<usize>(next), changetype<usize>(stack), <usize> stack.length << 2)
      this.stack = stack = next
    }
    unchecked(stack[top] = remaining)
    unchecked(stack[top + 1] = 0)
    unchecked(stack[top + 2] = this.pos)
    unchecked(stack[top + 3] = isMap ? 1 : 0)
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
    const units = value.length
    const src = changetype<usize>(value)
    if (units < 32) {
      // Short ASCII (keys, tags, names): a fixstr header and one byte per code unit.
      const p = this.ensure(units + 1)
      let i = 0
      while (i < units) {
        const u = <u32> load<u16>(src + (<usize> i << 1))
        if (u >= 0x80) break
        store<u8>(p + 1 + <usize> i, <u8> u)
        i++
      }
      if (i == units) {
        store<u8>(p, <u8> (0xa0 | <u32> units))
        this.pos += units + 1
        this.done()
        return this
      }
    }
    const n = String.UTF8.byteLength(value)
    this.strHeader(n)
    const p = this.ensure(n)
    String.UTF8.encodeUnsafe(src, units, p, false, String.UTF8.ErrorMode.REPLACE)
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

  /**
   * @internal `value` encoded as by `write`, wrapped in a bin: how an app entry, a signal or a
   * call payload travels inside a host-function input. Same bytes as `bin(encode(value))`,
   * without the intermediate writer and copy.
   */
  binOf<T>(value: T): Writer {
    // Reserve the largest bin header, write the value after it, then move it behind the
    // smallest header that fits. A counted frame keeps the value's items out of the enclosing
    // container, which gets exactly one item (the bin), as with bin(encode(value)).
    const header = this.pos
    this.ensure(5)
    this.pos += 5
    const depth = this.depth
    this.push(-1, false)
    this.write<T>(value)
    // An `encode` that left a container open fails as `encode(value)` would have.
    if (this.depth != depth + 1) this.checkComplete()
    this.depth = depth
    const n = this.pos - header - 5
    const size = n <= 0xff ? 2 : n <= 0xffff ? 3 : 5
    const at = changetype<usize>(this.buf) + <usize> header
    if (size < 5) memory.copy(at + <usize> size, at + 5, <usize> n)
    this.pos -= 5 - size
    if (size == 2) {
      store<u8>(at, 0xc4)
      store<u8>(at, <u8> n, 1)
    } else if (size == 3) {
      store<u8>(at, 0xc5)
      store<u16>(at, bswap<u16>(<u16> n), 1)
    } else {
      store<u8>(at, 0xc6)
      store<u32>(at, bswap<u32>(<u32> n), 1)
    }
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
    const top = (this.depth - 1) * STACK_WORDS
    const stack = this.stack
    if (stack[top] >= 0) {
      panic("Writer.end: the innermost container has a declared size; it closes by itself")
    }
    const isMap = stack[top + 3] != 0
    let n = stack[top + 1]
    if (isMap) {
      if (n % 2 == 1) panic("Writer.end: a map key has no value")
      n /= 2
    }
    const header = stack[top + 2]
    if (n >= 16) {
      // The header was reserved as one byte; widen it in place.
      const extra = n <= 0xffff ? 2 : 4
      this.ensure(extra)
      const base = changetype<usize>(this.buf) + <usize> header
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
      store<u8>(changetype<usize>(this.buf) + <usize> header, (isMap ? 0x80 : 0x90) | <u32> n)
    }
    this.depth--
    this.done()
    return this
  }

  /** A map entry: the key, then `value` written as by `write`. */
  field<T>(key: string, value: T): Writer {
    this.str(key)
    return this.write<T>(value)
  }

  /** @internal `len` bytes at `ptr` that already hold exactly one msgpack value. */
  rawMemory(ptr: usize, len: i32): Writer {
    memory.copy(this.ensure(len), ptr, <usize> len)
    this.pos += len
    this.done()
    return this
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
