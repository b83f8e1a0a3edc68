/**
 * The abuse the websocket interfaces must survive, shared by tests/ws/robustness_test.ts (which
 * checks that each abuse gets the right answer and that everyone else stays served) and
 * bench/robustness_bench.ts (which measures the conductor's memory across repeated rounds):
 * random, truncated and wrongly typed frames, a message over the size limit, thousands of
 * connections opened and dropped, and a consumer that never reads its signals. Random inputs are
 * seeded.
 *
 * @module
 */
import type { AdminWebsocket, AppWebsocket, Signal } from "@holochain/client"
import { encode } from "@msgpack/msgpack"
import fc from "fast-check"
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict"
import { ADMIN_ORIGIN, APP_ORIGIN } from "../e2e/support.ts"
import { WAIT_TIMEOUT_MS, withTimeout } from "../support/timeout.ts"
import { RawClient } from "./raw_client.ts"

/** Random bytes from a seeded generator (fast-check's), so a run can be replayed. */
function seededBytes(seed: number) {
  let run = 0
  return (n: number): Uint8Array => {
    const out = new Uint8Array(n)
    const chunk = Math.min(n, 65_536)
    const [sample] = fc.sample(fc.uint8Array({ minLength: chunk, maxLength: chunk }), {
      seed: seed + run++,
      numRuns: 1,
    })
    for (let i = 0; i < n; i += chunk) out.set(sample!.subarray(0, Math.min(chunk, n - i)), i)
    return out
  }
}

/** Garbage of every kind on one admin connection; every bad request gets its error response. */
export async function fuzz(adminPort: number, seed: number): Promise<void> {
  const random = seededBytes(seed)
  const lengths = fc.sample(fc.nat({ max: 2047 }), { seed, numRuns: 1000 })
  const raw = await RawClient.connect(adminPort, { origin: ADMIN_ORIGIN })
  let expected = 0
  // Random bytes: ignored (not an envelope).
  for (const length of lengths) await raw.sendBinary(random(length))
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
export async function oversize(adminPort: number): Promise<void> {
  const raw = await RawClient.connect(adminPort, { origin: ADMIN_ORIGIN })
  await raw.sendBinary(new Uint8Array(64 * 1024 * 1024 + 1024).fill(0x5a)).catch(() => {})
  assert(await raw.closedByServer())
  raw.close()
}

/** Opens and drops `count` connections, `parallel` at a time, in every way a client can. */
export async function churn(adminPort: number, appPort: number, count: number, parallel = 50) {
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
export function countSignals(app: AppWebsocket, total: number): Promise<void> {
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

/** What one abuse round needs. */
export interface AbuseTarget {
  readonly adminPort: number
  readonly appPort: number
  readonly admin: AdminWebsocket
  /** An authenticated client of `appId`, whose signals are counted. */
  readonly app: AppWebsocket
  readonly appId: string
  readonly seed: number
}

/**
 * One round: frames, the size limit, 2,000 connections, and a deaf consumer while 200,000
 * signals (about 20 MiB of frames) go out; then the others are still served.
 */
export async function abuseRound(target: AbuseTarget): Promise<void> {
  const { adminPort, appPort, admin, app, appId, seed } = target
  await fuzz(adminPort, seed)
  await oversize(adminPort)
  await churn(adminPort, appPort, 2000)
  // A consumer that authenticates and then never reads a byte.
  const { token } = await admin.issueAppAuthenticationToken({ installed_app_id: appId })
  const deaf = await RawClient.connect(appPort, { origin: APP_ORIGIN })
  await deaf.authenticate(token)
  try {
    // The deaf consumer falls behind; the attentive one receives every signal.
    for (let i = 0; i < 20; i++) {
      const all = countSignals(app, 10_000)
      const emitted = await app.callZome({
        role_name: "main",
        zome_name: "emit_many",
        fn_name: "emit_many",
        payload: 10_000,
      })
      assertEquals(emitted, 10_000)
      await withTimeout(all, WAIT_TIMEOUT_MS, `10,000 signals (batch ${i + 1} of 20)`)
    }
  } finally {
    deaf.close()
  }
  assertEquals((await admin.listApps({})).length, 1)
  assertEquals(
    await app.callZome({ role_name: "main", zome_name: "noop", fn_name: "noop", payload: 1 }),
    1,
  )
}
