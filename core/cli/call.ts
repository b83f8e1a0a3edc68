/**
 * `conductor call`: calls a zome function of a running conductor through the Conductor API, the
 * way a script with `@holochain/client` does (admin websocket: app token and signing
 * credentials; app websocket: authenticate, `app_info`, signed `call_zome`), and prints the
 * result as JSON. It needs only the admin port; it never touches the data folder.
 *
 * @module
 */
import { Clock, Console, Effect, Schema } from "effect"
import { decode, encode } from "../codec/mod.ts"
import { decodeHashB64 } from "../hash/mod.ts"
import type { CellId } from "../types/mod.ts"
import { toJson } from "../admin/mod.ts"
import { originAllowed, parseAllowedOrigins } from "../wire/mod.ts"
import {
  cellKey,
  ConductorClientError,
  connectWire,
  generateCredentials,
  readCredentialsFile,
  type SigningCredentials,
  signZomeCall,
  type WireClient,
  writeCredentialsFile,
} from "../client/mod.ts"

/** The description `conductor call --help` shows above its flags. */
export const CALL_DESCRIPTION =
  `Call zome function FN of zome ZOME in role ROLE (or clone "ROLE.N") of app APP on a running
conductor, through its admin and app websockets, and print the result as JSON.

JSON is the payload (default: null). Strings that are HoloHashes ("uhC…") are sent as hashes
(bytes); in the result, hashes are printed as "uhC…" strings and other bytes as base64url.

What it does, as a script with @holochain/client would:
  1. admin websocket: issue a single-use app token for APP; find an app interface that admits
     the origin and APP (or attach one, bound to APP, which the conductor keeps);
  2. grant a capability to a new signing key (only ZOME/FN, unless --credentials is given);
  3. app websocket: authenticate, app_info, and a signed call_zome.

Exit status: 0 on success; 1 with "conductor: <error variant>: <message>" on stderr otherwise.`

/** Parsed `conductor call` arguments. */
export interface CallOptions {
  readonly appId: string
  readonly role: string
  readonly zome: string
  readonly fn: string
  /** JSON text. @default "null" */
  readonly payload?: string | undefined
  /** @default "localhost" */
  readonly host?: string | undefined
  /** @default 4444 */
  readonly adminPort?: number | undefined
  readonly appPort?: number | undefined
  /** @default "conductor-cli" */
  readonly origin?: string | undefined
  readonly credentialsFile?: string | undefined
  /** @default 30000 */
  readonly timeoutMs?: number | undefined
}

/** A call that cannot be made as asked. */
export class CallCommandError
  extends Schema.TaggedError<CallCommandError>()("CallCommandError", { detail: Schema.String }) {
  override get message(): string {
    return this.detail
  }
}

/** JSON from the command line as msgpack: HoloHash strings become bytes. */
export function payloadFromJson(value: unknown): unknown {
  if (typeof value === "string") return decodeHashB64(value) ?? value
  if (Array.isArray(value)) return value.map(payloadFromJson)
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, payloadFromJson(v)]))
  }
  return value
}

function parsePayload(text: string | undefined) {
  if (text === undefined) return Effect.succeed(null)
  return Effect.try({
    try: () => payloadFromJson(JSON.parse(text)),
    catch: (cause) =>
      new CallCommandError({
        detail: `PAYLOAD is not JSON: ${cause instanceof Error ? cause.message : cause}`,
      }),
  })
}

interface InterfaceInfo {
  readonly port: number
  readonly "allowed_origins": string
  readonly "installed_app_id": string | null
}

interface CellEntry {
  readonly type: string
  readonly value: { readonly "cell_id": CellId; readonly "clone_id"?: string }
}

/** The cell of `role` (or clone `role.N`) in an `app_info` answer. */
export function cellOfRole(appInfo: unknown, role: string): CellId | undefined {
  const cells = (appInfo as { "cell_info"?: Record<string, ReadonlyArray<CellEntry>> } | null)
    ?.cell_info
  if (cells === undefined) return undefined
  const base = role.includes(".") ? role.slice(0, role.indexOf(".")) : role
  const entry = role.includes(".")
    ? cells[base]?.find((c) => c.type === "cloned" && c.value.clone_id === role)
    : cells[base]?.find((c) => c.type === "provisioned")
  return entry?.value.cell_id
}

