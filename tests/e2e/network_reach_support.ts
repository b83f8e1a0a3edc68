/**
 * Conductors running the `network` test app (tests/fixtures/happs/network: `host_fns` for
 * writes, `network` for the host functions that reach other agents) over NATS, with an app
 * client per node that records the signals it receives. Built on the network e2e support
 * (`networkConfig`) and the e2e conductor helpers; every wait is bounded.
 *
 * @module
 */
import { type AdminWebsocket, type AppWebsocket, type CellId } from "@holochain/client"
import { packed } from "../support/conductor.ts"
import { cleanup } from "../support/timeout.ts"
import { networkConfig, openApp } from "./network_support.ts"
import { closeClient, type ConductorProcess, connectAdmin, startConductor } from "./support.ts"

let networkHapp: Uint8Array | undefined

/** A conductor running the network test app. */
export interface NetworkNode {
  readonly name: string
  readonly conductor: ConductorProcess
  readonly admin: AdminWebsocket
  readonly app: AppWebsocket
  readonly cellId: CellId
  readonly agent: Uint8Array
  /** Signal payloads received by the app client, in order. */
  readonly signals: Array<unknown>
  /** Calls `fn` of `zome` as this node's agent. */
  readonly call: (zome: "host_fns" | "network", fn: string, payload: unknown) => Promise<unknown>
  /** Calls host function `fn` through the network zome's passthrough: `{ok}` or `{err}`. */
  readonly host: (fn: string, input: unknown) => Promise<{ ok?: unknown; err?: { kind: string } }>
  readonly stop: () => Promise<void>
}

/** Options of `startNetworkNode`. */
export interface NetworkNodeOptions {
  /** Extra lines of the `network:` section (`  arc: zero`, say). */
  readonly extra?: string
  /** Reuse a data folder (restarts). */
  readonly dir?: string
  /** `repair_interval_ms` instead of the e2e default. */
  readonly repairIntervalMs?: number
  /** The whole `network:` section instead of the e2e one (benchmarks use the defaults). */
  readonly network?: string
}

/** Starts a conductor on `urls` with the network test app installed and enabled. */
export async function startNetworkNode(
  name: string,
  urls: ReadonlyArray<string>,
  options: NetworkNodeOptions = {},
): Promise<NetworkNode> {
  networkHapp ??= await packed("tests/fixtures/happs/network")
  const conductor = await startConductor({
    ...(options.dir !== undefined ? { dir: options.dir } : {}),
    extraConfig: options.network ?? networkConfig(urls, options.extra ?? "").replace(
      /repair_interval_ms: \d+/,
      `repair_interval_ms: ${options.repairIntervalMs ?? 2000}`,
    ),
  })
  let admin: AdminWebsocket | undefined
  let app: AppWebsocket | undefined
  try {
    admin = await connectAdmin(conductor.adminPort)
    const opened = await openApp(admin, networkHapp, "network", "network")
    app = opened.app
    const cellId = opened.cellId
    const signals: Array<unknown> = []
    app.on("signal", (signal) => {
      const s = signal as { type?: string; value?: { payload?: unknown } }
      if (s.type === "app") signals.push(s.value?.payload)
    })
    const client = app
    const adminClient = admin
    const call = (zome: "host_fns" | "network", fn: string, payload: unknown) =>
      client.callZome({ role_name: "network", zome_name: zome, fn_name: fn, payload })
    return {
      name,
      conductor,
      admin,
      app,
      cellId,
      agent: cellId[1],
      signals,
      call,
      host: async (fn, input) =>
        (await call("network", "host", { fn, input })) as { ok?: unknown; err?: { kind: string } },
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
