/**
 * Zome-call signing on the client side, as `@holochain/client` does it (conductor-api.md §3.2,
 * §5): a signing key pair whose public key is an AgentPubKey with zero location bytes, a cap
 * secret, and `ZomeCallParams` signed as Ed25519 over their SHA-512. Credentials can be saved to
 * a file (mode 0600) so that repeated `conductor call`s reuse one capability grant.
 *
 * @module
 */
import { Effect, Schema } from "effect"
import { encode } from "../codec/mod.ts"
import { randomBytes, sha512, signingKeyFromSeed } from "../crypto/mod.ts"
import {
  type AgentPubKey,
  decodeHashB64,
  encodeHashB64,
  fromBase64Url,
  toBase64Url,
} from "../hash/mod.ts"
import type { CellId } from "../types/mod.ts"

/** What a client needs to sign calls to one cell. */
export interface SigningCredentials {
  /** The Ed25519 seed of the signing key. */
  readonly seed: Uint8Array
  readonly capSecret: Uint8Array
  /** The provenance of signed calls: `84 20 24 ‖ public key ‖ 00 00 00 00`. */
  readonly signingKey: AgentPubKey
}

/** A fresh key pair and cap secret. */
export function generateCredentials(): SigningCredentials {
  const seed = randomBytes(32)
  const signingKey = new Uint8Array(39)
  signingKey.set([0x84, 0x20, 0x24], 0)
  signingKey.set(signingKeyFromSeed(seed).publicKey, 3)
  return { seed, capSecret: randomBytes(64), signingKey: signingKey as AgentPubKey }
}

/** One call to sign. */
export interface CallToSign {
  readonly cellId: CellId
  readonly zome: string
  readonly fn: string
  /** The msgpack payload. */
  readonly payload: Uint8Array
}

/** `call_zome`'s value: `{bytes, signature}` with a fresh nonce that expires in 5 minutes. */
export function signZomeCall(
  credentials: SigningCredentials,
  call: CallToSign,
  nowMillis: number,
): { readonly bytes: Uint8Array; readonly signature: Uint8Array } {
  const bytes = encode({
    provenance: credentials.signingKey,
    "cell_id": call.cellId,
    "zome_name": call.zome,
    "fn_name": call.fn,
    "cap_secret": credentials.capSecret,
    payload: call.payload,
    nonce: randomBytes(32),
    "expires_at": (nowMillis + 5 * 60_000) * 1000,
  })
  const signature = signingKeyFromSeed(credentials.seed).sign(sha512(bytes))
  return { bytes, signature }
}

/** The key of a cell in a credentials file. */
export function cellKey(cellId: CellId): string {
  return encodeHashB64(cellId[0]) + encodeHashB64(cellId[1])
}

/** A credentials file could not be read or written. */
export class CredentialsFileError
  extends Schema.TaggedError<CredentialsFileError>()("CredentialsFileError", {
    path: Schema.String,
    detail: Schema.String,
  }) {
  override get message(): string {
    return `credentials file ${this.path}: ${this.detail}`
  }
}

const StoredCredentials = Schema.Record(
  Schema.String,
  Schema.Struct({ seed: Schema.String, "cap_secret": Schema.String, "signing_key": Schema.String }),
)
const decodeStored = Schema.decodeUnknownEffect(Schema.fromJsonString(StoredCredentials))

/** Every cell's credentials in `path`; an absent file holds none. */
export const readCredentialsFile = (path: string) =>
  Effect.gen(function* () {
    const fail = (detail: string) => new CredentialsFileError({ path, detail })
    const text = yield* Effect.tryPromise({
      try: () => Deno.readTextFile(path),
      catch: (cause) => cause,
    }).pipe(
      Effect.catch((cause) =>
        cause instanceof Deno.errors.NotFound
          ? Effect.succeed("{}")
          : Effect.fail(fail(cause instanceof Error ? cause.message : String(cause)))
      ),
    )
    const stored = yield* Effect.mapError(decodeStored(text), (e) => fail(e.message))
    const out = new Map<string, SigningCredentials>()
    for (const [key, entry] of Object.entries(stored)) {
      const seed = fromBase64Url(entry.seed)
      const capSecret = fromBase64Url(entry.cap_secret)
      const signingKey = decodeHashB64(entry.signing_key, "agent")
      if (seed?.length !== 32 || capSecret?.length !== 64 || signingKey === undefined) {
        return yield* fail(`the entry for ${key} is malformed`)
      }
      out.set(key, { seed, capSecret, signingKey })
    }
    return out
  })

/** Writes every cell's credentials to `path`, readable by the owner only. */
export const writeCredentialsFile = (
  path: string,
  credentials: ReadonlyMap<string, SigningCredentials>,
) =>
  Effect.tryPromise({
    try: () =>
      Deno.writeTextFile(
        path,
        JSON.stringify(
          Object.fromEntries(
            [...credentials].map(([key, c]) => [key, {
              seed: toBase64Url(c.seed),
              "cap_secret": toBase64Url(c.capSecret),
              "signing_key": encodeHashB64(c.signingKey),
            }]),
          ),
          null,
          2,
        ) + "\n",
        { mode: 0o600 },
      ),
    catch: (cause) =>
      new CredentialsFileError({
        path,
        detail: cause instanceof Error ? cause.message : String(cause),
      }),
  })
