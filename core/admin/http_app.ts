/**
 * The admin HTTP endpoint as a Hono app: `/health`, `/metrics` (Prometheus), the JSON admin API
 * under `/api`, and the HTTP gateway mounted last. Routing, decoding and status mapping only;
 * every operation is a call into the `Apps`, `Keystore` and `ZomeCalls` services through `run`.
 *
 * @module
 */
import { Effect, Metric, Schema } from "effect"
import { Hono } from "hono"
import { HTTPException } from "hono/http-exception"
import { type AppError, Apps } from "../app/mod.ts"
import { Cells } from "../cell/mod.ts"
import { decode, encode } from "../codec/mod.ts"
import type { ConductorConfigShape } from "../config/mod.ts"
import { gatewayRoutes, type Run } from "../gateway/mod.ts"
import { decodeHashB64, encodeHashB64, fromBase64Url, Hasher } from "../hash/mod.ts"
import { Keystore } from "../keystore/mod.ts"
import {
  apps as appsGauge,
  cells as cellsGauge,
  prometheusText,
  recordProcessMemory,
} from "../metrics/mod.ts"
import type { Receptors } from "../receptors/mod.ts"
import { RibosomeStore } from "../ribosome_store/mod.ts"
import { TaskManager } from "../task/mod.ts"
import { type ZomeCallError, ZomeCalls } from "../workflow/mod.ts"
import { identifiersProblem } from "../types/mod.ts"
import { contentGuard, jsonDepthExceeds, originGuard, sizeGuard, tokenGuard } from "./http_guard.ts"
import { toJson } from "./json.ts"
import { receptorRoutes } from "./receptor_routes.ts"
import { zomeCallProblem } from "../wire/mod.ts"

/** Services the HTTP endpoint uses. */
export type HttpServices =
  | Apps
  | Cells
  | Hasher
  | Keystore
  | RibosomeStore
  | TaskManager
  | ZomeCalls
  | Receptors

/** JSON body of `POST /api/apps`. */
export const InstallBody = Schema.Struct({
  path: Schema.optionalKey(Schema.String),
  /** The `.happ` bytes, base64 or base64url. */
  bundle: Schema.optionalKey(Schema.String),
  "installed_app_id": Schema.optionalKey(Schema.NullOr(Schema.String)),
  "agent_key": Schema.optionalKey(Schema.NullOr(Schema.String)),
  "network_seed": Schema.optionalKey(Schema.NullOr(Schema.String)),
  "ignore_genesis_failure": Schema.optionalKey(Schema.Boolean),
  /** Enable right after installing. @default false */
  enable: Schema.optionalKey(Schema.Boolean),
})
const decodeInstallBody = Schema.decodeUnknownEffect(Schema.fromJsonString(InstallBody))

type Status = 200 | 201 | 400 | 401 | 403 | 404 | 409 | 422 | 500
type Reply = { readonly status: Status; readonly body: unknown }

const reply = (status: Status, body: unknown): Reply => ({ status, body })
const failure = (status: Status, message: string): Reply => ({ status, body: { error: message } })

function appErrorReply(error: AppError): Reply {
  switch (error.reason) {
    case "NotFound":
      return failure(404, error.detail)
    case "AlreadyExists":
    case "WrongStatus":
    case "Dependents":
    case "CloneLimitReached":
      return failure(409, error.detail)
    case "InvalidBundle":
    case "InvalidInput":
    case "InvalidDna":
      return failure(400, error.detail)
    case "GenesisFailed":
      return failure(422, error.detail)
    case "Internal":
      return failure(500, error.detail)
  }
}

function zomeCallReply(error: ZomeCallError): Reply {
  switch (error.reason) {
    case "CellNotFound":
    case "ZomeNotFound":
    case "FunctionNotFound":
      return failure(404, error.detail)
    case "Unauthorized":
      return failure(403, error.detail)
    case "InvalidCommit":
      return failure(422, error.detail)
    case "HeadMoved":
      return failure(409, error.detail)
    default:
      return failure(500, error.detail)
  }
}

