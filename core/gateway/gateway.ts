/**
 * The HTTP gateway, `GET /{dna_hash}/{app_id}/{zome}/{fn}?payload=<base64url JSON>`, with
 * hc-http-gw's semantics (seed-holo-host.md §7.3): identifiers checked (400), payload size
 * limited (400), app and function allow-lists (403), the app's running cell with that DNA
 * (404), the zome call as the app's agent, and every failure answered with a status and an
 * `{error}` JSON body. Only routing and mapping live here; the call itself is the zome-call
 * workflow.
 *
 * @module
 */
import { Effect } from "effect"
import { Hono } from "hono"
import { cors } from "hono/cors"
import { Cells } from "../cell/mod.ts"
import type { ConductorConfigShape } from "../config/mod.ts"
import { bytesEqual, decodeHashB64, Hasher } from "../hash/mod.ts"
import { ZomeCalls } from "../workflow/mod.ts"
import { msgpackToJson, payloadToMsgpack } from "./transcode.ts"

/** Runs an effect with the conductor's services. */
export type Run<R> = <A, E>(effect: Effect.Effect<A, E, R>) => Promise<A>

/** Longest app id, zome or function name the gateway accepts. */
export const MAX_IDENTIFIER_LENGTH = 100

type GatewayResponse = { readonly status: 200 | 400 | 403 | 404 | 500; readonly body: string }

const error = (status: GatewayResponse["status"], message: string): GatewayResponse => ({
  status,
  body: JSON.stringify({ error: message }),
})
const ok = (body: string): GatewayResponse => ({ status: 200, body })

/** The gateway routes; mount last, after every other route. */
export function gatewayRoutes(
  run: Run<Cells | Hasher | ZomeCalls>,
  config: ConductorConfigShape["http"]["gateway"],
): Hono {
  const app = new Hono()
  app.use("/:dna/:app/:zome/:fn", cors({ origin: "*", allowMethods: ["GET", "OPTIONS"] }))
  app.on(
    ["POST", "PUT", "PATCH", "DELETE"],
    "/:dna/:app/:zome/:fn",
    (c) => c.json({ error: "Method not allowed" }, 405),
  )
  app.get("/:dna/:app/:zome/:fn", async (c) => {
    const { dna: dnaText, app: appId, zome, fn } = c.req.param()
    const payload = c.req.query("payload")
    const result = await run(Effect.gen(function* () {
      const hasher = yield* Hasher
      const dna = decodeHashB64(dnaText, "dna")
      if (dna === undefined || !hasher.checkLocation(dna)) {
        return error(400, "Invalid base64 DNA hash")
      }
      for (
        const [what, value] of [["app id", appId], ["zome name", zome], [
          "function name",
          fn,
        ]] as const
      ) {
        if (value.length > MAX_IDENTIFIER_LENGTH) {
          return error(400, `The ${what} is longer than ${MAX_IDENTIFIER_LENGTH} characters`)
        }
      }
      if (payload !== undefined && payload.length > config.payload_limit_bytes) {
        return error(
          400,
          `Payload size exceeds maximum allowed size (${config.payload_limit_bytes} bytes)`,
        )
      }
      const encoded = payloadToMsgpack(payload)
      if (typeof encoded === "string") return error(400, encoded)
      if (!config.allowed_app_ids.includes(appId)) return error(403, `App ${appId} is not allowed`)
      const allowed = config.allowed_fns[appId]
      if (allowed === undefined || (allowed !== "*" && !allowed.includes(`${zome}/${fn}`))) {
        return error(403, `Function ${zome}/${fn} in app ${appId} is not allowed`)
      }
      const cells = yield* Cells
      const cell = cells.byApp(appId).find((x) => x.cloneId === null && bytesEqual(x.dna.hash, dna))
      if (cell === undefined) {
        return error(404, `App ${appId} is not installed with DNA ${dnaText}, or is not enabled`)
      }
      const zomeCalls = yield* ZomeCalls
      const exit = yield* Effect.exit(
        zomeCalls.call({
          cellId: cell.cellId,
          zome,
          fn,
          payload: encoded,
          provenance: cell.agent,
          capSecret: null,
        }),
      )
      if (exit._tag === "Success") return ok(msgpackToJson(exit.value))
      const failure = exit.cause.reasons.find((r) => r._tag === "Fail")
      if (failure === undefined || failure._tag !== "Fail") {
        return error(500, "Something Went Wrong")
      }
      switch (failure.error.reason) {
        case "ZomeNotFound":
        case "FunctionNotFound":
          return error(404, failure.error.detail)
        case "GuestError":
        case "Trap":
        case "InvalidCommit":
        case "InitFailed":
          return error(500, failure.error.detail)
        default:
          return error(500, "Something Went Wrong")
      }
    }))
    return c.body(result.body, result.status, { "content-type": "application/json" })
  })
  return app
}
