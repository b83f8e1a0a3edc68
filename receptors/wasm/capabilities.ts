/**
 * The host functions a `type: wasm` receptor may import from `extism:host/user`, each behind the
 * capability that grants it in the receptor's config: `kv_*_1` (`kv: true`, a key-value
 * namespace in the receptor's own SQLite file), `http_request_1` (`allowed_hosts`) and
 * `file_read_1`/`file_write_1` (`allowed_paths`). Inputs and outputs are msgpack with the zome
 * ABI's envelope (`{ok: value}` or `{err: {kind, message}}`), so the PDK's calling convention
 * works unchanged. Every size, count and wait is bounded by the config.
 *
 * @module
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { decodeUntrusted, describeDecodeError, encode } from "../../core/codec/mod.ts"
import type { WasmReceptorConfig } from "../../core/config/mod.ts"
import type { Migration, StoreShape } from "../../core/store/mod.ts"
import type { KernelAccess, UserHostFunction } from "../../core/ribosome/wasm/mod.ts"

/** The migrations of a wasm receptor's kv file. Append only. */
export const KV_MIGRATIONS: ReadonlyArray<Migration> = [
  {
    version: 1,
    name: "kv",
    sql: "CREATE TABLE kv (key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;",
  },
]

/** Every receptor host function, with the config key that grants it. */
export const RECEPTOR_HOST_FUNCTIONS: ReadonlyMap<string, string> = new Map([
  ["kv_get_1", "kv: true"],
  ["kv_put_1", "kv: true"],
  ["kv_delete_1", "kv: true"],
  ["kv_list_1", "kv: true"],
  ["http_request_1", "allowed_hosts"],
  ["file_read_1", "allowed_paths"],
  ["file_write_1", "an allowed_paths entry with write: true"],
])

/** Largest kv key, in UTF-8 bytes. */
const MAX_KEY_BYTES = 1024
/** Most keys one `kv_list_1` returns. */
const MAX_LIST = 1000
/** Most HTTP headers a request may send. */
const MAX_HEADERS = 64

/** Fails a host function with an `{err}` envelope. */
class CapabilityError extends Error {
  constructor(readonly kind: string, message: string) {
    super(message)
  }
}

const OK_PREFIX = Uint8Array.of(0x81, 0xa2, 0x6f, 0x6b) // {"ok": …}

/** `{ok: <raw msgpack>}` without decoding the value. */
function okRaw(raw: Uint8Array): Uint8Array {
  const out = new Uint8Array(OK_PREFIX.length + raw.length)
  out.set(OK_PREFIX)
  out.set(raw, OK_PREFIX.length)
  return out
}

type Handler = (input: Record<string, unknown>) => unknown | Promise<unknown>

const encoder = new TextEncoder()

const IS_KIND: Record<string, (value: unknown) => boolean> = {
  bytes: (value) => value instanceof Uint8Array,
  string: (value) => typeof value === "string",
  number: (value) => typeof value === "number" || typeof value === "bigint",
}

function field<T>(
  input: Record<string, unknown>,
  key: string,
  kind: "bytes" | "string" | "number",
  optional = false,
): T {
  const value = input[key]
  if (value === undefined && optional) return undefined as T
  const ok = IS_KIND[kind]!(value)
  if (!ok) throw new CapabilityError("invalid_input", `"${key}" must be a ${kind}`)
  return value as T
}

function key(input: Record<string, unknown>, name = "key", optional = false): string {
  const value = field<string | undefined>(input, name, "string", optional)
  if (value === undefined) return undefined as unknown as string
  if (encoder.encode(value).length > MAX_KEY_BYTES) {
    throw new CapabilityError("limit", `"${name}" is longer than ${MAX_KEY_BYTES} bytes`)
  }
  return value
}

/** Wraps a handler as a user host function: decode, run, envelope. */
function hostFunction(name: string, handler: Handler): UserHostFunction {
  const fail = (access: KernelAccess, error: unknown) => {
    const kind = error instanceof CapabilityError ? error.kind : "internal"
    const message = error instanceof Error ? error.message : String(error)
    return access.write(encode({ err: { kind, message: `${name}: ${message}` } }))
  }
  const answer = (access: KernelAccess, value: unknown) =>
    access.write(value instanceof RawMsgpack ? okRaw(value.bytes) : encode({ ok: value }))
  return (access, offset) => {
    let input: Record<string, unknown>
    try {
      const bytes = offset === 0n ? undefined : access.read(offset)
      if (bytes === undefined) throw new CapabilityError("invalid_input", "no input")
      let raw: unknown
      try {
        raw = decodeUntrusted(bytes)
      } catch (cause) {
        throw new CapabilityError("invalid_input", `not msgpack (${describeDecodeError(cause)})`)
      }
      if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
        throw new CapabilityError("invalid_input", "the input must be a map")
      }
      input = raw as Record<string, unknown>
    } catch (error) {
      return fail(access, error)
    }
    let out: unknown
    try {
      out = handler(input)
    } catch (error) {
      return fail(access, error)
    }
    if (out instanceof Promise) {
      return out.then((value) => answer(access, value), (error) => fail(access, error))
    }
    return answer(access, out)
  }
}

