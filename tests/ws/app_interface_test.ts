/**
 * The app-interface handshake and the transport at the frame level (conductor-api.md §1, §4),
 * in process with a raw websocket client: the authentication deadline, "first message must be
 * authenticate", refusal by closing without a word, lenient token forms, what is ignored after
 * authentication, one response per request id, pings, and the admin dispatcher's lenient
 * decoding and unit replies.
 *
 * @module
 */
import { decode, encode } from "@msgpack/msgpack"
import { Effect } from "effect"
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict"
import { MAX_ADMIN_CONNECTIONS } from "../../core/admin/admin_interfaces.ts"
import { PING_INTERVAL_SECONDS } from "../../core/admin/websocket.ts"
import { AppInterfaces, AppTokens, makeSignalFrameEncoder } from "../../core/app_interface/mod.ts"
import { encodeOrdered, Msg } from "../../core/bundle/mod.ts"
import { type AgentPubKey, type DnaHash, encodeHashB64 } from "../../core/hash/mod.ts"
import { disposeConductor, installApp, packed } from "../support/conductor.ts"
import { waitFor, withTimeout } from "../support/timeout.ts"
import { RawClient } from "./raw_client.ts"
import { adminPort, type InterfaceConductor, makeInterfaceConductor } from "./support.ts"

interface Setup {
  readonly conductor: InterfaceConductor
  readonly adminPort: number
  readonly appPort: number
  readonly token: (options?: { singleUse?: boolean }) => Promise<Array<number>>
}

async function withConductor(test: (setup: Setup) => Promise<void>): Promise<void> {
  const conductor = makeInterfaceConductor({ authenticationTimeout: "300 millis" })
  try {
    await installApp(conductor, await packed("tests/fixtures/happs/noop"), "noop")
    const appPort = await conductor.runPromise(Effect.gen(function* () {
      const interfaces = yield* AppInterfaces
      return yield* interfaces.attach({
        port: 0,
        allowedOrigins: "test",
        installedAppId: null,
        bind: null,
      })
    }))
    const token = (options: { singleUse?: boolean } = {}) =>
      conductor.runPromise(Effect.gen(function* () {
        const tokens = yield* AppTokens
        const issued = yield* tokens.issue("noop", {
          ...(options.singleUse === undefined ? {} : { singleUse: options.singleUse }),
        })
        return Array.from(issued.token)
      }))
    await test({ conductor, adminPort: await adminPort(conductor), appPort, token })
  } finally {
    await disposeConductor(conductor)
  }
}

/** Resolves with every data frame until the server closes the connection. */
async function untilClosed(raw: RawClient) {
  const frames = []
  for (;;) {
    const frame = await raw.nextFrame()
    if (frame === null) return frames
    frames.push(frame)
  }
}

Deno.test("app interface: a connection that does not authenticate in time is closed", async () => {
  await withConductor(async ({ appPort }) => {
    const raw = await RawClient.connect(appPort, { origin: "test" })
    assertEquals(await untilClosed(raw), [])
    raw.close()
  })
})

Deno.test("app interface: the first message must be authenticate; refusal sends nothing", async () => {
  await withConductor(async ({ appPort, token }) => {
    const early = await RawClient.connect(appPort, { origin: "test" })
    await early.request(0, { type: "app_info", value: null })
    assertEquals(await untilClosed(early), [])
    early.close()
    const garbage = await RawClient.connect(appPort, { origin: "test" })
    await garbage.sendBinary(encode({ type: "authenticate", data: new Uint8Array([0xc1]) }))
    assertEquals(await untilClosed(garbage), [])
    garbage.close()
    const wrong = await RawClient.connect(appPort, { origin: "test" })
    await wrong.authenticate(Array.from({ length: 64 }, () => 1))
    assertEquals(await untilClosed(wrong), [])
    wrong.close()
    // Undecodable frames before authenticating are not messages: they are ignored.
    const patient = await RawClient.connect(appPort, { origin: "test" })
    await patient.sendBinary(new Uint8Array([1, 2, 3]))
    await patient.authenticate(await token())
    await patient.request(4, { type: "app_info", value: null })
    const response = await patient.nextResponse()
    assertEquals(response?.id, 4)
    patient.close()
  })
})

