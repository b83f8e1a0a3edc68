/**
 * Reading msgpack documents that `decode` (or `checkDocument`) has already checked: value
 * headers, skipping, string keys compared in place, and the field readers the PDK's classes
 * decode with, all without allocating anything but what they return.
 *
 * Owns the in-place reading and its error messages, which are the ones `Value` and `ValueMap`
 * have always given (the classes used to decode through them). It does not check documents
 * (msgpack.ts does) and is not part of the PDK's public API: index.ts does not export it.
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

/** Fails the call with `message`, prefixed by `context` ("input: …") when there is one. */
export function failIn(context: string, message: string): void {
  panic(context.length > 0 ? context + ": " + message : message)
}

// ---------------------------------------------------------------------------------------------
// Integers, with the messages of `Value.asI64` and friends

export function intToI64(bits: u64, negative: bool, context: string): i64 {
  if (!negative && bits > <u64> i64.MAX_VALUE) {
    failIn(context, "integer " + bits.toString() + " does not fit i64")
  }
  return <i64> bits
}

export function intToU64(bits: u64, negative: bool, context: string): u64 {
  if (negative) {
    failIn(context, "expected an unsigned integer, got " + (<i64> bits).toString())
  }
  return bits
}

export function intToI32(bits: u64, negative: bool, context: string): i32 {
  const v = intToI64(bits, negative, context)
  if (v < <i64> i32.MIN_VALUE || v > <i64> i32.MAX_VALUE) {
    failIn(context, "integer " + v.toString() + " does not fit i32")
  }
  return <i32> v
}

export function intToU32(bits: u64, negative: bool, context: string): u32 {
  const v = intToU64(bits, negative, context)
  if (v > <u64> u32.MAX_VALUE) failIn(context, "integer " + v.toString() + " does not fit u32")
  return <u32> v
}

// ---------------------------------------------------------------------------------------------
// Strings

/** Whether the `len` UTF-8 bytes at `ptr` spell `text`, without converting either. */
export function utf8Equals(ptr: usize, len: i32, text: string): bool {
  const n = text.length
  if (len < n) return false // UTF-8 never takes fewer bytes than UTF-16 code units
  const units = changetype<usize>(text)
  if (len == n) {
    // Equal lengths: a match is all ASCII (any other code unit takes more than one byte).
    for (let i = 0; i < n; i++) {
      const u = <u32> load<u16>(units + (<usize> i << 1))
      if (u >= 0x80 || u != <u32> load<u8>(ptr + <usize> i)) return false
    }
    return true
  }
  // Rare (non-ASCII text): compare by converting.
  return String.UTF8.byteLength(text) == len && String.UTF8.decodeUnsafe(ptr, <usize> len) == text
}

// Short ASCII strings repeat (type tags, entry and link type names, keys): each one decoded is
// kept in a small direct-mapped table and handed out again when the same bytes come back, so a
// repeated string costs a hash and a compare instead of an allocation. Strings are immutable,
// so sharing them is invisible to zome code; the table holds at most 64 short strings.
const INTERN_SLOTS = 64
const INTERN_MAX_BYTES = 32
const interned = new StaticArray<string | null>(INTERN_SLOTS)

/** The string spelled by the `len` well-formed UTF-8 bytes at `ptr`. */
export function stringFromUtf8(ptr: usize, len: i32): string {
  if (len == 0) return ""
  if (len > INTERN_MAX_BYTES) return convertUtf8(ptr, len)
  let h: u32 = 0x811c9dc5
  let high: u32 = 0
  for (let i = 0; i < len; i++) {
    const b = <u32> load<u8>(ptr + <usize> i)
    high |= b
    h = (h ^ b) * 0x01000193
  }
  if (high >= 0x80) return String.UTF8.decodeUnsafe(ptr, <usize> len)
  const slot = <i32> ((h ^ (h >> 16)) & (INTERN_SLOTS - 1))
  const cached = unchecked(interned[slot])
  if (cached !== null && cached.length == len) {
    const units = changetype<usize>(cached)
    let same = true
    for (let i = 0; i < len; i++) {
      if (<u32> load<u16>(units + (<usize> i << 1)) != <u32> load<u8>(ptr + <usize> i)) {
        same = false
        break
      }
    }
    if (same) return cached
  }
  const text = widenAscii(ptr, len)
  unchecked(interned[slot] = text)
  return text
}

