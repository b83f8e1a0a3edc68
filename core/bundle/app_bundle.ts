/**
 * The installable view of a `.happ`: per role, everything the cell installer needs (provisioning,
 * clone limit, the DNA's zomes with wasm bytes and hashes, the dna.yaml modifier defaults and
 * the role's happ-level modifiers), as a plain typed value. Also the "installed manifest" of
 * conductor-api.md §8 that `AppInfo.manifest` carries.
 *
 * It owns this view only. It does not install anything, generate agent keys, run genesis or
 * decide cell ids; that is the installer's job. The install-time modifier layers are applied
 * with `resolveModifiers` / `roleModifiers`.
 *
 * @module
 */
import { Effect } from "effect"
import { decode } from "../codec/mod.ts"
import { decodeHashB64, type DnaHash, encodeHashB64 } from "../hash/mod.ts"
import { type AppBundle, unpackHapp, type UnpackOptions } from "./bundle.ts"
import {
  dnaDefOf,
  dnaHash,
  type DnaModifiers,
  type ModifierOverrides,
  type ResolvedDna,
  resolveDna,
  resolveModifiers,
} from "./dna_def.ts"
import {
  type AppManifest,
  type CellProvisioning,
  provisioningOf,
  roleResourceId,
} from "./manifest.ts"

/** One role of an app, ready for the installer. */
export interface InstallableRole {
  readonly name: string
  /** The role's provisioning with the default (`create`, not deferred) applied. */
  readonly provisioning: CellProvisioning
  readonly cloneLimit: number
  /** The resource id of the role's DNA (`dna.path` of the installed manifest); null without DNA. */
  readonly resourceId: string | null
  /** The role's DNA; null when the role names none (use_existing). */
  readonly dna: ResolvedDna | null
  /** happ.yaml `dna.modifiers` of the role (null fields do not override). */
  readonly modifiers: {
    readonly "network_seed": string | null
    readonly properties: Uint8Array | null
  }
  /** happ.yaml `dna.installed_hash`, decoded; null when not given. */
  readonly installedHash: DnaHash | null
}

/** A `.happ` as the installer consumes it. */
export interface InstallableApp {
  /** The manifest as stored in the bundle (role `dna.path` are resource ids). */
  readonly manifest: AppManifest
  /** Manifest `name`: the default installed_app_id. */
  readonly name: string
  readonly allowDeferredMemproofs: boolean
  readonly roles: ReadonlyArray<InstallableRole>
  /** The unpacked bundle, for callers that need the raw `.dna` bytes. */
  readonly bundle: AppBundle
}

/**
 * Unpacks a `.happ` and resolves every role's DNA (wasm hashes computed once per DNA resource,
 * zome `hash:` values checked).
 */
export const installableApp = Effect.fn("Bundle.installableApp")(function* (
  happ: Uint8Array,
  options: UnpackOptions = {},
) {
  const file = options.source ?? "<bytes>"
  const bundle = yield* unpackHapp(happ, options)
  const resolved = new Map<string, ResolvedDna>()
  for (const [id, dna] of bundle.dnas) resolved.set(id, yield* resolveDna(dna, `${file}!${id}`))
  const roles = bundle.manifest.roles.map((role): InstallableRole => {
    const resourceId = roleResourceId(role) ?? null
    return {
      name: role.name,
      provisioning: provisioningOf(role),
      cloneLimit: role.dna.clone_limit,
      resourceId,
      dna: resourceId === null ? null : resolved.get(resourceId) ?? null,
      modifiers: role.dna.modifiers,
      installedHash: role.dna.installed_hash === null
        ? null
        : decodeHashB64(role.dna.installed_hash, "dna") ?? null,
    }
  })
  return {
    manifest: bundle.manifest,
    name: bundle.manifest.name,
    allowDeferredMemproofs: bundle.manifest.allow_deferred_memproofs,
    roles,
    bundle,
  } satisfies InstallableApp
})

