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
 * `<data_dir>/receptors/<id>.credentials.json`, so a restart of either side reuses its grant.
 *
 * @module
 */
import { Clock, Duration, Effect, Exit, Fiber, Option, Schema, Scope, Semaphore } from "effect"
import * as path from "node:path"
import { decodeUntrusted, describeDecodeError, encode } from "../../core/codec/mod.ts"
import type { ConductorReceptorConfig } from "../../core/config/mod.ts"
import {
  cellKey,
  type ConductorClientError,
  connectWire,
  generateCredentials,
  readCredentialsFile,
  type SigningCredentials,
  signZomeCall,
  type WireClient,
  writeCredentialsFile,
} from "../../core/client/mod.ts"
import { encodeHashB64 } from "../../core/hash/mod.ts"
import {
  operation,
  type Receptor,
  type ReceptorEnv,
  ReceptorError,
} from "../../core/receptors/mod.ts"
import type { CellId } from "../../core/types/mod.ts"
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

/** An open link to the peer: both websockets, in their own scope, and the app's cells. */
interface Link {
  readonly admin: WireClient
  readonly app: WireClient
  /** Role name, and clone id, to cell id. */
  readonly cells: ReadonlyMap<string, CellId>
  readonly scope: Scope.Closeable
}

interface CellEntry {
  readonly type?: unknown
  readonly value?: { readonly "cell_id"?: unknown; readonly "clone_id"?: unknown }
}

/** The cells of an `app_info` answer: provisioned ones by role, clones by clone id. */
function cellsOf(info: unknown): Map<string, CellId> {
  const cells = new Map<string, CellId>()
  const byRole = (info as { "cell_info"?: unknown } | null)?.cell_info
  if (byRole === null || typeof byRole !== "object") return cells
  for (const [role, entries] of Object.entries(byRole)) {
    if (!Array.isArray(entries)) continue
    for (const entry of entries as ReadonlyArray<CellEntry>) {
      const cellId = entry.value?.cell_id
      if (!Array.isArray(cellId) || cellId.length !== 2) continue
      if (entry.type === "provisioned") cells.set(role, cellId as unknown as CellId)
      else if (entry.type === "cloned" && typeof entry.value?.clone_id === "string") {
        cells.set(entry.value.clone_id, cellId as unknown as CellId)
      }
    }
  }
  return cells
}

function admits(allowedOrigins: unknown, origin: string): boolean {
  if (typeof allowedOrigins !== "string") return false
  return allowedOrigins === "*" || allowedOrigins.split(",").map((o) => o.trim()).includes(origin)
}

