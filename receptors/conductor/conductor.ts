/**
 * The `conductor` receptor: a bridge that calls zome functions of one app on another conductor
 * through its Conductor API websockets, as a script with `@holochain/client` would (admin
 * websocket: an app interface, a single-use app token, a capability grant to the bridge's own
 * signing key; app websocket: authenticate, `app_info`, signed `call_zome`). It uses the
 * conductor's own wire client (`core/client/`).
 *
 * The link is opened on the first call, not at start, so a bridge whose peer is down still
 * starts (its health says so). A link whose sockets closed (the peer restarted) is reopened
 * before the next call is sent; a call in flight when the link drops fails as `Unreachable` and
 * is not resent, since the peer may have run it. Every call is bounded by `timeout_ms`, opening
 * the link by `connect_timeout_ms`; payloads and outputs by `max_payload_bytes` and
 * `max_output_bytes`. The signing key and cap secret per remote cell are kept (mode 0600) in
 * `<data_dir>/receptors/<id>.credentials.json`, so a restart of either side reuses its grant. The
 * websockets themselves are `link.ts`'s.
 *
 * @module
 */
import { Clock, Duration, Effect, Schema, Semaphore } from "effect"
import * as path from "node:path"
import { decodeUntrusted, describeDecodeError, encode } from "../../core/codec/mod.ts"
import type { ConductorReceptorConfig } from "../../core/config/mod.ts"
import {
  cellKey,
  type ConductorClientError,
  generateCredentials,
  readCredentialsFile,
  type SigningCredentials,
  signZomeCall,
  writeCredentialsFile,
} from "../../core/client/mod.ts"
import { encodeHashB64 } from "../../core/hash/mod.ts"
import { operation, type Receptor, type ReceptorEnv } from "../../core/receptors/mod.ts"
import type { CellId } from "../../core/types/mod.ts"
import { bridgeErrors, type Link, makeLinks } from "./link.ts"
import { answerToJson, payloadFromJson } from "./wire_values.ts"

const Name = Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(256))

const Call = Schema.Struct({
  /** The role (or clone id, `role.N`) of the cell to call. */
  role: Name,
  zome: Name,
  fn: Name,
  /** The payload as JSON (`uhC…` strings are sent as hashes). @default null */
  payload: Schema.optionalKey(Schema.Json),
})

