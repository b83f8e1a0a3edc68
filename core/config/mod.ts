/**
 * Conductor configuration: schema, service and the commented template `conductor init` writes.
 *
 * @module
 */
export {
  ConductorConfig,
  type ConductorConfigShape,
  ConfigError,
  ConfigProblem,
  EMBEDDED_DEFAULT,
  parseConfig,
} from "./config.ts"
export { checkPorts } from "./ports.ts"
export * from "./schema.ts"
export * from "./receptors_schema.ts"
export * from "./network_schema.ts"
export { CONFIG_TEMPLATE } from "./template.ts"