// ASCII (the common case) is widened in one pass into a string of the exact size; anything
// else goes through the standard library.
function convertUtf8(ptr: usize, len: i32): string {
  let i = 0
  while (i + 8 <= len && (load<u64>(ptr + <usize> i) & 0x8080808080808080) == 0) i += 8
  while (i < len && load<u8>(ptr + <usize> i) < 0x80) i++
  return i < len ? String.UTF8.decodeUnsafe(ptr, <usize> len) : widenAscii(ptr, len)
}

function widenAscii(ptr: usize, len: i32): string {
  const out = __new(<usize> len << 1, idof<string>())
  for (let k = 0; k < len; k++) {
    store<u16>(out + (<usize> k << 1), <u16> load<u8>(ptr + <usize> k))
  }
  return changetype<string>(out)
}

// ---------------------------------------------------------------------------------------------
// Headers

// What `readHead` found. The results live here until the next call; nothing in between may
// read another header.
export let hKind: Kind = Kind.Nil
export let hBits: u64 = 0
export let hNegative: bool = false
export let hFloat: f64 = 0
/** Str, Bin: the payload range [hFrom, hTo). Array, Map: the first item's offset, item count. */
export let hFrom: i32 = 0
export let hTo: i32 = 0
/** Where the value ends, or -1 for arrays and maps (see `skipValue`). */
export let hEnd: i32 = 0

/** Reads the header of the value at `pos` of a checked document into the `h*` globals. */
export function readHead(base: usize, pos: i32): void {
  const at = base + <usize> pos
  const b = <u32> load<u8>(at)
  if (b <= 0x7f) return headInt(<u64> b, false, pos + 1)
  if (b >= 0xe0) return headInt(<u64> <i64> <i8> b, true, pos + 1)
  if (b >= 0xa0 && b <= 0xbf) return headData(Kind.Str, pos + 1, <i32> (b & 0x1f))
  if (b >= 0x90 && b <= 0x9f) return headItems(Kind.Array, pos + 1, <i32> (b & 0x0f))
  if (b >= 0x80 && b <= 0x8f) return headItems(Kind.Map, pos + 1, <i32> (b & 0x0f))
  switch (b) {
    case 0xc2:
    case 0xc3:
      hKind = Kind.Bool
      hBits = b == 0xc3 ? 1 : 0
      hNegative = false
      hEnd = pos + 1
      return
    case 0xc4:
      return headData(Kind.Bin, pos + 2, <i32> load<u8>(at, 1))
    case 0xc5:
      return headData(Kind.Bin, pos + 3, <i32> bswap<u16>(load<u16>(at, 1)))
    case 0xc6:
      return headData(Kind.Bin, pos + 5, <i32> bswap<u32>(load<u32>(at, 1)))
    case 0xca:
      hKind = Kind.Float
      hFloat = <f64> reinterpret<f32>(bswap<u32>(load<u32>(at, 1)))
      hEnd = pos + 5
      return
    case 0xcb:
      hKind = Kind.Float
      hFloat = reinterpret<f64>(bswap<u64>(load<u64>(at, 1)))
      hEnd = pos + 9
      return
    case 0xcc:
      return headInt(<u64> load<u8>(at, 1), false, pos + 2)
    case 0xcd:
      return headInt(<u64> bswap<u16>(load<u16>(at, 1)), false, pos + 3)
    case 0xce:
      return headInt(<u64> bswap<u32>(load<u32>(at, 1)), false, pos + 5)
    case 0xcf:
      return headInt(bswap<u64>(load<u64>(at, 1)), false, pos + 9)
    case 0xd0: {
      const v = <i64> load<i8>(at, 1)
      return headInt(<u64> v, v < 0, pos + 2)
    }
    case 0xd1: {
      const v = <i64> <i16> bswap<u16>(load<u16>(at, 1))
      return headInt(<u64> v, v < 0, pos + 3)
    }
    case 0xd2: {
      const v = <i64> <i32> bswap<u32>(load<u32>(at, 1))
      return headInt(<u64> v, v < 0, pos + 5)
    }
    case 0xd3: {
      const v = <i64> bswap<u64>(load<u64>(at, 1))
      return headInt(<u64> v, v < 0, pos + 9)
    }
    case 0xd9:
      return headData(Kind.Str, pos + 2, <i32> load<u8>(at, 1))
    case 0xda:
      return headData(Kind.Str, pos + 3, <i32> bswap<u16>(load<u16>(at, 1)))
    case 0xdb:
      return headData(Kind.Str, pos + 5, <i32> bswap<u32>(load<u32>(at, 1)))
    case 0xdc:
      return headItems(Kind.Array, pos + 3, <i32> bswap<u16>(load<u16>(at, 1)))
    case 0xdd:
      return headItems(Kind.Array, pos + 5, <i32> bswap<u32>(load<u32>(at, 1)))
    case 0xde:
      return headItems(Kind.Map, pos + 3, <i32> bswap<u16>(load<u16>(at, 1)))
    case 0xdf:
      return headItems(Kind.Map, pos + 5, <i32> bswap<u32>(load<u32>(at, 1)))
    default:
      // 0xc0: a checked document holds nothing else here.
      hKind = Kind.Nil
      hEnd = pos + 1
  }
}

