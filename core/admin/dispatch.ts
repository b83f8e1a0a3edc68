/**
 * The semantics of the admin API (conductor-api.md §2): one request payload in, one response
 * payload out. The inner document is decoded with Schema (`api.ts`) and handled by one
 * exhaustive `switch` on its `type` that calls the conductor's services; every failure becomes
 * the error payload of §1.5 here, in one place (Holochain's `api_external/admin_interface.rs`).
 *
 * It does not know about websockets: the admin interface hands it bytes and sends what it
 * returns.
 *
 * @module
 */
import { Effect } from "effect"
import {
  type AppInfo,
  Apps,
  Capabilities,
  encodedProperties,
  type GrantInfo,
  type RoleSettings as AppRoleSettings,
} from "../app/mod.ts"
import { cellIdKey, Cells } from "../cell/mod.ts"
import { Chain } from "../chain/mod.ts"
import { decode, encode } from "../codec/mod.ts"
import { encodeHashB64 } from "../hash/mod.ts"
import { Keystore } from "../keystore/mod.ts"
import { RibosomeStore } from "../ribosome_store/mod.ts"
import { Spaces } from "../space/mod.ts"
import { Store } from "../store/mod.ts"
import { canonicalCapGrant, type CapGrant, type CellId } from "../types/mod.ts"
import { AppInterfaces, AppTokens, networkRequest } from "../app_interface/mod.ts"
import { NetworkInfo } from "../network/mod.ts"
import { reply } from "../app_interface/dispatch.ts"
import {
  type AdminRequest,
  decodeAdminRequest,
  decodeMsgpack,
  deserializationError,
  errorPayload,
  exactProperties,
  ExternalApiError,
  internalError,
  type RoleSettings,
  toInternalError,
  UNSUPPORTED_ADMIN_REQUESTS,
  type ZomeCallCapGrant,
} from "./api.ts"
import { toJson } from "./json.ts"
import { adminRequestProblem } from "./request_identifiers.ts"

/** Handles one admin request payload; never fails. */
export type AdminDispatch = (payload: Uint8Array) => Effect.Effect<Uint8Array>

/** The decoded request, or the error the client gets instead. */
export function parseAdminRequest(payload: Uint8Array): AdminRequest | ExternalApiError {
  const raw = decodeMsgpack(payload)
  if (raw._tag === "Failure") return deserializationError(raw.failure)
  const type = (raw.success as { type?: unknown } | null)?.type
  if (typeof type === "string" && UNSUPPORTED_ADMIN_REQUESTS.has(type)) {
    return internalError(`${type} is not supported by this conductor`)
  }
  const request = decodeAdminRequest(raw.success)
  return request._tag === "Success" ? request.value : deserializationError()
}

/** The grant of a `grant_zome_call_capability` request, in the chain's canonical form. */
function capGrantOf(grant: typeof ZomeCallCapGrant.Type): CapGrant {
  const access: CapGrant["access"] = grant.access.type === "unrestricted"
    ? { type: "unrestricted" }
    : grant.access.type === "transferable"
    ? { type: "transferable", value: { secret: grant.access.value.secret } }
    : {
      type: "assigned",
      value: { secret: grant.access.value.secret, assignees: grant.access.value.assignees },
    }
  const functions: CapGrant["functions"] = grant.functions.type === "all"
    ? { type: "all" }
    : { type: "listed", value: grant.functions.value }
  return canonicalCapGrant({ tag: grant.tag, access, functions })
}

/** `roles_settings` as `Apps.install` takes them. */
function rolesSettingsOf(
  settings: { readonly [role: string]: typeof RoleSettings.Type } | null | undefined,
  exact: ReadonlyMap<string, Uint8Array>,
): { readonly [role: string]: AppRoleSettings } | null {
  if (settings === null || settings === undefined) return null
  const out: { [role: string]: AppRoleSettings } = {}
  for (const [role, setting] of Object.entries(settings)) {
    if (setting.type === "use_existing") {
      out[role] = { type: "use_existing", value: { "cell_id": setting.value.cell_id } }
      continue
    }
    const modifiers = setting.value?.modifiers
    out[role] = {
      type: "provisioned",
      value: {
        "membrane_proof": setting.value?.membrane_proof ?? null,
        modifiers: modifiers === null || modifiers === undefined ? null : {
          ...(modifiers.network_seed !== undefined
            ? { "network_seed": modifiers.network_seed }
            : {}),
          ...(modifiers.properties !== undefined
            ? { properties: exactOr(exact.get(role), modifiers.properties) }
            : {}),
        },
      },
    }
  }
  return out
}

/** The exact bytes when the request had them, else the decoded value. */
function exactOr(bytes: Uint8Array | undefined, value: unknown): unknown {
  return bytes === undefined ? value : encodedProperties(bytes)
}

/** `CapGrantInfo` of `list_capability_grants`: the grant without its secret. */
function grantInfoWire(info: GrantInfo) {
  const access = info.grant.access
  return {
    "cap_grant": {
      tag: info.grant.tag,
      access: {
        "access_type": access.type,
        assignees: access.type === "assigned" ? access.value.assignees : null,
      },
      functions: info.grant.functions,
    },
    "action_hash": info.actionHash,
    "created_at": info.createdAt,
    "revoked_at": info.revokedAt,
  }
}

