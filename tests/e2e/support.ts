/**
 * End-to-end harness: runs `deno run -A main.ts run --config <tmp>` as a subprocess (admin and
 * HTTP ports 0, a temporary data folder, a passphrase in the config), waits for its
 * `conductor ready {…}` line, and connects the unmodified `@holochain/client` 0.21 to it. Also
 * packs the fixture hApps once per process and reads the conductor's RSS from `/proc`. Every wait
 * is bounded (tests/support/timeout.ts): the ready line, the exit after SIGTERM (then SIGKILL),
 * the output readers and closing a client.
 *
 * @module
 */
import { AdminWebsocket, AppWebsocket, type CellId, type WsClient } from "@holochain/client"
import { packed, ROOT } from "../support/conductor.ts"
import { CLEANUP_TIMEOUT_MS, stopProcess, TimeoutError, withTimeout } from "../support/timeout.ts"

/** How long a conductor may take to print its ready line (it type-checks nothing; generous). */
export const READY_TIMEOUT_MS = 120_000

/** The Origin every admin client sends (the admin interface allows it). */
export const ADMIN_ORIGIN = "e2e-admin"
/** The Origin app clients send. */
export const APP_ORIGIN = "e2e-app"

/** What `conductor ready` reports. */
export interface ReadyLine {
  readonly "admin_ports": ReadonlyArray<number>
  readonly "app_ports": ReadonlyArray<number>
  readonly "http_port": number
}

/** A conductor subprocess. */
export interface ConductorProcess {
  readonly dir: string
  readonly configPath: string
  readonly ready: ReadyLine
  readonly adminPort: number
  readonly pid: number
  /** Everything it printed so far. */
  readonly output: () => string
  /** Resident memory in KiB, from `/proc/<pid>/status`. */
  readonly rssKiB: () => number
  /**
   * SIGTERM, then waits (bounded) for it to exit and returns its exit code; one that does not
   * exit in time is killed and the wait fails naming it.
   */
  readonly stop: () => Promise<number>
}

/** Options of `startConductor`. */
export interface StartOptions {
  /** Reuse a data folder (for restarts). @default a new temporary folder */
  readonly dir?: string
  /** `allowed_origins` of the admin interface. @default ADMIN_ORIGIN */
  readonly adminOrigins?: string
  /** The admin websocket's port (to restart on the same one). @default 0, a free port */
  readonly adminPort?: number
  /** Extra top-level YAML appended to the config. */
  readonly extraConfig?: string
  /** V8 flags for the conductor process (`DENO_V8_FLAGS`). */
  readonly v8Flags?: string
  /** Flags for `deno run` before the entry point (`--inspect=127.0.0.1:0`, for example). */
  readonly denoFlags?: ReadonlyArray<string>
}

async function collect(
  stream: ReadableStream<Uint8Array>,
  onLine: (line: string) => void,
): Promise<void> {
  let pending = ""
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    pending += chunk
    let newline = pending.indexOf("\n")
    while (newline >= 0) {
      onLine(pending.slice(0, newline))
      pending = pending.slice(newline + 1)
      newline = pending.indexOf("\n")
    }
  }
  if (pending.length > 0) onLine(pending)
}

/** Starts a conductor and resolves once it prints its ready line. */
export async function startConductor(options: StartOptions = {}): Promise<ConductorProcess> {
  const dir = options.dir ?? await Deno.makeTempDir({ prefix: "conductor-e2e-" })
  const configPath = `${dir}/conductor.yaml`
  await Deno.writeTextFile(
    configPath,
    [
      `data_dir: ${dir}/data`,
      `keystore: {passphrase: "e2e passphrase"}`,
      `admin_interfaces:`,
      `  - driver: {type: websocket, port: ${options.adminPort ?? 0}, allowed_origins: "${
        options.adminOrigins ?? ADMIN_ORIGIN
      }"}`,
      `http: {port: 0}`,
      `log: {level: warn}`,
      options.extraConfig ?? "",
    ].join("\n"),
  )
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      ...options.denoFlags ?? [],
      `${ROOT}main.ts`,
      "run",
      "--config",
      configPath,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    ...(options.v8Flags === undefined ? {} : { env: { DENO_V8_FLAGS: options.v8Flags } }),
  }).spawn()
  const lines: Array<string> = []
  const { promise: readyPromise, resolve, reject } = Promise.withResolvers<ReadyLine>()
  const onLine = (line: string) => {
    lines.push(line)
    if (line.startsWith("conductor ready ")) resolve(JSON.parse(line.slice(16)))
  }
  const readers = Promise.all([collect(child.stdout, onLine), collect(child.stderr, onLine)])
  // Once ready this rejects nothing: a settled promise ignores it.
  void child.status.then((status) => {
    reject(new Error(`conductor exited (${status.code}) before it was ready:\n${lines.join("\n")}`))
  })
  const stop = async () => {
    const status = await stopProcess(child, `conductor ${child.pid}`)
    await withTimeout(readers, CLEANUP_TIMEOUT_MS, `conductor ${child.pid} output closing`)
    return status.code
  }
  let ready: ReadyLine
  try {
    ready = await withTimeout(readyPromise, READY_TIMEOUT_MS, "the conductor's ready line")
  } catch (error) {
    await stop().catch(() => {})
    if (!(error instanceof TimeoutError)) throw error
    throw new Error(`${error.message}; its output:\n${lines.join("\n")}`, { cause: error })
  }
  return {
    dir,
    configPath,
    ready,
    adminPort: ready.admin_ports[0]!,
    pid: child.pid,
    output: () => lines.join("\n"),
    rssKiB: () => {
      const status = Deno.readTextFileSync(`/proc/${child.pid}/status`)
      return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN)
    },
    stop,
  }
}