Deno.test("app interface: a token may come as a bin; later authenticate and signals are ignored", async () => {
  await withConductor(async ({ appPort, token }) => {
    const raw = await RawClient.connect(appPort, { origin: "test" })
    await raw.sendBinary(
      encode({ type: "authenticate", data: encode({ token: Uint8Array.from(await token()) }) }),
    )
    await raw.authenticate(Array.from({ length: 64 }, () => 9))
    await raw.sendBinary(encode({ type: "signal", data: encode({ type: "app", value: {} }) }))
    await raw.request(7, { type: "app_info" }) // unit variant without `value`
    const response = await raw.nextResponse()
    assertEquals(response?.id, 7)
    const payload = response!.payload as { type: string; value: { installed_app_id: string } }
    assertEquals(payload.type, "app_info")
    assertEquals(payload.value.installed_app_id, "noop")
    raw.close()
  })
})

Deno.test("app interface: a single-use token is spent even by a refused interface check", async () => {
  await withConductor(async ({ conductor, token }) => {
    const bound = await conductor.runPromise(Effect.gen(function* () {
      const interfaces = yield* AppInterfaces
      return yield* interfaces.attach({
        port: 0,
        allowedOrigins: "*",
        installedAppId: "someone-else",
        bind: "127.0.0.1",
      })
    }))
    const spent = await token()
    const refused = await RawClient.connect(bound, { origin: "any" })
    await refused.authenticate(spent)
    assertEquals(await untilClosed(refused), [])
    refused.close()
    const list = await conductor.runPromise(
      Effect.flatMap(Effect.service(AppInterfaces), (i) => i.list()),
    )
    assertEquals(list.find((i) => i.port === bound)?.bind, "127.0.0.1")
  })
})

Deno.test("transport: one response per id, in any order, for pipelined requests", async () => {
  await withConductor(async ({ adminPort }) => {
    const raw = await RawClient.connect(adminPort, { origin: "anything" })
    const ids = [5, 1, 900, 3, 2 ** 40]
    for (const id of ids) await raw.request(id, { type: "list_dnas", value: null })
    const seen = []
    for (let i = 0; i < ids.length; i++) {
      const response = await raw.nextResponse()
      assertEquals((response!.payload as { type: string }).type, "dnas_listed")
      seen.push(response!.id)
    }
    assertEquals(seen.sort((a, b) => a - b), [...ids].sort((a, b) => a - b))
    raw.close()
  })
})

Deno.test("transport: frames are binary, responses carry bin data, never nil", async () => {
  await withConductor(async ({ adminPort }) => {
    const raw = await RawClient.connect(adminPort, { origin: "x" })
    await raw.request(0, { type: "generate_agent_pub_key", value: null })
    const frame = await raw.nextFrame()
    assertEquals(frame?.opcode, 2)
    const envelope = decode(frame!.payload) as { type: string; id: number; data: unknown }
    assertEquals(envelope.type, "response")
    assert(envelope.data instanceof Uint8Array)
    const payload = decode(envelope.data) as { type: string; value: Uint8Array }
    assertEquals(payload.type, "agent_pub_key_generated")
    assert(encodeHashB64(payload.value).startsWith("uhCAk"))
    raw.close()
  })
})

