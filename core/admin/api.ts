/**
 * Wire schemas of the Holochain Conductor API (conductor-api.md): the websocket envelope (§1.3),
 * the error payload (§1.5), every admin request this conductor serves (§2) and every app
 * request (§3), the signed zome call (§3.2) and the app authentication handshake (§4). Only
 * shapes and their decoders live here; what a request does is decided in `admin/dispatch.ts`
 * and `app_interface/dispatch.ts`, and how bytes travel in `admin/websocket.ts`.
 *
 * Decoding is lenient where Holochain's own decoders are (§1.4): unit variants accept a missing
 * or nil `value`; `Option` fields accept a missing key or nil; byte strings accept a msgpack bin
 * or an array of small ints, and HoloHashes also their `u…` string form. Unknown map keys are
 * ignored. Location bytes of incoming hashes are never checked (client signing keys carry zero
 * locations, §5).
 *
 * @module
 */
import { type Exit, Result, Schema, SchemaGetter } from "effect"
import { canonicalProperties, decodeOrdered, type MsgValue } from "../bundle/mod.ts"
import { decode, describeDecodeError, msgpackProblem } from "../codec/mod.ts"
import { decodeHashB64, type HashType, type HoloHash } from "../hash/mod.ts"
import { BytesOf, HashOf } from "../types/mod.ts"
import type { ZomeCallError } from "../workflow/zome_call.ts"

// ---------------------------------------------------------------------------------------------
// Bytes

const Byte = Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 255 }))

function toBytes(input: Uint8Array | ReadonlyArray<number>): Uint8Array {
  return input instanceof Uint8Array ? input : Uint8Array.from(input)
}

/** A byte string sent as msgpack bin or as an array of ints 0..255 (a Rust `Vec<u8>`). */
export const WireBytes = Schema.Union([Schema.Uint8Array, Schema.Array(Byte)]).pipe(
  Schema.decodeTo(Schema.Uint8Array, {
    decode: SchemaGetter.transform(toBytes),
    encode: SchemaGetter.transform((bytes: Uint8Array) => bytes),
  }),
)

/** Exactly `n` bytes, sent as bin or int array. */
export function WireBytesOf(n: number) {
  return WireBytes.pipe(
    Schema.decodeTo(
      Schema.Uint8Array.check(
        Schema.makeFilter((u) => u.length === n || `expected ${n} bytes, got ${u.length}`),
      ),
    ),
  )
}

function hashFromWire(input: Uint8Array | ReadonlyArray<number> | string): Uint8Array {
  if (typeof input !== "string") return toBytes(input)
  // A malformed string becomes an empty byte string, which the hash check then rejects.
  return decodeHashB64(input) ?? new Uint8Array(0)
}

/** A HoloHash of one of `types`: bin(39), an int array, or the `u…` string. */
export function WireHash<T extends HashType>(...types: ReadonlyArray<T>) {
  return Schema.Union([Schema.Uint8Array, Schema.Array(Byte), Schema.String]).pipe(
    Schema.decodeTo(Schema.Uint8Array, {
      decode: SchemaGetter.transform(hashFromWire),
      encode: SchemaGetter.transform((bytes: Uint8Array) => bytes),
    }),
    Schema.decodeTo(HashOf(...types)),
  ) as unknown as Schema.Codec<HoloHash<T>, unknown>
}

export const WireAgentPubKey = WireHash("agent")
export const WireDnaHash = WireHash("dna")
export const WireActionHash = WireHash("action")
export const WireCellId = Schema.Tuple([WireDnaHash, WireAgentPubKey])

/** An optional field: the key may be missing, or hold nil (`Option::None`). */
function opt<S extends Schema.Top>(schema: S) {
  return Schema.optional(Schema.NullOr(schema))
}

/** The `value` of a unit variant: missing or nil. */
const Unit = Schema.optional(Schema.Null)

// ---------------------------------------------------------------------------------------------
// Envelope (§1.3)

