/**
 * The `Keystore` service: Ed25519 agent keys. Seeds are sealed at rest with XChaCha20-Poly1305
 * under a key derived from the passphrase with scrypt; the derivation runs on a worker thread in
 * the background so that it does not delay startup, and everything that signs waits for it
 * (`ready`). Signing itself is synchronous (`node:crypto`, about 25 µs) because it runs inside
 * zome calls. It owns keys; it does not know about cells or apps.
 *
 * @module
 */
import { xchacha20poly1305 } from "@noble/ciphers/chacha.js"
import { Context, Deferred, Effect, Layer, Redacted, Schema } from "effect"
import * as nodeCrypto from "node:crypto"
import * as path from "node:path"
import { ConductorConfig } from "../config/mod.ts"
import { randomBytes, type SigningKey, signingKeyFromSeed } from "../crypto/mod.ts"
import { type AgentPubKey, encodeHashB64, Hasher, hashKey } from "../hash/mod.ts"
import { makePrivateDir, PRIVATE_FILE_MODE, Store } from "../store/mod.ts"
import { nowMicros } from "../time/mod.ts"

/** A file's trimmed text, or undefined when there is no such file. */
function readIfPresent(file: string): string | undefined {
  try {
    return Deno.readTextFileSync(file).trim()
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined
    throw error
  }
}

/** A keystore failure, by reason. */
export class KeystoreError extends Schema.TaggedError<KeystoreError>()("KeystoreError", {
  reason: Schema.Literals(["WrongPassphrase", "UnknownAgent", "Corrupt", "Storage"]),
  detail: Schema.String,
}) {
  override get message(): string {
    return `keystore: ${this.detail}`
  }
}

/** scrypt parameters; stored with the salt so they can change without breaking old keystores. */
interface KdfParams {
  readonly N: number
  readonly r: number
  readonly p: number
}

const DEFAULT_KDF: KdfParams = { N: 1 << 14, r: 8, p: 1 }
const CHECK_PLAINTEXT = new TextEncoder().encode("conductor keystore v1")

/** What the Keystore offers. */
export interface KeystoreShape {
  /** Completes when the passphrase key is derived (fails with `WrongPassphrase`). */
  readonly ready: Effect.Effect<void, KeystoreError>
  /** A new agent key, stored sealed. */
  readonly generate: Effect.Effect<AgentPubKey, KeystoreError>
  /** True when the key is in this keystore. */
  readonly has: (agent: AgentPubKey) => boolean
  /** Every agent key, oldest first. */
  readonly list: () => ReadonlyArray<AgentPubKey>
  /**
   * Signs synchronously. Fails with `UnknownAgent` for a key that is not here. Only call after
   * `ready` has completed (the zome-call workflow awaits it first).
   */
  readonly sign: (agent: AgentPubKey, data: Uint8Array) => Effect.Effect<Uint8Array, KeystoreError>
  /**
   * The agent's signing key, for synchronous hot paths (a zome call signs every action it
   * writes). Waits for `ready`; fails with `UnknownAgent`.
   */
  readonly signer: (agent: AgentPubKey) => Effect.Effect<SigningKey, KeystoreError>
  /** Forgets an agent from memory after the transaction that stored it rolled back. */
  readonly forget: (agent: AgentPubKey) => void
}

function scrypt(passphrase: string, salt: Uint8Array, params: KdfParams): Promise<Uint8Array> {
  return new Promise((resolve, reject) =>
    nodeCrypto.scrypt(
      passphrase,
      salt,
      32,
      { ...params, maxmem: 256 * params.N * params.r + 1024 * 1024 },
      (error, key) => (error ? reject(error) : resolve(new Uint8Array(key))),
    )
  )
}

function seal(key: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
  const nonce = randomBytes(24)
  const sealed = xchacha20poly1305(key, nonce, aad).encrypt(plaintext)
  const out = new Uint8Array(24 + sealed.length)
  out.set(nonce, 0)
  out.set(sealed, 24)
  return out
}

function unseal(key: Uint8Array, box: Uint8Array, aad: Uint8Array): Uint8Array | undefined {
  if (box.length < 24 + 16) return undefined
  try {
    return xchacha20poly1305(key, box.subarray(0, 24), aad).decrypt(box.subarray(24))
  } catch {
    // An authentication failure is the expected signal of a wrong key.
    return undefined
  }
}