function headInt(bits: u64, negative: bool, end: i32): void {
  hKind = Kind.Int
  hBits = bits
  hNegative = negative
  hEnd = end
}

function headData(kind: Kind, from: i32, n: i32): void {
  hKind = kind
  hFrom = from
  hTo = from + n
  hEnd = from + n
}

function headItems(kind: Kind, first: i32, n: i32): void {
  hKind = kind
  hFrom = first
  hTo = n
  hEnd = -1
}

/**
 * Where the value at `pos` of a checked document ends. Containers only add to the number of
 * values still to skip, so no stack is needed.
 */
export function skipValue(base: usize, pos: i32): i32 {
  let pending: i64 = 1
  while (pending > 0) {
    pending--
    const at = base + <usize> pos
    const b = <u32> load<u8>(at)
    pos++
    if (b <= 0x7f || b >= 0xe0) continue
    if (b >= 0xa0 && b <= 0xbf) {
      pos += <i32> (b & 0x1f)
      continue
    }
    if (b >= 0x90 && b <= 0x9f) {
      pending += <i64> (b & 0x0f)
      continue
    }
    if (b >= 0x80 && b <= 0x8f) {
      pending += <i64> ((b & 0x0f) << 1)
      continue
    }
    switch (b) {
      case 0xc4:
      case 0xd9:
        pos += 1 + <i32> load<u8>(at, 1)
        break
      case 0xc5:
      case 0xda:
        pos += 2 + <i32> bswap<u16>(load<u16>(at, 1))
        break
      case 0xc6:
      case 0xdb:
        pos += 4 + <i32> bswap<u32>(load<u32>(at, 1))
        break
      case 0xcc:
      case 0xd0:
        pos += 1
        break
      case 0xcd:
      case 0xd1:
        pos += 2
        break
      case 0xca:
      case 0xce:
      case 0xd2:
        pos += 4
        break
      case 0xcb:
      case 0xcf:
      case 0xd3:
        pos += 8
        break
      case 0xdc:
        pending += <i64> bswap<u16>(load<u16>(at, 1))
        pos += 2
        break
      case 0xdd:
        pending += <i64> bswap<u32>(load<u32>(at, 1))
        pos += 4
        break
      case 0xde:
        pending += <i64> bswap<u16>(load<u16>(at, 1)) << 1
        pos += 2
        break
      case 0xdf:
        pending += <i64> bswap<u32>(load<u32>(at, 1)) << 1
        pos += 4
        break
      default:
        // nil, false, true
        break
    }
  }
  return pos
}