/** A decoded websocket message (`WireMessage`). */
export const WireMessage = Schema.Union([
  Schema.Struct({
    type: Schema.Literal("request"),
    id: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)),
    data: Schema.Uint8Array,
  }),
  Schema.Struct({ type: Schema.Literal("authenticate"), data: Schema.Uint8Array }),
  Schema.Struct({ type: Schema.Literal("signal"), data: Schema.Uint8Array }),
  Schema.Struct({
    type: Schema.Literal("response"),
    id: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)),
    data: Schema.NullOr(Schema.Uint8Array),
  }),
])
export type WireMessage = typeof WireMessage.Type

// ---------------------------------------------------------------------------------------------
// Errors (§1.5)

/** `ExternalApiWireError` variants. */
export const WireErrorVariant = Schema.Literals([
  "internal_error",
  "deserialization",
  "dna_read_error",
  "ribosome_error",
  "zome_call_authentication_failed",
  "zome_call_unauthorized",
  "countersigning_session_error",
])
export type WireErrorVariant = typeof WireErrorVariant.Type

/**
 * A request that failed in a way the client must see: it becomes
 * `{type: "error", value: {type: variant, value: detail}}` in exactly one place per interface.
 */
export class ExternalApiError extends Schema.TaggedError<ExternalApiError>()("ExternalApiError", {
  variant: WireErrorVariant,
  detail: Schema.String,
}) {
  override get message(): string {
    return `${this.variant}: ${this.detail}`
  }
}

/** The error payload of a response. */
export function errorPayload(variant: WireErrorVariant, detail: string) {
  return { type: "error", value: { type: variant, value: detail } } as const
}

/** Holochain's text for a request that does not decode. */
export const DESERIALIZATION_FAILED = "Failed to deserialize request"

/** A request whose inner payload is not the expected shape. */
export function deserializationError(detail?: string): ExternalApiError {
  return new ExternalApiError({
    variant: "deserialization",
    detail: detail === undefined ? DESERIALIZATION_FAILED : `${DESERIALIZATION_FAILED}: ${detail}`,
  })
}

/** `internal_error` with a message: unknown app or cell, wrong status, storage, keystore, … */
export function internalError(detail: string): ExternalApiError {
  return new ExternalApiError({ variant: "internal_error", detail })
}

/**
 * The wire variant of a zome-call failure: a refused capability is `zome_call_unauthorized`,
 * anything that went wrong while the guest ran (its own error, a trap, an invalid commit, a
 * failed `init`, runaway nesting) is `ribosome_error`, and everything else (no such cell, zome
 * or function; storage) is `internal_error`, as the client's own tests expect for a missing
 * function.
 */
export function zomeCallErrorVariant(reason: ZomeCallError["reason"]): WireErrorVariant {
  switch (reason) {
    case "Unauthorized":
      return "zome_call_unauthorized"
    case "GuestError":
    case "Trap":
    case "InvalidCommit":
    case "InitFailed":
    case "DepthExceeded":
      return "ribosome_error"
    case "CellNotFound":
    case "ZomeNotFound":
    case "FunctionNotFound":
    case "HeadMoved":
    case "Internal":
      return "internal_error"
  }
}

/** A zome-call failure as the client sees it. */
export function fromZomeCallError(error: ZomeCallError): ExternalApiError {
  return new ExternalApiError({ variant: zomeCallErrorVariant(error.reason), detail: error.detail })
}

/** Domain failures that are simply `internal_error` with their message (§1.5). */
export function toInternalError(error: { readonly message: string }): ExternalApiError {
  return internalError(error.message)
}

// ---------------------------------------------------------------------------------------------
// Shared shapes

/** `CloneCellId` (§8). */
export const CloneCellId = Schema.Union([
  Schema.Struct({ type: Schema.Literal("clone_id"), value: Schema.String }),
  Schema.Struct({ type: Schema.Literal("dna_hash"), value: WireDnaHash }),
])
export type CloneCellId = typeof CloneCellId.Type

