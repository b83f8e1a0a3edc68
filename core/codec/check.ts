/**
 * A structural check of untrusted msgpack before it is decoded. `@msgpack/msgpack` allocates an
 * array for the element count a header declares before it reads any element, so a five-byte
 * document (`dd 05 f5 e1 00`: "an array of 100 million items") makes it allocate hundreds of
 * MiB and can end the process with a fatal out-of-memory error. This scan allocates nothing: it
 * walks the headers, refuses any container that declares more items than there are bytes left,
 * nesting deeper than `maxDepth`, the reserved byte `c1`, truncation and trailing bytes.
 *
 * It also refuses the two things the decoder (as core/codec/msgpack.ts configures it) throws on
 * beyond structure: a timestamp extension (type -1) whose data is not 4, 8 or 12 bytes, and a map
 * key that decodes to `__proto__`. So the check and the decoder agree: a document passes the
 * check if and only if the decoder reads it, except that the check also refuses nesting deeper
 * than `maxDepth` (the decoder has no limit). The safety property (what passes is decoded without
 * an error and without a huge allocation) and the agreement are fuzzed in
 * tests/ws/msgpack_check_test.ts.
 *
 * @module
 */

/** Default nesting limit of `msgpackProblem`. */
export const MAX_MSGPACK_DEPTH = 512

/**
 * What is wrong with `bytes` as exactly one msgpack value, or `undefined` when it is safe to
 * decode. Linear in the length; about a microsecond for a typical request.
 */
export function msgpackProblem(
  bytes: Uint8Array,
  maxDepth: number = MAX_MSGPACK_DEPTH,
): string | undefined {
  const end = bytes.length
  let pos = 0
  // Values still expected at each open level; the bottom level expects the one document.
  const pending: Array<number> = [1]
  // Whether each open level is a map (its values alternate key, value).
  const isMap: Array<boolean> = [false]
  const need = (n: number) => n <= end - pos
  const u8 = () => bytes[pos++]!
  const u16 = () => (bytes[pos++]! << 8) | bytes[pos++]!
  const u32 = () =>
    ((bytes[pos++]! << 24) >>> 0) + ((bytes[pos++]! << 16) | (bytes[pos++]! << 8) | bytes[pos++]!)
  while (pending.length > 0) {
    const top = pending.length - 1
    if (pending[top] === 0) {
      pending.pop()
      isMap.pop()
      continue
    }
    // A map level holds 2n values: the key comes while an even number remains.
    const isKey = isMap[top]! && pending[top]! % 2 === 0
    pending[top]!--
    if (!need(1)) return `truncated at byte ${pos}`
    const at = pos
    const b = u8()
    let skip = 0
    let items = 0
    let map = false
    // Bytes of a string's UTF-8 (-1: not a string), for the `__proto__` key check.
    let text = -1
    // Bytes of an extension's data (-1: not an extension); a type byte comes first.
    let ext = -1
    if (b <= 0x7f || b >= 0xe0) {
      // fixint
    } else if (b <= 0x8f) {
      items = (b & 0x0f) * 2
      map = true
    } else if (b <= 0x9f) {
      items = b & 0x0f
    } else if (b <= 0xbf) {
      skip = text = b & 0x1f
    } else {
      const width = HEADER_WIDTH[b - 0xc0]!
      if (width < 0) return `byte ${at} (0x${b.toString(16)}) is not a msgpack type`
      if (!need(width)) return `truncated at byte ${at}`
      switch (b) {
        case 0xc4:
          skip = u8()
          break
        case 0xd9:
          skip = text = u8()
          break
        case 0xc5:
          skip = u16()
          break
        case 0xda:
          skip = text = u16()
          break
        case 0xc6:
          skip = u32()
          break
        case 0xdb:
          skip = text = u32()
          break
        case 0xc7:
          ext = u8()
          break
        case 0xc8:
          ext = u16()
          break
        case 0xc9:
          ext = u32()
          break
        case 0xd4:
        case 0xd5:
        case 0xd6:
        case 0xd7:
        case 0xd8:
          ext = 1 << (b - 0xd4)
          break
        case 0xdc:
          items = u16()
          break
        case 0xdd:
          items = u32()
          break
        case 0xde:
          items = u16() * 2
          map = true
          break
        case 0xdf:
          items = u32() * 2
          map = true
          break
        default:
          skip = FIXED_SIZE[b - 0xc0]!
      }
    }
    if (ext >= 0) {
      skip = ext + 1
      if (!need(skip)) return `truncated at byte ${at}: ${skip} bytes declared`
      // The decoder knows one extension, the timestamp (type -1), in three sizes only.
      if (bytes[pos] === 0xff && ext !== 4 && ext !== 8 && ext !== 12) {
        return `byte ${at} is a timestamp extension of ${ext} bytes (4, 8 or 12 are valid)`
      }
    }
    if (!need(skip)) return `truncated at byte ${at}: ${skip} bytes declared`
    if (isKey && text >= PROTO.length && text <= LOOSE_UTF8_MAX && isProtoKey(bytes, pos, text)) {
      return `byte ${at} is the map key __proto__`
    }
    pos += skip
    if (items > 0) {
      // Every item takes at least one byte: more items than bytes left is a lie.
      if (!need(items)) return `byte ${at} declares ${items} items but ${end - pos} bytes remain`
      if (pending.length > maxDepth) return `nested deeper than ${maxDepth}`
      pending.push(items)
      isMap.push(map)
    }
  }
  return pos === end ? undefined : `${end - pos} bytes after the value`
}

