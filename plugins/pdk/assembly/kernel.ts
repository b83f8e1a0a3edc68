/**
 * The Extism kernel (`extism:host/env`) and fast copies between kernel blocks and linear memory.
 *
 * Owns every raw kernel import of the PDK. Copies move 8 bytes per kernel call (`load_u64` /
 * `store_u64`), the tail included (see below); output blocks are allocated at their exact size
 * because a kernel block's length is what the host reads back.
 */

// The declarations mirror @extism/as-pdk's lib/env.ts (same names and signatures). They live here
// so that the PDK does not inherit that package's byte-at-a-time copies and its UTF-16 length bug.

@external("extism:host/env", "input_length")
export declare function input_length(): u64
@external("extism:host/env", "input_offset")
export declare function input_offset(): u64
@external("extism:host/env", "input_load_u8")
export declare function input_load_u8(offset: u64): u8
@external("extism:host/env", "input_load_u64")
export declare function input_load_u64(offset: u64): u64
@external("extism:host/env", "length")
export declare function length(offset: u64): u64
@external("extism:host/env", "alloc")
export declare function alloc(length: u64): u64
@external("extism:host/env", "free")
export declare function free(offset: u64): void
@external("extism:host/env", "output_set")
export declare function output_set(offset: u64, length: u64): void
@external("extism:host/env", "error_set")
export declare function error_set(offset: u64): void
@external("extism:host/env", "store_u8")
export declare function store_u8(offset: u64, value: u8): void
@external("extism:host/env", "load_u8")
export declare function load_u8(offset: u64): u8
@external("extism:host/env", "store_u64")
export declare function store_u64(offset: u64, value: u64): void
@external("extism:host/env", "load_u64")
export declare function load_u64(offset: u64): u64
@external("extism:host/env", "log_info")
export declare function log_info(offset: u64): void
@external("extism:host/env", "log_warn")
export declare function log_warn(offset: u64): void
@external("extism:host/env", "log_error")
export declare function log_error(offset: u64): void
@external("extism:host/env", "log_debug")
export declare function log_debug(offset: u64): void

// Every copy below moves 8 bytes per kernel call. When there are at least 8 bytes, the tail is
// one more 8-byte move that overlaps bytes already moved (it rewrites them with the same values)
// instead of up to 7 single-byte calls; each kernel call is a host transition, which costs far
// more than the bytes.

/** Copies `len` bytes from linear memory at `ptr` into a new kernel block; returns its offset. */
export function blockFromMemory(ptr: usize, len: usize): u64 {
  const block = alloc(<u64>len)
  if (len < 8) {
    for (let i: usize = 0; i < len; i++) store_u8(block + <u64>i, load<u8>(ptr + i))
    return block
  }
  const last = len - 8
  let i: usize = 0
  while (i < last) {
    store_u64(block + <u64>i, load<u64>(ptr + i))
    i += 8
  }
  store_u64(block + <u64>last, load<u64>(ptr + last))
  return block
}

/** Copies a byte array into a new kernel block; returns its offset. */
export function blockFromBytes(bytes: Uint8Array): u64 {
  return blockFromMemory(bytes.dataStart, <usize>bytes.length)
}

/** Reads a whole kernel block (offset 0 reads as empty). */
export function bytesFromBlock(block: u64): Uint8Array {
  if (block == 0) return new Uint8Array(0)
  const len = <i32>length(block)
  const out = new Uint8Array(len)
  const ptr = out.dataStart
  if (len < 8) {
    for (let i = 0; i < len; i++) store<u8>(ptr + <usize>i, load_u8(block + <u64>i))
    return out
  }
  const last = <usize>len - 8
  let i: usize = 0
  while (i < last) {
    store<u64>(ptr + i, load_u64(block + <u64>i))
    i += 8
  }
  store<u64>(ptr + last, load_u64(block + <u64>last))
  return out
}

/** Reads the call's input bytes (one `input_load_u64` per 8 bytes). */
export function inputBytes(): Uint8Array {
  const len = <i32>input_length()
  const out = new Uint8Array(len)
  const ptr = out.dataStart
  if (len < 8) {
    for (let i = 0; i < len; i++) store<u8>(ptr + <usize>i, input_load_u8(<u64>i))
    return out
  }
  const last = <usize>len - 8
  let i: usize = 0
  while (i < last) {
    store<u64>(ptr + i, input_load_u64(<u64>i))
    i += 8
  }
  store<u64>(ptr + last, input_load_u64(<u64>last))
  return out
}

/** Sets the call's output to `len` bytes of linear memory at `ptr`. */
export function outputMemory(ptr: usize, len: usize): void {
  output_set(blockFromMemory(ptr, len), <u64>len)
}

