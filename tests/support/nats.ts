/**
 * Real `nats-server` processes for the network tests: one server or a cluster of servers with
 * routes, every port on loopback and chosen by the OS (`-1` in the config; the server writes the
 * ports it bound to a ports file, `--ports_file_dir`), killed with SIGKILL and restarted on the
 * same ports for fault tests. Readiness is a condition, never a sleep: the ports file exists and
 * `/healthz` on the monitoring port answers 200; a cluster is formed when every server routes to
 * every other one (`/routez`). Every wait is bounded (`timeout.ts`).
 *
 * Routes ping every second (`ping_interval: "1s"`, `ping_max: 2`) so a killed peer is noticed in
 * about two seconds instead of minutes (network.md §3). nats-server 2.9.10 has no `ping_interval`
 * inside `cluster {}`; the top-level one covers routes and clients alike.
 *
 * The binary is `$NATS_SERVER`, else `nats-server` on `PATH`, else `/usr/sbin/nats-server`
 * (Debian's package). When none exists the helpers fail with the command that installs it: a
 * network test never skips itself silently. `deno task test` installs it first
 * (`ensure_nats.ts`).
 *
 * @module
 */
import { CLEANUP_TIMEOUT_MS, stopProcess, waitFor, withTimeout } from "./timeout.ts"

/** What to run when the binary is missing. */
export const INSTALL_NATS_COMMAND = "apt-get install -y nats-server"

/** Bound of one server start (process up, ports bound, healthy). */
export const NATS_START_TIMEOUT_MS = 30_000

/** Finds the nats-server binary; null when there is none. */
export function findNatsServer(): string | null {
  const candidates: Array<string> = []
  const fromEnv = Deno.env.get("NATS_SERVER")
  if (fromEnv) candidates.push(fromEnv)
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (dir !== "") candidates.push(`${dir}/nats-server`)
  }
  candidates.push("/usr/sbin/nats-server", "/usr/bin/nats-server")
  for (const path of candidates) {
    try {
      const info = Deno.statSync(path)
      if (info.isFile && ((info.mode ?? 0o111) & 0o111) !== 0) return path
    } catch {
      // Not there: try the next one.
    }
  }
  return null
}

/** The nats-server binary, or an error that says how to install it. */
export function natsServerPath(): string {
  const path = findNatsServer()
  if (path === null) {
    throw new Error(
      `nats-server is not installed (looked at $NATS_SERVER, PATH and /usr/sbin); ` +
        `the network tests need it: run \`${INSTALL_NATS_COMMAND}\` (as root)`,
    )
  }
  return path
}

/** The ports a server bound (kept across restarts). */
export interface NatsPorts {
  readonly client: number
  readonly monitoring: number
  /** Only for cluster members. */
  readonly cluster?: number
}

/** Options of `startNatsServer`. */
export interface NatsServerOptions {
  /** `server_name`. @default "n<random>" */
  readonly name?: string
  /** Enables JetStream with a file store in the server's temporary directory. @default false */
  readonly jetstream?: boolean
  /** Makes the server a cluster member: the cluster's name and the routes it solicits. */
  readonly cluster?: {
    readonly name: string
    /** `nats-route://127.0.0.1:<port>` of the other members (may be empty). */
    readonly routes: ReadonlyArray<string>
  }
  /** Bind these ports instead of free ones (a restart does this). */
  readonly ports?: NatsPorts
  /** Extra lines appended to the generated config. */
  readonly extraConfig?: string
}

/** The JSON of a ports file (`nats-server_<pid>.ports`). */
interface PortsFile {
  readonly nats?: ReadonlyArray<string>
  readonly monitoring?: ReadonlyArray<string>
  readonly cluster?: ReadonlyArray<string>
}

function portOf(url: string | undefined, what: string): number {
  if (url === undefined) throw new Error(`the nats-server ports file has no ${what} address`)
  const port = Number(new URL(url.replace(/^nats(-route)?:/, "http:")).port)
  if (!Number.isInteger(port) || port <= 0) throw new Error(`bad ${what} address ${url}`)
  return port
}

