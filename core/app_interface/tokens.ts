/**
 * The `AppTokens` service: app authentication tokens (conductor-api.md §2.3, §4). A token is 64
 * random bytes issued by the admin API for one installed app, conductor-wide (any app interface
 * accepts it unless the interface is bound to another app) and kept in memory only, as
 * Holochain does: a restart invalidates every token. Single-use tokens are consumed by the
 * first authentication attempt, before any other check. Expired tokens are purged whenever a
 * token is issued or checked.
 *
 * It owns tokens; it does not know about websockets (the app interface closes a connection
 * whose token is refused).
 *
 * @module
 */
import { Clock, Context, Effect, Layer } from "effect"
import { randomBytes } from "../crypto/mod.ts"
import { toBase64Url } from "../hash/mod.ts"
import { clockMicros, nowMicros, type Timestamp } from "../time/mod.ts"

/** Token lifetime when `issue_app_authentication_token` gives none, in seconds. */
export const DEFAULT_TOKEN_EXPIRY_SECONDS = 30

/** A token as the admin API returns it. */
export interface IssuedToken {
  readonly token: Uint8Array
  /** Microseconds since the epoch; null when the token never expires. */
  readonly expiresAt: Timestamp | null
}

/** Why a token was refused. */
export type TokenRefusal = "unknown" | "expired" | "wrong_app"

/** The outcome of an authentication attempt. */
export type TokenCheck =
  | { readonly type: "ok"; readonly appId: string }
  | { readonly type: "refused"; readonly reason: TokenRefusal }

/** What AppTokens offers. */
export interface AppTokensShape {
  /**
   * A new token for `appId`. `expirySeconds` 0 means it never expires.
   * @default expirySeconds 30, singleUse true
   */
  readonly issue: (
    appId: string,
    options: { readonly expirySeconds?: number; readonly singleUse?: boolean },
  ) => Effect.Effect<IssuedToken>
  /** Forgets a token; unknown tokens are ignored. Open connections stay open. */
  readonly revoke: (token: Uint8Array) => Effect.Effect<void>
  /**
   * Checks a token synchronously (the app interface must close a refused connection in the
   * same tick). `boundAppId` is the app an interface is bound to, or null.
   */
  readonly authenticate: (token: Uint8Array, boundAppId: string | null) => TokenCheck
  /** Tokens held now (expired ones included until the next purge). */
  readonly size: () => number
}

interface StoredToken {
  readonly appId: string
  readonly expiresAt: Timestamp | null
  readonly singleUse: boolean
}

/** Builds the token store. */
export const makeAppTokens = Effect.gen(function* () {
  const clock = yield* Clock.Clock
  const tokens = new Map<string, StoredToken>()

  const purge = (now: Timestamp) => {
    for (const [key, stored] of tokens) {
      if (stored.expiresAt !== null && stored.expiresAt <= now) tokens.delete(key)
    }
  }

  const issue = Effect.fn("AppTokens.issue")(function* (
    appId: string,
    options: { readonly expirySeconds?: number; readonly singleUse?: boolean },
  ) {
    const now = yield* nowMicros
    purge(now)
    const seconds = options.expirySeconds ?? DEFAULT_TOKEN_EXPIRY_SECONDS
    const token = randomBytes(64)
    const expiresAt = seconds === 0 ? null : now + seconds * 1_000_000
    tokens.set(toBase64Url(token), { appId, expiresAt, singleUse: options.singleUse ?? true })
    return { token, expiresAt }
  })

  const authenticate = (token: Uint8Array, boundAppId: string | null): TokenCheck => {
    const now = clockMicros(clock)
    const key = toBase64Url(token)
    const stored = tokens.get(key)
    if (stored === undefined) return { type: "refused", reason: "unknown" }
    if (stored.expiresAt !== null && stored.expiresAt <= now) {
      tokens.delete(key)
      purge(now)
      return { type: "refused", reason: "expired" }
    }
    // Consumed before the interface check: a single-use token is spent even when refused.
    if (stored.singleUse) tokens.delete(key)
    purge(now)
    if (boundAppId !== null && boundAppId !== stored.appId) {
      return { type: "refused", reason: "wrong_app" }
    }
    return { type: "ok", appId: stored.appId }
  }

  return AppTokens.of({
    issue,
    revoke: (token) => Effect.sync(() => void tokens.delete(toBase64Url(token))),
    authenticate,
    size: () => tokens.size,
  })
})

/** App authentication tokens. */
export class AppTokens
  extends Context.Service<AppTokens, AppTokensShape>()("conductor/app_interface/AppTokens") {
  static readonly layer = Layer.effect(AppTokens, makeAppTokens)
}
