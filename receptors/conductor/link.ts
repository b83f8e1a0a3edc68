/**
 * The bridge's link to the other conductor: its admin and app websockets, opened on demand (find
 * or attach an app interface, issue a single-use app token, authenticate, read `app_info`), kept
 * while their sockets are open and reopened when they closed. One connection attempt runs at a
 * time: opening a websocket cannot be interrupted, so an attempt that outlives
 * `connect_timeout_ms` keeps running detached and the next caller waits for that same attempt
 * (taking its link if it succeeded late); a peer that never answers holds one socket, not one per
 * call. Owns the sockets and the failure mapping; the operations are in `conductor.ts`.
 *
 * @module
 */
import { Duration, Effect, Exit, Fiber, Option, Scope, Semaphore } from "effect"
import type { ConductorReceptorConfig } from "../../core/config/mod.ts"
import { type ConductorClientError, connectWire, type WireClient } from "../../core/client/mod.ts"
import { ReceptorError } from "../../core/receptors/mod.ts"
import type { CellId } from "../../core/types/mod.ts"

/** An open link to the peer: both websockets, in their own scope, and the app's cells. */
export interface Link {
  readonly admin: WireClient
  readonly app: WireClient
  /** Role name, and clone id, to cell id. */
  readonly cells: ReadonlyMap<string, CellId>
  readonly scope: Scope.Closeable
}

interface CellEntry {
  readonly type?: unknown
  readonly value?: { readonly "cell_id"?: unknown; readonly "clone_id"?: unknown }
}

/** The cells of an `app_info` answer: provisioned ones by role, clones by clone id. */
function cellsOf(info: unknown): Map<string, CellId> {
  const cells = new Map<string, CellId>()
  const byRole = (info as { "cell_info"?: unknown } | null)?.cell_info
  if (byRole === null || typeof byRole !== "object") return cells
  for (const [role, entries] of Object.entries(byRole)) {
    if (!Array.isArray(entries)) continue
    for (const entry of entries as ReadonlyArray<CellEntry>) {
      const cellId = entry.value?.cell_id
      if (!Array.isArray(cellId) || cellId.length !== 2) continue
      if (entry.type === "provisioned") cells.set(role, cellId as unknown as CellId)
      else if (entry.type === "cloned" && typeof entry.value?.clone_id === "string") {
        cells.set(entry.value.clone_id, cellId as unknown as CellId)
      }
    }
  }
  return cells
}

function admits(allowedOrigins: unknown, origin: string): boolean {
  if (typeof allowedOrigins !== "string") return false
  return allowedOrigins === "*" || allowedOrigins.split(",").map((o) => o.trim()).includes(origin)
}

/** Builds the bridge's `ReceptorError`s: `fail` for its own, `fromClient` for the wire client's. */
export function bridgeErrors(config: ConductorReceptorConfig) {
  const fail = (op: string, reason: ReceptorError["reason"], detail: string, cause?: unknown) =>
    new ReceptorError({
      receptorId: config.id,
      operation: `conductor.${op}`,
      reason,
      detail,
      ...(cause === undefined ? {} : { cause }),
    })
  const fromClient = (op: string) => (error: ConductorClientError) => {
    switch (error.reason) {
      case "Connect":
      case "Closed":
        return fail(op, "Unreachable", `${config.admin_url}: ${error.message}`, error)
      case "Timeout":
        return fail(op, "Timeout", `${config.admin_url}: ${error.message}`, error)
      default:
        return fail(op, "Remote", `${config.admin_url}: ${error.message}`, error)
    }
  }
  return { fail, fromClient }
}