/** True when the role carries a DNA (every role except use_existing without a path). */
export function hasDna(
  role: InstallableRole,
): role is InstallableRole & { readonly dna: ResolvedDna } {
  return role.dna !== null
}

/** Install-time inputs of one role (conductor-api.md §2.2). */
export interface InstallOverrides {
  /** The `install_app` payload's `network_seed`. */
  readonly networkSeed?: string | null | undefined
  /** `roles_settings[role].modifiers`. */
  readonly roleSettings?: ModifierOverrides | undefined
}

/** The final modifiers of a role with a DNA: dna.yaml → role modifiers → install overrides. */
export function roleModifiers(
  role: InstallableRole & { readonly dna: ResolvedDna },
  install: InstallOverrides = {},
): DnaModifiers {
  return resolveModifiers({
    dna: role.dna.defaults,
    role: role.modifiers,
    installNetworkSeed: install.networkSeed,
    roleSettings: install.roleSettings,
    strategy: role.provisioning.strategy,
  })
}

/** The `DnaDef` and DNA hash of a role with a DNA under the given install overrides. */
export const roleDnaDef = Effect.fn("Bundle.roleDnaDef")(function* (
  role: InstallableRole & { readonly dna: ResolvedDna },
  install: InstallOverrides = {},
) {
  const def = dnaDefOf(role.dna, roleModifiers(role, install))
  return { def, hash: yield* dnaHash(def) }
})

/** What the installer knows about a role once it is installed. */
export interface InstalledRoleInfo {
  /** The DNA hash the role's cell runs. */
  readonly dnaHash: DnaHash
  /** Install-time overrides recorded on top of the role's happ-level modifiers. */
  readonly overrides?: ModifierOverrides | undefined
}

/** The installed manifest of §8, as plain values ready for the msgpack codec. */
export interface InstalledAppManifest {
  readonly "manifest_version": "0"
  readonly name: string
  readonly description: string | null
  readonly roles: ReadonlyArray<{
    readonly name: string
    readonly provisioning: CellProvisioning | null
    readonly dna: {
      readonly path: string | null
      readonly modifiers: { readonly "network_seed": string | null; readonly properties: unknown }
      readonly "installed_hash": string | null
      readonly "clone_limit": number
    }
  }>
  readonly "allow_deferred_memproofs": boolean
  readonly "bootstrap_url": string | null
  readonly "relay_url": string | null
}

/**
 * The manifest sent back in `AppInfo` (§8): `manifest_version: "0"`, `dna.path` = resource id,
 * `dna.installed_hash` = the role's DNA hash as a `u…` string (roles missing from `roles` keep
 * their manifest value), modifiers with the install overrides applied. Properties are decoded
 * to JS values for display; the client does not read them.
 */
export function installedManifest(
  manifest: AppManifest,
  roles: ReadonlyMap<string, InstalledRoleInfo>,
): InstalledAppManifest {
  return {
    manifest_version: "0",
    name: manifest.name,
    description: manifest.description,
    roles: manifest.roles.map((role) => {
      const info = roles.get(role.name)
      const seed = info?.overrides?.network_seed ?? role.dna.modifiers.network_seed
      const properties = info?.overrides?.properties ?? role.dna.modifiers.properties
      return {
        name: role.name,
        provisioning: role.provisioning,
        dna: {
          path: roleResourceId(role) ?? null,
          modifiers: {
            network_seed: seed,
            properties: properties === null ? null : decode(properties),
          },
          installed_hash: info === undefined
            ? role.dna.installed_hash
            : encodeHashB64(info.dnaHash),
          clone_limit: role.dna.clone_limit,
        },
      }
    }),
    allow_deferred_memproofs: manifest.allow_deferred_memproofs,
    bootstrap_url: manifest.bootstrap_url,
    relay_url: manifest.relay_url,
  }
}
