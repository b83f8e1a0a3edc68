/**
 * An order-preserving MessagePack value model for bundles. `@msgpack/msgpack` decodes maps into
 * JS objects (integer-like keys get reordered) and floats into plain numbers (`1.0` becomes `1`),
 * which would change DNA properties and therefore DNA hashes. This module reads and writes
 * MessagePack as a tree (`MsgValue`) that keeps map order, non-string keys and the int/float
 * distinction, and writes integers, strings, bins, arrays and maps in their smallest form (the
 * same bytes rmp-serde produces). It is defensive against hostile input: bounded depth, lengths
 * checked against the bytes that remain, no ext types, strict UTF-8, no trailing bytes.
 *
 * It owns the wire form only; what the values mean (manifests, properties) is decided elsewhere.
 * The throwing functions here throw `RangeError` and are wrapped once by their callers.
 *
 * @module
 */

/** One MessagePack value; maps keep their entry order and may have any key type. */
export type MsgValue =
  | { readonly type: "nil" }
  | { readonly type: "bool"; readonly value: boolean }
  | { readonly type: "int"; readonly value: bigint }
  | { readonly type: "float"; readonly value: number }
  | { readonly type: "str"; readonly value: string }
  | { readonly type: "bin"; readonly value: Uint8Array }
  | { readonly type: "array"; readonly items: ReadonlyArray<MsgValue> }
  | { readonly type: "map"; readonly entries: ReadonlyArray<readonly [MsgValue, MsgValue]> }

/** Constructors for `MsgValue`. */
export const Msg = {
  nil: { type: "nil" } as MsgValue,
  bool: (value: boolean): MsgValue => ({ type: "bool", value }),
  int: (value: bigint | number): MsgValue => ({ type: "int", value: BigInt(value) }),
  float: (value: number): MsgValue => ({ type: "float", value }),
  str: (value: string): MsgValue => ({ type: "str", value }),
  bin: (value: Uint8Array): MsgValue => ({ type: "bin", value }),
  array: (items: ReadonlyArray<MsgValue>): MsgValue => ({ type: "array", items }),
  map: (entries: ReadonlyArray<readonly [MsgValue, MsgValue]>): MsgValue => ({
    type: "map",
    entries,
  }),
  /** A map with string keys, in the given order. */
  record: (entries: ReadonlyArray<readonly [string, MsgValue]>): MsgValue => ({
    type: "map",
    entries: entries.map(([k, v]) => [{ type: "str", value: k }, v] as const),
  }),
  /** A string, or nil for `null`. */
  strOrNil: (value: string | null): MsgValue =>
    value === null ? { type: "nil" } : { type: "str", value },
} as const

/** Limits applied while decoding untrusted bytes. */
export interface DecodeLimits {
  /**
   * Deepest nesting of arrays and maps accepted.
   * @default 256
   */
  readonly maxDepth?: number
}

const U64_MAX = (1n << 64n) - 1n
const I64_MIN = -(1n << 63n)

/**
 * Decodes exactly one value from `bytes`. Throws `RangeError` on truncated or malformed input,
 * ext types, invalid UTF-8, nesting deeper than `maxDepth`, or bytes left over after the value.
 */
