/**
 * The logger layer from config: pretty (human) or JSON lines, at the configured minimum level.
 * Logs go to stderr so that command output on stdout stays machine-readable.
 *
 * @module
 */
import { Effect, Layer, Logger, References } from "effect"
import { ConductorConfig } from "../config/mod.ts"

const LEVELS = {
  trace: "Trace",
  debug: "Debug",
  info: "Info",
  warn: "Warn",
  error: "Error",
} as const

/** Installs the configured logger and minimum level. */
export const LoggingLayer = Layer.unwrap(
  Effect.gen(function* () {
    const config = yield* ConductorConfig
    const logger = config.log.format === "json"
      ? Logger.withConsoleError(Logger.formatJson)
      : Logger.consolePretty({ colors: "auto" })
    return Layer.mergeAll(
      Logger.layer([logger]),
      Layer.succeed(References.MinimumLogLevel, LEVELS[config.log.level]),
      Layer.succeed(References.LogToStderr, true),
    )
  }),
)
