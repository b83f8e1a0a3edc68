/**
 * hApp and DNA bundles: the `happ.yaml` / `dna.yaml` manifests, the `.happ` / `.dna` container,
 * `DnaDef` with the wasm and DNA hashes, DNA properties as exact msgpack bytes, packing a folder,
 * and the installable view of a `.happ` that the cell installer consumes
 * (conductor-api.md §2.2, §7, §8). Every failure is a `BundleError` with a tagged `reason`.
 *
 * @module
 */
export {
  BundleCorrupt,
  BundleError,
  bundleError,
  BundleErrorReason,
  BundleFileTooLarge,
  BundleTooLarge,
  BundleUnreadable,
  IoFailed,
  ManifestInvalid,
  NotFound,
  ResourceMissing,
  ResourceUnused,
  WasmHashMismatch,
  WasmInvalid,
} from "./errors.ts"
export {
  AppManifest,
  appManifestToMsg,
  AppRoleDnaManifest,
  AppRoleManifest,
  CellProvisioning,
  CoordinatorManifest,
  decodeAppManifestMsg,
  decodeDnaManifestMsg,
  DnaHashB64,
  DnaManifest,
  dnaManifestToMsg,
  DnaModifiersOpt,
  IntegrityManifest,
  lineInYaml,
  loadAppManifestYaml,
  loadDnaManifestYaml,
  ManifestVersion,
  Properties,
  provisioningOf,
  resourceIdForPath,
  RoleName,
  roleResourceId,
  WasmHashB64,
  ZomeDependency,
  ZomeManifest,
  zomeResourceId,
} from "./manifest.ts"
export {
  type AppBundle,
  type AppBundleInput,
  compareResourceIds,
  DEFAULT_MAX_DECOMPRESSED_BYTES,
  type DnaBundle,
  type PackBundleOptions,
  packDna,
  packHapp,
  unpackDna,
  unpackHapp,
  type UnpackOptions,
  wasmHeaderProblem,
} from "./bundle.ts"
export {
  type DnaDef,
  dnaDefOf,
  dnaHash,
  dnaHashContent,
  dnaManifestModifiers,
  type DnaModifiers,
  type ModifierLayers,
  type ModifierOverrides,
  type ResolvedDna,
  resolveDna,
  type ResolvedZome,
  resolveModifiers,
  wasmHash,
  type WasmZomeDef,
  type ZomeDef,
} from "./dna_def.ts"
export {
  canonicalProperties,
  encodeProperties,
  propertiesFromYaml,
  yamlNodeToMsg,
  type YamlPropertiesProblem,
} from "./properties.ts"
export { decodeOrdered, encodeOrdered, Msg, type MsgValue } from "./ordered_msgpack.ts"
export { packDirectory, type PackedDna, type PackOptions, type PackResult } from "./pack.ts"
export { DEFAULT_MAX_BUNDLE_BYTES, quotedPath, readBundleFile } from "./read_file.ts"
export {
  hasDna,
  type InstallableApp,
  installableApp,
  type InstallableRole,
  type InstalledAppManifest,
  installedManifest,
  type InstalledRoleInfo,
  type InstallOverrides,
  roleDnaDef,
  roleModifiers,
} from "./app_bundle.ts"