export function decodeOrdered(bytes: Uint8Array, limits: DecodeLimits = {}): MsgValue {
  const maxDepth = limits.maxDepth ?? 256
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const utf8 = new TextDecoder("utf-8", { fatal: true })
  let pos = 0

  const need = (n: number) => {
    if (n > bytes.length - pos) {
      throw new RangeError(`truncated msgpack at byte ${pos}: need ${n} more bytes`)
    }
  }
  const u8 = () => {
    need(1)
    return bytes[pos++]!
  }
  const u16 = () => {
    need(2)
    const v = view.getUint16(pos)
    pos += 2
    return v
  }
  const u32 = () => {
    need(4)
    const v = view.getUint32(pos)
    pos += 4
    return v
  }
  const take = (n: number) => {
    need(n)
    const out = bytes.subarray(pos, pos + n)
    pos += n
    return out
  }
  const str = (n: number): MsgValue => {
    const at = pos
    const raw = take(n)
    const text = decodeUtf8(utf8, raw)
    if (text === undefined) throw new RangeError(`invalid UTF-8 in string at byte ${at}`)
    return { type: "str", value: text }
  }
  const count = (n: number, minBytesEach: number) => {
    // Every element takes at least one byte, so a count larger than what is left is a lie.
    if (n * minBytesEach > bytes.length - pos) {
      throw new RangeError(
        `msgpack container at byte ${pos} claims ${n} elements, more than the input holds`,
      )
    }
    return n
  }

  const read = (depth: number): MsgValue => {
    const at = pos
    const b = u8()
    if (b <= 0x7f) return { type: "int", value: BigInt(b) }
    if (b >= 0xe0) return { type: "int", value: BigInt(b - 0x100) }
    if (b >= 0xa0 && b <= 0xbf) return str(b & 0x1f)
    if (b >= 0x80 && b <= 0x8f) return readMap(count(b & 0x0f, 2), depth)
    if (b >= 0x90 && b <= 0x9f) return readArray(count(b & 0x0f, 1), depth)
    switch (b) {
      case 0xc0:
        return { type: "nil" }
      case 0xc2:
        return { type: "bool", value: false }
      case 0xc3:
        return { type: "bool", value: true }
      case 0xc4:
        return { type: "bin", value: take(u8()) }
      case 0xc5:
        return { type: "bin", value: take(u16()) }
      case 0xc6:
        return { type: "bin", value: take(u32()) }
      case 0xca: {
        need(4)
        const v = view.getFloat32(pos)
        pos += 4
        return { type: "float", value: v }
      }
      case 0xcb: {
        need(8)
        const v = view.getFloat64(pos)
        pos += 8
        return { type: "float", value: v }
      }
      case 0xcc:
        return { type: "int", value: BigInt(u8()) }
      case 0xcd:
        return { type: "int", value: BigInt(u16()) }
      case 0xce:
        return { type: "int", value: BigInt(u32()) }
      case 0xcf: {
        need(8)
        const v = view.getBigUint64(pos)
        pos += 8
        return { type: "int", value: v }
      }
      case 0xd0: {
        need(1)
        return { type: "int", value: BigInt(view.getInt8(pos++)) }
      }
      case 0xd1: {
        need(2)
        const v = view.getInt16(pos)
        pos += 2
        return { type: "int", value: BigInt(v) }
      }
      case 0xd2: {
        need(4)
        const v = view.getInt32(pos)
        pos += 4
        return { type: "int", value: BigInt(v) }
      }
      case 0xd3: {
        need(8)
        const v = view.getBigInt64(pos)
        pos += 8
        return { type: "int", value: v }
      }
      case 0xd9:
        return str(u8())
      case 0xda:
        return str(u16())
      case 0xdb:
        return str(u32())
      case 0xdc:
        return readArray(count(u16(), 1), depth)
      case 0xdd:
        return readArray(count(u32(), 1), depth)
      case 0xde:
        return readMap(count(u16(), 2), depth)
      case 0xdf:
        return readMap(count(u32(), 2), depth)
    }
    if (b === 0xc1) throw new RangeError(`invalid msgpack marker 0xc1 at byte ${at}`)
    throw new RangeError(
      `msgpack ext type (marker 0x${b.toString(16)}) at byte ${at} is not allowed`,
    )
  }
  const enter = (depth: number) => {
    if (depth >= maxDepth) {
      throw new RangeError(`msgpack nesting deeper than ${maxDepth} at byte ${pos}`)
    }
    return depth + 1
  }
  const readArray = (n: number, depth: number): MsgValue => {
    const inner = enter(depth)
    const items: Array<MsgValue> = []
    for (let i = 0; i < n; i++) items.push(read(inner))
    return { type: "array", items }
  }
  const readMap = (n: number, depth: number): MsgValue => {
    const inner = enter(depth)
    const entries: Array<readonly [MsgValue, MsgValue]> = []
    for (let i = 0; i < n; i++) {
      const key = read(inner)
      entries.push([key, read(inner)])
    }
    return { type: "map", entries }
  }

  const value = read(0)
  if (pos !== bytes.length) {
    throw new RangeError(`${bytes.length - pos} trailing bytes after the msgpack value`)
  }
  return value
}

function decodeUtf8(decoder: TextDecoder, raw: Uint8Array): string | undefined {
  // TextDecoder with `fatal` throws TypeError on bad UTF-8; keep that exception local.
  try {
    return decoder.decode(raw)
  } catch {
    return undefined
  }
}

/**
 * Encodes a value in the smallest form for each integer, string, bin, array and map header;
 * floats are always float64 (as rmp-serde writes an `f64`). Throws `RangeError` for an integer
 * outside the i64/u64 range or a container longer than 2^32-1.
 */