const PROTO = "__proto__"
/**
 * Strings up to this many bytes are decoded by `@msgpack/msgpack`'s own lenient UTF-8 decoder
 * (longer ones by `TextDecoder`, which cannot turn them into `__proto__`).
 */
const LOOSE_UTF8_MAX = 200

/**
 * True when `@msgpack/msgpack` decodes the `length` bytes at `start` to `__proto__`. Its decoder
 * for short strings (`utf8DecodeJs`) takes overlong forms (`c1 9f` is `_`) and reads a sequence
 * cut by the string's end from the bytes after it, so this follows it step by step rather than
 * comparing bytes.
 */
function isProtoKey(bytes: Uint8Array, start: number, length: number): boolean {
  const at = (i: number) => bytes[i] ?? 0
  let offset = start
  const stop = start + length
  let unit = 0
  while (offset < stop) {
    if (unit === PROTO.length) return false
    const b1 = bytes[offset++]!
    let code: number
    if ((b1 & 0x80) === 0) code = b1
    else if ((b1 & 0xe0) === 0xc0) code = ((b1 & 0x1f) << 6) | (at(offset++) & 0x3f)
    else if ((b1 & 0xf0) === 0xe0) {
      code = ((b1 & 0x1f) << 12) | ((at(offset++) & 0x3f) << 6) | (at(offset++) & 0x3f)
    } else if ((b1 & 0xf8) === 0xf0) {
      code = ((b1 & 0x07) << 18) | ((at(offset++) & 0x3f) << 12) |
        ((at(offset++) & 0x3f) << 6) | (at(offset++) & 0x3f)
      // Above 0xffff it becomes a surrogate pair, never an ASCII letter.
      if (code > 0xffff) return false
    } else code = b1
    if (code !== PROTO.charCodeAt(unit++)) return false
  }
  return unit === PROTO.length
}

// deno-fmt-ignore
// For each byte c0..df: bytes of length header that follow (-1: not a type).
const HEADER_WIDTH: ReadonlyArray<number> = [
  0, -1, 0, 0, 1, 2, 4, 1, 2, 4, 0, 0, 0, 0, 0, 0, // c0..cf
  0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 4, 2, 4, 2, 4, // d0..df
]

// deno-fmt-ignore
// For each byte c0..df of fixed size: bytes that follow the type byte.
const FIXED_SIZE: ReadonlyArray<number> = [
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 8, 1, 2, 4, 8, // c0..cf (nil, -, false, true, …, float32, float64, uint8..64)
  1, 2, 4, 8, 2, 3, 5, 9, 17, 0, 0, 0, 0, 0, 0, 0, // d0..df (int8..64, fixext 1..16)
]