Deno.test("admin dispatch: lenient decoding, unit replies without value, error variants", async () => {
  await withConductor(async ({ adminPort, token }) => {
    const raw = await RawClient.connect(adminPort, { origin: "x" })
    const ask = async (payload: unknown) => {
      await raw.request(1, payload)
      return (await raw.nextResponse())!.payload as { type: string; value?: unknown }
    }
    // Unit variants: `value` missing or nil.
    assertEquals((await ask({ type: "list_cell_ids" })).type, "cell_ids_listed")
    assertEquals((await ask({ type: "list_apps", value: null })).type, "apps_listed")
    const [app] = (await ask({ type: "list_apps", value: {} })).value as Array<
      { cell_info: { noop: Array<{ value: { cell_id: [Uint8Array, Uint8Array] } }> } }
    >
    const [dna, agent] = app!.cell_info.noop[0]!.value.cell_id
    // Hashes as bin, as int arrays, or as u… strings.
    for (
      const cellId of [[dna, agent], [Array.from(dna), Array.from(agent)], [
        encodeHashB64(dna),
        encodeHashB64(agent),
      ]]
    ) {
      assertEquals(
        (await ask({ type: "get_dna_definition", value: cellId })).type,
        "dna_definition_returned",
      )
    }
    // Unit replies carry no `value` key at all (Holochain writes only `{type}`).
    const disabled = await ask({ type: "disable_app", value: { installed_app_id: "noop" } })
    assertEquals(disabled, { type: "app_disabled" })
    // Revoking a token given as int array or bin; unknown tokens are fine.
    assertEquals(
      await ask({ type: "revoke_app_authentication_token", value: await token() }),
      { type: "app_authentication_token_revoked" },
    )
    assertEquals(
      await ask({ type: "revoke_app_authentication_token", value: new Uint8Array(64) }),
      { type: "app_authentication_token_revoked" },
    )
    const variant = async (payload: unknown) =>
      ((await ask(payload)).value as { type: string }).type
    assertEquals(await variant({ type: "revoke_agent_key", value: {} }), "deserialization")
    assertEquals(await variant({ type: "get_compatible_cells", value: dna }), "deserialization")
    assertEquals(
      await variant({ type: "get_dna_definition", value: [dna, dna] }),
      "deserialization",
    )
    // Without a network: no agent infos, and adding one is refused.
    assertEquals(await ask({ type: "agent_info", value: { dna_hashes: null } }), {
      type: "agent_info",
      value: [],
    })
    assertEquals(
      await variant({ type: "add_agent_info", value: { agent_infos: ["{}"] } }),
      "internal_error",
    )
    assertEquals(
      await variant({ type: "enable_app", value: { installed_app_id: "x" } }),
      "internal_error",
    )
    assertEquals(await variant([1, 2, 3]), "deserialization")
    // Install options this conductor cannot honour are refused by name, and nothing is installed.
    const install = (extra: Record<string, unknown>) =>
      ask({
        type: "install_app",
        value: { source: { type: "bytes", value: new Uint8Array(0) }, agent_key: agent, ...extra },
      })
    const refused = await install({
      installed_app_id: "with_init_properties",
      roles_settings: {
        noop: { type: "provisioned", value: { init_properties: new Uint8Array([0xc0]) } },
      },
    })
    assertEquals(refused.type, "error")
    assertEquals(
      refused.value,
      {
        type: "internal_error",
        value: "roles_settings.noop.init_properties is not supported by this conductor",
      },
    )
    const restore = await install({ installed_app_id: "restored", restore_from_dht: true })
    assert(String((restore.value as { value: string }).value).includes("restore_from_dht"))
    const ids = ((await ask({ type: "list_apps", value: null })).value as Array<
      { installed_app_id: string }
    >).map((a) => a.installed_app_id)
    assertEquals(ids, ["noop"])
    raw.close()
  })
})

Deno.test({
  name: "transport: the server pings an idle connection and keeps one that answers",
  fn: async () => {
    await withConductor(async ({ adminPort }) => {
      const raw = await RawClient.connect(adminPort, { origin: "x" })
      // Bounded well past the ping interval; how soon the ping comes is not asserted (a loaded
      // machine delays timers).
      const bound = 4 * PING_INTERVAL_SECONDS * 1000
      const frame = await withTimeout(raw.nextRawFrame(), bound, "the first ping")
      assertEquals(frame?.opcode, 0x9)
      await raw.sendFrame(0xa, frame!.payload)
      await raw.request(1, { type: "list_dnas", value: null })
      assertEquals((await withTimeout(raw.nextResponse(), bound, "a response"))?.id, 1)
      raw.close()
    })
  },
})

