/**
 * The layer that owns the admin HTTP listener (`Deno.serve`), closed when the conductor stops.
 * It refuses to expose the admin API beyond loopback without `http.admin_token`.
 *
 * @module
 */
import { Console, Context, Effect, Layer, Schema } from "effect"
import { ConductorConfig } from "../config/mod.ts"
import { type HttpServices, makeHttpApp } from "./http_app.ts"

/** The HTTP endpoint could not start. */
export class HttpServerError
  extends Schema.TaggedError<HttpServerError>()("HttpServerError", { detail: Schema.String }) {
  override get message(): string {
    return this.detail
  }
}

/** Where the HTTP endpoint listens (port 0 in config becomes the real one here). */
export class HttpAddress
  extends Context.Service<HttpAddress, { readonly hostname: string; readonly port: number }>()(
    "conductor/admin/HttpAddress",
  ) {}

const LOOPBACK = new Set(["127.0.0.1", "::1", "localhost"])

/** Serves `/health`, `/metrics`, `/api` and the gateway. */
export const HttpServerLayer = Layer.effect(
  HttpAddress,
  Effect.gen(function* () {
    const config = yield* ConductorConfig
    const { port, bind } = config.http
    if (!LOOPBACK.has(bind) && !config.http.admin_token) {
      return yield* new HttpServerError({
        detail:
          `http.bind is ${bind}, which is not loopback: set http.admin_token so the admin API is not open to the network`,
      })
    }
    const context = yield* Effect.context<HttpServices>()
    const app = makeHttpApp(Effect.runPromiseWith(context), config, performance.now())
    const server = yield* Effect.acquireRelease(
      Effect.try({
        try: () => Deno.serve({ hostname: bind, port, onListen: () => {} }, app.fetch),
        catch: (cause) =>
          new HttpServerError({
            detail: `cannot listen on http://${bind}:${port}: ${
              cause instanceof Error ? cause.message : cause
            }`,
          }),
      }),
      (server) => Effect.promise(() => server.shutdown()),
    )
    const address = server.addr as Deno.NetAddr
    const host = address.hostname.includes(":") ? `[${address.hostname}]` : address.hostname
    yield* Console.log(
      `admin http listening on http://${host}:${address.port} (health, metrics, /api, gateway)`,
    )
    return HttpAddress.of({ hostname: address.hostname, port: address.port })
  }),
)
