/**
 * Installed apps, their cells and statuses, and admin-side capability grants on their cells.
 *
 * @module
 */
export * from "./app_info.ts"
export { Apps, type AppsShape, makeApps } from "./apps.ts"
export {
  Capabilities,
  type CapabilitiesShape,
  CapabilityError,
  type GrantInfo,
  makeCapabilities,
} from "./capabilities.ts"
export type { CreateCloneRequest } from "./clones.ts"
export { AppError } from "./errors.ts"
export { type EncodedProperties, encodedProperties } from "./context.ts"
export type { InstallRequest, RoleSettings } from "./install.ts"