/** The cell ids an app's info lists (provisioned and cloned). */
function cellIdsOf(info: AppInfo): ReadonlyArray<CellId> {
  return Object.values(info.cell_info).flatMap((list) =>
    list.map((cell) => cell.value.cell_id as CellId)
  )
}

/** Builds the admin dispatcher over the conductor's services. */
export const makeAdminDispatch = Effect.gen(function* () {
  const keystore = yield* Keystore
  const apps = yield* Apps
  const capabilities = yield* Capabilities
  const ribosomeStore = yield* RibosomeStore
  const cells = yield* Cells
  const chain = yield* Chain
  const spaces = yield* Spaces
  const store = yield* Store
  const appInterfaces = yield* AppInterfaces
  const tokens = yield* AppTokens
  const networkInfo = yield* NetworkInfo

  /** Fails unless some installed app has the cell. */
  const requireInstalledCell = (cellId: CellId) =>
    Effect.gen(function* () {
      const key = cellIdKey(cellId)
      if (cells.get(cellId) !== undefined) return
      const installed = yield* apps.list(null)
      if (installed.some((info) => cellIdsOf(info).some((id) => cellIdKey(id) === key))) return
      return yield* internalError(
        `cell [${encodeHashB64(cellId[0])}, ${encodeHashB64(cellId[1])}] is not installed`,
      )
    })

  const storageInfo = Effect.gen(function* () {
    const installed = yield* apps.list(null)
    const usedBy = new Map<string, Set<string>>()
    for (const info of installed) {
      for (const [dna] of cellIdsOf(info)) {
        const key = encodeHashB64(dna)
        let set = usedBy.get(key)
        if (set === undefined) usedBy.set(key, set = new Set())
        set.add(info.installed_app_id)
      }
    }
    const dnas = ribosomeStore.dnaHashes()
    const stats = yield* Effect.forEach(dnas, (dna) => spaces.stats(dna))
    const total = stats.reduce((sum, s) => sum + s.bytes, 0)
    // One database holds every DNA: its size on disk is shared out by each DNA's data.
    const onDisk = store.sizeOnDisk()
    return {
      blobs: dnas.map((dna, i) => ({
        type: "dna",
        value: {
          "dht_data_size": stats[i]!.bytes,
          "dht_data_size_on_disk": total === 0 ? 0 : Math.round(onDisk * stats[i]!.bytes / total),
          "dna_hash": dna,
          "used_by": [...(usedBy.get(encodeHashB64(dna)) ?? [])].sort(),
        },
      })),
    }
  })

  const dumpState = (cellId: CellId, limit: number | null) =>
    Effect.gen(function* () {
      yield* requireInstalledCell(cellId)
      const [dna, agent] = cellId
      const all = yield* chain.query(dna, agent, { includeEntries: true })
      const records = limit === null ? all : all.slice(0, limit)
      const { ops } = yield* spaces.stats(dna)
      const dump = {
        "peer_dump": { "this_agent_info": null, "this_dna": null, "this_agent": null, peers: [] },
        "source_chain_dump": {
          records: records.map((r) => ({
            signature: toJson(r.signature),
            "action_address": toJson(r.action_hash),
            action: toJson(r.action),
            entry: toJson(r.entry),
          })),
          // Everything is integrated locally at commit; nothing is published to a network.
          "published_ops_count": 0,
        },
        "integration_dump": { "validation_limbo": 0, "integration_limbo": 0, integrated: ops },
      }
      const summary = `--- Cell State Dump Summary ---\nNumber of other peers in p2p store: 0,\n` +
        `Records authored: ${all.length},\nOps published: 0`
      return JSON.stringify([dump, summary], null, 2)
    })

  const handle = (request: AdminRequest, payload: Uint8Array) =>
    Effect.gen(function* () {
      const problem = adminRequestProblem(request)
      if (problem !== undefined) return yield* internalError(problem)
      switch (request.type) {
        case "generate_agent_pub_key":
          return reply("agent_pub_key_generated", yield* keystore.generate)
        case "install_app": {
          const { value } = request
          if (value.restore_from_dht === true) {
            return yield* internalError("restore_from_dht is not supported: there is no network")
          }
          // Refused rather than ignored: an app that sends them expects them to take effect.
          for (const [role, setting] of Object.entries(value.roles_settings ?? {})) {
            if (
              setting.type === "provisioned" && (setting.value?.init_properties ?? null) !== null
            ) {
              return yield* internalError(
                `roles_settings.${role}.init_properties is not supported by this conductor`,
              )
            }
          }
          const exact = exactProperties(payload, { rolesPath: ["value", "roles_settings"] })
          if (exact._tag === "Failure") return yield* deserializationError(exact.failure)
          const info = yield* apps.install({
            source: value.source,
            agentKey: value.agent_key,
            installedAppId: value.installed_app_id,
            networkSeed: value.network_seed,
            rolesSettings: rolesSettingsOf(value.roles_settings, exact.success),
            ignoreGenesisFailure: value.ignore_genesis_failure ?? false,
          })
          return reply("app_installed", info)
        }
        case "enable_app":
          return reply("app_enabled", yield* apps.enable(request.value.installed_app_id))
        case "disable_app":
          yield* apps.disable(request.value.installed_app_id)
          return reply("app_disabled")
        case "uninstall_app":
          yield* apps.uninstall(request.value.installed_app_id, request.value.force ?? false)
          return reply("app_uninstalled")
        case "list_apps":
          return reply("apps_listed", yield* apps.list(request.value?.status_filter ?? null))
        case "attach_app_interface": {
          const { value } = request
          const port = yield* appInterfaces.attach({
            port: value.port ?? 0,
            allowedOrigins: value.allowed_origins,
            installedAppId: value.installed_app_id ?? null,
            bind: value.danger_bind_addr ?? null,
          })
          return reply("app_interface_attached", { port })
        }
        case "list_app_interfaces": {
          const list = yield* appInterfaces.list()
          return reply(
            "app_interfaces_listed",
            list.map((i) => ({
              port: i.port,
              "allowed_origins": i.allowedOrigins,
              "installed_app_id": i.installedAppId,
            })),
          )
        }
        case "issue_app_authentication_token": {
          const { value } = request
          const issued = yield* tokens.issue(value.installed_app_id, {
            ...(typeof value.expiry_seconds === "number"
              ? { expirySeconds: value.expiry_seconds }
              : {}),
            ...(typeof value.single_use === "boolean" ? { singleUse: value.single_use } : {}),
          })
          // The token is a Rust Vec<u8>: an array of ints on the wire, not a bin (§1.4).
          return reply("app_authentication_token_issued", {
            token: Array.from(issued.token),
            "expires_at": issued.expiresAt,
          })
        }
        case "revoke_app_authentication_token":
          yield* tokens.revoke(request.value)
          return reply("app_authentication_token_revoked")
        case "grant_zome_call_capability": {
          const { value } = request
          const hash = yield* capabilities.grant(value.cell_id, capGrantOf(value.cap_grant))
          return reply("zome_call_capability_granted", hash)
        }
        case "revoke_zome_call_capability":
          yield* capabilities.revoke(request.value.cell_id, request.value.action_hash)
          return reply("zome_call_capability_revoked")
        case "list_capability_grants": {
          const { value } = request
          const grants = yield* capabilities.list(
            value.installed_app_id,
            value.include_revoked ?? false,
          )
          return reply(
            "capability_grants_info",
            grants.map(([cellId, infos]) => [cellId, infos.map(grantInfoWire)]),
          )
        }
        case "list_dnas":
          return reply("dnas_listed", ribosomeStore.dnaHashes())
        case "list_cell_ids":
          return reply("cell_ids_listed", cells.all().map((cell) => cell.cellId))
        case "get_dna_definition": {
          const cellId = request.value
          yield* requireInstalledCell(cellId)
          const dna = yield* ribosomeStore.dna(cellId[0])
          if (dna === undefined) {
            return yield* internalError(`DNA ${encodeHashB64(cellId[0])} is not registered`)
          }
          return reply("dna_definition_returned", decode(dna.defBytes))
        }
        case "delete_clone_cell":
          yield* apps.deleteClone(request.value.app_id, request.value.clone_cell_id)
          return reply("clone_cell_deleted")
        case "storage_info":
          return reply("storage_info", yield* storageInfo)
        case "dump_state":
          return reply(
            "state_dumped",
            yield* dumpState(request.value.cell_id, request.value.limit ?? null),
          )
      }
    }).pipe(
      Effect.catchTags({
        AppError: (e) => Effect.fail(toInternalError(e)),
        AppInterfaceError: (e) => Effect.fail(toInternalError(e)),
        CapabilityError: (e) => Effect.fail(toInternalError(e)),
        KeystoreError: (e) => Effect.fail(toInternalError(e)),
        RibosomeStoreError: (e) => Effect.fail(toInternalError(e)),
        StoreError: (e) => Effect.fail(toInternalError(e)),
      }),
    )

  /** A network request (app_interface/network_requests.ts), or undefined. */
  const networkRequestOf = (payload: Uint8Array) => {
    const raw = decodeMsgpack(payload)
    const answer = raw._tag === "Success"
      ? networkRequest(raw.success, { type: "admin" })
      : undefined
    return answer?.pipe(
      Effect.mapError((failure) =>
        failure.type === "deserialization" ? deserializationError() : internalError(failure.detail)
      ),
      Effect.provideService(NetworkInfo, networkInfo),
    )
  }

  const dispatch: AdminDispatch = (payload) =>
    Effect.suspend(() => {
      const request = parseAdminRequest(payload)
      if (request instanceof ExternalApiError) {
        return networkRequestOf(payload) ?? Effect.fail(request)
      }
      return handle(request, payload)
    }).pipe(
      Effect.map(encode),
      Effect.catchTag(
        "ExternalApiError",
        (e) => Effect.succeed(encode(errorPayload(e.variant, e.detail))),
      ),
    )
  return dispatch
})