/** Sets the call's output to a byte array. */
export function outputBytes(bytes: Uint8Array): void {
  outputMemory(bytes.dataStart, <usize>bytes.length)
}

/** Copies a string, as UTF-8, into a new kernel block without touching the managed heap. */
export function blockFromString(text: string): u64 {
  const ptr = changetype<usize>(text)
  const units = utf16Units(ptr)
  const block = alloc(<u64>utf8Length(ptr, units))
  sinkOpen(block)
  sinkUtf16(ptr, units)
  sinkClose()
  return block
}

// Everything below works on raw pointers and module state, never on managed locals or objects:
// the abort handler uses it, and a function with managed locals gets a shadow-stack prologue
// that itself aborts when the shadow stack is exhausted.

/** The length in UTF-16 code units of the string at `ptr` (read from its object header). */
export function utf16Units(ptr: usize): i32 {
  return <i32>(load<u32>(ptr - 4) >> 1)
}

// Reads the code point at `units[i]`, joining a surrogate pair; lone surrogates read as U+FFFD.
// Returns the code point in the low 32 bits and the number of units consumed in the high bits.
function codePointAt(ptr: usize, i: i32, units: i32): u64 {
  let c = <u32>load<u16>(ptr + (<usize>i << 1))
  let used: u64 = 1
  if (c >= 0xd800 && c < 0xdc00 && i + 1 < units) {
    const d = <u32>load<u16>(ptr + (<usize>(i + 1) << 1))
    if (d >= 0xdc00 && d < 0xe000) {
      c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00)
      used = 2
    }
  }
  if (c >= 0xd800 && c < 0xe000) c = 0xfffd
  return (used << 32) | <u64>c
}

/** The UTF-8 length of `units` UTF-16 code units at `ptr`. */
export function utf8Length(ptr: usize, units: i32): i32 {
  let n = 0
  let i = 0
  while (i < units) {
    const r = codePointAt(ptr, i, units)
    const c = <u32>r
    i += <i32>(r >> 32)
    n += c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4
  }
  return n
}

let sinkBlock: u64 = 0
let sinkAt: u64 = 0
let sinkWord: u64 = 0
let sinkFill: u64 = 0

/** Starts writing at the beginning of `block`. */
export function sinkOpen(block: u64): void {
  sinkBlock = block
  sinkAt = 0
  sinkWord = 0
  sinkFill = 0
}

/** Appends one byte; every 8 bytes go to the kernel in one `store_u64`. */
export function sinkByte(b: u32): void {
  sinkWord |= <u64>(b & 0xff) << (sinkFill << 3)
  sinkFill++
  if (sinkFill == 8) {
    store_u64(sinkBlock + sinkAt, sinkWord)
    sinkAt += 8
    sinkWord = 0
    sinkFill = 0
  }
}

/** Appends `units` UTF-16 code units at `ptr` as UTF-8 (lone surrogates become U+FFFD). */
export function sinkUtf16(ptr: usize, units: i32): void {
  let i = 0
  while (i < units) {
    const r = codePointAt(ptr, i, units)
    const c = <u32>r
    i += <i32>(r >> 32)
    if (c < 0x80) {
      sinkByte(c)
    } else if (c < 0x800) {
      sinkByte(0xc0 | (c >> 6))
      sinkByte(0x80 | (c & 63))
    } else if (c < 0x10000) {
      sinkByte(0xe0 | (c >> 12))
      sinkByte(0x80 | ((c >> 6) & 63))
      sinkByte(0x80 | (c & 63))
    } else {
      sinkByte(0xf0 | (c >> 18))
      sinkByte(0x80 | ((c >> 12) & 63))
      sinkByte(0x80 | ((c >> 6) & 63))
      sinkByte(0x80 | (c & 63))
    }
  }
}

/** Appends the decimal digits of `value`. */
export function sinkDecimal(value: u32): void {
  let divisor: u32 = 1
  while (value / divisor >= 10) divisor *= 10
  while (divisor > 0) {
    sinkByte(0x30 + (value / divisor) % 10)
    divisor /= 10
  }
}

/** Writes the buffered tail. */
export function sinkClose(): void {
  for (let i: u64 = 0; i < sinkFill; i++) {
    store_u8(sinkBlock + sinkAt + i, <u8>(sinkWord >> (i << 3)))
  }
  sinkAt += sinkFill
  sinkWord = 0
  sinkFill = 0
}

/** The number of decimal digits of `value`. */
export function decimalLength(value: u32): i32 {
  let n = 1
  while (value >= 10) {
    value /= 10
    n++
  }
  return n
}
