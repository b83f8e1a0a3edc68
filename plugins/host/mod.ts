/**
 * The conductor side of Extism plugins that are not zomes: loading, limits, instance pools
 * (`plugin_module.ts`, used by `receptors/wasm/` too) and host-function plugins
 * (`host_fn_plugins.ts`). Lives outside `core/` like the receptor types, because it builds on
 * both the ribosome's wasm engine and the host function registry.
 *
 * @module
 */
export {
  callableExports,
  checkGrantedImports,
  decodePluginOutput,
  type LoadedWasm,
  loadPluginWasm,
  MAX_PLUGIN_FILE_BYTES,
  PLUGIN_ABI_VERSION,
  type PluginCallResult,
  PluginPool,
  type PluginPoolOptions,
  type PluginPoolStats,
} from "./plugin_module.ts"
export {
  HostFnPluginManifest,
  type LoadedHostFnPlugin,
  loadHostFnPlugin,
  loadHostFnPlugins,
  PLUGIN_DESCRIBE_EXPORT,
  PluginError,
  pluginHostFnName,
  PluginHostFnsLayer,
} from "./host_fn_plugins.ts"
