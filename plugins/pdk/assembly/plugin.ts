/**
 * Writing plugins that are not zomes (docs/abi.md, "Plugins"): receptor plugins (`type: wasm`
 * receptors) and host-function plugins. The manifests their describe export answers, the error
 * convention of receptor operations, and typed wrappers of the capability host functions a
 * receptor may be granted (kv, HTTP, files).
 *
 * ```ts
 * import { input, ok, ReceptorManifest } from "pdk/assembly"
 *
 * export function receptor_describe(): i32 {
 *   return new ReceptorManifest("counter").operation("get", true, "{} -> {count}").respond()
 * }
 * ```
 */
import { fail } from "./abort"
import { callHostRaw } from "./hdk"
import { ok } from "./io"
import { Value, Writer } from "./msgpack"
import { Result } from "./result"

/** The plugin ABI version this PDK writes. */
export const PLUGIN_ABI_VERSION: i32 = 1

class OperationEntry {
  constructor(
    public name: string,
    public readOnly: bool,
    public summary: string,
  ) {}
}

/** The manifest `receptor_describe` answers: the receptor's name and operations. */
@final
export class ReceptorManifest {
  private operations: Array<OperationEntry> = []

  constructor(public name: string) {}

  /** An operation: the plugin exports a function of the same name. */
  operation(name: string, readOnly: bool, summary: string): ReceptorManifest {
    this.operations.push(new OperationEntry(name, readOnly, summary))
    return this
  }

  /** Answers the describe call with this manifest. */
  respond(): i32 {
    const w = new Writer().map(3).field("abi_version", PLUGIN_ABI_VERSION).field("name", this.name)
    w.str("operations").array(this.operations.length)
    for (let i = 0; i < this.operations.length; i++) {
      const op = unchecked(this.operations[i])
      w.map(3).field("name", op.name).field("read_only", op.readOnly).field("summary", op.summary)
    }
    return ok(w)
  }
}

/** Contexts a plugin host function may run in (abi.md §2.3). */
export namespace PluginContext {
  export const ZomeCall = "zome_call"
  export const Init = "init"
  export const PostCommit = "post_commit"
  export const Validate = "validate"
  export const GenesisSelfCheck = "genesis_self_check"
}

class FunctionEntry {
  constructor(
    public name: string,
    public version: i32,
    public deterministic: bool,
    public contexts: Array<string>,
  ) {}
}

/**
 * The manifest `plugin_describe` answers: the namespace and the host functions. Each function
 * `name` at `version` is exported as `<name>_<version>`; zomes import it as
 * `plugin:<namespace>/<name>@<version>`.
 */
@final
export class PluginManifest {
  private functions: Array<FunctionEntry> = []

  constructor(public namespace: string) {}

  /** A host function; a non-deterministic one may not list validation contexts. */
  fn(name: string, version: i32, deterministic: bool, contexts: Array<string>): PluginManifest {
    this.functions.push(new FunctionEntry(name, version, deterministic, contexts))
    return this
  }

  /** Answers the describe call with this manifest. */
  respond(): i32 {
    const w = new Writer().map(3).field("abi_version", PLUGIN_ABI_VERSION)
      .field("namespace", this.namespace)
    w.str("functions").array(this.functions.length)
    for (let i = 0; i < this.functions.length; i++) {
      const f = unchecked(this.functions[i])
      w.map(4).field("name", f.name).field("version", f.version)
        .field("deterministic", f.deterministic)
      w.str("contexts").array(f.contexts.length)
      for (let j = 0; j < f.contexts.length; j++) w.str(unchecked(f.contexts[j]))
    }
    return ok(w)
  }
}

/** Reasons a receptor operation may fail with (the conductor maps them to HTTP statuses). */
export namespace Reason {
  export const InvalidInput = "InvalidInput"
  export const NotFound = "NotFound"
  export const Conflict = "Conflict"
  export const TooLarge = "TooLarge"
  export const LimitReached = "LimitReached"
}

/**
 * Fails a receptor operation with one of the {@link Reason}s: `return refuse(Reason.NotFound,
 * "no such counter")`. Any other `fail` text becomes reason `Failed`.
 */
export function refuse(reason: string, message: string): i32 {
  return fail(reason + ": " + message)
}

// ---------------------------------------------------------------------------------------------
// Capability host functions of receptor plugins (granted in the receptor's config)

@external("extism:host/user", "kv_get_1")
declare function kv_get_1(input: u64): u64
@external("extism:host/user", "kv_put_1")
declare function kv_put_1(input: u64): u64
@external("extism:host/user", "kv_delete_1")
declare function kv_delete_1(input: u64): u64
@external("extism:host/user", "kv_list_1")
declare function kv_list_1(input: u64): u64
@external("extism:host/user", "http_request_1")
declare function http_request_1(input: u64): u64
@external("extism:host/user", "file_read_1")
declare function file_read_1(input: u64): u64
@external("extism:host/user", "file_write_1")
declare function file_write_1(input: u64): u64

/** `kv_get_1` (`kv: true`): the stored value, nil when absent. */
export function kvGet(key: string): Result<Value> {
  return callHostRaw("kv_get_1", kv_get_1, new Writer().map(1).field("key", key))
}

/** `kv_put_1` (`kv: true`): stores `value` (any msgpack value) under `key`. */
export function kvPut<T>(key: string, value: T): Result<Value> {
  return callHostRaw("kv_put_1", kv_put_1, new Writer().map(2).field("key", key).field("value", value))
}

/** `kv_delete_1` (`kv: true`): whether the key existed. */
export function kvDelete(key: string): Result<Value> {
  return callHostRaw("kv_delete_1", kv_delete_1, new Writer().map(1).field("key", key))
}

/** `kv_list_1` (`kv: true`): `{keys, next}` of the keys starting with `prefix`, after `after`. */
export function kvList(prefix: string, after: string = "", limit: i32 = 1000): Result<Value> {
  return callHostRaw(
    "kv_list_1",
    kv_list_1,
    new Writer().map(3).field("prefix", prefix).field("after", after).field("limit", limit),
  )
}

/** `http_request_1` (`allowed_hosts`): `{status, headers, body}` of a request to an allowed host. */
export function httpRequest(method: string, url: string, body: Uint8Array | null = null): Result<Value> {
  const w = new Writer().map(body === null ? 2 : 3).field("method", method).field("url", url)
  if (body !== null) w.field("body", body)
  return callHostRaw("http_request_1", http_request_1, w)
}

/** `file_read_1` (`allowed_paths`): the file's bytes. */
export function fileRead(path: string): Result<Value> {
  return callHostRaw("file_read_1", file_read_1, new Writer().map(1).field("path", path))
}

/** `file_write_1` (an `allowed_paths` entry with `write: true`): replaces the file. */
export function fileWrite(path: string, data: Uint8Array): Result<Value> {
  return callHostRaw(
    "file_write_1",
    file_write_1,
    new Writer().map(2).field("path", path).field("data", data),
  )
}
