/**
 * The `allowed_origins` policy shared by the websocket interfaces (checked at the HTTP upgrade,
 * conductor-api.md §1.1) and the HTTP admin API (`http.allowed_origins`). It owns parsing,
 * matching and printing the policy; it does not know about requests.
 *
 * `allowed_origins` is `"*"` (any Origin) or a comma-separated list of entries, each one of:
 * - an exact Origin, such as `https://my.app` or `my-tool`;
 * - `scheme://host:*`: that scheme and host on any port (or none), such as `http://localhost:*`;
 * - `local`: pages served from a loopback host (`http`/`https` on `localhost`, `127.0.0.1` or
 *   `[::1]`, any port) and every Origin no browser sends, that is one that is not
 *   `scheme://…` and not `null` (tools and scripts such as `conductor-cli`). This is the default
 *   of admin interfaces and of the HTTP admin API (docs/decisions.md, "Who may use the admin
 *   interfaces").
 *
 * @module
 */

/** The `local` entry: loopback pages and non-browser tools. */
export const LOCAL_ORIGINS = "local"

/** The origin patterns `local` admits besides non-browser Origins. */
export const LOOPBACK_ORIGIN_PATTERNS: ReadonlyArray<string> = [
  "http://localhost:*",
  "http://127.0.0.1:*",
  "http://[::1]:*",
  "https://localhost:*",
  "https://127.0.0.1:*",
  "https://[::1]:*",
]

/** `allowed_origins` parsed. */
export type OriginPolicy =
  | { readonly type: "any" }
  | {
    readonly type: "list"
    /** The entries as written (trimmed, without duplicates), for printing back. */
    readonly entries: ReadonlyArray<string>
    /** Exact Origins. */
    readonly origins: ReadonlySet<string>
    /** `scheme://host` of every `scheme://host:*` entry (and of `local`'s loopback pages). */
    readonly anyPort: ReadonlyArray<string>
    /** True when `local` is listed: Origins no browser sends are admitted. */
    readonly nonBrowser: boolean
  }

/** Parses `allowed_origins`. */
export function parseAllowedOrigins(text: string): OriginPolicy {
  if (text.trim() === "*") return { type: "any" }
  const entries = [...new Set(text.split(",").map((o) => o.trim()).filter((o) => o.length > 0))]
  const origins = new Set<string>()
  const anyPort: Array<string> = []
  let nonBrowser = false
  const addPattern = (entry: string) => {
    if (entry.endsWith(":*") && entry.includes("://")) anyPort.push(entry.slice(0, -2))
    else origins.add(entry)
  }
  for (const entry of entries) {
    if (entry === LOCAL_ORIGINS) {
      nonBrowser = true
      LOOPBACK_ORIGIN_PATTERNS.forEach(addPattern)
    } else addPattern(entry)
  }
  return { type: "list", entries, origins, anyPort, nonBrowser }
}

/** The `allowed_origins` string of a policy. */
export function formatAllowedOrigins(policy: OriginPolicy): string {
  return policy.type === "any" ? "*" : policy.entries.join(",")
}

/** True for an Origin a browser may send: a serialized web origin (`scheme://…`) or `null`. */
export function isBrowserOrigin(origin: string): boolean {
  return origin === "null" || /^[a-z][a-z0-9+.-]*:\/\//i.test(origin)
}

/** True when `origin` may connect. */
export function originAllowed(policy: OriginPolicy, origin: string): boolean {
  if (policy.type === "any" || policy.origins.has(origin)) return true
  if (policy.nonBrowser && !isBrowserOrigin(origin)) return true
  for (const base of policy.anyPort) {
    if (origin === base) return true
    if (origin.startsWith(`${base}:`) && /^\d{1,5}$/.test(origin.slice(base.length + 1))) {
      return true
    }
  }
  return false
}
