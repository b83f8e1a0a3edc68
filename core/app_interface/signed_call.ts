/**
 * Signed zome calls from an app interface (conductor-api.md §3.2): decode `ZomeCallParams` from
 * the received bytes, check the Ed25519 signature over SHA-512 of exactly those bytes with the
 * provenance's key, require the cell to be running and to belong to the authenticated app,
 * witness the nonce, then hand over to the zome-call workflow, which checks capability grants
 * (the chain author needs none) and runs the function. Each failure becomes the wire variant
 * Holochain uses for it, in Holochain's order.
 *
 * It does not re-encode anything: the signature is checked over the bytes as received.
 *
 * This is the hot path of every zome call, so everything before the workflow is one synchronous
 * function and the whole call is a single Effect step: each Effect combinator costs a few
 * microseconds here, which is a measurable share of a 0.35 ms round trip (docs/benchmarks.md).
 *
 * @module
 */
import { Effect } from "effect"
import { Apps } from "../app/mod.ts"
import { cellIdKey, Cells } from "../cell/mod.ts"
import { sha512, verifySignature } from "../crypto/mod.ts"
import { encodeHashB64 } from "../hash/mod.ts"
import { Store } from "../store/mod.ts"
import type { CellId } from "../types/mod.ts"
import { type ZomeCallRequest, ZomeCalls } from "../workflow/mod.ts"
import {
  decodeMsgpack,
  decodeZomeCallParams,
  deserializationError,
  ExternalApiError,
  fromZomeCallError,
  internalError,
  zomeCallProblem,
} from "../wire/mod.ts"
import { NONCE_FLUSH_BATCH, NonceWitness } from "./nonces.ts"

/** `call_zome`'s value: the params as msgpack bytes and their signature. */
export interface SignedZomeCall {
  readonly bytes: Uint8Array
  readonly signature: Uint8Array
}

const NONCE_REASONS = { expired: "Expired", future: "Future", duplicate: "Duplicate" } as const

/** Checks a signed call up to the point where the zome-call workflow takes over (synchronous). */
export type SignedCallCheck = (
  appId: string,
  signed: SignedZomeCall,
) => ZomeCallRequest | ExternalApiError

/** Builds the synchronous checks of steps 1 to 4 (decode, signature, cell, nonce). */
export const makeSignedCallCheck = Effect.gen(function* () {
  const nonces = yield* NonceWitness
  const cells = yield* Cells
  const apps = yield* Apps

  const check: SignedCallCheck = (appId, signed) => {
    const raw = decodeMsgpack(signed.bytes)
    if (raw._tag === "Failure") return deserializationError(`call_zome bytes: ${raw.failure}`)
    const decoded = decodeZomeCallParams(raw.success)
    if (decoded._tag === "Failure") {
      return deserializationError("call_zome bytes are not ZomeCallParams")
    }
    const params = decoded.value
    const digest = sha512(signed.bytes)
    if (!verifySignature(params.provenance.subarray(3, 35), digest, signed.signature)) {
      return new ExternalApiError({
        variant: "zome_call_authentication_failed",
        detail: `signature does not verify for provenance ${encodeHashB64(params.provenance)}`,
      })
    }
    const nameProblem = zomeCallProblem(params)
    if (nameProblem !== undefined) return internalError(nameProblem)
    const cellId = params.cell_id
    const cell = cells.get(cellId)
    if (cell === undefined) {
      return internalError(`cell ${cellName(cellId)} is not running (is its app enabled?)`)
    }
    if (
      cell.appId !== appId &&
      !apps.cellIds(appId).some((id) => cellIdKey(id) === cellIdKey(cellId))
    ) {
      return internalError(`cell ${cellName(cellId)} is not a cell of app "${appId}"`)
    }
    const outcome = nonces.witness(params.provenance, params.nonce, params.expires_at)
    if (outcome !== "ok") {
      return new ExternalApiError({
        variant: "zome_call_unauthorized",
        detail: `BadNonce(${NONCE_REASONS[outcome]}): ${params.zome_name}/${params.fn_name}`,
      })
    }
    return {
      cellId,
      zome: params.zome_name,
      fn: params.fn_name,
      payload: params.payload,
      provenance: params.provenance,
      capSecret: params.cap_secret ?? null,
    }
  }
  return check
})

function cellName(cellId: CellId): string {
  return `[${encodeHashB64(cellId[0])}, ${encodeHashB64(cellId[1])}]`
}

/** Runs a signed call: the checks, then the workflow; fails with the wire error. */
export type SignedCall = (
  appId: string,
  signed: SignedZomeCall,
) => Effect.Effect<Uint8Array, ExternalApiError>

/** Builds the signed-call handler over the conductor's services. */
export const makeSignedCalls = Effect.gen(function* () {
  const check = yield* makeSignedCallCheck
  const zomeCalls = yield* ZomeCalls
  const nonces = yield* NonceWitness
  const store = yield* Store

  const flushNonces = nonces.flush.pipe(
    Effect.catchTag("StoreError", (e) => Effect.logError(`nonces: ${e.message}`)),
  )

  const call: SignedCall = (appId, signed) => {
    const request = check(appId, signed)
    if (request instanceof ExternalApiError) return Effect.fail(request)
    // A call that committed a transaction wrote something.
    const before = store.commits()
    // A call that wrote is acknowledged only once its nonce is stored too (decisions.md).
    const settle = <A, E>(result: Effect.Effect<A, E>) =>
      store.commits() !== before || nonces.pending() >= NONCE_FLUSH_BATCH
        ? Effect.andThen(flushNonces, result)
        : result
    return Effect.matchEffect(zomeCalls.call(request), {
      onSuccess: (output) => settle(Effect.succeed(output)),
      onFailure: (error) => settle(Effect.fail(fromZomeCallError(error))),
    })
  }
  return call
})
