/**
 * Robustness of the websocket interfaces against a `conductor run` subprocess: random,
 * truncated and wrongly typed frames; a message over the size limit; thousands of connections
 * opened and dropped; a client that never reads its signals. Each abuse must get the right
 * error or close only the offending connection, every other client must keep being served, and
 * the conductor must not grow: the whole abuse round runs twice and the resident memory after
 * the second round must stay within a few MiB of the first (the figures are printed). The first
 * round also warms the conductor up (V8 sizes its heap, wasm and kernel memories reach their
 * working size), which is why growth is measured between rounds rather than from the start.
 *
 * @module
 */
import type { AppWebsocket, Signal, WsClient } from "@holochain/client"
import { decode, encode } from "@msgpack/msgpack"
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict"
import {
  ADMIN_ORIGIN,
  APP_ORIGIN,
  connectAdmin,
  installEnabled,
  openApp,
  startConductor,
} from "../e2e/support.ts"
import { RawClient } from "./raw_client.ts"

/**
 * How much resident memory may differ between two identical abuse rounds. The JS heap is capped
 * (a JS leak ends in an out-of-memory exit, which fails the test), so this guards native memory;
 * observed differences run from -70 to +21 MiB as allocator arenas and wasm memories settle.
 */
const MAX_GROWTH_KIB = 48 * 1024

function random(n: number): Uint8Array {
  const out = new Uint8Array(n)
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(out.subarray(i, Math.min(n, i + 65536)))
  return out
}

/** Garbage of every kind on one admin connection; returns how many error responses came back. */
async function fuzz(adminPort: number): Promise<void> {
  const raw = await RawClient.connect(adminPort, { origin: ADMIN_ORIGIN })
  let expected = 0
  // Random bytes: ignored (not an envelope).
  for (let i = 0; i < 1000; i++) await raw.sendBinary(random(Math.floor(Math.random() * 2048)))
  // Tiny frames that declare huge containers (once enough to exhaust the heap): ignored.
  for (let i = 0; i < 50; i++) await raw.sendBinary(Uint8Array.of(0xdd, 0x05, 0xf5, 0xe1, 0x00))
  // Truncated envelopes: ignored.
  const valid = encode({ id: 1, type: "request", data: encode({ type: "list_apps", value: {} }) })
  for (let cut = 1; cut < valid.length; cut++) await raw.sendBinary(valid.subarray(0, cut))
  // Well-formed msgpack of the wrong shape: ignored.
  for (
    const wrong of [
      null,
      42,
      "request",
      [1, 2, 3],
      { type: "request" },
      { type: "request", id: "seven", data: encode({}) },
      { type: "request", id: -1, data: encode({}) },
      { type: "request", id: 3, data: "not bin" },
      { type: "response", id: 3, data: null },
      { type: "who knows", data: new Uint8Array(3) },
      { type: "signal", data: encode({ type: "app" }) },
      { type: "authenticate", data: encode({ token: [1, 2] }) },
    ]
  ) await raw.sendBinary(encode(wrong))
  // Text frames: decoded as msgpack of their bytes, so effectively ignored.
  await raw.sendText("hello")
  await raw.sendText(JSON.stringify({ id: 1, type: "request", data: [] }))
  // Envelopes whose request does not decode: each gets a deserialization error with its id.
  const badPayloads: Array<Uint8Array> = [
    random(64),
    Uint8Array.of(0xdf, 0x7f, 0xff, 0xff, 0xff),
    encode({ type: "no_such_request", value: null }),
    encode({ type: "enable_app", value: { installed_app_id: 5 } }),
    encode({ type: "install_app", value: { source: { type: "bytes", value: "x" } } }),
    encode({ type: "get_dna_definition", value: [new Uint8Array(39), 7] }),
    encode({ value: null }),
    new Uint8Array(0),
  ]
  for (let i = 0; i < 300; i++) {
    const data = i < badPayloads.length ? badPayloads[i]! : random(1 + (i % 200))
    await raw.sendBinary(encode({ id: 1000 + i, type: "request", data }))
    expected++
  }
  await raw.request(99_999, { type: "list_apps", value: null })
  const seen = new Set<number>()
  for (;;) {
    const response = await raw.nextResponse()
    assert(response !== null, "the connection stays open")
    if (response.id === 99_999) {
      assertEquals((response.payload as { type: string }).type, "apps_listed")
      break
    }
    assert(!seen.has(response.id), `one response per request id (${response.id})`)
    seen.add(response.id)
    const payload = response.payload as { type: string; value: { type: string } }
    assertEquals(payload.type, "error")
    assertEquals(payload.value.type, "deserialization")
  }
  assertEquals(seen.size, expected)
  raw.close()
}

/** A message over 64 MiB closes that connection only. */
async function oversize(adminPort: number): Promise<void> {
  const raw = await RawClient.connect(adminPort, { origin: ADMIN_ORIGIN })
  await raw.sendBinary(random(64 * 1024 * 1024 + 1024)).catch(() => {})
  assert(await raw.closedByServer())
  raw.close()
}