/** Starts a `conductor` receptor. */
export function startConductorBridge(config: ConductorReceptorConfig, env: ReceptorEnv) {
  return Effect.gen(function* () {
    const timeout = Duration.millis(config.timeout_ms)
    const adminUrl = new URL(config.admin_url)
    const credentialsPath = path.join(env.dir, `${config.id}.credentials.json`)
    const fail = (op: string, reason: ReceptorError["reason"], detail: string, cause?: unknown) =>
      new ReceptorError({
        receptorId: config.id,
        operation: `conductor.${op}`,
        reason,
        detail,
        ...(cause === undefined ? {} : { cause }),
      })
    const fromClient = (op: string) => (error: ConductorClientError) => {
      switch (error.reason) {
        case "Connect":
        case "Closed":
          return fail(op, "Unreachable", `${config.admin_url}: ${error.message}`, error)
        case "Timeout":
          return fail(op, "Timeout", `${config.admin_url}: ${error.message}`, error)
        default:
          return fail(op, "Remote", `${config.admin_url}: ${error.message}`, error)
      }
    }
    const allowed = config.functions === undefined ? undefined : new Set(config.functions)

    yield* Effect.tryPromise({
      try: () => Deno.mkdir(env.dir, { recursive: true }),
      catch: (cause) => fail("start", "StartFailed", `cannot create ${env.dir}: ${cause}`, cause),
    })
    const credentials = yield* readCredentialsFile(credentialsPath).pipe(
      Effect.mapError((error) => fail("start", "StartFailed", error.message, error)),
    )

    let link: Link | undefined
    let lastError: string | undefined
    const linkLock = yield* Semaphore.make(1)
    const grantLock = yield* Semaphore.make(1)

    const closeLink = (old: Link) =>
      Effect.sync(() => {
        if (link === old) link = undefined
      }).pipe(Effect.andThen(Scope.close(old.scope, Exit.void)))
    yield* Effect.addFinalizer(() => link === undefined ? Effect.void : closeLink(link))

    /** Opens both websockets in `scope`; fails as the wire client does. */
    const open = (scope: Scope.Closeable) =>
      Effect.gen(function* () {
        const wire = { origin: config.origin, timeout }
        const admin = yield* connectWire(config.admin_url, wire)
        let port = config.app_port
        if (port === undefined) {
          const interfaces = (yield* admin.request("list_app_interfaces")) as ReadonlyArray<
            { port?: unknown; "allowed_origins"?: unknown; "installed_app_id"?: unknown }
          >
          const usable = Array.isArray(interfaces)
            ? interfaces.find((i) =>
              (i.installed_app_id === null || i.installed_app_id === config.app_id) &&
              admits(i.allowed_origins, config.origin) && typeof i.port === "number"
            )
            : undefined
          port = usable !== undefined ? usable.port as number : ((yield* admin.request(
            "attach_app_interface",
            { port: null, "allowed_origins": config.origin, "installed_app_id": config.app_id },
          )) as { port?: unknown } | null)?.port as number
        }
        if (!Number.isInteger(port) || port < 1 || port > 65_535) {
          return yield* fail("connect", "Remote", `the app interface port is not a port: ${port}`)
        }
        const issued = (yield* admin.request("issue_app_authentication_token", {
          "installed_app_id": config.app_id,
          "expiry_seconds": 30,
          "single_use": true,
        })) as { token?: unknown } | null
        const token = issued?.token
        if (
          !Array.isArray(token) || token.length > 1024 ||
          !token.every((b) => Number.isInteger(b) && b >= 0 && b <= 255)
        ) {
          return yield* fail("connect", "Remote", "issue_app_authentication_token gave no token")
        }
        const appUrl = `${adminUrl.protocol}//${adminUrl.hostname}:${port}`
        const app = yield* connectWire(appUrl, wire)
        yield* app.authenticate(token)
        const info = yield* app.request("app_info")
        return { admin, app, cells: cellsOf(info), scope } satisfies Link
      }).pipe(Scope.provide(scope))

    /**
     * The connection attempt in progress. Opening a websocket cannot be interrupted, so an attempt
     * that outlives `connect_timeout_ms` keeps running detached; the next call waits for that
     * same attempt (and takes its link if it succeeded late) instead of starting another, so a
     * peer that never answers costs one pending socket, not one per call.
     */
    let attempt:
      | { readonly fiber: Fiber.Fiber<Link, ConductorClientError | ReceptorError> }
      | undefined
    yield* Effect.addFinalizer(() => {
      const pending = attempt
      if (pending === undefined) return Effect.void
      attempt = undefined
      // Detached: the attempt may still be waiting for the peer; its link is closed when it ends.
      return Effect.asVoid(Effect.forkDetach(
        Fiber.await(pending.fiber).pipe(
          Effect.flatMap((exit) => Exit.isSuccess(exit) ? closeLink(exit.value) : Effect.void),
        ),
      ))
    })

    /** Opens a link within `connect_timeout_ms`, or joins the attempt already running. */
    const connect = Effect.gen(function* () {
      let current = attempt
      if (current === undefined) {
        const scope = yield* Scope.make()
        // Detached on purpose: it must be able to outlive this call when the connect times out.
        const fiber = yield* Effect.forkDetach(
          open(scope).pipe(
            Effect.flatMap((opened) =>
              opened.cells.size > 0 ? Effect.succeed(opened) : Effect.fail(fail(
                "connect",
                "NotFound",
                `app "${config.app_id}" is not installed (or has no cells) on ${config.admin_url}`,
              ))
            ),
            Effect.onExit((exit) => Exit.isSuccess(exit) ? Effect.void : Scope.close(scope, exit)),
          ),
        )
        current = attempt = { fiber }
      }
      const exit = yield* Fiber.await(current.fiber).pipe(
        Effect.timeoutOption(Duration.millis(config.connect_timeout_ms)),
      )
      if (Option.isNone(exit)) {
        return yield* fail(
          "connect",
          "Timeout",
          `${config.admin_url}: no connection within ${config.connect_timeout_ms} ms (connect_timeout_ms)`,
        )
      }
      if (attempt === current) attempt = undefined
      if (Exit.isSuccess(exit.value)) return exit.value.value
      const error = Exit.findErrorOption(exit.value)
      if (Option.isNone(error)) return yield* Effect.die(exit.value.cause)
      return yield* (error.value._tag === "ReceptorError"
        ? Effect.fail(error.value)
        : fromClient("connect")(error.value))
    })

    /** The open link, reopened when its sockets closed. */
    const currentLink = linkLock.withPermit(Effect.suspend(() => {
      const current = link
      if (current !== undefined && current.admin.isOpen() && current.app.isOpen()) {
        return Effect.succeed(current)
      }
      return (current === undefined ? Effect.void : closeLink(current)).pipe(
        Effect.andThen(connect),
        Effect.tap((opened) =>
          Effect.sync(() => {
            link = opened
            lastError = undefined
          })
        ),
      )
    }))

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
        const current = yield* currentLink
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
            Effect.tapError((e) => e.reason === "Unreachable" ? closeLink(current) : Effect.void),
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
      const current = yield* currentLink
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
        const connected = link !== undefined && link.admin.isOpen() && link.app.isOpen()
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
