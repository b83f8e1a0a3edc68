/**
 * End-to-end tests of the Conductor API (conductor-api.md) driven by the unmodified
 * `@holochain/client` 0.21 against a `conductor run` subprocess: the minimal flow of §10, every
 * P0/P1 admin and app request, clone cells, signals, token, nonce, signature, capability and
 * origin failures, and the error variant of each.
 *
 * @module
 */
import {
  AdminWebsocket,
  type AppSignal,
  type AppWebsocket,
  type CallZomeRequest,
  type CallZomeRequestSigned,
  type CellId,
  decodeHashFromBase64,
  encodeHashToBase64,
  generateSigningKeyPair,
  getSigningCredentials,
  HolochainError,
  randomCapSecret,
  setSigningCredentials,
  type Signal,
} from "@holochain/client"
import { decode, encode } from "@msgpack/msgpack"
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict"
import { sha512, signingKeyFromSeed } from "../../core/crypto/mod.ts"
import {
  ADMIN_ORIGIN,
  APP_ORIGIN,
  closeClient,
  type ConductorProcess,
  connectAdmin,
  connectApp,
  happ,
  installEnabled,
  openApp,
  startConductor,
  tokenRefusal,
} from "./support.ts"
import { cleanup, step, waitFor } from "../support/timeout.ts"

/** Awaits a rejection and returns the `HolochainError` (name = wire variant). */
async function rejection(promise: Promise<unknown>): Promise<HolochainError> {
  try {
    await promise
  } catch (error) {
    assert(error instanceof Error, `expected an Error, got ${error}`)
    return error as HolochainError
  }
  throw new Error("expected the request to fail")
}

/** A signed call like the client's, with every field under the test's control. */
function signedCall(
  cellId: CellId,
  fn: string,
  payload: unknown,
  overrides: { readonly expiresAt?: number; readonly zome?: string } = {},
): CallZomeRequestSigned & { readonly "cell_id": CellId } {
  const credentials = getSigningCredentials(cellId)
  if (credentials === undefined) throw new Error("no signing credentials for the cell")
  const bytes = encode({
    "cap_secret": credentials.capSecret,
    "cell_id": cellId,
    "zome_name": overrides.zome ?? "host_fns",
    "fn_name": fn,
    provenance: credentials.signingKey,
    payload: encode(payload),
    nonce: crypto.getRandomValues(new Uint8Array(32)),
    "expires_at": overrides.expiresAt ?? (Date.now() + 5 * 60_000) * 1000,
  })
  const signer = signingKeyFromSeed(credentials.keyPair.privateKey.subarray(0, 32))
  return { bytes, signature: signer.sign(sha512(bytes)), "cell_id": cellId }
}

/** Sends a pre-signed call through the client's own `callZome` (it passes signed calls through). */
function sendSigned(
  client: AppWebsocket,
  call: CallZomeRequestSigned & { readonly "cell_id": CellId },
): Promise<unknown> {
  return client.callZome(call as unknown as CallZomeRequest)
}

/** Resolves with the first `count` app signals a client receives. */
function nextSignals(app: AppWebsocket, count: number): Promise<Array<AppSignal>> {
  const { promise, resolve } = Promise.withResolvers<Array<AppSignal>>()
  const received: Array<AppSignal> = []
  const stop = app.on("signal", (signal: Signal) => {
    if (signal.type !== "app") return
    received.push(signal.value)
    if (received.length === count) {
      stop()
      resolve(received)
    }
  })
  return promise
}