function configText(dir: string, name: string, options: NatsServerOptions): string {
  const port = (value: number | undefined) => value ?? -1
  const lines = [
    `server_name: ${JSON.stringify(name)}`,
    `listen: "127.0.0.1:${port(options.ports?.client)}"`,
    `http: "127.0.0.1:${port(options.ports?.monitoring)}"`,
    `log_file: ${JSON.stringify(`${dir}/server.log`)}`,
    `ping_interval: "1s"`,
    `ping_max: 2`,
  ]
  if (options.jetstream) {
    lines.push(`jetstream { store_dir: ${JSON.stringify(`${dir}/jetstream`)} }`)
  }
  if (options.cluster !== undefined) {
    const routes = options.cluster.routes.map((route) => JSON.stringify(route)).join(", ")
    lines.push(
      `cluster {`,
      `  name: ${JSON.stringify(options.cluster.name)}`,
      `  listen: "127.0.0.1:${port(options.ports?.cluster)}"`,
      `  routes: [${routes}]`,
      `  connect_retries: 120`,
      `}`,
    )
  }
  if (options.extraConfig) lines.push(options.extraConfig)
  return lines.join("\n") + "\n"
}

/** Reads `/<path>` of a monitoring endpoint as JSON (bounded). */
export async function monitor<T = Record<string, unknown>>(
  monitoringUrl: string,
  path: string,
): Promise<T> {
  const response = await fetch(`${monitoringUrl}/${path}`, {
    signal: AbortSignal.timeout(CLEANUP_TIMEOUT_MS),
  })
  const text = await response.text()
  if (!response.ok) throw new Error(`${monitoringUrl}/${path}: ${response.status} ${text}`)
  return JSON.parse(text) as T
}

/** Connects to a NATS port, reads `INFO`, sends `CONNECT` + `PING` and waits for `PONG`. */
export async function natsHandshake(port: number): Promise<Record<string, unknown>> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port })
  try {
    const decoder = new TextDecoder()
    let text = ""
    const buffer = new Uint8Array(16 * 1024)
    const readUntil = async (pattern: RegExp) => {
      while (!pattern.test(text)) {
        const n = await conn.read(buffer)
        if (n === null) throw new Error(`connection closed before ${pattern}: ${text}`)
        text += decoder.decode(buffer.subarray(0, n))
      }
    }
    await withTimeout(readUntil(/^INFO .*\r\n/), 10_000, "NATS INFO")
    const info = JSON.parse(text.slice(5, text.indexOf("\r\n"))) as Record<string, unknown>
    await conn.write(new TextEncoder().encode(`CONNECT {"verbose":false}\r\nPING\r\n`))
    await withTimeout(readUntil(/PONG\r\n/), 10_000, "NATS PONG")
    return info
  } finally {
    conn.close()
  }
}

/** One nats-server process (restartable on the same ports). */
export class NatsServer {
  #child: Deno.ChildProcess | null = null
  #ports: NatsPorts | null = null
  #options: NatsServerOptions

  private constructor(
    readonly name: string,
    /** The server's temporary directory: config, log, JetStream store, ports file. */
    readonly dir: string,
    options: NatsServerOptions,
  ) {
    this.#options = options
  }

  /** Starts a server and waits until it is healthy. */
  static async start(options: NatsServerOptions = {}): Promise<NatsServer> {
    const dir = await Deno.makeTempDir({ prefix: "nats-test-" })
    const name = options.name ?? `n${crypto.getRandomValues(new Uint32Array(1))[0]}`
    const server = new NatsServer(name, dir, options)
    try {
      await server.#launch()
    } catch (error) {
      await server.close().catch(() => {})
      throw error
    }
    return server
  }