/** `CapAccess` (§5). */
export const CapAccess = Schema.Union([
  Schema.Struct({ type: Schema.Literal("unrestricted"), value: Unit }),
  Schema.Struct({
    type: Schema.Literal("transferable"),
    value: Schema.Struct({ secret: WireBytesOf(64) }),
  }),
  Schema.Struct({
    type: Schema.Literal("assigned"),
    value: Schema.Struct({ secret: WireBytesOf(64), assignees: Schema.Array(WireAgentPubKey) }),
  }),
])

/** `GrantedFunctions` (§5). */
export const GrantedFunctions = Schema.Union([
  Schema.Struct({ type: Schema.Literal("all"), value: Unit }),
  Schema.Struct({
    type: Schema.Literal("listed"),
    value: Schema.Array(Schema.Tuple([Schema.String, Schema.String])),
  }),
])

/** `ZomeCallCapGrant` (§5). */
export const ZomeCallCapGrant = Schema.Struct({
  tag: Schema.String,
  access: CapAccess,
  functions: GrantedFunctions,
})

/** `DnaModifiersOpt`: what a role setting or a clone may override. */
const ModifiersOpt = Schema.Struct({
  "network_seed": opt(Schema.String),
  properties: Schema.optional(Schema.Unknown),
})

/** `RoleSettings` of `install_app` (§2.2). */
export const RoleSettings = Schema.Union([
  Schema.Struct({
    type: Schema.Literal("provisioned"),
    value: opt(
      Schema.Struct({
        "membrane_proof": opt(WireBytes),
        modifiers: opt(ModifiersOpt),
        "init_properties": opt(WireBytes),
      }),
    ),
  }),
  Schema.Struct({
    type: Schema.Literal("use_existing"),
    value: Schema.Struct({ "cell_id": WireCellId }),
  }),
])

/** `AppStatusFilter` (§8). */
export const AppStatusFilter = Schema.Literals([
  "enabled",
  "disabled",
  "awaiting_memproofs",
  "awaiting_restore",
  "unrecoverable",
])

// ---------------------------------------------------------------------------------------------
// Admin requests (§2.1)

function variant<T extends string, V extends Schema.Top>(type: T, value: V) {
  return Schema.Struct({ type: Schema.Literal(type), value })
}

function unitVariant<T extends string>(type: T) {
  return Schema.Struct({ type: Schema.Literal(type), value: Unit })
}

/** Every admin request this conductor serves. */
export const AdminRequest = Schema.Union([
  unitVariant("generate_agent_pub_key"),
  variant(
    "install_app",
    Schema.Struct({
      source: Schema.Union([
        variant("bytes", WireBytes),
        variant("path", Schema.String),
      ]),
      "agent_key": opt(WireAgentPubKey),
      "installed_app_id": opt(Schema.String),
      "network_seed": opt(Schema.String),
      "roles_settings": opt(Schema.Record(Schema.String, RoleSettings)),
      "ignore_genesis_failure": opt(Schema.Boolean),
      "restore_from_dht": opt(Schema.Boolean),
    }),
  ),
  variant("enable_app", Schema.Struct({ "installed_app_id": Schema.String })),
  variant("disable_app", Schema.Struct({ "installed_app_id": Schema.String })),
  variant(
    "uninstall_app",
    Schema.Struct({ "installed_app_id": Schema.String, force: opt(Schema.Boolean) }),
  ),
  // `listApps()` with no argument sends nil (§9): treated as no filter.
  variant(
    "list_apps",
    opt(Schema.Struct({ "status_filter": opt(AppStatusFilter) })),
  ),
  variant(
    "attach_app_interface",
    Schema.Struct({
      port: opt(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 65535 }))),
      "danger_bind_addr": opt(Schema.String),
      "allowed_origins": Schema.String,
      "installed_app_id": opt(Schema.String),
    }),
  ),
  unitVariant("list_app_interfaces"),
  variant(
    "issue_app_authentication_token",
    Schema.Struct({
      "installed_app_id": Schema.String,
      "expiry_seconds": opt(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))),
      "single_use": opt(Schema.Boolean),
    }),
  ),
  variant("revoke_app_authentication_token", WireBytes),
  variant(
    "grant_zome_call_capability",
    Schema.Struct({ "cell_id": WireCellId, "cap_grant": ZomeCallCapGrant }),
  ),
  variant(
    "revoke_zome_call_capability",
    Schema.Struct({ "action_hash": WireActionHash, "cell_id": WireCellId }),
  ),
  variant(
    "list_capability_grants",
    Schema.Struct({ "installed_app_id": Schema.String, "include_revoked": opt(Schema.Boolean) }),
  ),
  unitVariant("list_dnas"),
  unitVariant("list_cell_ids"),
  variant("get_dna_definition", WireCellId),
  variant(
    "delete_clone_cell",
    Schema.Struct({ "app_id": Schema.String, "clone_cell_id": CloneCellId }),
  ),
  unitVariant("storage_info"),
  variant(
    "dump_state",
    Schema.Struct({
      "cell_id": WireCellId,
      "source_chain_cursor": Schema.optional(Schema.Unknown),
      limit: opt(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))),
    }),
  ),
])
export type AdminRequest = typeof AdminRequest.Type