const grantFor = (
  admin: WireClient,
  cellId: CellId,
  credentials: SigningCredentials,
  functions: unknown,
) =>
  admin.request("grant_zome_call_capability", {
    "cell_id": cellId,
    "cap_grant": {
      tag: "conductor-cli",
      access: {
        type: "assigned",
        value: { secret: credentials.capSecret, assignees: [credentials.signingKey] },
      },
      functions,
    },
  })

/** Runs `conductor call`. */
export const callCommand = (options: CallOptions) =>
  Effect.scoped(Effect.gen(function* () {
    const host = options.host ?? "localhost"
    const origin = options.origin ?? "conductor-cli"
    const wire = { origin, timeout: options.timeoutMs ?? 30_000 }
    const payload = encode(yield* parsePayload(options.payload))
    const admin = yield* connectWire(`ws://${host}:${options.adminPort ?? 4444}`, wire)

    let appPort = options.appPort
    if (appPort === undefined) {
      const interfaces = (yield* admin.request("list_app_interfaces")) as Array<InterfaceInfo>
      const usable = interfaces.find((i) => {
        return (i.installed_app_id === null || i.installed_app_id === options.appId) &&
          originAllowed(parseAllowedOrigins(i.allowed_origins), origin)
      })
      if (usable !== undefined) {
        appPort = usable.port
      } else {
        const attached = (yield* admin.request("attach_app_interface", {
          port: null,
          "allowed_origins": origin,
          "installed_app_id": options.appId,
        })) as { port: number }
        appPort = attached.port
        yield* Console.error(
          `attached app interface on port ${appPort} for app ${options.appId} (origin ${origin}); the conductor keeps it`,
        )
      }
    }

    const issued = (yield* admin.request("issue_app_authentication_token", {
      "installed_app_id": options.appId,
      "expiry_seconds": 30,
      "single_use": true,
    })) as { token: Array<number> }
    const app = yield* connectWire(`ws://${host}:${appPort}`, wire)
    yield* app.authenticate(issued.token)
    const info = yield* app.request("app_info")
    if (info === null) {
      return yield* new CallCommandError({ detail: `app ${options.appId} is not installed` })
    }
    const cellId = cellOfRole(info, options.role)
    if (cellId === undefined) {
      return yield* new CallCommandError({
        detail: `app ${options.appId} has no cell for role ${options.role}`,
      })
    }

    const file = options.credentialsFile
    const stored = file === undefined ? new Map() : yield* readCredentialsFile(file)
    const grantNew = Effect.gen(function* () {
      const fresh = generateCredentials()
      yield* grantFor(
        admin,
        cellId,
        fresh,
        file === undefined
          ? { type: "listed", value: [[options.zome, options.fn]] }
          : { type: "all" },
      )
      if (file !== undefined) {
        stored.set(cellKey(cellId), fresh)
        yield* writeCredentialsFile(file, stored)
      }
      return fresh
    })
    const cached: SigningCredentials | undefined = stored.get(cellKey(cellId))
    const call = (credentials: SigningCredentials) =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        const signed = signZomeCall(
          credentials,
          { cellId: cellId, zome: options.zome, fn: options.fn, payload },
          now,
        )
        return (yield* app.request("call_zome", signed)) as Uint8Array
      })
    const output = cached === undefined
      ? yield* Effect.flatMap(grantNew, call)
      : yield* call(cached).pipe(
        // Stored credentials whose grant was revoked: grant a new key once and retry.
        Effect.catchTag(
          "ConductorClientError",
          (e) =>
            e.variant === "zome_call_unauthorized"
              ? Effect.flatMap(grantNew, call)
              : Effect.fail(e),
        ),
      )
    const value = output instanceof Uint8Array ? decode(output) : output
    yield* Console.log(JSON.stringify(toJson(value), null, 2))
  }))

export { ConductorClientError }