// Where the payload of the string `keyLength` last read starts.
let keyData: usize = 0

// The UTF-8 length of the string at `at` (payload at `keyData`), or -1 for any other kind.
function keyLength(at: usize): i32 {
  const b = <u32> load<u8>(at)
  if ((b & 0xe0) == 0xa0) {
    keyData = at + 1
    return <i32> (b & 0x1f)
  }
  if (b == 0xd9) {
    keyData = at + 2
    return <i32> load<u8>(at, 1)
  }
  if (b == 0xda) {
    keyData = at + 3
    return <i32> bswap<u16>(load<u16>(at, 1))
  }
  if (b == 0xdb) {
    keyData = at + 5
    return <i32> bswap<u32>(load<u32>(at, 1))
  }
  return -1
}

/** Whether the value at `at` is a string spelling `key` (compared in place). */
export function keyEquals(at: usize, key: string): bool {
  const len = keyLength(at)
  return len >= 0 && utf8Equals(keyData, len, key)
}

// ---------------------------------------------------------------------------------------------
// Maps of known keys

/**
 * Finds `keys` in the map at `pos` of a checked document: `at[k]` becomes the offset of the
 * value under `keys[k]` (the first one, if a key repeats), or -1 when the map lacks it. Fails
 * with `context: expected map, got <kind>` when the value is not a map (as `Value.asMap`).
 *
 * Each class that decodes this way has its own `at` array and reads it before decoding anything
 * nested (which may scan with another array), so no allocation is needed.
 */
export function scanMap(
  src: Uint8Array,
  pos: i32,
  context: string,
  keys: StaticArray<string>,
  at: StaticArray<i32>,
): void {
  const base = src.dataStart
  readHead(base, pos)
  if (hKind != Kind.Map) failIn(context, "expected map, got " + kindName(hKind))
  const count = hTo
  const nkeys = keys.length
  for (let k = 0; k < nkeys; k++) unchecked(at[k] = -1)
  let p = hFrom
  // Writers usually send keys in the order listed, so the next listed key is tried first.
  let hint = 0
  for (let i = 0; i < count; i++) {
    const keyAt = base + <usize> p
    const len = keyLength(keyAt)
    p = len >= 0 ? <i32> (keyData - base) + len : skipValue(base, p)
    if (len >= 0) {
      let found = -1
      if (hint < nkeys && utf8Equals(keyData, len, unchecked(keys[hint]))) {
        found = hint
      } else {
        for (let k = 0; k < nkeys; k++) {
          if (k != hint && utf8Equals(keyData, len, unchecked(keys[k]))) {
            found = k
            break
          }
        }
      }
      if (found >= 0) {
        if (unchecked(at[found]) < 0) unchecked(at[found] = p)
        hint = found + 1
      }
    }
    p = valueEnd(base, p)
  }
}

// `skipValue` with the common cases (single-byte values, fixstr, bin8, str8) inline.
// @ts-ignore: decorator
@inline
function valueEnd(base: usize, pos: i32): i32 {
  const at = base + <usize> pos
  const b = <u32> load<u8>(at)
  if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) return pos + 1
  if ((b & 0xe0) == 0xa0) return pos + 1 + <i32> (b & 0x1f)
  if (b == 0xc4 || b == 0xd9) return pos + 2 + <i32> load<u8>(at, 1)
  return skipValue(base, pos)
}

// The field readers below take the offset `scanMap` found (-1: missing) and fail exactly as the
// `ValueMap` getter named in each comment.

function missing(context: string, key: string): void {
  failIn(context, 'missing key "' + key + '"')
}

function wrongKind(context: string, key: string, expected: Kind): void {
  failIn(context, '"' + key + '": expected ' + kindName(expected) + ", got " + kindName(hKind))
}

/** `getString(key)` */
export function fieldString(src: Uint8Array, pos: i32, key: string, context: string): string {
  if (pos < 0) missing(context, key)
  readHead(src.dataStart, pos)
  if (hKind != Kind.Str) wrongKind(context, key, Kind.Str)
  return stringFromUtf8(src.dataStart + <usize> hFrom, hTo - hFrom)
}

