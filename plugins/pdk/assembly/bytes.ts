/**
 * Small helpers for hashes and text: equality, hex and HoloHash strings, UTF-8 and code points.
 */

/** Whether two byte arrays hold the same bytes. */
export function bytesEqual(a: Uint8Array | null, b: Uint8Array | null): bool {
  if (a === null || b === null) return a === b
  const n = a.length
  if (n != b.length) return false
  return memory.compare(a.dataStart, b.dataStart, <usize> n) == 0
}

/** Whether `bytes` starts with `prefix`. */
export function bytesStartWith(bytes: Uint8Array, prefix: Uint8Array): bool {
  if (prefix.length > bytes.length) return false
  return memory.compare(bytes.dataStart, prefix.dataStart, <usize> prefix.length) == 0
}

const HEX = "0123456789abcdef"

/** Lower-case hex. */
export function toHex(bytes: Uint8Array): string {
  const parts = new Array<string>(bytes.length)
  for (let i = 0; i < bytes.length; i++) {
    const b = <i32> bytes[i]
    parts[i] = HEX.charAt(b >> 4) + HEX.charAt(b & 15)
  }
  return parts.join("")
}

const B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

/** Base64url without padding. */
export function toBase64Url(bytes: Uint8Array): string {
  const parts = new Array<string>(0)
  const n = bytes.length
  let i = 0
  while (i + 3 <= n) {
    const v = (<u32> bytes[i] << 16) | (<u32> bytes[i + 1] << 8) | <u32> bytes[i + 2]
    parts.push(
      B64URL.charAt(<i32> (v >> 18)) + B64URL.charAt(<i32> ((v >> 12) & 63)) +
        B64URL.charAt(<i32> ((v >> 6) & 63)) + B64URL.charAt(<i32> (v & 63)),
    )
    i += 3
  }
  if (n - i == 1) {
    const v = <u32> bytes[i] << 16
    parts.push(B64URL.charAt(<i32> (v >> 18)) + B64URL.charAt(<i32> ((v >> 12) & 63)))
  } else if (n - i == 2) {
    const v = (<u32> bytes[i] << 16) | (<u32> bytes[i + 1] << 8)
    parts.push(
      B64URL.charAt(<i32> (v >> 18)) + B64URL.charAt(<i32> ((v >> 12) & 63)) +
        B64URL.charAt(<i32> ((v >> 6) & 63)),
    )
  }
  return parts.join("")
}

/** A hash's string form as Holochain prints it: "u" + base64url of the 39 bytes. */
export function hashToString(hash: Uint8Array): string {
  return "u" + toBase64Url(hash)
}

/** The UTF-8 bytes of a string. */
export function utf8(text: string): Uint8Array {
  return Uint8Array.wrap(String.UTF8.encode(text, false, String.UTF8.ErrorMode.REPLACE))
}

/** A string from UTF-8 bytes. */
export function fromUtf8(bytes: Uint8Array): string {
  return String.UTF8.decodeUnsafe(bytes.dataStart, <usize> bytes.length)
}

/** The number of Unicode code points (what a user counts as characters, emoji included). */
export function codePoints(text: string): i32 {
  const n = text.length
  let count = 0
  for (let i = 0; i < n; i++) {
    const c = <u32> text.charCodeAt(i)
    if (c >= 0xd800 && c < 0xdc00 && i + 1 < n) {
      const d = <u32> text.charCodeAt(i + 1)
      if (d >= 0xdc00 && d < 0xe000) i++
    }
    count++
  }
  return count
}
