/**
 * What a request to the JSON admin API (`/api`) must satisfy before a handler sees it
 * (docs/decisions.md, "Who may use the admin interfaces" and "HTTP body limits"): it owns the
 * Origin, `Sec-Fetch-Site` and Host checks that keep web pages of other sites out, the content
 * type and encoding rules that make a simple cross-site form or text POST impossible, the bearer
 * token, the body size limits and the JSON nesting limit. It does not know any route.
 *
 * @module
 */
import type { Context, MiddlewareHandler } from "hono"
import { bodyLimit } from "hono/body-limit"
import { cors } from "hono/cors"
import type { ConductorConfigShape } from "../config/mod.ts"
import { originAllowed, parseAllowedOrigins } from "../wire/mod.ts"

/** Content types a request with a body may have: neither can be sent by a form or a simple POST. */
export const BODY_CONTENT_TYPES = ["application/json", "application/octet-stream"] as const

const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"])
const LOOPBACK_BINDS = new Set(["127.0.0.1", "::1", "localhost"])

const refuse = (c: Context, status: 403 | 415, error: string) => c.json({ error }, status)

/** True when the request carries a body (a declared length above 0, chunks, or a declared type). */
export function hasBody(request: Request): boolean {
  // RFC 9112 §6.3: a request without Content-Length and Transfer-Encoding has no body, whatever
  // the method (curl and Deno's fetch send neither for a bodiless DELETE, and Deno.serve still
  // gives every request a body stream). A declared Content-Type counts as a body too: refusing
  // an empty one costs nothing, and in-process requests carry no framing headers.
  const length = request.headers.get("content-length")
  if (length !== null) return Number(length) > 0
  return request.headers.has("transfer-encoding") || request.headers.has("content-type")
}

/**
 * True when `text`, read as JSON, nests arrays and objects deeper than `max`. Scans without
 * parsing, so a million `[` cost one pass and no stack.
 */
export function jsonDepthExceeds(text: string, max: number): boolean {
  let depth = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 0x5c) i++ // backslash: skip the escaped character
      else if (c === 0x22) inString = false
    } else if (c === 0x22) inString = true
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true
    } else if (c === 0x5d || c === 0x7d) depth--
  }
  return false
}

/**
 * Who may use `/api`: refuses a request whose `Origin` is not in `http.allowed_origins`, one a
 * browser marks `Sec-Fetch-Site: cross-site` without an allowed Origin, and (when the endpoint
 * listens on loopback) one whose `Host` is not a loopback name, which is what a DNS-rebinding
 * page sends. Allowed browser origins get CORS answers so a local web UI can call the API.
 */
export function originGuard(config: ConductorConfigShape["http"]): Array<MiddlewareHandler> {
  const policy = parseAllowedOrigins(config.allowed_origins)
  const loopback = LOOPBACK_BINDS.has(config.bind)
  const guard: MiddlewareHandler = async function originGuard(c, next) {
    const origin = c.req.header("origin")
    if (origin !== undefined && !originAllowed(policy, origin)) {
      return refuse(
        c,
        403,
        `Origin ${origin} may not use the admin API (http.allowed_origins: ${config.allowed_origins})`,
      )
    }
    if (origin === undefined && c.req.header("sec-fetch-site") === "cross-site") {
      return refuse(c, 403, "cross-site requests may not use the admin API")
    }
    if (loopback) {
      const host = c.req.header("host")
      const name = host?.replace(/:\d+$/, "").toLowerCase()
      if (name !== undefined && !LOOPBACK_HOSTS.has(name)) {
        return refuse(c, 403, `Host ${host} is not this conductor's loopback address`)
      }
    }
    await next()
  }
  return [
    guard,
    cors({
      origin: (origin) => originAllowed(policy, origin) ? origin : null,
      allowMethods: ["GET", "POST", "DELETE", "OPTIONS"],
      allowHeaders: ["content-type", "authorization"],
    }),
  ]
}

/**
 * Requests with a body must declare `application/json` or `application/octet-stream` and no
 * `Content-Encoding`: a page can send neither without a CORS preflight, which only allowed
 * origins pass; and the conductor does not inflate request bodies, so an encoded one is refused
 * rather than read as garbage.
 */
export const contentGuard: MiddlewareHandler = async function contentGuard(c, next) {
  if (!["GET", "HEAD", "OPTIONS"].includes(c.req.method) && hasBody(c.req.raw)) {
    const encoding = c.req.header("content-encoding")?.trim().toLowerCase()
    if (encoding !== undefined && encoding !== "" && encoding !== "identity") {
      return refuse(
        c,
        415,
        `Content-Encoding ${encoding} is not accepted: send the body uncompressed`,
      )
    }
    const type = (c.req.header("content-type") ?? "").split(";")[0]!.trim().toLowerCase()
    if (!(BODY_CONTENT_TYPES as ReadonlyArray<string>).includes(type)) {
      return refuse(
        c,
        415,
        `Content-Type ${
          type || "(none)"
        } is not accepted: send application/json (or application/octet-stream for a .happ)`,
      )
    }
  }
  await next()
}

const textEncoder = new TextEncoder()
const sha256 = async (text: string) =>
  new Uint8Array(await crypto.subtle.digest("SHA-256", textEncoder.encode(text)))

/** Compares two strings in time that does not depend on where they differ (nor on the secret's length). */
export async function constantTimeEqual(a: string, b: string): Promise<boolean> {
  const [x, y] = await Promise.all([sha256(a), sha256(b)])
  let difference = 0
  for (let i = 0; i < x.length; i++) difference |= x[i]! ^ y[i]!
  return difference === 0
}

/** `Authorization: Bearer <http.admin_token>`, compared in constant time; 401 otherwise. */
export function tokenGuard(token: string): MiddlewareHandler {
  return async function tokenGuard(c, next) {
    const presented = /^Bearer +(\S+) *$/i.exec(c.req.header("authorization") ?? "")?.[1]
    if (presented === undefined || !(await constantTimeEqual(presented, token))) {
      return c.json(
        {
          error: presented === undefined
            ? "the admin API needs Authorization: Bearer <http.admin_token>"
            : "wrong admin token",
        },
        401,
        { "www-authenticate": 'Bearer realm="conductor admin API"' },
      )
    }
    await next()
  }
}

/** A 413 naming the limit and the setting that raises it. */
export function sizeGuard(maxSize: number, setting: string): MiddlewareHandler {
  return bodyLimit({
    maxSize,
    onError: (c) =>
      c.json({ error: `the body is larger than ${maxSize} bytes (http.${setting})` }, 413),
  })
}
