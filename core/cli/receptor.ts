/**
 * `conductor receptor list|show|call`: reaches the receptors of a running conductor through its
 * admin HTTP API (`/api/receptors`), the same `Receptors.call` path zomes and flows use. It never
 * opens the receptors' files itself (the running conductor owns them). The address and bearer
 * token come from `--url`, else from the config file's `http` section, else the defaults.
 *
 * @module
 */
import { Console, Duration, Effect, Schema } from "effect"
import { ConductorConfig } from "../config/mod.ts"

/** The help text of `conductor receptor`. */
export const RECEPTOR_USAGE = `usage: conductor receptor list|show|call [options] …

  conductor receptor list                        every configured receptor and its health
  conductor receptor show ID                     one receptor: health and operations
  conductor receptor call ID OPERATION [JSON]    call an operation; prints its JSON result

options:
  --config FILE   read the HTTP address and http.admin_token from this conductor.yaml
  --url URL       the conductor's HTTP endpoint (default http://127.0.0.1:4445, or from --config)
  --timeout MS    how long to wait for the answer (default 30000)

exit status: 0 on success; 1 with "conductor: <message>" on stderr otherwise.

example:
  conductor receptor call notes put '{"key":"greeting","value":"hello"}'
`

/** Parsed `conductor receptor` arguments (main.ts passes its positionals and options). */
export interface ReceptorCommandArgs {
  /** The words after `receptor`: `list`, `show ID` or `call ID OPERATION [JSON]`. */
  readonly args: ReadonlyArray<string>
  readonly url?: string | undefined
  readonly config?: string | undefined
  /** Milliseconds, as text. @default "30000" */
  readonly timeout?: string | undefined
}

/** The command cannot run as asked, or the conductor refused it. */
export class ReceptorCommandError extends Schema.TaggedError<ReceptorCommandError>()(
  "ReceptorCommandError",
  { detail: Schema.String },
) {
  override get message(): string {
    return this.detail
  }
}

const fail = (detail: string) => Effect.fail(new ReceptorCommandError({ detail }))

const parseJson = (text: string, detail: string) =>
  Effect.try({
    try: (): unknown => JSON.parse(text),
    catch: () => new ReceptorCommandError({ detail }),
  })

function endpoint(args: ReceptorCommandArgs) {
  return Effect.gen(function* () {
    if (args.config === undefined) {
      return { url: args.url ?? "http://127.0.0.1:4445", token: undefined }
    }
    const config = yield* Effect.provide(
      Effect.service(ConductorConfig),
      ConductorConfig.fromFile(args.config),
    )
    const host = config.http.bind.includes(":") ? `[${config.http.bind}]` : config.http.bind
    if (args.url === undefined && config.http.port === 0) {
      return yield* fail(
        `${args.config} has http.port 0 (a free port); give the address with --url`,
      )
    }
    return {
      url: args.url ?? `http://${host}:${config.http.port}`,
      token: config.http.admin_token ?? undefined,
    }
  })
}

function request(
  args: ReceptorCommandArgs,
  method: "GET" | "POST",
  path: string,
  body?: string,
) {
  return Effect.gen(function* () {
    const timeout = Number(args.timeout ?? 30_000)
    if (!Number.isInteger(timeout) || timeout < 1 || timeout > 3_600_000) {
      return yield* fail(
        `--timeout must be a whole number from 1 to 3600000, not "${args.timeout}"`,
      )
    }
    const { url, token } = yield* endpoint(args)
    const target = `${url.replace(/\/$/, "")}/api/receptors${path}`
    const response = yield* Effect.tryPromise({
      try: async (signal) => {
        const res = await fetch(target, {
          method,
          signal,
          headers: {
            "content-type": "application/json",
            ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
          },
          ...(body === undefined ? {} : { body }),
        })
        return { status: res.status, text: await res.text() }
      },
      catch: (cause) =>
        new ReceptorCommandError({
          detail: `cannot reach ${target}: ${cause instanceof Error ? cause.message : cause}`,
        }),
    }).pipe(
      Effect.timeoutOrElse({
        duration: Duration.millis(timeout),
        orElse: () => fail(`no answer from ${target} within ${timeout} ms`),
      }),
    )
    const parsed = yield* parseJson(
      response.text,
      `${target} answered ${response.status} with non-JSON: ${response.text.slice(0, 200)}`,
    )
    if (response.status !== 200) {
      const error = (parsed as { error?: unknown }).error
      return yield* fail(`${response.status}: ${typeof error === "string" ? error : response.text}`)
    }
    return parsed
  })
}

interface Listed {
  readonly id: string
  readonly type: string
  readonly enabled: boolean
  readonly default: boolean
  readonly health: { readonly status: string; readonly detail: string }
}

/** Runs `conductor receptor …`. */
export function receptorCommand(args: ReceptorCommandArgs) {
  return Effect.gen(function* () {
    const [action, id, operation, input, ...extra] = args.args
    switch (action) {
      case "list": {
        if (id !== undefined) return yield* fail(`list takes no arguments\n\n${RECEPTOR_USAGE}`)
        const list = (yield* request(args, "GET", "")) as ReadonlyArray<Listed>
        if (list.length === 0) return yield* Console.log("no receptors are configured")
        const rows = list.map((r) => [
          r.id,
          r.type,
          r.enabled ? "enabled" : "disabled",
          r.default ? "default" : "",
          `${r.health.status}: ${r.health.detail}`,
        ])
        const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((row) => row[i]!.length)))
        for (const row of rows) {
          yield* Console.log(
            row.map((cell, i) => i < 4 ? cell.padEnd(widths[i]!) : cell).join("  "),
          )
        }
        return
      }
      case "show": {
        if (id === undefined || operation !== undefined) {
          return yield* fail(`show needs one receptor id\n\n${RECEPTOR_USAGE}`)
        }
        const shown = yield* request(args, "GET", `/${encodeURIComponent(id)}`)
        return yield* Console.log(JSON.stringify(shown, null, 2))
      }
      case "call": {
        if (id === undefined || operation === undefined || extra.length > 0) {
          return yield* fail(`call needs ID OPERATION [JSON]\n\n${RECEPTOR_USAGE}`)
        }
        if (input !== undefined) yield* parseJson(input, `the input is not JSON: ${input}`)
        const result = yield* request(
          args,
          "POST",
          `/${encodeURIComponent(id)}/call/${encodeURIComponent(operation)}`,
          input ?? "{}",
        )
        return yield* Console.log(JSON.stringify(result, null, 2))
      }
      default:
        return yield* fail(
          `${
            action === undefined
              ? "receptor needs a subcommand"
              : `unknown receptor subcommand "${action}"`
          }\n\n${RECEPTOR_USAGE}`,
        )
    }
  })
}