/** Builds the HTTP app. */
export function makeHttpApp(
  run: Run<HttpServices>,
  config: ConductorConfigShape,
  startedAt: number,
): Hono {
  const app = new Hono()
  const send = <E>(effect: Effect.Effect<Reply, E, HttpServices>) =>
    run(
      effect.pipe(
        Effect.catch((e) =>
          Effect.succeed(failure(500, e instanceof Error ? e.message : String(e)))
        ),
      ),
    )

  app.get("/health", async (c) => {
    const body = await run(Effect.gen(function* () {
      const apps = yield* Apps
      const cells = yield* Cells
      const tasks = yield* TaskManager
      const list = yield* Effect.orElseSucceed(apps.list(null), () => [])
      return {
        status: "ok",
        "uptime_seconds": Math.round((performance.now() - startedAt) / 1000),
        apps: list.length,
        "enabled_apps": list.filter((a) => a.status.type === "enabled").length,
        "running_cells": cells.all().length,
        "running_tasks": yield* tasks.running,
      }
    }))
    return c.json(body)
  })

  app.get("/metrics", async (c) => {
    const text = await run(Effect.gen(function* () {
      const apps = yield* Apps
      const cells = yield* Cells
      const list = yield* Effect.orElseSucceed(apps.list(null), () => [])
      for (const status of ["enabled", "disabled", "awaiting_memproofs"] as const) {
        yield* Metric.update(
          Metric.withAttributes(appsGauge, { status }),
          list.filter((a) => a.status.type === status).length,
        )
      }
      yield* Metric.update(
        Metric.withAttributes(cellsGauge, { state: "running" }),
        cells.all().length,
      )
      yield* recordProcessMemory
      return yield* prometheusText
    }))
    return c.body(text, 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" })
  })

  const limits = config.http
  const tooDeep = (text: string) =>
    jsonDepthExceeds(text, limits.max_json_depth)
      ? failure(
        400,
        `the JSON body nests deeper than ${limits.max_json_depth} levels (http.max_json_depth)`,
      )
      : undefined
  const installLimit = sizeGuard(limits.max_install_body_bytes, "max_install_body_bytes")
  const bodyLimit = sizeGuard(limits.max_body_bytes, "max_body_bytes")
  const api = new Hono()
  api.use("*", ...originGuard(limits))
  if (limits.admin_token) api.use("*", tokenGuard(limits.admin_token))
  api.use("*", contentGuard)
  api.use(
    "*",
    (c, next) =>
      c.req.method === "POST" && /\/apps\/?$/.test(c.req.path)
        ? installLimit(c, next)
        : bodyLimit(c, next),
  )

  api.post("/agent_keys", async (c) => {
    const r = await send(Effect.gen(function* () {
      const keystore = yield* Keystore
      const agent = yield* keystore.generate
      return reply(201, { "agent_pub_key": encodeHashB64(agent) })
    }))
    return c.json(r.body, r.status)
  })

  api.get("/apps", async (c) => {
    const status = c.req.query("status") ?? null
    const filters = [
      "enabled",
      "disabled",
      "awaiting_memproofs",
      "awaiting_restore",
      "unrecoverable",
    ] as const
    const filter = filters.find((f) => f === status) ?? null
    if (status !== null && filter === null) {
      return c.json({ error: `unknown status filter "${status}"` }, 400)
    }
    const r = await send(Effect.gen(function* () {
      const apps = yield* Apps
      return yield* apps.list(filter).pipe(
        Effect.map((list) => reply(200, toJson(list))),
        Effect.catchTag("AppError", (e) => Effect.succeed(appErrorReply(e))),
      )
    }))
    return c.json(r.body, r.status)
  })

  api.get("/apps/:app", async (c) => {
    const r = await send(
      Effect.gen(function* () {
        const apps = yield* Apps
        const info = yield* apps.info(c.req.param("app"))
        return info === null
          ? failure(404, `app "${c.req.param("app")}" is not installed`)
          : reply(200, toJson(info))
      }).pipe(Effect.catchTag("AppError", (e) => Effect.succeed(appErrorReply(e)))),
    )
    return c.json(r.body, r.status)
  })

  api.post("/apps", async (c) => {
    const contentType = c.req.header("content-type") ?? ""
    const isJson = contentType.startsWith("application/json")
    const body = isJson ? await c.req.text() : new Uint8Array(await c.req.arrayBuffer())
    const r = await send(
      Effect.gen(function* () {
        const apps = yield* Apps
        let request: Parameters<typeof apps.install>[0]
        let enable = c.req.query("enable") === "true"
        if (typeof body === "string") {
          const deep = tooDeep(body)
          if (deep !== undefined) return deep
          const input = yield* Effect.mapError(decodeInstallBody(body), (e) => e.message)
          const bundle = input.bundle === undefined ? undefined : fromBase64Url(input.bundle)
          if (input.bundle !== undefined && bundle === undefined) {
            return failure(400, "bundle is not base64")
          }
          if ((input.path === undefined) === (bundle === undefined)) {
            return failure(400, "give exactly one of path or bundle")
          }
          const agent = input.agent_key === undefined || input.agent_key === null
            ? null
            : decodeHashB64(input.agent_key, "agent")
          if (agent === undefined) {
            return failure(400, "agent_key is not an agent key (u…)")
          }
          request = {
            source: bundle !== undefined
              ? { type: "bytes", value: bundle }
              : { type: "path", value: input.path! },
            agentKey: agent,
            installedAppId: input.installed_app_id ?? null,
            networkSeed: input.network_seed ?? null,
            ignoreGenesisFailure: input.ignore_genesis_failure ?? false,
          }
          enable = input.enable ?? enable
        } else {
          if (body.length === 0) {
            return failure(400, "send a .happ as the body, or JSON with path or bundle")
          }
          request = {
            source: { type: "bytes", value: body },
            installedAppId: c.req.query("installed_app_id") ?? null,
            networkSeed: c.req.query("network_seed") ?? null,
          }
        }
        const installed = yield* apps.install(request)
        const info = enable ? yield* apps.enable(installed.installed_app_id) : installed
        return reply(201, toJson(info))
      }).pipe(
        Effect.catchTag("AppError", (e) => Effect.succeed(appErrorReply(e))),
        Effect.catch((e) => Effect.succeed(failure(400, String(e)))),
      ),
    )
    return c.json(r.body, r.status)
  })

  for (const action of ["enable", "disable"] as const) {
    api.post(`/apps/:app/${action}`, async (c) => {
      const r = await send(
        Effect.gen(function* () {
          const apps = yield* Apps
          if (action === "enable") return reply(200, toJson(yield* apps.enable(c.req.param("app"))))
          yield* apps.disable(c.req.param("app"))
          return reply(200, toJson(yield* apps.info(c.req.param("app"))))
        }).pipe(Effect.catchTag("AppError", (e) => Effect.succeed(appErrorReply(e)))),
      )
      return c.json(r.body, r.status)
    })
  }

  api.delete("/apps/:app", async (c) => {
    const r = await send(
      Effect.gen(function* () {
        const apps = yield* Apps
        yield* apps.uninstall(c.req.param("app"), c.req.query("force") === "true")
        return reply(200, { uninstalled: c.req.param("app") })
      }).pipe(Effect.catchTag("AppError", (e) => Effect.succeed(appErrorReply(e)))),
    )
    return c.json(r.body, r.status)
  })

  api.get("/dnas", async (c) => {
    const hashes = await run(
      Effect.map(Effect.service(RibosomeStore), (store) => store.dnaHashes().map(encodeHashB64)),
    )
    return c.json(hashes)
  })

  api.get("/cells", async (c) => {
    const cells = await run(
      Effect.map(Effect.service(Cells), (registry) =>
        registry.all().map((cell) => ({
          "cell_id": [encodeHashB64(cell.cellId[0]), encodeHashB64(cell.cellId[1])],
          "installed_app_id": cell.appId,
          role: cell.roleName,
          "clone_id": cell.cloneId,
          dna: cell.dna.name,
        }))),
    )
    return c.json(cells)
  })

  api.post("/apps/:app/call/:role/:zome/:fn", async (c) => {
    const text = await c.req.text()
    const { app: appId, role, zome, fn } = c.req.param()
    const problem = identifiersProblem([["installed_app_id", appId], ["role_name", role]]) ??
      zomeCallProblem({ "zome_name": zome, "fn_name": fn })
    if (problem !== undefined) return c.json({ error: problem }, 400)
    const r = await send(Effect.gen(function* () {
      let payload: unknown = null
      if (text.trim().length > 0) {
        const deep = tooDeep(text)
        if (deep !== undefined) return deep
        try {
          payload = JSON.parse(text)
        } catch {
          return failure(400, "the body is not JSON")
        }
      }
      const cells = yield* Cells
      const cell = cells.byApp(appId).find((x) => x.label === role)
      if (cell === undefined) return failure(404, `app "${appId}" has no running cell "${role}"`)
      const zomeCalls = yield* ZomeCalls
      return yield* zomeCalls.call({
        cellId: cell.cellId,
        zome,
        fn,
        payload: encode(payload),
        provenance: cell.agent,
        capSecret: null,
      }).pipe(
        Effect.map((output) => reply(200, toJson(decode(output)))),
        Effect.catchTag("ZomeCallError", (e) => Effect.succeed(zomeCallReply(e))),
      )
    }))
    return c.json(r.body, r.status)
  })

  api.get("/tasks", async (c) => {
    const limit = Math.min(1000, Math.max(1, Number(c.req.query("limit") ?? 50) || 50))
    const recent = await run(
      Effect.map(Effect.service(TaskManager), (tasks) => tasks.recent(limit)),
    )
    return c.json(recent)
  })

  api.route("/receptors", receptorRoutes(run, limits.max_json_depth))
  api.all("*", (c) => c.json({ error: `no admin API route ${c.req.method} ${c.req.path}` }, 404))
  app.route("/api", api)
  if (config.http.gateway.enabled) app.route("/", gatewayRoutes(run, config.http.gateway))
  app.notFound((c) => c.json({ error: `not found: ${c.req.path}` }, 404))
  app.onError((err, c) =>
    err instanceof HTTPException
      ? err.getResponse()
      : c.json({ error: "internal error", detail: err.message }, 500)
  )
  return app
}
