/**
 * A structural check of untrusted msgpack before it is decoded. `@msgpack/msgpack` allocates an
 * array for the element count a header declares before it reads any element, so a five-byte
 * document (`dd 05 f5 e1 00`: "an array of 100 million items") makes it allocate hundreds of
 * MiB and can end the process with a fatal out-of-memory error. This scan allocates nothing: it
 * walks the headers, refuses any container that declares more items than there are bytes left,
 * nesting deeper than `maxDepth`, the reserved byte `c1`, truncation and trailing bytes.
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
  const need = (n: number) => n <= end - pos
  const u8 = () => bytes[pos++]!
  const u16 = () => (bytes[pos++]! << 8) | bytes[pos++]!
  const u32 = () =>
    ((bytes[pos++]! << 24) >>> 0) + ((bytes[pos++]! << 16) | (bytes[pos++]! << 8) | bytes[pos++]!)
  while (pending.length > 0) {
    const top = pending.length - 1
    if (pending[top] === 0) {
      pending.pop()
      continue
    }
    pending[top]!--
    if (!need(1)) return `truncated at byte ${pos}`
    const at = pos
    const b = u8()
    let skip = 0
    let items = 0
    if (b <= 0x7f || b >= 0xe0) {
      // fixint
    } else if (b <= 0x8f) {
      items = (b & 0x0f) * 2
    } else if (b <= 0x9f) {
      items = b & 0x0f
    } else if (b <= 0xbf) {
      skip = b & 0x1f
    } else {
      const width = HEADER_WIDTH[b - 0xc0]!
      if (width < 0) return `byte ${at} (0x${b.toString(16)}) is not a msgpack type`
      if (!need(width)) return `truncated at byte ${at}`
      switch (b) {
        case 0xc4:
        case 0xd9:
          skip = u8()
          break
        case 0xc5:
        case 0xda:
          skip = u16()
          break
        case 0xc6:
        case 0xdb:
          skip = u32()
          break
        case 0xc7:
          skip = u8() + 1
          break
        case 0xc8:
          skip = u16() + 1
          break
        case 0xc9:
          skip = u32() + 1
          break
        case 0xdc:
          items = u16()
          break
        case 0xdd:
          items = u32()
          break
        case 0xde:
          items = u16() * 2
          break
        case 0xdf:
          items = u32() * 2
          break
        default:
          skip = FIXED_SIZE[b - 0xc0]!
      }
    }
    if (!need(skip)) return `truncated at byte ${at}: ${skip} bytes declared`
    pos += skip
    if (items > 0) {
      // Every item takes at least one byte: more items than bytes left is a lie.
      if (!need(items)) return `byte ${at} declares ${items} items but ${end - pos} bytes remain`
      if (pending.length > maxDepth) return `nested deeper than ${maxDepth}`
      pending.push(items)
    }
  }
  return pos === end ? undefined : `${end - pos} bytes after the value`
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
