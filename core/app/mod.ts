/**
 * Installed apps, their cells and statuses.
 *
 * @module
 */
export * from "./app_info.ts"
export {
  AppError,
  Apps,
  type AppsShape,
  type CreateCloneRequest,
  type EncodedProperties,
  encodedProperties,
  type InstallRequest,
  makeApps,
  type RoleSettings,
} from "./apps.ts"