/**
 * Admin requests Holochain 0.7 serves that this conductor deliberately does not (coordinator
 * hot-swap, full state dumps, extra admin interfaces; the network requests are answered by
 * app_interface/network_requests.ts): they get `internal_error` naming the request
 * rather than a `deserialization` error, so a client can tell "unsupported" from "malformed".
 */
export const UNSUPPORTED_ADMIN_REQUESTS: ReadonlySet<string> = new Set([
  "update_coordinators",
  "dump_full_state",
  "dump_conductor_state",
  "add_admin_interfaces",
])

// ---------------------------------------------------------------------------------------------
// App requests (§3.1)

/** Every app request this conductor serves. */
export const AppRequest = Schema.Union([
  unitVariant("app_info"),
  variant(
    "call_zome",
    Schema.Struct({ bytes: WireBytes, signature: WireBytesOf(64) }),
  ),
  variant(
    "create_clone_cell",
    Schema.Struct({
      "role_name": Schema.String,
      modifiers: ModifiersOpt,
      "membrane_proof": opt(WireBytes),
      name: opt(Schema.String),
    }),
  ),
  variant("disable_clone_cell", Schema.Struct({ "clone_cell_id": CloneCellId })),
  variant("enable_clone_cell", Schema.Struct({ "clone_cell_id": CloneCellId })),
  variant("provide_memproofs", Schema.Record(Schema.String, WireBytes)),
  unitVariant("enable_app"),
])
export type AppRequest = typeof AppRequest.Type

/** App requests of Holochain 0.7 that need networking, which this conductor does not have. */
export const UNSUPPORTED_APP_REQUESTS: ReadonlySet<string> = new Set([
  "send_direct_signal",
])

/** `ZomeCallParams` (§3.2): the content of `call_zome.bytes`. */
export const ZomeCallParams = Schema.Struct({
  provenance: WireAgentPubKey,
  "cell_id": WireCellId,
  "zome_name": Schema.String,
  "fn_name": Schema.String,
  "cap_secret": opt(WireBytesOf(64)),
  payload: WireBytes,
  nonce: WireBytesOf(32),
  "expires_at": Schema.Int,
})
export type ZomeCallParams = typeof ZomeCallParams.Type

/** `AppAuthenticationRequest` (§4): the token as an int array (Holochain) or a bin (lenient). */
export const AppAuthenticationRequest = Schema.Struct({ token: WireBytes })

// ---------------------------------------------------------------------------------------------
// Decoders (synchronous; they never throw)

/**
 * Decodes one untrusted msgpack document; the failure says what is wrong. The structure is
 * checked first, so that no declared length can make the decoder allocate more than the bytes
 * justify (see `codec/check.ts`).
 */