/** Starts a `conductor` receptor. */
export function startConductorBridge(config: ConductorReceptorConfig, env: ReceptorEnv) {
  return Effect.gen(function* () {
    const timeout = Duration.millis(config.timeout_ms)
    const credentialsPath = path.join(env.dir, `${config.id}.credentials.json`)
    const { fail, fromClient } = bridgeErrors(config)
    const allowed = config.functions === undefined ? undefined : new Set(config.functions)

    yield* Effect.tryPromise({
      try: () => Deno.mkdir(env.dir, { recursive: true }),
      catch: (cause) => fail("start", "StartFailed", `cannot create ${env.dir}: ${cause}`, cause),
    })
    const credentials = yield* readCredentialsFile(credentialsPath).pipe(
      Effect.mapError((error) => fail("start", "StartFailed", error.message, error)),
    )

    const links = yield* makeLinks(config)
    let lastError: string | undefined
    const grantLock = yield* Semaphore.make(1)

    /** Credentials granted on `cellId` (granted now if there are none yet, or `renew`). */
    const credentialsFor = (current: Link, cellId: CellId, renew: boolean) =>
      grantLock.withPermit(Effect.gen(function* () {
        const key = cellKey(cellId)
        const known = credentials.get(key)
        if (known !== undefined && !renew) return known
        const fresh = generateCredentials()
        yield* current.admin.request("grant_zome_call_capability", {
          "cell_id": cellId,
          "cap_grant": {
            tag: `receptor ${config.id}`,
            access: {
              type: "assigned",
              value: { secret: fresh.capSecret, assignees: [fresh.signingKey] },
            },
            functions: allowed === undefined
              ? { type: "all" }
              : { type: "listed", value: [...allowed].map((zf) => zf.split("/")) },
          },
        }).pipe(Effect.mapError(fromClient("grant")))
        credentials.set(key, fresh)
        yield* writeCredentialsFile(credentialsPath, credentials).pipe(
          Effect.mapError((error) => fail("grant", "Storage", error.message, error)),
        )
        return fresh
      }))

    const send = (
      current: Link,
      signer: SigningCredentials,
      target: { cellId: CellId; zome: string; fn: string; payload: Uint8Array },
    ) =>
      Effect.flatMap(
        Clock.currentTimeMillis,
        (now) =>
          current.app.request("call_zome", signZomeCall(signer, target, now)).pipe(
            Effect.mapError(fromClient("call")),
          ),
      )

    const call = (input: typeof Call.Type) =>
      Effect.gen(function* () {
        const name = `${input.zome}/${input.fn}`
        if (allowed !== undefined && !allowed.has(name)) {
          return yield* fail(
            "call",
            "InvalidInput",
            `${name} is not among the functions this receptor may call (functions: ${
              [...allowed].join(", ")
            })`,
          )
        }
        const payload = encode(payloadFromJson(input.payload ?? null))
        if (payload.length > config.max_payload_bytes) {
          return yield* fail(
            "call",
            "TooLarge",
            `the payload is ${payload.length} bytes of msgpack, more than max_payload_bytes ${config.max_payload_bytes}`,
          )
        }
        const current = yield* links.current
        const cellId = current.cells.get(input.role)
        if (cellId === undefined) {
          return yield* fail(
            "call",
            "NotFound",
            `app "${config.app_id}" has no cell "${input.role}" (it has: ${
              [...current.cells.keys()].join(", ")
            })`,
          )
        }
        const target = { cellId, zome: input.zome, fn: input.fn, payload }
        const output = yield* send(current, yield* credentialsFor(current, cellId, false), target)
          .pipe(
            // Stored credentials whose grant is gone (the peer was reset): grant anew, once.
            Effect.catchIf(
              (e) =>
                e.reason === "Remote" &&
                (e.cause as ConductorClientError | undefined)?.variant ===
                  "zome_call_unauthorized",
              () =>
                Effect.flatMap(
                  credentialsFor(current, cellId, true),
                  (fresh) => send(current, fresh, target),
                ),
            ),
            Effect.tapError((e) => e.reason === "Unreachable" ? links.drop(current) : Effect.void),
          )
        if (!(output instanceof Uint8Array)) {
          return yield* fail("call", "Remote", "call_zome answered something that is not bytes")
        }
        if (output.length > config.max_output_bytes) {
          return yield* fail(
            "call",
            "TooLarge",
            `${name} answered ${output.length} bytes, more than max_output_bytes ${config.max_output_bytes}`,
          )
        }
        const value = yield* Effect.try({
          try: () => decodeUntrusted(output),
          catch: (cause) =>
            fail(
              "call",
              "Remote",
              `${name} answered bytes that are not msgpack (${describeDecodeError(cause)})`,
            ),
        })
        lastError = undefined
        return answerToJson(value)
      }).pipe(
        Effect.timeoutOrElse({
          duration: timeout,
          orElse: () =>
            Effect.fail(
              fail("call", "Timeout", `no answer within ${config.timeout_ms} ms (timeout_ms)`),
            ),
        }),
        Effect.tapError((e) => Effect.sync(() => lastError = e.detail)),
      )

    const appInfo = Effect.gen(function* () {
      const current = yield* links.current
      lastError = undefined
      return {
        "app_id": config.app_id,
        cells: Object.fromEntries(
          [...current.cells].map((
            [role, [dna, agent]],
          ) => [role, [encodeHashB64(dna), encodeHashB64(agent)]]),
        ),
      }
    }).pipe(
      Effect.timeoutOrElse({
        duration: timeout,
        orElse: () =>
          Effect.fail(
            fail("app_info", "Timeout", `no answer within ${config.timeout_ms} ms (timeout_ms)`),
          ),
      }),
      Effect.tapError((e) => Effect.sync(() => lastError = e.detail)),
    )

    const receptor: Receptor = {
      id: config.id,
      type: "conductor",
      operations: {
        call: operation(Call, {
          readOnly: false,
          summary: "{role, zome, fn, payload?} → the zome function's output (JSON)",
        }, call),
        "app_info": operation(Schema.Struct({}), {
          readOnly: true,
          summary: "{} → {app_id, cells: {role: [dna, agent]}} of the app on the other conductor",
        }, () => appInfo),
      },
      health: Effect.sync(() => {
        const connected = links.connected()
        return {
          status: connected || lastError === undefined ? "ok" as const : "degraded" as const,
          detail: connected
            ? `connected to ${config.admin_url}, app ${config.app_id}`
            : lastError === undefined
            ? `not connected yet (${config.admin_url}); connects on the first call`
            : `not connected: ${lastError}`,
          info: { connected, "admin_url": config.admin_url, "app_id": config.app_id },
        }
      }),
    }
    return { receptor }
  })
}
