/**
 * Conductors that talk over NATS, for the network's end-to-end tests: a conductor process with a
 * `network:` section pointing at given NATS URLs (fast timings, so tests wait seconds, not
 * minutes), the forum installed and enabled for a fresh agent, and an app client with signing
 * credentials. Every wait is bounded (tests/support/timeout.ts).
 *
 * @module
 */
import { type AdminWebsocket, type AppWebsocket, type CellId } from "@holochain/client"
import { packed } from "../support/conductor.ts"
import { cleanup } from "../support/timeout.ts"
import {
  closeClient,
  type ConductorProcess,
  connectAdmin,
  connectApp,
  startConductor,
} from "./support.ts"

/**
 * Installs and enables `appId` from `happ` for a fresh agent unless it is already there, gives
 * its `role` cell signing credentials, and opens an authenticated app client on a new interface.
 */
export async function openApp(
  admin: AdminWebsocket,
  happ: Uint8Array,
  appId: string,
  role: string,
): Promise<{ readonly app: AppWebsocket; readonly cellId: CellId }> {
  if (!(await admin.listApps({})).some((a) => a.installed_app_id === appId)) {
    await admin.installApp({
      source: { type: "bytes", value: happ },
      agent_key: await admin.generateAgentPubKey(),
      installed_app_id: appId,
    })
    await admin.enableApp({ installed_app_id: appId })
  }
  const info = (await admin.listApps({})).find((a) => a.installed_app_id === appId)!
  const cell = info.cell_info[role]![0]!
  const cellId = (cell.value as { cell_id: CellId }).cell_id
  await admin.authorizeSigningCredentials(cellId)
  const { port } = await admin.attachAppInterface({
    allowed_origins: "e2e-app",
    installed_app_id: appId,
  })
  const { token } = await admin.issueAppAuthenticationToken({ installed_app_id: appId })
  return { app: await connectApp(port, token), cellId }
}
/** The timings of test conductors: agent infos lapse after 6 s, repair every 2 s. */
export function networkConfig(urls: ReadonlyArray<string>, extra = ""): string {
  return [
    `network:`,
    `  nats: {servers: [${urls.map((u) => JSON.stringify(u)).join(", ")}], ` +
    `reconnect_wait_ms: 200, ping_interval_ms: 1000}`,
    `  agent_info_ttl_ms: 6000`,
    `  agent_info_refresh_ms: 1000`,
    `  repair_interval_ms: 2000`,
    `  request_timeout_ms: 2000`,
    `  publish_interval_ms: 50`,
    extra,
  ].join("\n")
}

let forumHapp: Uint8Array | undefined

/** A conductor running the forum, with clients. */
export interface ForumNode {
  readonly name: string
  readonly conductor: ConductorProcess
  readonly admin: AdminWebsocket
  readonly app: AppWebsocket
  readonly cellId: CellId
  /** Calls a forum function as this node's agent. */
  readonly call: (fn: string, payload: unknown) => Promise<unknown>
  /** Titles of `list_posts`, newest first. */
  readonly titles: () => Promise<ReadonlyArray<string>>
  /** Closes the clients and stops the conductor. */
  readonly stop: () => Promise<void>
}

/** Starts a conductor on `urls`, installs the forum and connects clients. */
export async function startForumNode(
  name: string,
  urls: ReadonlyArray<string>,
  options: { readonly dir?: string; readonly extra?: string } = {},
): Promise<ForumNode> {
  forumHapp ??= await packed("examples/forum")
  const conductor = await startConductor({
    ...(options.dir !== undefined ? { dir: options.dir } : {}),
    extraConfig: networkConfig(urls, options.extra),
  })
  let admin: AdminWebsocket | undefined
  let app: AppWebsocket | undefined
  try {
    admin = await connectAdmin(conductor.adminPort)
    const opened = await openApp(admin, forumHapp, "forum", "forum")
    app = opened.app
    const cellId = opened.cellId
    const client = app
    const call = (fn: string, payload: unknown) =>
      client.callZome({ role_name: "forum", zome_name: "forum", fn_name: fn, payload })
    const adminClient = admin
    return {
      name,
      conductor,
      admin,
      app,
      cellId,
      call,
      titles: async () =>
        ((await call("list_posts", { limit: 100 })) as Array<{ title: string }>).map((p) =>
          p.title
        ),
      stop: () =>
        cleanup([
          [`${name}: app client`, () => closeClient(client)],
          [`${name}: admin client`, () => closeClient(adminClient)],
          [`${name}: conductor`, () => conductor.stop()],
        ]),
    }
  } catch (error) {
    await cleanup([
      ...(app !== undefined ? [[`${name}: app`, () => closeClient(app!)] as const] : []),
      ...(admin !== undefined ? [[`${name}: admin`, () => closeClient(admin!)] as const] : []),
      [`${name}: conductor`, () => conductor.stop()],
    ]).catch(() => {})
    throw error
  }
}

/** What `dump_network_metrics` reports of a space (the fields the tests read). */
export interface SpaceMetrics {
  readonly "gossip_state_summary": { readonly peers: number; readonly "repair_rounds": number }
  readonly "publish_state_summary": {
    readonly "ops_pending": number
    readonly "ops_done": number
    readonly "receipts_received": number
    readonly refused: number
    readonly integrated: number
  }
}

/** This node's metrics of the forum's space, or null before it joined the space. */
export async function spaceMetrics(node: ForumNode): Promise<SpaceMetrics | null> {
  const dumped = await node.admin.dumpNetworkMetrics({
    dna_hash: node.cellId[0],
    include_dht_summary: false,
  }) as unknown
  const values = dumped instanceof Map ? [...dumped.values()] : Object.values(dumped as object)
  if (values.length > 1) {
    throw new Error(`metrics of more than one space: ${JSON.stringify(dumped)}`)
  }
  return (values[0] as SpaceMetrics | undefined) ?? null
}

/**
 * Runs `fn`; a failure is rethrown with the last lines each conductor printed, so that a
 * failure under load says what the conductors saw.
 */
export async function withOutputs(
  nodes: ReadonlyArray<ForumNode>,
  fn: () => Promise<void>,
): Promise<void> {
  try {
    await fn()
  } catch (error) {
    const outputs = nodes.map((node) =>
      `--- ${node.name} (pid ${node.conductor.pid}):\n` +
      node.conductor.output().split("\n").slice(-40).join("\n")
    ).join("\n")
    throw new Error(`${error instanceof Error ? error.message : String(error)}\n${outputs}`, {
      cause: error,
    })
  }
}