/** The link manager of one bridge; its sockets are closed when the scope closes. */
export function makeLinks(config: ConductorReceptorConfig) {
  return Effect.gen(function* () {
    const timeout = Duration.millis(config.timeout_ms)
    const adminUrl = new URL(config.admin_url)
    const { fail, fromClient } = bridgeErrors(config)
    let link: Link | undefined
    const linkLock = yield* Semaphore.make(1)

    /** Closes `old` (and forgets it if it is the current link). */
    const drop = (old: Link) =>
      Effect.sync(() => {
        if (link === old) link = undefined
      }).pipe(Effect.andThen(Scope.close(old.scope, Exit.void)))
    yield* Effect.addFinalizer(() => link === undefined ? Effect.void : drop(link))

    /** Opens both websockets in `scope`; fails as the wire client does. */
    const open = (scope: Scope.Closeable) =>
      Effect.gen(function* () {
        const wire = { origin: config.origin, timeout }
        const admin = yield* connectWire(config.admin_url, wire)
        let port = config.app_port
        if (port === undefined) {
          const interfaces = (yield* admin.request("list_app_interfaces")) as ReadonlyArray<
            { port?: unknown; "allowed_origins"?: unknown; "installed_app_id"?: unknown }
          >
          const usable = Array.isArray(interfaces)
            ? interfaces.find((i) =>
              (i.installed_app_id === null || i.installed_app_id === config.app_id) &&
              admits(i.allowed_origins, config.origin) && typeof i.port === "number"
            )
            : undefined
          port = usable !== undefined ? usable.port as number : ((yield* admin.request(
            "attach_app_interface",
            { port: null, "allowed_origins": config.origin, "installed_app_id": config.app_id },
          )) as { port?: unknown } | null)?.port as number
        }
        if (!Number.isInteger(port) || port < 1 || port > 65_535) {
          return yield* fail("connect", "Remote", `the app interface port is not a port: ${port}`)
        }
        const issued = (yield* admin.request("issue_app_authentication_token", {
          "installed_app_id": config.app_id,
          "expiry_seconds": 30,
          "single_use": true,
        })) as { token?: unknown } | null
        const token = issued?.token
        if (
          !Array.isArray(token) || token.length > 1024 ||
          !token.every((b) => Number.isInteger(b) && b >= 0 && b <= 255)
        ) {
          return yield* fail("connect", "Remote", "issue_app_authentication_token gave no token")
        }
        const appUrl = `${adminUrl.protocol}//${adminUrl.hostname}:${port}`
        const app = yield* connectWire(appUrl, wire)
        yield* app.authenticate(token)
        const info = yield* app.request("app_info")
        return { admin, app, cells: cellsOf(info), scope } satisfies Link
      }).pipe(Scope.provide(scope))

    /**
     * The connection attempt in progress. Opening a websocket cannot be interrupted, so an attempt
     * that outlives `connect_timeout_ms` keeps running detached; the next call waits for that
     * same attempt (and takes its link if it succeeded late) instead of starting another, so a
     * peer that never answers costs one pending socket, not one per call.
     */
    let attempt:
      | { readonly fiber: Fiber.Fiber<Link, ConductorClientError | ReceptorError> }
      | undefined
    yield* Effect.addFinalizer(() => {
      const pending = attempt
      if (pending === undefined) return Effect.void
      attempt = undefined
      // Detached: the attempt may still be waiting for the peer; its link is closed when it ends.
      return Effect.asVoid(Effect.forkDetach(
        Fiber.await(pending.fiber).pipe(
          Effect.flatMap((exit) => Exit.isSuccess(exit) ? drop(exit.value) : Effect.void),
        ),
      ))
    })

    /** Opens a link within `connect_timeout_ms`, or joins the attempt already running. */
    const connect = Effect.gen(function* () {
      let current = attempt
      if (current === undefined) {
        const scope = yield* Scope.make()
        // Detached on purpose: it must be able to outlive this call when the connect times out.
        const fiber = yield* Effect.forkDetach(
          open(scope).pipe(
            Effect.flatMap((opened) =>
              opened.cells.size > 0 ? Effect.succeed(opened) : Effect.fail(fail(
                "connect",
                "NotFound",
                `app "${config.app_id}" is not installed (or has no cells) on ${config.admin_url}`,
              ))
            ),
            Effect.onExit((exit) => Exit.isSuccess(exit) ? Effect.void : Scope.close(scope, exit)),
          ),
        )
        current = attempt = { fiber }
      }
      const exit = yield* Fiber.await(current.fiber).pipe(
        Effect.timeoutOption(Duration.millis(config.connect_timeout_ms)),
      )
      if (Option.isNone(exit)) {
        return yield* fail(
          "connect",
          "Timeout",
          `${config.admin_url}: no connection within ${config.connect_timeout_ms} ms (connect_timeout_ms)`,
        )
      }
      if (attempt === current) attempt = undefined
      if (Exit.isSuccess(exit.value)) return exit.value.value
      const error = Exit.findErrorOption(exit.value)
      if (Option.isNone(error)) return yield* Effect.die(exit.value.cause)
      return yield* (error.value._tag === "ReceptorError"
        ? Effect.fail(error.value)
        : fromClient("connect")(error.value))
    })

    /** The open link, reopened when its sockets closed. */
    const currentLink = linkLock.withPermit(Effect.suspend(() => {
      const current = link
      if (current !== undefined && current.admin.isOpen() && current.app.isOpen()) {
        return Effect.succeed(current)
      }
      return (current === undefined ? Effect.void : drop(current)).pipe(
        Effect.andThen(connect),
        Effect.tap((opened) => Effect.sync(() => link = opened)),
      )
    }))

    return {
      /** The open link, opened or reopened first if needed. */
      current: currentLink,
      drop,
      /** Whether a link is open now (for health; opens nothing). */
      connected: () => link !== undefined && link.admin.isOpen() && link.app.isOpen(),
    }
  })
}