export function decodeMsgpack(bytes: Uint8Array): Result.Result<unknown, string> {
  const problem = msgpackProblem(bytes)
  if (problem !== undefined) return Result.fail(problem)
  try {
    return Result.succeed(decode(bytes))
  } catch (cause) {
    return Result.fail(describeDecodeError(cause))
  }
}

export const decodeWireMessage = Schema.decodeUnknownExit(WireMessage)
export const decodeAdminRequest = Schema.decodeUnknownExit(AdminRequest)
export const decodeAppRequest = Schema.decodeUnknownExit(AppRequest)
const decodeZomeCallParamsLenient = Schema.decodeUnknownExit(ZomeCallParams)
const decodeZomeCallParamsStrict = Schema.decodeUnknownExit(Schema.Struct({
  provenance: HashOf("agent"),
  "cell_id": Schema.Tuple([HashOf("dna"), HashOf("agent")]),
  "zome_name": Schema.String,
  "fn_name": Schema.String,
  "cap_secret": opt(BytesOf(64)),
  payload: Schema.Uint8Array,
  nonce: BytesOf(32),
  "expires_at": Schema.Int,
}))
/**
 * `ZomeCallParams` from a decoded document. The client always sends bins, which the strict
 * schema checks in a fraction of the lenient one's time; anything else gets the lenient one.
 */
export function decodeZomeCallParams(
  input: unknown,
): Exit.Exit<ZomeCallParams, Schema.SchemaError> {
  const strict = decodeZomeCallParamsStrict(input)
  return strict._tag === "Success" ? strict : decodeZomeCallParamsLenient(input)
}
export const decodeAppAuthenticationRequest = Schema.decodeUnknownExit(AppAuthenticationRequest)

// ---------------------------------------------------------------------------------------------
// Exact DNA properties

function msgAt(value: MsgValue | undefined, path: ReadonlyArray<string>): MsgValue | undefined {
  let current = value
  for (const key of path) {
    if (current?.type !== "map") return undefined
    current = current.entries.find(([k]) => k.type === "str" && k.value === key)?.[1]
  }
  return current
}

function canonical(value: MsgValue, where: string): Result.Result<Uint8Array, string> {
  const bytes = canonicalProperties(value)
  return bytes._tag === "Success" ? bytes : Result.fail(`${where}: ${bytes.failure}`)
}

/**
 * The DNA properties a request carries, as the exact msgpack Holochain would hash: read from the
 * request's own bytes in order (a JS object would reorder integer-like keys and turn `1.0` into
 * `1`) and re-encoded as a YAML value (so a bin is refused). `path` leads from the request
 * payload to a map of roles (`rolesPath`) or to the properties themselves.
 */
export function exactProperties(
  payload: Uint8Array,
  options: { readonly rolesPath?: ReadonlyArray<string>; readonly path?: ReadonlyArray<string> },
): Result.Result<ReadonlyMap<string, Uint8Array>, string> {
  let tree: MsgValue
  try {
    tree = decodeOrdered(payload, { maxDepth: 512 })
  } catch (cause) {
    return Result.fail(describeDecodeError(cause))
  }
  const out = new Map<string, Uint8Array>()
  if (options.path !== undefined) {
    const value = msgAt(tree, options.path)
    if (value !== undefined && value.type !== "nil") {
      const bytes = canonical(value, "properties")
      if (bytes._tag === "Failure") return Result.fail(bytes.failure)
      out.set("", bytes.success)
    }
  }
  const roles = options.rolesPath === undefined ? undefined : msgAt(tree, options.rolesPath)
  if (roles?.type === "map") {
    for (const [key, setting] of roles.entries) {
      if (key.type !== "str") continue
      const value = msgAt(setting, ["value", "modifiers", "properties"])
      if (value === undefined || value.type === "nil") continue
      const bytes = canonical(value, `roles_settings.${key.value}.modifiers.properties`)
      if (bytes._tag === "Failure") return Result.fail(bytes.failure)
      out.set(key.value, bytes.success)
    }
  }
  return Result.succeed(out)
}