/** Builds the keystore over a Store with an explicit passphrase (tests use this directly). */
export const makeKeystore = (passphrase: Redacted.Redacted<string>) =>
  Effect.gen(function* () {
    const store = yield* Store
    const hasher = yield* Hasher
    const derived = yield* Deferred.make<Uint8Array, KeystoreError>()
    const selectMeta = store.prepare(
      "SELECT salt, kdf, check_value FROM keystore_meta WHERE id = 1",
    )
    const insertMeta = store.prepare(
      "INSERT INTO keystore_meta (id, salt, kdf, check_value) VALUES (1, ?, ?, ?)",
    )
    const insertKey = store.prepare(
      "INSERT INTO agent_keys (agent, sealed_seed, created_at) VALUES (?, ?, ?)",
    )
    const selectKey = store.prepare("SELECT sealed_seed FROM agent_keys WHERE agent = ?")
    const selectAll = store.prepare("SELECT agent FROM agent_keys ORDER BY created_at, agent")

    const meta = selectMeta.get() as
      | { salt: Uint8Array; kdf: string; check_value: Uint8Array }
      | undefined
    const salt = meta?.salt ?? randomBytes(16)
    const params: KdfParams = meta ? JSON.parse(meta.kdf) : DEFAULT_KDF
    const unlock = Effect.tryPromise({
      try: () => scrypt(Redacted.value(passphrase), salt, params),
      catch: (cause) =>
        new KeystoreError({ reason: "Corrupt", detail: `key derivation failed: ${cause}` }),
    }).pipe(
      Effect.flatMap((key) => {
        if (meta === undefined) {
          insertMeta.run(salt, JSON.stringify(params), seal(key, CHECK_PLAINTEXT, salt))
          return Effect.succeed(key)
        }
        return unseal(key, meta.check_value, salt) === undefined
          ? Effect.fail(
            new KeystoreError({
              reason: "WrongPassphrase",
              detail: `wrong passphrase for the keystore in ${store.path}`,
            }),
          )
          : Effect.succeed(key)
      }),
    )
    // Derivation takes ~70 ms on a worker thread; startup goes on meanwhile.
    yield* Effect.forkScoped(
      Effect.exit(unlock).pipe(Effect.flatMap((exit) => Deferred.done(derived, exit))),
    )

    const known = new Set<string>(
      (selectAll.all() as Array<{ agent: Uint8Array }>).map((row) => hashKey(row.agent)),
    )
    const signers = new Map<string, SigningKey>()

    const signerFor = (agent: AgentPubKey, key: Uint8Array): SigningKey | KeystoreError => {
      const id = hashKey(agent)
      const cached = signers.get(id)
      if (cached !== undefined) return cached
      const row = selectKey.get(agent) as { sealed_seed: Uint8Array } | undefined
      if (row === undefined) {
        return new KeystoreError({
          reason: "UnknownAgent",
          detail: `no key ${encodeHashB64(agent)}`,
        })
      }
      const seed = unseal(key, row.sealed_seed, agent)
      if (seed === undefined) {
        return new KeystoreError({
          reason: "Corrupt",
          detail: `sealed seed of ${encodeHashB64(agent)} does not open`,
        })
      }
      const signer = signingKeyFromSeed(seed)
      signers.set(id, signer)
      return signer
    }

    const ready = Effect.asVoid(Deferred.await(derived))

    const generate = Effect.gen(function* () {
      const key = yield* Deferred.await(derived)
      const createdAt = yield* nowMicros
      const seed = randomBytes(32)
      const signer = signingKeyFromSeed(seed)
      const agent = hasher.fromCore("agent", signer.publicKey)
      yield* Effect.try({
        try: () => insertKey.run(agent, seal(key, seed, agent), createdAt),
        catch: (cause) =>
          new KeystoreError({ reason: "Storage", detail: `cannot store key: ${cause}` }),
      })
      known.add(hashKey(agent))
      signers.set(hashKey(agent), signer)
      return agent
    }).pipe(Effect.withSpan("Keystore.generate"))

    const signer = (agent: AgentPubKey): Effect.Effect<SigningKey, KeystoreError> =>
      Effect.suspend(() => {
        const cached = signers.get(hashKey(agent))
        if (cached !== undefined) return Effect.succeed(cached)
        return Deferred.await(derived).pipe(
          Effect.flatMap((key) => {
            const found = signerFor(agent, key)
            return found instanceof KeystoreError ? Effect.fail(found) : Effect.succeed(found)
          }),
        )
      })

    const sign = (agent: AgentPubKey, data: Uint8Array) =>
      Effect.map(signer(agent), (key) => key.sign(data))

    return Keystore.of({
      ready,
      generate,
      has: (agent) => known.has(hashKey(agent)),
      list: () =>
        (selectAll.all() as Array<{ agent: Uint8Array }>).map((row) => row.agent as AgentPubKey),
      sign,
      signer,
      forget: (agent) => {
        known.delete(hashKey(agent))
        signers.delete(hashKey(agent))
      },
    })
  })

/** Ed25519 agent keys, sealed at rest. */
export class Keystore
  extends Context.Service<Keystore, KeystoreShape>()("conductor/keystore/Keystore") {
  /**
   * The passphrase comes from config (file, environment or inline). Without one, a random
   * passphrase is generated into `<data_dir>/keystore.passphrase` (mode 0600) and a warning says
   * so: a development conductor starts with no setup, and an operator can still move to a real
   * passphrase by setting one before the first start.
   */
  static readonly layer = Layer.effect(
    Keystore,
    Effect.gen(function* () {
      const config = yield* ConductorConfig
      let passphrase = config.passphrase
      if (passphrase === undefined) {
        const file = path.join(config.dataDirPath, "keystore.passphrase")
        const existing = yield* Effect.try({
          try: () => readIfPresent(file),
          catch: (cause) =>
            new KeystoreError({ reason: "Storage", detail: `cannot read ${file}: ${cause}` }),
        })
        let value = existing
        if (value === undefined) {
          const generated = Buffer.from(randomBytes(32)).toString("base64url")
          yield* Effect.try({
            try: () => {
              makePrivateDir(config.dataDirPath)
              // createNew: never overwrite a passphrase another process wrote meanwhile.
              Deno.writeTextFileSync(file, generated + "\n", {
                mode: PRIVATE_FILE_MODE,
                createNew: true,
              })
            },
            catch: (cause) =>
              new KeystoreError({ reason: "Storage", detail: `cannot write ${file}: ${cause}` }),
          })
          yield* Effect.logWarning(
            `no keystore passphrase configured; generated one in ${file}. ` +
              `Set ${config.keystore.passphrase_env} (or keystore.passphrase_file) to choose your own.`,
          )
          value = generated
        }
        passphrase = Redacted.make(value)
      }
      return yield* makeKeystore(passphrase)
    }),
  )

  /** A keystore over the given Store with a fixed passphrase, for tests. */
  static readonly layerTest = (passphrase = "test passphrase") =>
    Layer.effect(Keystore, makeKeystore(Redacted.make(passphrase)))
}
