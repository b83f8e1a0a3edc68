/**
 * Checks every identifier an admin or app request carries (installed_app_id, role names, clone
 * ids and names, granted zome and function names) and every network_seed's size against the one
 * rule in `types/identifier.ts`, before the request does anything. The `Apps` service checks the
 * ids it stores with the same rule, so the text is the same whichever interface a bad id comes
 * through; this catches the ids that are keys elsewhere (tokens, app interfaces, grants).
 *
 * @module
 */
import { identifierProblem, identifiersProblem, networkSeedProblem } from "../types/mod.ts"
import type { AdminRequest, AppRequest, ZomeCallParams } from "./api.ts"

type Fields = ReadonlyArray<readonly [string, string | null | undefined]>

function seedProblem(field: string, seed: string | null | undefined): string | undefined {
  return seed === null || seed === undefined ? undefined : networkSeedProblem(field, seed)
}

function cloneIdOf(clone: { readonly type: string; readonly value: unknown }): string | null {
  return clone.type === "clone_id" ? clone.value as string : null
}

/** The first identifier of an admin request that breaks the rule, or undefined. */
export function adminRequestProblem(request: AdminRequest): string | undefined {
  switch (request.type) {
    case "install_app": {
      const { value } = request
      const settings = Object.entries(value.roles_settings ?? {})
      const fields: Fields = [
        ["installed_app_id", value.installed_app_id],
        ...settings.map(([role]) => ["role name", role] as const),
      ]
      return identifiersProblem(fields) ?? seedProblem("network_seed", value.network_seed) ??
        settings.map(([role, s]) =>
          s.type === "provisioned"
            ? seedProblem(
              `roles_settings.${role}.modifiers.network_seed`,
              s.value?.modifiers?.network_seed,
            )
            : undefined
        ).find((p) => p !== undefined)
    }
    case "enable_app":
    case "disable_app":
    case "uninstall_app":
    case "issue_app_authentication_token":
    case "list_capability_grants":
      return identifierProblem("installed_app_id", request.value.installed_app_id)
    case "attach_app_interface":
      return identifiersProblem([["installed_app_id", request.value.installed_app_id]])
    case "delete_clone_cell":
      return identifiersProblem([
        ["app_id", request.value.app_id],
        ["clone_id", cloneIdOf(request.value.clone_cell_id)],
      ])
    case "grant_zome_call_capability": {
      const functions = request.value.cap_grant.functions
      if (functions.type !== "listed") return undefined
      return identifiersProblem(
        functions.value.flatMap(([zome, fn]) => [["zome name", zome], ["function name", fn]]),
      )
    }
    default:
      return undefined
  }
}

/** The first identifier of an app request that breaks the rule, or undefined. */
export function appRequestProblem(request: AppRequest): string | undefined {
  switch (request.type) {
    case "create_clone_cell":
      return identifiersProblem([
        ["role_name", request.value.role_name],
        ["name", request.value.name],
      ]) ?? seedProblem("modifiers.network_seed", request.value.modifiers.network_seed)
    case "disable_clone_cell":
    case "enable_clone_cell":
      return identifiersProblem([["clone_id", cloneIdOf(request.value.clone_cell_id)]])
    case "provide_memproofs":
      return identifiersProblem(Object.keys(request.value).map((role) => ["role name", role]))
    default:
      return undefined
  }
}

/** The zome or function name of a zome call that breaks the rule, or undefined. */
export function zomeCallProblem(
  params: Pick<ZomeCallParams, "zome_name" | "fn_name">,
): string | undefined {
  return identifiersProblem([["zome_name", params.zome_name], ["fn_name", params.fn_name]])
}
