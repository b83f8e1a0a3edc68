/**
 * `checkPorts`: before the conductor creates or writes anything in its data folder, each port
 * `conductor.yaml` names (`http.port`, `admin_interfaces[].driver.port`) is bound once and
 * released, so that a port another process holds (often a conductor already running) fails the
 * start with the key and its line, and the data folder is left as it was.
 *
 * @module
 */
import { Effect } from "effect"
import {
  type ConductorConfigShape,
  ConfigError,
  configKeyLine,
  type ConfigProblem,
} from "./config.ts"

interface Wanted {
  readonly keyPath: ReadonlyArray<string | number>
  readonly hostnames: ReadonlyArray<string>
  readonly port: number
}

function wantedPorts(config: ConductorConfigShape): ReadonlyArray<Wanted> {
  const wanted: Array<Wanted> = [{
    keyPath: ["http", "port"],
    hostnames: [config.http.bind],
    port: config.http.port,
  }]
  config.admin_interfaces.forEach(({ driver }, i) => {
    const bind = driver.danger_bind_addr ?? null
    wanted.push({
      keyPath: ["admin_interfaces", i, "driver", "port"],
      hostnames: bind === null ? ["127.0.0.1", "::1"] : [bind],
      port: driver.port,
    })
  })
  return wanted.filter((w) => w.port !== 0)
}

/** Binds and releases `hostname:port`; `undefined` when it could be bound (or the address does not exist here). */
function probe(hostname: string, port: number): string | undefined {
  try {
    Deno.listen({ hostname, port }).close()
    return undefined
  } catch (cause) {
    if (cause instanceof Deno.errors.AddrInUse) return "is in use"
    if (cause instanceof Deno.errors.PermissionDenied) return "needs privileges this process lacks"
    // An address family this machine lacks (no ::1) is the listener's own business.
    return undefined
  }
}

/**
 * Fails with a `ConfigError` listing every configured port that cannot be bound, or that two
 * keys both name, each at its key's line.
 */
export const checkPorts = (config: ConductorConfigShape): Effect.Effect<void, ConfigError> =>
  Effect.suspend(() => {
    const text = config.source.startsWith("<") ? undefined : readText(config.source)
    const lineOf = (keyPath: ReadonlyArray<string | number>) =>
      text === undefined ? null : configKeyLine(text, keyPath)
    const problems: Array<ConfigProblem> = []
    const seen = new Map<number, string>()
    for (const wanted of wantedPorts(config)) {
      const keyPath = wanted.keyPath.join(".")
      const earlier = seen.get(wanted.port)
      if (earlier !== undefined) {
        problems.push({
          keyPath,
          line: lineOf(wanted.keyPath),
          detail: `port ${wanted.port} is also ${earlier}'s`,
        })
        continue
      }
      seen.set(wanted.port, keyPath)
      for (const hostname of wanted.hostnames) {
        const failure = probe(hostname, wanted.port)
        if (failure === undefined) continue
        const host = hostname.includes(":") ? `[${hostname}]` : hostname
        problems.push({
          keyPath,
          line: lineOf(wanted.keyPath),
          detail: `port ${wanted.port} on ${host} ${failure}${
            failure === "is in use"
              ? " (is a conductor already running? stop it, or choose another port)"
              : ""
          }`,
        })
        break
      }
    }
    return problems.length === 0
      ? Effect.void
      : Effect.fail(ConfigError.fromProblems(config.source, problems))
  })

function readText(file: string): string | undefined {
  try {
    return Deno.readTextFileSync(file)
  } catch {
    return undefined
  }
}