/** A value that already is msgpack (a stored kv value). */
class RawMsgpack {
  constructor(readonly bytes: Uint8Array) {}
}

/** The kv host functions over the receptor's own store. */
function kvFunctions(store: StoreShape, config: WasmReceptorConfig) {
  const select = store.prepare("SELECT value FROM kv WHERE key = ?")
  const upsert = store.prepare(
    "INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
  )
  const remove = store.prepare("DELETE FROM kv WHERE key = ?")
  const list = store.prepare(
    "SELECT key FROM kv WHERE key > ? AND substr(key, 1, length(?)) = ? ORDER BY key LIMIT ?",
  )
  return {
    "kv_get_1": hostFunction("kv_get_1", (input) => {
      const row = select.get(key(input)) as { value: Uint8Array } | undefined
      return row === undefined ? null : new RawMsgpack(row.value)
    }),
    "kv_put_1": hostFunction("kv_put_1", (input) => {
      const k = key(input)
      if (!("value" in input)) throw new CapabilityError("invalid_input", `"value" is missing`)
      const bytes = encode(input["value"])
      if (bytes.length > config.max_kv_value_bytes) {
        throw new CapabilityError(
          "limit",
          `the value is ${bytes.length} bytes, more than max_kv_value_bytes ${config.max_kv_value_bytes}`,
        )
      }
      upsert.run(k, bytes)
      return null
    }),
    "kv_delete_1": hostFunction("kv_delete_1", (input) => remove.run(key(input)).changes > 0),
    "kv_list_1": hostFunction("kv_list_1", (input) => {
      const prefix = key(input, "prefix", true) ?? ""
      const after = key(input, "after", true) ?? ""
      // SQLite reads a negative LIMIT as "no limit": clamp to 1..MAX_LIST.
      const limit = Math.max(
        1,
        Math.min(
          Number(field<number | bigint | undefined>(input, "limit", "number", true) ?? MAX_LIST),
          MAX_LIST,
        ),
      )
      const rows = list.all(after, prefix, prefix, limit + 1) as unknown as Array<{ key: string }>
      const more = rows.length > limit
      const keys = (more ? rows.slice(0, limit) : rows).map((r) => r.key)
      return { keys, next: more ? keys.at(-1)! : null }
    }),
  }
}

/** True when `url`'s host (with its port when it has one) is allowed. */
export function hostAllowed(url: URL, allowed: ReadonlyArray<string>): boolean {
  const host = url.host.toLowerCase()
  const name = url.hostname.toLowerCase()
  return allowed.some((entry) => {
    const e = entry.toLowerCase()
    if (e.startsWith("*.")) return name.endsWith(e.slice(1)) || host.endsWith(e.slice(1))
    return e === host || e === name
  })
}

async function readBounded(response: Response, max: number): Promise<Uint8Array> {
  const reader = response.body?.getReader()
  if (reader === undefined) return new Uint8Array(0)
  const chunks: Array<Uint8Array> = []
  let total = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    total += value.length
    if (total > max) {
      await reader.cancel()
      throw new CapabilityError(
        "limit",
        `the response body is larger than max_http_response_bytes ${max}`,
      )
    }
    chunks.push(value)
  }
  const out = new Uint8Array(total)
  let at = 0
  for (const chunk of chunks) {
    out.set(chunk, at)
    at += chunk.length
  }
  return out
}