/** `optString(key)` */
export function fieldStringOpt(
  src: Uint8Array,
  pos: i32,
  key: string,
  context: string,
): string | null {
  if (pos < 0) return null
  readHead(src.dataStart, pos)
  if (hKind == Kind.Nil) return null
  if (hKind != Kind.Str) wrongKind(context, key, Kind.Str)
  return stringFromUtf8(src.dataStart + <usize> hFrom, hTo - hFrom)
}

/** `getBytes(key)` */
export function fieldBytes(src: Uint8Array, pos: i32, key: string, context: string): Uint8Array {
  if (pos < 0) missing(context, key)
  readHead(src.dataStart, pos)
  if (hKind != Kind.Bin) wrongKind(context, key, Kind.Bin)
  return src.subarray(hFrom, hTo)
}

/** `getBytes(key)`, checked now and read later: the offset of the bin. */
export function binAt(src: Uint8Array, pos: i32, key: string, context: string): i32 {
  if (pos < 0) missing(context, key)
  readHead(src.dataStart, pos)
  if (hKind != Kind.Bin) wrongKind(context, key, Kind.Bin)
  return pos
}

/** `optBytes(key)`, checked now and read later: the offset of the bin, or -1 for null. */
export function binOrNilAt(src: Uint8Array, pos: i32, key: string, context: string): i32 {
  if (pos < 0) return -1
  readHead(src.dataStart, pos)
  if (hKind == Kind.Nil) return -1
  if (hKind != Kind.Bin) wrongKind(context, key, Kind.Bin)
  return pos
}

/** `getI64(key)` */
export function fieldI64(src: Uint8Array, pos: i32, key: string, context: string): i64 {
  if (pos < 0) missing(context, key)
  readHead(src.dataStart, pos)
  if (hKind != Kind.Int) wrongKind(context, key, Kind.Int)
  return intToI64(hBits, hNegative, context)
}

/** `getU32(key)` */
export function fieldU32(src: Uint8Array, pos: i32, key: string, context: string): u32 {
  if (pos < 0) missing(context, key)
  readHead(src.dataStart, pos)
  if (hKind != Kind.Int) wrongKind(context, key, Kind.Int)
  return intToU32(hBits, hNegative, context)
}

/**
 * `get(key)` of a value that is then decoded as a map (`X.fromValue(m.get(key))`): fails on a
 * missing key; the kind is checked by the map's own `scanMap`.
 */
export function fieldPresent(pos: i32, key: string, context: string): i32 {
  if (pos < 0) missing(context, key)
  return pos
}

/**
 * `X.fromValue(m.get(key))` for an X decoded later, on first use: fails now on a missing key or
 * a value that is not a map, as that would, and returns the map's offset.
 */
export function fieldLaterMap(src: Uint8Array, pos: i32, key: string, context: string): i32 {
  if (pos < 0) missing(context, key)
  readHead(src.dataStart, pos)
  if (hKind != Kind.Map) failIn(context, "expected map, got " + kindName(hKind))
  return pos
}

/** `opt(key)` then a nil check: -1 when the key is missing or nil, else the offset. */
export function fieldNonNil(src: Uint8Array, pos: i32): i32 {
  if (pos < 0) return -1
  return load<u8>(src.dataStart + <usize> pos) == 0xc0 ? -1 : pos
}

/** `getMap(key)`: the offset of a map, failing with the key's name for any other kind. */
export function fieldMap(src: Uint8Array, pos: i32, key: string, context: string): i32 {
  if (pos < 0) missing(context, key)
  readHead(src.dataStart, pos)
  if (hKind != Kind.Map) wrongKind(context, key, Kind.Map)
  return pos
}

/** `asArray()` of the value at `pos`: its item count (first item in `hFrom`). */
export function arrayAt(src: Uint8Array, pos: i32, context: string): i32 {
  readHead(src.dataStart, pos)
  if (hKind != Kind.Array) failIn(context, "expected array, got " + kindName(hKind))
  return hTo
}
