/**
 * Ed25519 and digests on `node:crypto` (about 17x faster than noble here; noble is the reference
 * in the tests). Pure functions over raw bytes: 32-byte seeds, 32-byte public keys, 64-byte
 * signatures. Key storage and agent bookkeeping belong to the Keystore, not here.
 *
 * @module
 */
import * as nodeCrypto from "node:crypto"

// DER prefixes that wrap a raw 32-byte Ed25519 seed or public key (RFC 8410).
const PKCS8_PREFIX = Uint8Array.from([
  0x30,
  0x2e,
  0x02,
  0x01,
  0x00,
  0x30,
  0x05,
  0x06,
  0x03,
  0x2b,
  0x65,
  0x70,
  0x04,
  0x22,
  0x04,
  0x20,
])
const SPKI_PREFIX = Uint8Array.from([
  0x30,
  0x2a,
  0x30,
  0x05,
  0x06,
  0x03,
  0x2b,
  0x65,
  0x70,
  0x03,
  0x21,
  0x00,
])

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length)
  out.set(a, 0)
  out.set(b, a.length)
  return out
}

/** A signing key ready for the fast path (the `KeyObject` is built once per key). */
export interface SigningKey {
  readonly publicKey: Uint8Array
  readonly sign: (message: Uint8Array) => Uint8Array
}

/** Builds a signing key from a 32-byte seed. */
export function signingKeyFromSeed(seed: Uint8Array): SigningKey {
  if (seed.length !== 32) throw new RangeError(`Ed25519 seed must be 32 bytes, got ${seed.length}`)
  const privateKey = nodeCrypto.createPrivateKey({
    key: Buffer.from(concat(PKCS8_PREFIX, seed)),
    format: "der",
    type: "pkcs8",
  })
  const spki = nodeCrypto.createPublicKey(privateKey).export({ format: "der", type: "spki" })
  const publicKey = new Uint8Array(spki.subarray(SPKI_PREFIX.length))
  return {
    publicKey,
    sign: (message) => new Uint8Array(nodeCrypto.sign(null, message, privateKey)),
  }
}

const publicKeyCache = new Map<string, nodeCrypto.KeyObject>()
const PUBLIC_KEY_CACHE_LIMIT = 4096

function publicKeyObject(publicKey: Uint8Array): nodeCrypto.KeyObject {
  const id = Buffer.from(publicKey).toString("base64")
  let key = publicKeyCache.get(id)
  if (key === undefined) {
    key = nodeCrypto.createPublicKey({
      key: Buffer.from(concat(SPKI_PREFIX, publicKey)),
      format: "der",
      type: "spki",
    })
    // A bounded cache: verification of the same few keys is the hot path; a flood of new keys
    // must not grow memory.
    if (publicKeyCache.size >= PUBLIC_KEY_CACHE_LIMIT) publicKeyCache.clear()
    publicKeyCache.set(id, key)
  }
  return key
}

/** Verifies a detached Ed25519 signature; false (never a throw) for malformed keys or signatures. */
export function verifySignature(
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
): boolean {
  if (publicKey.length !== 32 || signature.length !== 64) return false
  try {
    return nodeCrypto.verify(null, message, publicKeyObject(publicKey), signature)
  } catch {
    // node:crypto throws for points that are not on the curve; that is simply "not valid".
    return false
  }
}

/** SHA-512 digest. */
export function sha512(data: Uint8Array): Uint8Array {
  return new Uint8Array(nodeCrypto.createHash("sha512").update(data).digest())
}

/** SHA-256 digest. */
export function sha256(data: Uint8Array): Uint8Array {
  return new Uint8Array(nodeCrypto.createHash("sha256").update(data).digest())
}

/** Cryptographically secure random bytes. */
export function randomBytes(length: number): Uint8Array {
  return new Uint8Array(nodeCrypto.randomBytes(length))
}