/**
 * Closes a `@holochain/client` websocket, bounded. The client's own `close()` waits for a close
 * event, which never comes for a socket that is already closed; that case returns at once.
 */
export async function closeClient(client: AdminWebsocket | AppWebsocket): Promise<void> {
  const ws = client.client as WsClient
  if (ws.socket.readyState === ws.socket.CLOSED) return
  await withTimeout(ws.close(), CLEANUP_TIMEOUT_MS, `closing the websocket to ${ws.url ?? "?"}`)
}

/** An admin client with the allowed Origin. */
export function connectAdmin(port: number, origin = ADMIN_ORIGIN): Promise<AdminWebsocket> {
  return AdminWebsocket.connect({
    url: new URL(`ws://localhost:${port}`),
    wsClientOptions: { origin },
  })
}

/** An app client authenticated with `token`. */
export function connectApp(
  port: number,
  token: ReadonlyArray<number>,
  origin = APP_ORIGIN,
): Promise<AppWebsocket> {
  return AppWebsocket.connect({
    url: new URL(`ws://localhost:${port}`),
    token: [...token],
    wsClientOptions: { origin },
  })
}

/**
 * Connects an app client with `token` and tells how it went: `"refused"` when the conductor closed
 * the connection at authentication, else the error's name (or `"accepted"`, closing the client).
 * `@holochain/client` waits a fixed 10 ms for that close before it sends `app_info`, so the same
 * refusal reads as `InvalidTokenError` or, when the close comes later (a loaded machine), as
 * `ClientClosedWithPendingRequests` on that first request; both are the refusal.
 */
export async function tokenRefusal(
  port: number,
  token: ReadonlyArray<number>,
  origin = APP_ORIGIN,
): Promise<string> {
  try {
    await closeClient(await connectApp(port, token, origin))
    return "accepted"
  } catch (error) {
    const name = error instanceof Error ? error.name : String(error)
    return name === "InvalidTokenError" || name === "ClientClosedWithPendingRequests"
      ? "refused"
      : name
  }
}

const bundles = new Map<string, Uint8Array>()

/** A fixture hApp (`tests/fixtures/happs/<name>`), packed once per process. */
export async function happ(name: string): Promise<Uint8Array> {
  let bytes = bundles.get(name)
  if (bytes === undefined) {
    bytes = await packed(`tests/fixtures/happs/${name}`)
    bundles.set(name, bytes)
  }
  return bytes
}

/** Installs and enables a fixture hApp for a new agent; returns the provisioned cell of `role`. */
export async function installEnabled(
  admin: AdminWebsocket,
  appId: string,
  options: { readonly happName?: string; readonly role?: string; readonly networkSeed?: string } =
    {},
): Promise<CellId> {
  const agent = await admin.generateAgentPubKey()
  const info = await admin.installApp({
    source: { type: "bytes", value: await happ(options.happName ?? "ws") },
    agent_key: agent,
    installed_app_id: appId,
    ...(options.networkSeed === undefined ? {} : { network_seed: options.networkSeed }),
  })
  await admin.enableApp({ installed_app_id: appId })
  const cell = info.cell_info[options.role ?? "main"]?.[0]
  if (cell?.type !== "provisioned") throw new Error(`app ${appId} has no provisioned cell`)
  return cell.value.cell_id
}

/** A fresh app client for `appId` on `port` (a new single-use token each time). */
export async function openApp(
  admin: AdminWebsocket,
  port: number,
  appId: string,
): Promise<AppWebsocket> {
  const { token } = await admin.issueAppAuthenticationToken({ installed_app_id: appId })
  return await connectApp(port, token)
}