Deno.test({
  name: "Conductor API over websockets with @holochain/client 0.21",
  // The client's `ws` sockets and timers live in Node compat; each step closes what it opens.
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async (t) => {
    const conductor: ConductorProcess = await startConductor()
    // Each step gets its own admin connection and closes what it opened, so a step that fails
    // (or a connection the conductor drops) does not take the following steps down with it.
    let admin: AdminWebsocket
    let clients: Array<AdminWebsocket | AppWebsocket> = []
    const app = async (port: number, appId: string) => {
      const client = await openApp(admin, port, appId)
      clients.push(client)
      return client
    }
    const closeAll = () => {
      const open = clients
      clients = []
      return cleanup(open.map((client) => ["closing a client", () => closeClient(client)]))
    }
    const run = (name: string, fn: () => Promise<void>) =>
      step(t, name, async () => {
        try {
          admin = await connectAdmin(conductor.adminPort)
          clients.push(admin)
          await fn()
        } finally {
          await closeAll()
        }
      })
    try {
      let appPort = 0
      let cellId: CellId

      await run("the minimal flow of §10", async () => {
        const agent = await admin.generateAgentPubKey()
        assertEquals(agent.length, 39)
        assertEquals(encodeHashToBase64(agent).slice(0, 5), "uhCAk")
        const installed = await admin.installApp({
          source: { type: "bytes", value: await happ("ws") },
          agent_key: agent,
          installed_app_id: "flow",
        })
        assertEquals(installed.status, { type: "disabled", value: { type: "never_started" } })
        const provisioned = installed.cell_info.main?.[0]
        assert(provisioned?.type === "provisioned")
        cellId = provisioned.value.cell_id
        assertEquals(Array.from(cellId[1]), Array.from(agent))
        const enabled = await admin.enableApp({ installed_app_id: "flow" })
        assertEquals(enabled.status, { type: "enabled" })
        appPort = (await admin.attachAppInterface({ allowed_origins: APP_ORIGIN })).port
        assert(appPort > 0)
        const issued = await admin.issueAppAuthenticationToken({ installed_app_id: "flow" })
        assertEquals(issued.token.length, 64)
        assert(typeof issued.token[0] === "number", "the token is an int array")
        const now = Date.now() * 1000
        assert(issued.expires_at! > now && issued.expires_at! <= now + 31_000_000)
        const client = await connectApp(appPort, issued.token)
        clients.push(client)
        const info = await client.appInfo()
        assertEquals(info.installed_app_id, "flow")
        assertEquals(info.status, { type: "enabled" })
        await admin.authorizeSigningCredentials(cellId)
        const echoed = await client.callZome({
          role_name: "main",
          zome_name: "noop",
          fn_name: "noop",
          payload: { hello: [1, 2, 3] },
        })
        assertEquals(echoed, { hello: [1, 2, 3] })
        const created = await client.callZome({
          role_name: "main",
          zome_name: "host_fns",
          fn_name: "call_create",
          payload: { "entry_type": "thing", entry: { value: 7 } },
        }) as { ok: Uint8Array }
        assertEquals(encodeHashToBase64(created.ok).slice(0, 5), "uhCkk")
      })

      await run("admin listings: apps, interfaces, DNAs, cells, DNA definition", async () => {
        const apps = await admin.listApps({})
        assertEquals(apps.map((a) => a.installed_app_id), ["flow"])
        assertEquals((await admin.listApps({ status_filter: "disabled" as never })).length, 0)
        const interfaces = await admin.listAppInterfaces()
        assertEquals(interfaces, [{
          port: appPort,
          allowed_origins: APP_ORIGIN,
          installed_app_id: null,
        }])
        const dnas = await admin.listDnas()
        assertEquals(dnas.map((d) => encodeHashToBase64(d as unknown as Uint8Array)), [
          encodeHashToBase64(cellId[0]),
        ])
        const cells = await admin.listCellIds()
        assertEquals(cells.map(([d, a]) => encodeHashToBase64(d) + encodeHashToBase64(a)), [
          encodeHashToBase64(cellId[0]) + encodeHashToBase64(cellId[1]),
        ])
        const def = await admin.getDnaDefinition(cellId) as unknown as {
          name: string
          modifiers: { network_seed: string; properties: Uint8Array }
          coordinator_zomes: Array<[string, unknown]>
        }
        assertEquals(def.name, "ws")
        assertEquals(def.coordinator_zomes.map(([name]) => name), ["host_fns", "noop", "emit_many"])
        const unknownCell: CellId = [cellId[0], await admin.generateAgentPubKey()]
        assertEquals((await rejection(admin.getDnaDefinition(unknownCell))).name, "internal_error")
      })

      await run("storage_info and dump_state", async () => {
        const storage = await admin.storageInfo()
        assertEquals(storage.blobs.length, 1)
        const blob = storage.blobs[0]!.value as unknown as Record<string, unknown>
        assertEquals(blob.used_by, ["flow"])
        assert((blob.dht_data_size as number) > 0)
        const [dump] = await admin.dumpState({ cell_id: cellId }) as [
          { source_chain_dump: { records: Array<{ action: { type: string } }> } },
        ]
        const types = dump.source_chain_dump.records.map((r) => r.action.type)
        assertEquals(types.slice(0, 3), ["dna", "agent_validation_pkg", "create"])
        assert(types.includes("init_zomes_complete"))
      })

      await run("a call to a missing function is internal_error", async () => {
        const client = await app(appPort, "flow")
        const error = await rejection(
          client.callZome({ role_name: "main", zome_name: "noop", fn_name: "nope", payload: null }),
        )
        assertEquals(error.name, "internal_error")
        const zome = await rejection(
          client.callZome({ role_name: "main", zome_name: "nope", fn_name: "x", payload: null }),
        )
        assertEquals(zome.name, "internal_error")
      })

      await run("a guest error is ribosome_error", async () => {
        const client = await app(appPort, "flow")
        const invalid = await rejection(client.callZome({
          role_name: "main",
          zome_name: "host_fns",
          fn_name: "call_create",
          payload: { "entry_type": "thing", entry: { value: -1 } },
        }))
        assertEquals(invalid.name, "ribosome_error")
      })

      await run("a replayed nonce is zome_call_unauthorized", async () => {
        const client = await app(appPort, "flow")
        const call = signedCall(cellId, "call_agent_info", null)
        await sendSigned(client, call)
        const replay = await rejection(sendSigned(client, call))
        assertEquals(replay.name, "zome_call_unauthorized")
        assert(replay.message.includes("BadNonce(Duplicate)"), replay.message)
      })

      await run("an expired or too-far nonce is zome_call_unauthorized", async () => {
        const client = await app(appPort, "flow")
        const expired = signedCall(cellId, "call_agent_info", null, {
          expiresAt: (Date.now() - 1000) * 1000,
        })
        const past = await rejection(sendSigned(client, expired))
        assertEquals(past.name, "zome_call_unauthorized")
        assert(past.message.includes("Expired"), past.message)
        const future = signedCall(cellId, "call_agent_info", null, {
          expiresAt: (Date.now() + 51 * 60_000) * 1000,
        })
        const ahead = await rejection(sendSigned(client, future))
        assertEquals(ahead.name, "zome_call_unauthorized")
        assert(ahead.message.includes("Future"), ahead.message)
      })

      await run("a bad signature is zome_call_authentication_failed", async () => {
        const client = await app(appPort, "flow")
        const call = signedCall(cellId, "call_agent_info", null)
        const forged = Uint8Array.from(call.signature)
        forged[0]! ^= 1
        const bad = await rejection(
          sendSigned(client, { ...call, signature: forged }),
        )
        assertEquals(bad.name, "zome_call_authentication_failed")
        // Bytes changed after signing: the signature covers exactly the received bytes.
        const tampered = Uint8Array.from(call.bytes)
        tampered[tampered.length - 1]! ^= 1
        const altered = await rejection(
          sendSigned(client, { ...call, bytes: tampered }),
        )
        assertEquals(altered.name, "zome_call_authentication_failed")
      })

      await run("undecodable call_zome bytes are a deserialization error", async () => {
        const client = await app(appPort, "flow")
        const bytes = encode({ "zome_name": "noop" })
        const error = await rejection(sendSigned(client, {
          bytes,
          signature: new Uint8Array(64),
          "cell_id": cellId,
        }))
        assertEquals(error.name, "deserialization")
      })

      await run("capability grants: unrestricted, transferable, assigned, listed", async () => {
        const client = await app(appPort, "flow")
        const useKey = async (capSecret: Uint8Array) => {
          const [keyPair, signingKey] = await generateSigningKeyPair()
          const credentials = { capSecret, keyPair, signingKey }
          setSigningCredentials(cellId, credentials)
          return credentials
        }
        const call = (fn: string) =>
          client.callZome({ role_name: "main", zome_name: "host_fns", fn_name: fn, payload: null })
        // No grant for a fresh key: refused.
        await useKey(await randomCapSecret())
        assertEquals((await rejection(call("call_agent_info"))).name, "zome_call_unauthorized")
        // Unrestricted, listed function: that function only, any key, any secret.
        await admin.grantZomeCallCapability({
          "cell_id": cellId,
          "cap_grant": {
            tag: "open",
            access: { type: "unrestricted" },
            functions: { type: "listed", value: [["host_fns", "call_zome_info"]] },
          },
        })
        await call("call_zome_info")
        assertEquals((await rejection(call("call_dna_info"))).name, "zome_call_unauthorized")
        // Transferable: the secret is enough, whoever signs.
        const transferable = await randomCapSecret()
        await admin.grantZomeCallCapability({
          "cell_id": cellId,
          "cap_grant": {
            tag: "transferable",
            access: { type: "transferable", value: { secret: transferable } },
            functions: { type: "all" },
          },
        })
        await useKey(transferable)
        await call("call_dna_info")
        // Assigned: the secret and the assignee.
        const assignedSecret = await randomCapSecret()
        const assigned = await useKey(assignedSecret)
        const grantHash = await admin.grantZomeCallCapability({
          "cell_id": cellId,
          "cap_grant": {
            tag: "assigned",
            access: {
              type: "assigned",
              value: { secret: assignedSecret, assignees: [assigned.signingKey] },
            },
            functions: { type: "all" },
          },
        })
        await call("call_dna_info")
        await useKey(assignedSecret) // same secret, another key
        assertEquals((await rejection(call("call_dna_info"))).name, "zome_call_unauthorized")
        // Listing (secrets are not returned) and revoking.
        const listed = await admin.listCapabilityGrants({
          installed_app_id: "flow",
          include_revoked: false,
        }) as unknown as Array<[CellId, Array<{ cap_grant: { tag: string; access: unknown } }>]>
        const tags = listed[0]![1].map((g) => g.cap_grant.tag)
        for (const tag of ["zome-call-signing-key", "open", "transferable", "assigned"]) {
          assert(tags.includes(tag), `grant ${tag} is listed`)
        }
        assert(
          !JSON.stringify(listed, (_k, v) => v instanceof Uint8Array ? [...v] : v)
            .includes(JSON.stringify([...assignedSecret])),
        )
        await admin.revokeZomeCallCapability({ action_hash: grantHash, cell_id: cellId })
        setSigningCredentials(cellId, assigned)
        assertEquals((await rejection(call("call_dna_info"))).name, "zome_call_unauthorized")
        const afterRevoke = await admin.listCapabilityGrants({
          installed_app_id: "flow",
          include_revoked: true,
        }) as unknown as Array<[CellId, Array<{ cap_grant: { tag: string }; revoked_at: number }>]>
        const revoked = afterRevoke[0]![1].find((g) => g.cap_grant.tag === "assigned")
        assert(revoked !== undefined && revoked.revoked_at > 0)
        // Back to the client's own credentials for the next steps.
        await admin.authorizeSigningCredentials(cellId)
      })

      await run("authorizeSigningCredentials with listed functions", async () => {
        const client = await app(appPort, "flow")
        await admin.authorizeSigningCredentials(cellId, {
          type: "listed" as never,
          value: [["noop", "noop"]],
        } as never)
        await client.callZome({ role_name: "main", zome_name: "noop", fn_name: "noop", payload: 1 })
        const refused = await rejection(
          client.callZome({
            role_name: "main",
            zome_name: "noop",
            fn_name: "echo_len",
            payload: 1,
          }),
        )
        assertEquals(refused.name, "zome_call_unauthorized")
        await admin.authorizeSigningCredentials(cellId)
      })

      await run("signals reach every authenticated connection of the app", async () => {
        const other = await installEnabled(admin, "other")
        await admin.authorizeSigningCredentials(other)
        const first = await app(appPort, "flow")
        const second = await app(appPort, "flow")
        const otherClient = await app(appPort, "other")
        const atFirst = nextSignals(first, 1)
        const atSecond = nextSignals(second, 1)
        const atOther = nextSignals(otherClient, 1)
        await first.callZome({
          role_name: "main",
          zome_name: "host_fns",
          fn_name: "call_emit_signal",
          payload: { from: "flow" },
        })
        for (const [signal] of [await atFirst, await atSecond]) {
          assertEquals(signal!.payload, { from: "flow" })
          assertEquals(signal!.zome_name, "host_fns")
          assertEquals(encodeHashToBase64(signal!.cell_id[0]), encodeHashToBase64(cellId[0]))
        }
        // The other app's connection sees only its own app's signals, in publish order.
        await otherClient.callZome({
          role_name: "main",
          zome_name: "host_fns",
          fn_name: "call_emit_signal",
          payload: { from: "other" },
        })
        assertEquals((await atOther)[0]!.payload, { from: "other" })
      })

      await run("10,000 signals from one call all arrive", async () => {
        const client = await app(appPort, "flow")
        const all = nextSignals(client, 10_000)
        const n = await client.callZome({
          role_name: "main",
          zome_name: "emit_many",
          fn_name: "emit_many",
          payload: 10_000,
        })
        assertEquals(n, 10_000)
        const signals = await all
        assertEquals(signals.map((s) => s.payload), Array.from({ length: 10_000 }, (_, i) => i))
      })

      await run("clone cells: create, call, disable, enable, delete", async () => {
        const client = await app(appPort, "flow")
        const clone = await client.createCloneCell({
          role_name: "main",
          modifiers: { network_seed: "clone seed" },
          name: "first clone",
        })
        assertEquals(clone.clone_id, "main.0")
        assertEquals(clone.name, "first clone")
        assertEquals(clone.enabled, true)
        assertEquals(clone.dna_modifiers.network_seed, "clone seed")
        assert(encodeHashToBase64(clone.cell_id[0]) !== encodeHashToBase64(cellId[0]))
        const second = await client.createCloneCell({
          role_name: "main",
          modifiers: { properties: { n: 2 } },
        })
        assertEquals(second.clone_id, "main.1")
        assertEquals(decode(second.dna_modifiers.properties), { n: 2 })
        await admin.authorizeSigningCredentials(clone.cell_id)
        const echoed = await client.callZome({
          role_name: "main.0",
          zome_name: "noop",
          fn_name: "noop",
          payload: "in the clone",
        })
        assertEquals(echoed, "in the clone")
        const info = await client.appInfo()
        assertEquals(info.cell_info.main!.map((c) => c.type), ["provisioned", "cloned", "cloned"])
        const noSeed = await rejection(client.createCloneCell({ role_name: "main", modifiers: {} }))
        assertEquals(noSeed.name, "internal_error")
        // Deleting needs the clone disabled first.
        const enabledDelete = await rejection(admin.deleteCloneCell({
          app_id: "flow",
          clone_cell_id: { type: "clone_id", value: "main.1" },
        }))
        assertEquals(enabledDelete.name, "internal_error")
        await client.disableCloneCell({ clone_cell_id: { type: "clone_id", value: "main.0" } })
        await client.disableCloneCell({ clone_cell_id: { type: "clone_id", value: "main.0" } })
        const disabledCall = await rejection(
          client.callZome({ role_name: "main.0", zome_name: "noop", fn_name: "noop", payload: 1 }),
        )
        assertEquals(disabledCall.name, "internal_error")
        const cells = (await client.appInfo()).cell_info.main!
        assertEquals(cells.map((c) => c.type === "cloned" ? c.value.clone_id : "p"), [
          "p",
          "main.1",
          "main.0",
        ])
        const reenabled = await client.enableCloneCell({
          clone_cell_id: { type: "dna_hash", value: clone.cell_id[0] },
        })
        assertEquals(reenabled.enabled, true)
        assertEquals(
          await client.callZome({
            role_name: "main.0",
            zome_name: "noop",
            fn_name: "noop",
            payload: 2,
          }),
          2,
        )
        await client.disableCloneCell({ clone_cell_id: { type: "clone_id", value: "main.1" } })
        await admin.deleteCloneCell({
          app_id: "flow",
          clone_cell_id: { type: "clone_id", value: "main.1" },
        })
        const after = (await client.appInfo()).cell_info.main!
        assertEquals(after.map((c) => c.type === "cloned" ? c.value.clone_id : "p"), [
          "p",
          "main.0",
        ])
        const unknown = await rejection(
          client.disableCloneCell({ clone_cell_id: { type: "clone_id", value: "main.9" } }),
        )
        assertEquals(unknown.name, "internal_error")
        // Clone ids are never reused.
        const third = await client.createCloneCell({
          role_name: "main",
          modifiers: { network_seed: "third" },
        })
        assertEquals(third.clone_id, "main.2")
      })

      await run("tokens: invalid, reused single-use, expired, multi-use, revoked", async () => {
        assertEquals(await tokenRefusal(appPort, Array.from({ length: 64 }, () => 7)), "refused")
        const once = await admin.issueAppAuthenticationToken({ installed_app_id: "flow" })
        const first = await connectApp(appPort, once.token)
        clients.push(first)
        assertEquals(await tokenRefusal(appPort, once.token), "refused")
        const expiring = await admin.issueAppAuthenticationToken({
          installed_app_id: "flow",
          expiry_seconds: 1,
        })
        // Past the expiry by the conductor's clock (with the 1 s its Clock may lag Date.now).
        await waitFor(
          () => Date.now() * 1000 > expiring.expires_at! + 1_000_000,
          "the token's expiry",
        )
        assertEquals(await tokenRefusal(appPort, expiring.token), "refused")
        const multi = await admin.issueAppAuthenticationToken({
          installed_app_id: "flow",
          single_use: false,
          expiry_seconds: 0,
        })
        assertEquals(multi.expires_at, null)
        for (let i = 0; i < 2; i++) {
          const client = await connectApp(appPort, multi.token)
          clients.push(client)
          assertEquals((await client.appInfo()).installed_app_id, "flow")
        }
        await admin.client.request({
          type: "revoke_app_authentication_token",
          value: multi.token,
        })
        assertEquals(await tokenRefusal(appPort, multi.token), "refused")
      })

      await run("an interface bound to an app accepts only that app's tokens", async () => {
        const bound = await admin.attachAppInterface({
          allowed_origins: "*",
          installed_app_id: "other",
        })
        const forFlow = await admin.issueAppAuthenticationToken({ installed_app_id: "flow" })
        assertEquals(await tokenRefusal(bound.port, forFlow.token), "refused")
        // The refused attempt spent the single-use token.
        assertEquals(await tokenRefusal(appPort, forFlow.token), "refused")
        const client = await app(bound.port, "other")
        assertEquals((await client.appInfo()).installed_app_id, "other")
      })

      await run(
        "origins: a disallowed or missing Origin is refused at the upgrade",
        async () => {
          const refusedApp = await rejection(
            connectApp(
              appPort,
              (await admin.issueAppAuthenticationToken({
                installed_app_id: "flow",
              })).token,
              "http://evil.example",
            ),
          )
          assertEquals(refusedApp.name, "ConnectionError")
          const refusedAdmin = await rejection(
            connectAdmin(conductor.adminPort, "http://evil.example"),
          )
          assertEquals(refusedAdmin.name, "ConnectionError")
          const upgrade = {
            connection: "Upgrade",
            upgrade: "websocket",
            "sec-websocket-version": "13",
            "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
          }
          const missing = await fetch(`http://127.0.0.1:${conductor.adminPort}/`, {
            headers: upgrade,
          })
          assertEquals(missing.status, 400)
          assertEquals(await missing.text(), "Missing `Origin` header")
          const wrong = await fetch(`http://127.0.0.1:${conductor.adminPort}/`, {
            headers: { ...upgrade, origin: "http://evil.example" },
          })
          assertEquals(wrong.status, 400)
          assertEquals(wrong.headers.get("access-control-allow-origin"), ADMIN_ORIGIN)
          await wrong.body?.cancel()
          // Both loopback addresses serve the same interface.
          const v6 = await AdminWebsocket.connect({
            url: new URL(`ws://[::1]:${conductor.adminPort}`),
            wsClientOptions: { origin: ADMIN_ORIGIN },
          })
          clients.push(v6)
          assertEquals((await v6.listApps({})).length, 2)
        },
      )

      await run("unknown and unsupported requests", async () => {
        const revokeKey = await rejection(
          admin.revokeAgentKey({ app_id: "flow", agent_key: cellId[1] }),
        )
        assertEquals(revokeKey.name, "deserialization")
        const unsupported = await rejection(
          admin.dumpFullState({ cell_id: cellId }),
        )
        assertEquals(unsupported.name, "internal_error")
        // Without a network: section, the network requests answer for a local-only conductor.
        const stats = await admin.dumpNetworkStats() as unknown as {
          "transport_stats": { backend: string }
        }
        assertEquals(stats.transport_stats.backend, "none")
        const wrongShape = await rejection(
          admin.enableApp({ installed_app_id: 42 as unknown as string }),
        )
        assertEquals(wrongShape.name, "deserialization")
        const unknownApp = await rejection(admin.enableApp({ installed_app_id: "nope" }))
        assertEquals(unknownApp.name, "internal_error")
      })

      await run("memproofs: provide_memproofs and app-side enable_app", async () => {
        const agent = await admin.generateAgentPubKey()
        const installed = await admin.installApp({
          source: { type: "bytes", value: await happ("ws_memproofs") },
          agent_key: agent,
          installed_app_id: "gated",
        })
        assertEquals(installed.status, { type: "awaiting_memproofs" })
        assertEquals(
          (await rejection(admin.enableApp({ installed_app_id: "gated" }))).name,
          "internal_error",
        )
        const client = await app(appPort, "gated")
        assertEquals((await rejection(client.enableApp())).name, "internal_error")
        await client.provideMemproofs({ main: new TextEncoder().encode("welcome") })
        assertEquals((await client.appInfo()).status, {
          type: "disabled",
          value: { type: "not_started_after_providing_memproofs" },
        })
        await client.enableApp()
        assertEquals((await client.appInfo()).status, { type: "enabled" })
      })

      await run("disable, enable and uninstall", async () => {
        const client = await app(appPort, "other")
        await admin.disableApp({ installed_app_id: "other" })
        const [otherInfo] = await admin.listApps({ status_filter: "disabled" as never })
        assertEquals(otherInfo?.status, { type: "disabled", value: { type: "user" } })
        const stopped = await rejection(client.callZome({
          role_name: "main",
          zome_name: "noop",
          fn_name: "noop",
          payload: null,
        }))
        assertEquals(stopped.name, "internal_error")
        const running = (await admin.listCellIds()).map(([, a]) => encodeHashToBase64(a))
        assert(!running.includes(encodeHashToBase64(otherInfo!.agent_pub_key)))
        await admin.enableApp({ installed_app_id: "other" })
        assertEquals(
          await client.callZome({
            role_name: "main",
            zome_name: "noop",
            fn_name: "noop",
            payload: 3,
          }),
          3,
        )
        await admin.uninstallApp({ installed_app_id: "other" })
        assertEquals((await admin.listApps({})).map((a) => a.installed_app_id).sort(), [
          "flow",
          "gated",
        ])
        assertEquals(await client.appInfo().catch((e: Error) => e.name), "AppNotFound")
      })

      await run("install errors: unknown agent key, duplicate id, bad bundle", async () => {
        const foreign = decodeHashFromBase64(
          "uhCAkWCsAgoKkkfwyJAglj30xX_GLLV-3BXuFy436a2SqpcEwyBzm",
        )
        const unknownKey = await rejection(admin.installApp({
          source: { type: "bytes", value: await happ("ws") },
          agent_key: foreign,
          installed_app_id: "foreign",
        }))
        assertEquals(unknownKey.name, "internal_error")
        const duplicate = await rejection(admin.installApp({
          source: { type: "bytes", value: await happ("ws") },
          agent_key: await admin.generateAgentPubKey(),
          installed_app_id: "flow",
        }))
        assertEquals(duplicate.name, "internal_error")
        const garbage = await rejection(admin.installApp({
          source: { type: "bytes", value: new Uint8Array([1, 2, 3]) },
          agent_key: await admin.generateAgentPubKey(),
          installed_app_id: "garbage",
        }))
        assertEquals(garbage.name, "internal_error")
      })
    } finally {
      await cleanup([
        ["closing the clients", closeAll],
        ["stopping the conductor", async () => assertEquals(await conductor.stop(), 0)],
      ])
    }
  },
})
