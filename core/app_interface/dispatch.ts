/**
 * The semantics of the app API (conductor-api.md §3): one request payload of an authenticated
 * app connection in, one response payload out. Requests are scoped to the app the connection's
 * token was issued for; the app id never comes from the request. The inner document is decoded
 * with Schema and handled by one exhaustive `switch` on its `type`; every failure becomes the
 * error payload of §1.5 here, in one place.
 *
 * It does not know about websockets: the app interface hands it bytes and sends what it returns.
 *
 * @module
 */
import { Effect } from "effect"
import { Apps, encodedProperties } from "../app/mod.ts"
import { encode } from "../codec/mod.ts"
import { NetworkInfo } from "../network/mod.ts"
import {
  type AppRequest,
  decodeAppRequest,
  decodeMsgpack,
  deserializationError,
  errorPayload,
  exactProperties,
  ExternalApiError,
  internalError,
  toInternalError,
  UNSUPPORTED_APP_REQUESTS,
} from "../admin/api.ts"
import { appRequestProblem } from "../admin/request_identifiers.ts"
import { networkRequest } from "./network_requests.ts"
import { makeSignedCalls } from "./signed_call.ts"

/** A response payload before encoding: `{type}` for unit variants, `{type, value}` otherwise. */
type Reply = { readonly type: string; readonly value?: unknown }

/** A reply; `value` is left out for unit variants (Holochain writes only `{type}`). */
export function reply(type: string, ...value: [] | [unknown]): Reply {
  return value.length === 0 ? { type } : { type, value: value[0] }
}

/** Handles one app request payload for `appId`; never fails. */
export type AppDispatch = (appId: string, payload: Uint8Array) => Effect.Effect<Uint8Array>

/** The decoded request, or the error the client gets instead. */
export function parseAppRequest(payload: Uint8Array): AppRequest | ExternalApiError {
  const raw = decodeMsgpack(payload)
  if (raw._tag === "Failure") return deserializationError(raw.failure)
  const type = (raw.success as { type?: unknown } | null)?.type
  if (typeof type === "string" && UNSUPPORTED_APP_REQUESTS.has(type)) {
    return internalError(`${type} is not supported: this conductor has no network`)
  }
  const request = decodeAppRequest(raw.success)
  return request._tag === "Success" ? request.value : deserializationError()
}

/** The error payload of a failed request. */
export function errorBytes(error: ExternalApiError): Uint8Array {
  return encode(errorPayload(error.variant, error.detail))
}

/**
 * Runs `handle` and encodes its reply or its error: one Effect step, so that the hot path of
 * zome calls pays for no more combinators than it needs.
 */
export function respond<R>(
  handle: Effect.Effect<Reply, ExternalApiError, R>,
): Effect.Effect<Uint8Array, never, R> {
  return Effect.match(handle, { onSuccess: encode, onFailure: errorBytes })
}

/** Builds the app dispatcher over the conductor's services. */
export const makeAppDispatch = Effect.gen(function* () {
  const apps = yield* Apps
  const networkInfo = yield* NetworkInfo
  const callZome = yield* makeSignedCalls
  const internal = Effect.mapError(toInternalError)

  const handle = (
    appId: string,
    request: AppRequest,
    payload: Uint8Array,
  ): Effect.Effect<Reply, ExternalApiError> => {
    const problem = appRequestProblem(request)
    if (problem !== undefined) return Effect.fail(internalError(problem))
    switch (request.type) {
      case "app_info":
        return apps.info(appId).pipe(Effect.map((info) => reply("app_info", info)), internal)
      case "call_zome":
        return Effect.map(callZome(appId, request.value), (output) => reply("zome_called", output))
      case "create_clone_cell": {
        const { value } = request
        const exact = exactProperties(payload, { path: ["value", "modifiers", "properties"] })
        if (exact._tag === "Failure") return Effect.fail(deserializationError(exact.failure))
        const bytes = exact.success.get("")
        return apps.createClone(appId, {
          roleName: value.role_name,
          modifiers: {
            "network_seed": value.modifiers.network_seed,
            properties: bytes === undefined ? value.modifiers.properties : encodedProperties(bytes),
          },
          membraneProof: value.membrane_proof,
          name: value.name,
        }).pipe(Effect.map((cloned) => reply("clone_cell_created", cloned)), internal)
      }
      case "disable_clone_cell":
        return apps.disableClone(appId, request.value.clone_cell_id).pipe(
          Effect.as(reply("clone_cell_disabled")),
          internal,
        )
      case "enable_clone_cell":
        return apps.enableClone(appId, request.value.clone_cell_id).pipe(
          Effect.map((cloned) => reply("clone_cell_enabled", cloned)),
          internal,
        )
      case "provide_memproofs":
        return apps.provideMemproofs(appId, request.value).pipe(Effect.as(reply("ok")), internal)
      case "enable_app":
        return apps.enableAfterMemproofs(appId).pipe(Effect.as(reply("ok")), internal)
    }
  }

  /** A network request of the app (its DNAs only), or undefined. */
  const networkRequestOf = (appId: string, payload: Uint8Array) => {
    const raw = decodeMsgpack(payload)
    if (raw._tag === "Failure") return undefined
    const answer = networkRequest(raw.success, { type: "app", dnas: [] })
    if (answer === undefined) return undefined
    return respond(
      Effect.gen(function* () {
        const info = yield* apps.info(appId).pipe(internal)
        const dnas = Object.values(info?.cell_info ?? {}).flatMap((cells) =>
          cells.map((cell) => cell.value.cell_id[0])
        )
        const scoped = networkRequest(raw.success, { type: "app", dnas })!
        return yield* scoped.pipe(
          Effect.mapError((failure) =>
            failure.type === "deserialization"
              ? deserializationError()
              : internalError(failure.detail)
          ),
        )
      }).pipe(Effect.provideService(NetworkInfo, networkInfo)),
    )
  }

  const dispatch: AppDispatch = (appId, payload) => {
    const request = parseAppRequest(payload)
    if (!(request instanceof ExternalApiError)) return respond(handle(appId, request, payload))
    // Off the hot path: only requests the app decoder does not serve are looked at again.
    const network = networkRequestOf(appId, payload)
    return network === undefined ? Effect.succeed(errorBytes(request)) : network
  }
  return dispatch
})