  /** The bound ports (throws before the first start). */
  get ports(): NatsPorts {
    if (this.#ports === null) throw new Error(`nats-server ${this.name} has not started`)
    return this.#ports
  }

  /** `nats://127.0.0.1:<port>`: what clients connect to. */
  get url(): string {
    return `nats://127.0.0.1:${this.ports.client}`
  }

  /** `http://127.0.0.1:<port>` of the monitoring endpoint. */
  get monitoringUrl(): string {
    return `http://127.0.0.1:${this.ports.monitoring}`
  }

  /** `nats-route://127.0.0.1:<port>` for other members' `routes` (cluster members only). */
  get routeUrl(): string {
    const port = this.ports.cluster
    if (port === undefined) throw new Error(`nats-server ${this.name} is not a cluster member`)
    return `nats-route://127.0.0.1:${port}`
  }

  /** True while the process runs. */
  get running(): boolean {
    return this.#child !== null
  }

  /** The process id (throws when not running). */
  get pid(): number {
    if (this.#child === null) throw new Error(`nats-server ${this.name} is not running`)
    return this.#child.pid
  }

  /** The server's log so far. */
  async log(): Promise<string> {
    return await Deno.readTextFile(`${this.dir}/server.log`).catch(() => "")
  }

  /** Reads a monitoring endpoint (`varz`, `connz`, `routez`, `jsz`, …) as JSON. */
  monitor<T = Record<string, unknown>>(path: string): Promise<T> {
    return monitor<T>(this.monitoringUrl, path)
  }

  /** Resolves when `/healthz` answers 200 (bounded). */
  async waitHealthy(timeoutMs = NATS_START_TIMEOUT_MS): Promise<void> {
    await waitFor(
      async () => {
        try {
          const response = await fetch(`${this.monitoringUrl}/healthz`, {
            signal: AbortSignal.timeout(2_000),
          })
          await response.body?.cancel()
          return response.ok
        } catch {
          return false
        }
      },
      `nats-server ${this.name} healthy`,
      { timeoutMs, intervalMs: 25 },
    )
  }

  /** Replaces the routes this member solicits (applies at the next restart). */
  setRoutes(routes: ReadonlyArray<string>): void {
    if (this.#options.cluster === undefined) {
      throw new Error(`nats-server ${this.name} is not a cluster member`)
    }
    this.#options = { ...this.#options, cluster: { ...this.#options.cluster, routes } }
  }

  async #launch(): Promise<void> {
    if (this.#child !== null) throw new Error(`nats-server ${this.name} is already running`)
    const options: NatsServerOptions = this.#ports === null
      ? this.#options
      : { ...this.#options, ports: this.#ports }
    const config = `${this.dir}/server.conf`
    await Deno.writeTextFile(config, configText(this.dir, this.name, options))
    const child = new Deno.Command(natsServerPath(), {
      args: ["-c", config, "--ports_file_dir", this.dir],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn()
    this.#child = child
    const exited = child.status.then((status) => status)
    const portsFile = `${this.dir}/nats-server_${child.pid}.ports`
    const what = `nats-server ${this.name} start`
    try {
      const ports = await withTimeout(
        Promise.race([
          waitFor(
            async () => {
              const text = await Deno.readTextFile(portsFile).catch(() => "")
              if (text === "") return null
              const parsed = JSON.parse(text) as PortsFile
              // The route listener starts after the client one; wait for it on members.
              if (this.#options.cluster !== undefined && !parsed.cluster?.length) return null
              return parsed
            },
            `${what}: ports file`,
            { timeoutMs: NATS_START_TIMEOUT_MS, intervalMs: 20 },
          ),
          exited.then(async (status) => {
            throw new Error(`${what}: exited with ${status.code}:\n${await this.log()}`)
          }),
        ]),
        NATS_START_TIMEOUT_MS,
        what,
      )
      this.#ports = {
        client: portOf(ports.nats?.[0], "client"),
        monitoring: portOf(ports.monitoring?.[0], "monitoring"),
        ...(this.#options.cluster === undefined
          ? {}
          : { cluster: portOf(ports.cluster?.[0], "cluster") }),
      }
      await this.waitHealthy()
    } catch (error) {
      await this.kill().catch(() => {})
      throw error
    }
  }

  /** Crashes the server (SIGKILL) and waits, bounded, for the exit. */
  async kill(): Promise<void> {
    const child = this.#child
    if (child === null) return
    await stopProcess(child, `nats-server ${this.name}`, { signal: "SIGKILL" })
    this.#child = null
    // A killed server leaves its ports file behind; the next start writes one under a new pid.
    await Deno.remove(`${this.dir}/nats-server_${child.pid}.ports`).catch(() => {})
  }

  /** Stops the server gracefully (SIGTERM, SIGKILL if it hangs). */
  async stop(): Promise<void> {
    const child = this.#child
    if (child === null) return
    await stopProcess(child, `nats-server ${this.name}`, { signal: "SIGTERM" })
    this.#child = null
  }

  /** Starts the server again on the same ports (after `kill` or `stop`) and waits until healthy. */
  async restart(): Promise<void> {
    if (this.#ports === null) throw new Error(`nats-server ${this.name} never started`)
    await this.#launch()
  }

  /** Kills the process and removes its directory. */
  async close(): Promise<void> {
    await this.kill()
    await Deno.remove(this.dir, { recursive: true }).catch(() => {})
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await withTimeout(this.close(), CLEANUP_TIMEOUT_MS, `closing nats-server ${this.name}`)
  }
}

/** Starts one server on free loopback ports and waits until it is healthy. */
export function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServer> {
  return NatsServer.start(options)
}

/** Options of `startNatsCluster`. */
export interface NatsClusterOptions {
  /** @default 3 */
  readonly size?: number
  /** JetStream on every member. @default false */
  readonly jetstream?: boolean
  /** @default "c<random>" */
  readonly name?: string
}

/** The shape of `/routez` this file reads. */
interface Routez {
  readonly routes?: ReadonlyArray<{ readonly remote_id?: string }>
}

/** Servers joined by routes on loopback. */
export class NatsCluster {
  private constructor(readonly name: string, readonly servers: ReadonlyArray<NatsServer>) {}

  /**
   * Starts `size` members one after the other, each soliciting routes to those before it (the
   * servers gossip the rest), and waits until the mesh is complete.
   */
  static async start(options: NatsClusterOptions = {}): Promise<NatsCluster> {
    const size = options.size ?? 3
    if (!Number.isInteger(size) || size < 2 || size > 16) {
      throw new Error(`a test cluster has 2 to 16 servers, not ${size}`)
    }
    const name = options.name ?? `c${crypto.getRandomValues(new Uint32Array(1))[0]}`
    const servers: Array<NatsServer> = []
    try {
      for (let i = 0; i < size; i++) {
        servers.push(
          await NatsServer.start({
            name: `${name}-${i}`,
            ...(options.jetstream ? { jetstream: true } : {}),
            cluster: { name, routes: servers.map((server) => server.routeUrl) },
          }),
        )
      }
      const cluster = new NatsCluster(name, servers)
      // A restarted member solicits every other one, whatever its start order was.
      for (const server of servers) {
        server.setRoutes(servers.filter((other) => other !== server).map((s) => s.routeUrl))
      }
      await cluster.waitFormed()
      return cluster
    } catch (error) {
      for (const server of servers) await server.close().catch(() => {})
      throw error
    }
  }

  /** Client URLs of every member (what a client's `servers` list gets). */
  get urls(): ReadonlyArray<string> {
    return this.servers.map((server) => server.url)
  }

  /** The member at `index`. */
  server(index: number): NatsServer {
    const server = this.servers[index]
    if (server === undefined) throw new Error(`the cluster has no server ${index}`)
    return server
  }

  /** How many distinct members `server` has a route to. */
  async routesOf(server: NatsServer): Promise<number> {
    const routez = await server.monitor<Routez>("routez")
    return new Set((routez.routes ?? []).map((route) => route.remote_id)).size
  }

  /** Resolves when every running member routes to every other running member (bounded). */
  async waitFormed(timeoutMs = NATS_START_TIMEOUT_MS): Promise<void> {
    const running = this.servers.filter((server) => server.running)
    await waitFor(
      async () => {
        for (const server of running) {
          const routes = await this.routesOf(server).catch(() => -1)
          if (routes !== running.length - 1) return false
        }
        return true
      },
      `cluster ${this.name}: ${running.length} members routed to each other`,
      { timeoutMs, intervalMs: 50 },
    )
  }

  /** Kills every member and removes their directories. */
  async close(): Promise<void> {
    const failures: Array<unknown> = []
    for (const server of this.servers) {
      await server.close().catch((error) => failures.push(error))
    }
    if (failures.length > 0) throw failures[0]
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await withTimeout(this.close(), CLEANUP_TIMEOUT_MS, `closing nats cluster ${this.name}`)
  }
}

/** Starts a cluster of `size` (default 3) servers on loopback and waits until it is formed. */
export function startNatsCluster(options: NatsClusterOptions = {}): Promise<NatsCluster> {
  return NatsCluster.start(options)
}