/** Opens and drops `count` connections, `parallel` at a time, in every way a client can. */
async function churn(adminPort: number, appPort: number, count: number, parallel = 50) {
  for (let batch = 0; batch < count; batch += parallel) {
    await Promise.all(Array.from({ length: parallel }, async (_, i) => {
      const n = batch + i
      switch (n % 4) {
        case 0: { // admin: one request, then drop without a close frame
          const raw = await RawClient.connect(adminPort, { origin: ADMIN_ORIGIN })
          await raw.request(1, { type: "list_dnas", value: null })
          assert((await raw.nextResponse()) !== null)
          raw.close()
          break
        }
        case 1: { // app: a bad token is refused by closing
          const raw = await RawClient.connect(appPort, { origin: APP_ORIGIN })
          await raw.authenticate(Array.from({ length: 64 }, () => n & 0xff))
          assert(await raw.closedByServer())
          raw.close()
          break
        }
        case 2: { // app: a request before authenticating is refused by closing
          const raw = await RawClient.connect(appPort, { origin: APP_ORIGIN })
          await raw.request(0, { type: "app_info", value: null })
          assert(await raw.closedByServer())
          raw.close()
          break
        }
        default: { // connect and vanish at once
          const raw = await RawClient.connect(n % 8 === 3 ? adminPort : appPort, {
            origin: n % 8 === 3 ? ADMIN_ORIGIN : APP_ORIGIN,
          })
          raw.close()
        }
      }
    }))
  }
}

/** Counts app signals on a client until `total` have arrived. */
function countSignals(app: AppWebsocket, total: number): Promise<void> {
  const { promise, resolve } = Promise.withResolvers<void>()
  let count = 0
  const stop = app.on("signal", (signal: Signal) => {
    if (signal.type === "app" && ++count === total) {
      stop()
      resolve()
    }
  })
  return promise
}

Deno.test({
  name: "websocket interfaces survive abuse, keep serving others and do not grow",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async (t) => {
    // A capped old generation makes V8 collect instead of growing lazily: a JS leak would then
    // end in an out-of-memory exit, and resident memory reflects what is live.
    const conductor = await startConductor({ v8Flags: "--max-old-space-size=160" })
    const admin = await connectAdmin(conductor.adminPort)
    const clients: Array<{ client: unknown }> = [admin]
    try {
      const cellId = await installEnabled(admin, "robust")
      const appPort = (await admin.attachAppInterface({ allowed_origins: APP_ORIGIN })).port
      await admin.authorizeSigningCredentials(cellId)
      const app = await openApp(admin, appPort, "robust")
      clients.push(app)
      const emit = (n: number) =>
        app.callZome({
          role_name: "main",
          zome_name: "emit_many",
          fn_name: "emit_many",
          payload: n,
        })

      /** A consumer that authenticates and then never reads a byte. */
      const deafConsumer = async () => {
        const { token } = await admin.issueAppAuthenticationToken({ installed_app_id: "robust" })
        const deaf = await RawClient.connect(appPort, { origin: APP_ORIGIN })
        await deaf.authenticate(token)
        return deaf
      }

      const round = async () => {
        await fuzz(conductor.adminPort)
        await oversize(conductor.adminPort)
        await churn(conductor.adminPort, appPort, 2000)
        const deaf = await deafConsumer()
        // 200,000 signals (about 20 MiB of frames): the deaf consumer falls behind, the
        // attentive one receives every signal.
        for (let i = 0; i < 20; i++) {
          const all = countSignals(app, 10_000)
          assertEquals(await emit(10_000), 10_000)
          await all
        }
        deaf.close()
        // Everyone else is still served.
        assertEquals((await admin.listApps({})).length, 1)
        assertEquals(
          await app.callZome({ role_name: "main", zome_name: "noop", fn_name: "noop", payload: 1 }),
          1,
        )
      }

      // Connections closed without a close frame stay referenced by the websocket's ping timer
      // for up to two ping intervals; memory is compared once they have expired.
      const settledRss = async () => {
        await new Promise((resolve) => setTimeout(resolve, 2 * 5_000 + 1_000))
        return conductor.rssKiB()
      }
      const fresh = conductor.rssKiB()
      let first = 0
      let second = 0
      await t.step("round 1: frames, size limit, 2,000 connections, a deaf consumer", async () => {
        await round()
        first = await settledRss()
      })
      await t.step("round 2: the same again, and the conductor has not grown", async () => {
        await round()
        second = await settledRss()
        const mib = (kib: number) => `${(kib / 1024).toFixed(1)} MiB`
        // deno-lint-ignore no-console
        console.log(
          `conductor RSS: before ${mib(fresh)}, after round 1 ${mib(first)}, after round 2 ${
            mib(second)
          } (growth between rounds ${mib(second - first)})`,
        )
        assert(second - first < MAX_GROWTH_KIB, `grew by ${second - first} KiB`)
      })
      await t.step("the deaf consumer was cut off without hurting the conductor", async () => {
        assert(conductor.output().includes("dropping signals"), "signals were dropped, and said so")
        const listed = decode(encode(await admin.listAppInterfaces())) as Array<unknown>
        assertEquals(listed.length, 1)
      })
    } catch (error) {
      // deno-lint-ignore no-console
      console.error(`conductor output:\n${conductor.output()}`)
      throw error
    } finally {
      for (const { client } of clients) await (client as WsClient).close().catch(() => {})
      assertEquals(await conductor.stop(), 0)
    }
  },
})
