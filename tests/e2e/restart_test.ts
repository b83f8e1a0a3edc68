/**
 * End-to-end restart tests: a conductor stopped (SIGTERM) or killed (SIGKILL) and started again
 * on the same data folder keeps its apps, its app interfaces (same ports) and the nonces it has
 * witnessed, so a replayed call is refused; app authentication tokens, which live in memory,
 * do not survive.
 *
 * @module
 */
import {
  type AdminWebsocket,
  type AppWebsocket,
  type CallZomeRequest,
  type CellId,
  getSigningCredentials,
  type HolochainError,
} from "@holochain/client"
import { encode } from "@msgpack/msgpack"
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict"
import { sha512, signingKeyFromSeed } from "../../core/crypto/mod.ts"
import {
  closeClient,
  connectAdmin,
  connectApp,
  installEnabled,
  openApp,
  startConductor,
  tokenRefusal,
} from "./support.ts"

/** A call signed with the client's stored credentials, sent through its own `callZome`. */
function signed(cellId: CellId, fn: string, payload: unknown) {
  const credentials = getSigningCredentials(cellId)!
  const bytes = encode({
    "cap_secret": credentials.capSecret,
    "cell_id": cellId,
    "zome_name": "host_fns",
    "fn_name": fn,
    provenance: credentials.signingKey,
    payload: encode(payload),
    nonce: crypto.getRandomValues(new Uint8Array(32)),
    "expires_at": (Date.now() + 5 * 60_000) * 1000,
  })
  const signer = signingKeyFromSeed(credentials.keyPair.privateKey.subarray(0, 32))
  return { bytes, signature: signer.sign(sha512(bytes)), "cell_id": cellId }
}

function send(client: AppWebsocket, call: ReturnType<typeof signed>) {
  return client.callZome(call as unknown as CallZomeRequest)
}

async function errorName(promise: Promise<unknown>): Promise<string> {
  try {
    await promise
  } catch (error) {
    return (error as HolochainError).name
  }
  return "no error"
}

async function close(...clients: Array<AdminWebsocket | AppWebsocket>) {
  for (const client of clients) await closeClient(client)
}

Deno.test({
  name: "a restart keeps apps, app interfaces and witnessed nonces; tokens do not survive",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const first = await startConductor()
    let admin = await connectAdmin(first.adminPort)
    const cellId = await installEnabled(admin, "kept")
    const { port } = await admin.attachAppInterface({ allowed_origins: "e2e-app" })
    const multi = await admin.issueAppAuthenticationToken({
      installed_app_id: "kept",
      single_use: false,
      expiry_seconds: 0,
    })
    let app = await connectApp(port, multi.token)
    await admin.authorizeSigningCredentials(cellId)
    const readOnly = signed(cellId, "call_agent_info", null)
    await send(app, readOnly)
    const write = signed(cellId, "call_create", { "entry_type": "thing", entry: { value: 1 } })
    await send(app, write)
    await close(app, admin)
    assertEquals(await first.stop(), 0)

    const second = await startConductor({ dir: first.dir })
    assertEquals(second.ready.app_ports, [port])
    admin = await connectAdmin(second.adminPort)
    const [info] = await admin.listApps({})
    assertEquals(info?.installed_app_id, "kept")
    assertEquals(info?.status, { type: "enabled" })
    assertEquals(await admin.listAppInterfaces(), [
      { port, allowed_origins: "e2e-app", installed_app_id: null },
    ])
    assertEquals(await tokenRefusal(port, multi.token), "refused")
    app = await openApp(admin, port, "kept")
    // The grant is on the chain: the client's credentials still work after the restart.
    const created = await app.callZome({
      role_name: "main",
      zome_name: "host_fns",
      fn_name: "call_create",
      payload: { "entry_type": "thing", entry: { value: 2 } },
    }) as { ok?: Uint8Array }
    assert(created.ok instanceof Uint8Array)
    assertEquals(await errorName(send(app, readOnly)), "zome_call_unauthorized")
    assertEquals(await errorName(send(app, write)), "zome_call_unauthorized")

    // SIGKILL right after a write was acknowledged: its nonce is already stored.
    const acknowledged = signed(cellId, "call_create", {
      "entry_type": "thing",
      entry: { value: 3 },
    })
    await send(app, acknowledged)
    await close(app, admin)
    Deno.kill(second.pid, "SIGKILL")
    await second.stop()

    const third = await startConductor({ dir: first.dir })
    admin = await connectAdmin(third.adminPort)
    app = await openApp(admin, port, "kept")
    assertEquals(await errorName(send(app, acknowledged)), "zome_call_unauthorized")
    const [dump] = await admin.dumpState({ cell_id: cellId }) as [
      { source_chain_dump: { records: Array<{ action: { type: string } }> } },
    ]
    const creates = dump.source_chain_dump.records.filter((r) => r.action.type === "create")
    // The agent entry, the signing grant, the init marker and the three things.
    assertEquals(creates.length, 6)
    await close(app, admin)
    assertEquals(await third.stop(), 0)
  },
})