export function encodeOrdered(value: MsgValue): Uint8Array {
  const chunks: Array<Uint8Array> = []
  let total = 0
  const push = (chunk: Uint8Array) => {
    chunks.push(chunk)
    total += chunk.length
  }
  const header = (...bytesIn: ReadonlyArray<number>) => push(Uint8Array.from(bytesIn))
  const sized = (marker: number, width: 1 | 2 | 4, n: number) => {
    const out = new Uint8Array(1 + width)
    const view = new DataView(out.buffer)
    out[0] = marker
    if (width === 1) out[1] = n
    else if (width === 2) view.setUint16(1, n)
    else view.setUint32(1, n)
    push(out)
  }
  const length = (
    n: number,
    small: number | null,
    smallLimit: number,
    m8: number | null,
    m16: number,
    m32: number,
  ) => {
    if (small !== null && n < smallLimit) header(small | n)
    else if (m8 !== null && n < 0x100) sized(m8, 1, n)
    else if (n < 0x10000) sized(m16, 2, n)
    else if (n <= 0xffffffff) sized(m32, 4, n)
    else throw new RangeError(`msgpack length ${n} is too large`)
  }
  const int = (v: bigint) => {
    if (v >= 0n) {
      if (v < 0x80n) header(Number(v))
      else if (v < 0x100n) header(0xcc, Number(v))
      else if (v < 0x10000n) sized(0xcd, 2, Number(v))
      else if (v < 0x100000000n) sized(0xce, 4, Number(v))
      else if (v <= U64_MAX) {
        const out = new Uint8Array(9)
        out[0] = 0xcf
        new DataView(out.buffer).setBigUint64(1, v)
        push(out)
      } else throw new RangeError(`integer ${v} does not fit in u64`)
    } else {
      if (v >= -32n) header(Number(v) + 0x100)
      else if (v >= -0x80n) header(0xd0, Number(v) + 0x100)
      else if (v >= -0x8000n) {
        const out = new Uint8Array(3)
        out[0] = 0xd1
        new DataView(out.buffer).setInt16(1, Number(v))
        push(out)
      } else if (v >= -0x80000000n) {
        const out = new Uint8Array(5)
        out[0] = 0xd2
        new DataView(out.buffer).setInt32(1, Number(v))
        push(out)
      } else if (v >= I64_MIN) {
        const out = new Uint8Array(9)
        out[0] = 0xd3
        new DataView(out.buffer).setBigInt64(1, v)
        push(out)
      } else throw new RangeError(`integer ${v} does not fit in i64`)
    }
  }
  const utf8 = new TextEncoder()
  const write = (v: MsgValue): void => {
    switch (v.type) {
      case "nil":
        return header(0xc0)
      case "bool":
        return header(v.value ? 0xc3 : 0xc2)
      case "int":
        return int(v.value)
      case "float": {
        const out = new Uint8Array(9)
        out[0] = 0xcb
        new DataView(out.buffer).setFloat64(1, v.value)
        return push(out)
      }
      case "str": {
        const raw = utf8.encode(v.value)
        length(raw.length, 0xa0, 32, 0xd9, 0xda, 0xdb)
        return push(raw)
      }
      case "bin":
        length(v.value.length, null, 0, 0xc4, 0xc5, 0xc6)
        return push(v.value)
      case "array":
        length(v.items.length, 0x90, 16, null, 0xdc, 0xdd)
        for (const item of v.items) write(item)
        return
      case "map":
        length(v.entries.length, 0x80, 16, null, 0xde, 0xdf)
        for (const [key, item] of v.entries) {
          write(key)
          write(item)
        }
        return
    }
  }
  write(value)
  const out = new Uint8Array(total)
  let offset = 0
  for (const chunk of chunks) {
    out.set(chunk, offset)
    offset += chunk.length
  }
  return out
}

/** The value under a string key of a map, or `undefined` (also when `value` is not a map). */
export function msgGet(value: MsgValue | undefined, key: string): MsgValue | undefined {
  if (value?.type !== "map") return undefined
  for (const [k, v] of value.entries) if (k.type === "str" && k.value === key) return v
  return undefined
}

/** The value at a path of string keys and array indices, or `undefined`. */
export function msgGetIn(
  value: MsgValue | undefined,
  path: ReadonlyArray<string | number>,
): MsgValue | undefined {
  let current = value
  for (const step of path) {
    if (typeof step === "number") {
      current = current?.type === "array" ? current.items[step] : undefined
    } else current = msgGet(current, step)
    if (current === undefined) return undefined
  }
  return current
}

/**
 * Converts to plain JS for schema decoding: maps become objects (string keys only, no
 * duplicates), ints become numbers (safe integers only), bins stay `Uint8Array`. A value whose
 * dotted path is a key of `replace` becomes that key's value without being looked at. Throws
 * `RangeError` naming the dotted path of the first value that has no JS form.
 */
export function msgToJs(
  value: MsgValue,
  replace: ReadonlyMap<string, unknown> = new Map(),
  path = "",
): unknown {
  if (replace.has(path)) return replace.get(path)
  switch (value.type) {
    case "nil":
      return null
    case "bool":
    case "float":
    case "str":
    case "bin":
      return value.value
    case "int": {
      const n = Number(value.value)
      if (!Number.isSafeInteger(n)) {
        throw new RangeError(`${label(path)}: integer ${value.value} is out of range`)
      }
      return n
    }
    case "array":
      return value.items.map((item, i) => msgToJs(item, replace, join(path, i)))
    case "map": {
      const seen = new Set<string>()
      const entries: Array<[string, unknown]> = []
      for (const [k, v] of value.entries) {
        if (k.type !== "str") {
          throw new RangeError(`${label(path)}: map keys must be strings, found ${k.type}`)
        }
        if (seen.has(k.value)) throw new RangeError(`${label(path)}: duplicate key "${k.value}"`)
        seen.add(k.value)
        entries.push([k.value, msgToJs(v, replace, join(path, k.value))])
      }
      // fromEntries defines own properties, so a "__proto__" key cannot reach the prototype.
      return Object.fromEntries(entries)
    }
  }
}

function join(path: string, step: string | number): string {
  return path === "" ? String(step) : `${path}.${step}`
}

function label(path: string): string {
  return path === "" ? "top level" : path
}