Deno.test("install_app keeps DNA properties byte for byte (key order, integral floats)", async () => {
  await withConductor(async ({ adminPort }) => {
    const raw = await RawClient.connect(adminPort, { origin: "x" })
    const properties = Msg.map([
      [Msg.str("b"), Msg.float(1)],
      [Msg.str("1"), Msg.array([Msg.int(2), Msg.str("x")])],
    ])
    const request = Msg.record([
      ["type", Msg.str("install_app")],
      [
        "value",
        Msg.record([
          [
            "source",
            Msg.record([["type", Msg.str("bytes")], [
              "value",
              Msg.bin(await packed("tests/fixtures/happs/noop")),
            ]]),
          ],
          ["installed_app_id", Msg.str("exact")],
          [
            "roles_settings",
            Msg.record([[
              "noop",
              Msg.record([
                ["type", Msg.str("provisioned")],
                ["value", Msg.record([["modifiers", Msg.record([["properties", properties]])]])],
              ]),
            ]]),
          ],
        ]),
      ],
    ])
    await raw.sendBinary(encode({ id: 1, type: "request", data: encodeOrdered(request) }))
    const installed = (await raw.nextResponse())!.payload as {
      type: string
      value: {
        cell_info: {
          noop: Array<{ value: { cell_id: unknown; dna_modifiers: { properties: Uint8Array } } }>
        }
      }
    }
    assertEquals(installed.type, "app_installed")
    const cell = installed.value.cell_info.noop[0]!.value
    assertEquals(Array.from(cell.dna_modifiers.properties), Array.from(encodeOrdered(properties)))
    await raw.request(2, { type: "get_dna_definition", value: cell.cell_id })
    const def = (await raw.nextResponse())!.payload as {
      value: { modifiers: { properties: Uint8Array } }
    }
    assertEquals(Array.from(def.value.modifiers.properties), Array.from(encodeOrdered(properties)))
    // A bin cannot be a YAML value: refused as Holochain refuses it.
    const withBin = Msg.record([
      ["type", Msg.str("install_app")],
      [
        "value",
        Msg.record([
          ["source", Msg.record([["type", Msg.str("path")], ["value", Msg.str("/nowhere.happ")]])],
          [
            "roles_settings",
            Msg.record([[
              "noop",
              Msg.record([
                ["type", Msg.str("provisioned")],
                [
                  "value",
                  Msg.record([[
                    "modifiers",
                    Msg.record([["properties", Msg.bin(new Uint8Array(2))]]),
                  ]]),
                ],
              ]),
            ]]),
          ],
        ]),
      ],
    ])
    await raw.sendBinary(encode({ id: 3, type: "request", data: encodeOrdered(withBin) }))
    const refused = (await raw.nextResponse())!.payload as { type: string; value: { type: string } }
    assertEquals(refused.value.type, "deserialization")
    raw.close()
  })
})

Deno.test("signal frames are byte for byte what the msgpack encoder writes", () => {
  const frames = makeSignalFrameEncoder()
  const dna = new Uint8Array(39).fill(0x2d) as DnaHash
  const agent = new Uint8Array(39).fill(0x20) as AgentPubKey
  for (const size of [0, 1, 255, 256, 65_535, 65_536, 300_000]) {
    for (const zomeName of ["z", "a zome with a rather longer name than thirty-one bytes"]) {
      const signal = {
        appId: "a",
        cellId: [dna, agent] as const,
        zomeName,
        signal: new Uint8Array(size).fill(7),
      }
      const expected = encode({
        type: "signal",
        data: encode({
          type: "app",
          value: { "cell_id": signal.cellId, "zome_name": zomeName, signal: signal.signal },
        }),
      })
      assertEquals(Array.from(frames(signal)), Array.from(expected))
    }
  }
})

Deno.test("admin interface: at most 400 connections at once; a freed slot is reusable", async () => {
  await withConductor(async ({ adminPort }) => {
    const open = await Promise.all(
      Array.from(
        { length: MAX_ADMIN_CONNECTIONS },
        () => RawClient.connect(adminPort, { origin: "x" }),
      ),
    )
    let refused = ""
    await RawClient.connect(adminPort, { origin: "x" }).then((extra) => extra.close(), (e) => {
      refused = String(e)
    })
    assert(refused.includes("503"), refused)
    open.pop()!.close()
    // The slot frees once the server has seen the close; retry until it has.
    const again = await waitFor(
      () => RawClient.connect(adminPort, { origin: "x" }).catch(() => undefined),
      "a free admin connection slot",
    )
    await again.request(1, { type: "list_dnas", value: null })
    assertEquals((await again.nextResponse())?.id, 1)
    again.close()
    for (const raw of open) raw.close()
  })
})