/** `http_request_1` to the allowed hosts only; no redirects are followed. */
function httpFunction(config: WasmReceptorConfig, timeoutMs: number) {
  return hostFunction("http_request_1", async (input) => {
    const text = field<string>(input, "url", "string")
    let url: URL
    try {
      url = new URL(text)
    } catch {
      throw new CapabilityError("invalid_input", `"${text}" is not a URL`)
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new CapabilityError("invalid_input", `only http and https URLs, not ${url.protocol}`)
    }
    if (!hostAllowed(url, config.allowed_hosts)) {
      throw new CapabilityError(
        "denied",
        `${url.host} is not in allowed_hosts (${config.allowed_hosts.join(", ")})`,
      )
    }
    const method = (field<string | undefined>(input, "method", "string", true) ?? "GET")
      .toUpperCase()
    const headers = input["headers"] ?? {}
    if (typeof headers !== "object" || headers === null || Array.isArray(headers)) {
      throw new CapabilityError("invalid_input", `"headers" must be a map of strings`)
    }
    const entries = Object.entries(headers)
    if (entries.length > MAX_HEADERS) {
      throw new CapabilityError("limit", `more than ${MAX_HEADERS} headers`)
    }
    for (const [, v] of entries) {
      if (typeof v !== "string") {
        throw new CapabilityError("invalid_input", `"headers" must be a map of strings`)
      }
    }
    const body = input["body"]
    if (body !== undefined && typeof body !== "string" && !(body instanceof Uint8Array)) {
      throw new CapabilityError("invalid_input", `"body" must be bytes or a string`)
    }
    let response: Response
    try {
      response = await fetch(url, {
        method,
        headers: entries as Array<[string, string]>,
        ...(body === undefined ? {} : { body: body as BodyInit }),
        redirect: "manual",
        signal: AbortSignal.timeout(timeoutMs),
      })
    } catch (cause) {
      throw new CapabilityError(
        "internal",
        `${method} ${url.host}: ${cause instanceof Error ? cause.message : String(cause)}`,
      )
    }
    const bytes = await readBounded(response, config.max_http_response_bytes)
    return {
      status: response.status,
      headers: Object.fromEntries(response.headers.entries()),
      body: bytes,
    }
  })
}

/** Resolves a guest path inside an allowed folder; refuses anything that escapes it. */
function resolveAllowed(
  config: WasmReceptorConfig,
  baseDir: string,
  guestPath: string,
  write: boolean,
): string {
  const roots = config.allowed_paths.filter((p) => !write || p.write)
    .map((p) => path.resolve(baseDir, p.path))
  const first = roots[0]
  if (first === undefined) throw new CapabilityError("denied", "no allowed path permits this")
  const wanted = path.resolve(first, guestPath)
  // The real location (symbolic links followed) must be inside a real allowed folder.
  const real = (p: string) => {
    try {
      return fs.realpathSync(p)
    } catch {
      // A dangling symbolic link would be followed by a write: refuse it.
      let dangling = false
      try {
        dangling = fs.lstatSync(p).isSymbolicLink()
      } catch {
        // The file does not exist yet: its folder decides.
      }
      if (dangling) throw new CapabilityError("denied", `${guestPath} is a dangling link`)
      return fs.realpathSync(path.dirname(p)) + path.sep + path.basename(p)
    }
  }
  let actual: string
  try {
    actual = real(wanted)
  } catch (error) {
    if (error instanceof CapabilityError) throw error
    throw new CapabilityError("not_found", `${guestPath} does not exist`)
  }
  for (const root of roots) {
    let realRoot: string
    try {
      realRoot = fs.realpathSync(root)
    } catch {
      continue
    }
    if (actual === realRoot || actual.startsWith(realRoot + path.sep)) return actual
  }
  throw new CapabilityError(
    "denied",
    `${guestPath} is outside the allowed paths${write ? " with write: true" : ""}`,
  )
}

function fileFunctions(config: WasmReceptorConfig, baseDir: string) {
  return {
    "file_read_1": hostFunction("file_read_1", (input) => {
      const file = resolveAllowed(config, baseDir, field<string>(input, "path", "string"), false)
      let size: number
      try {
        size = fs.statSync(file).size
      } catch {
        throw new CapabilityError("not_found", `${input["path"]} does not exist`)
      }
      if (size > config.max_file_bytes) {
        throw new CapabilityError(
          "limit",
          `the file is ${size} bytes, more than max_file_bytes ${config.max_file_bytes}`,
        )
      }
      return fs.readFileSync(file)
    }),
    "file_write_1": hostFunction("file_write_1", (input) => {
      const file = resolveAllowed(config, baseDir, field<string>(input, "path", "string"), true)
      const data = field<Uint8Array>(input, "data", "bytes")
      if (data.length > config.max_file_bytes) {
        throw new CapabilityError(
          "limit",
          `the data is ${data.length} bytes, more than max_file_bytes ${config.max_file_bytes}`,
        )
      }
      fs.writeFileSync(file, data)
      return null
    }),
  }
}

/**
 * The host functions granted by `config`: kv over `store` (when `kv: true`), HTTP to the allowed
 * hosts, files under the allowed paths. A function of a capability not granted is absent.
 */
export function grantedHostFunctions(
  config: WasmReceptorConfig,
  store: StoreShape | undefined,
  baseDir: string,
): Record<string, UserHostFunction> {
  const functions: Record<string, UserHostFunction> = {}
  if (store !== undefined) Object.assign(functions, kvFunctions(store, config))
  if (config.allowed_hosts.length > 0) {
    functions["http_request_1"] = httpFunction(config, config.limits.call_timeout_ms)
  }
  if (config.allowed_paths.length > 0) {
    const files = fileFunctions(config, baseDir)
    functions["file_read_1"] = files.file_read_1
    if (config.allowed_paths.some((p) => p.write)) functions["file_write_1"] = files.file_write_1
  }
  return functions
}
