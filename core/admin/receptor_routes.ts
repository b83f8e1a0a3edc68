/**
 * The receptors part of the JSON admin API, mounted under `/api/receptors`:
 *
 * - `GET /` lists every configured receptor (id, type, enabled, default, health, operations);
 * - `GET /:id` shows one;
 * - `POST /:id/call/:operation` calls an operation with the JSON body as its input and answers
 *   with its JSON result.
 *
 * Routing, decoding and status mapping only: every call goes through `Receptors.call`, the same
 * path the CLI and (later) zomes and flows take.
 *
 * @module
 */
import { Effect } from "effect"
import { Hono } from "hono"
import { bodyLimit } from "hono/body-limit"
import type { ContentfulStatusCode } from "hono/utils/http-status"
import type { Run } from "../gateway/mod.ts"
import { jsonDepthExceeds } from "./http_guard.ts"
import {
  type ReceptorError,
  type ReceptorErrorReason,
  type ReceptorNotFound,
  Receptors,
} from "../receptors/mod.ts"

/** Largest request body of a receptor call (a session's initial document can be large). */
export const RECEPTOR_CALL_BODY_LIMIT = 64 * 2 ** 20

const STATUS: Record<ReceptorErrorReason, ContentfulStatusCode> = {
  UnknownOperation: 404,
  InvalidInput: 400,
  TooLarge: 413,
  NotFound: 404,
  Conflict: 409,
  Closed: 409,
  Quarantined: 409,
  NothingToUndo: 409,
  NothingToRedo: 409,
  LimitReached: 429,
  Disabled: 503,
  StartFailed: 503,
  Storage: 500,
  Failed: 422,
  Trapped: 500,
  Unreachable: 502,
  Timeout: 504,
  Remote: 502,
}

type Reply = { readonly status: ContentfulStatusCode; readonly body: unknown }

function errorReply(error: ReceptorError | ReceptorNotFound): Reply {
  if (error._tag === "ReceptorNotFound") {
    return { status: 404, body: { error: error.message, reason: "ReceptorNotFound" } }
  }
  return {
    status: STATUS[error.reason],
    body: {
      error: error.message,
      reason: error.reason,
      "receptor_id": error.receptorId,
      operation: error.operation,
    },
  }
}

/** The `/api/receptors` routes. */
export function receptorRoutes(run: Run<Receptors>, maxJsonDepth: number): Hono {
  const routes = new Hono()
  const send = (effect: Effect.Effect<unknown, ReceptorError | ReceptorNotFound, Receptors>) =>
    run(effect.pipe(
      Effect.map((body): Reply => ({ status: 200, body })),
      Effect.catchTags({
        ReceptorError: (e) => Effect.succeed(errorReply(e)),
        ReceptorNotFound: (e) => Effect.succeed(errorReply(e)),
      }),
    ))

  routes.get("/", async (c) => {
    const r = await send(Effect.flatMap(Effect.service(Receptors), (receptors) => receptors.list))
    return c.json(r.body, r.status)
  })

  routes.get("/:id", async (c) => {
    const r = await send(
      Effect.flatMap(Effect.service(Receptors), (receptors) => receptors.status(c.req.param("id"))),
    )
    return c.json(r.body, r.status)
  })

  routes.post(
    "/:id/call/:operation",
    bodyLimit({
      maxSize: RECEPTOR_CALL_BODY_LIMIT,
      onError: (c) =>
        c.json({ error: `the body is larger than ${RECEPTOR_CALL_BODY_LIMIT} bytes` }, 413),
    }),
    async (c) => {
      const text = await c.req.text()
      let input: unknown = {}
      if (text.trim().length > 0) {
        // The same bound as every other /api body: parsing and decoding never recurse unbounded.
        if (jsonDepthExceeds(text, maxJsonDepth)) {
          return c.json({
            error: `the JSON body nests deeper than ${maxJsonDepth} levels (http.max_json_depth)`,
            reason: "InvalidInput",
          }, 400)
        }
        try {
          input = JSON.parse(text)
        } catch {
          return c.json({ error: "the body is not JSON", reason: "InvalidInput" }, 400)
        }
      }
      const { id, operation } = c.req.param()
      const r = await send(
        Effect.flatMap(
          Effect.service(Receptors),
          (receptors) => receptors.call(id, operation, input),
        ),
      )
      return c.json(r.body, r.status)
    },
  )
  return routes
}
