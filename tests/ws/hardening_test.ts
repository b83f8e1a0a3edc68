/**
 * What a web page, an oversized message or a crowd of idle sockets can do to the websocket
 * interfaces (docs/decisions.md, "Who may use the admin interfaces", "Bounding websocket
 * input"): the default `allowed_origins` refuses pages from other sites and admits loopback
 * pages and tools; one message split into many fragments is bounded as a whole; an app
 * connection may send only a little before it authenticates; TCP connections that never
 * upgrade are closed. Every abuse closes only the offending connection: others keep being
 * served.
 *
 * @module
 */
import { Effect } from "effect"
import { deepStrictEqual as assertEquals, ok as assert, rejects } from "node:assert/strict"
import { MAX_MESSAGE_BYTES } from "../../core/wire/mod.ts"
import {
  AppInterfaces,
  AppTokens,
  MAX_UNAUTHENTICATED_BYTES,
} from "../../core/app_interface/mod.ts"
import { ConductorConfig, DEFAULT_ALLOWED_ORIGINS } from "../../core/config/mod.ts"
import { RawClient } from "./raw_client.ts"
import { adminPort, type InterfaceConductor, makeInterfaceConductor } from "./support.ts"

const OP_BINARY = 0x2
const OP_CONTINUATION = 0x0
const FRAGMENT = 1024 * 1024

/** Rejects after `ms` so no step can hang the suite. */
function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)
    }),
  ]).finally(() => clearTimeout(timer))
}

/**
 * A conductor whose admin interface has the default `allowed_origins`; the app authentication
 * timeout is long so that only the byte bound can close an unauthenticated connection.
 */
async function withConductor(
  test: (conductor: InterfaceConductor, adminPort: number) => Promise<void>,
): Promise<void> {
  const conductor = makeInterfaceConductor({
    adminOrigins: DEFAULT_ALLOWED_ORIGINS,
    authenticationTimeout: "10 minutes",
  })
  try {
    await test(conductor, await adminPort(conductor))
  } finally {
    await conductor.dispose()
  }
}

/** True when the admin interface still answers a request on a new connection. */
async function adminServes(port: number): Promise<boolean> {
  const raw = await RawClient.connect(port, { origin: "hardening-test" })
  try {
    await raw.request(7, { type: "list_apps", value: {} })
    const response = await within(30_000, "list_apps response", raw.nextResponse())
    return response?.id === 7
  } finally {
    raw.close()
  }
}

/**
 * Sends one binary message of `total` bytes in 1 MiB fragments (never finished when `finish` is
 * false). Resolves with the bytes written before the connection broke, or all of them.
 */
async function sendFragmented(raw: RawClient, total: number, finish: boolean): Promise<number> {
  const chunk = new Uint8Array(FRAGMENT).fill(0xc1)
  let sent = 0
  try {
    while (sent < total) {
      const size = Math.min(FRAGMENT, total - sent)
      const last = finish && sent + size === total
      await raw.sendFrame(sent === 0 ? OP_BINARY : OP_CONTINUATION, chunk.subarray(0, size), last)
      sent += size
    }
  } catch {
    // The server closed the connection: writes fail.
  }
  return sent
}

Deno.test("admin interfaces admit loopback pages and tools by default, not other sites", async () => {
  const config = await Effect.runPromise(
    Effect.service(ConductorConfig).pipe(Effect.provide(ConductorConfig.fromYaml(""))),
  )
  assertEquals(config.admin_interfaces[0]!.driver.allowed_origins, DEFAULT_ALLOWED_ORIGINS)
  await withConductor(async (_conductor, port) => {
    for (
      const origin of [
        "https://evil.example",
        "http://evil.example:4444",
        "http://localhost.evil.example",
        "http://127.0.0.1.nip.io:3000",
        "null",
        "chrome-extension://abcdef",
      ]
    ) {
      await rejects(
        within(10_000, origin, RawClient.connect(port, { origin })),
        /400/,
        `${origin} must be refused`,
      )
    }
    await rejects(within(10_000, "no Origin", RawClient.connect(port)), /400/)
    for (
      const origin of [
        "http://localhost:3000",
        "http://localhost",
        "http://127.0.0.1:8888",
        "http://[::1]:5173",
        "https://localhost:8443",
        "conductor-cli",
        "hardening-test",
      ]
    ) {
      const raw = await within(10_000, origin, RawClient.connect(port, { origin }))
      raw.close()
    }
  })
})

Deno.test("a message fragmented beyond 64 MiB closes its connection; others are served", async () => {
  await withConductor(async (_conductor, port) => {
    const raw = await RawClient.connect(port, { origin: "hardening-test" })
    try {
      const limit = MAX_MESSAGE_BYTES + 4 * FRAGMENT
      const sent = await within(120_000, "sending fragments", sendFragmented(raw, limit, false))
      // deno-lint-ignore no-console
      console.log(`wrote ${sent / FRAGMENT} MiB before the server closed the connection`)
      assert(await within(30_000, "close", raw.closedByServer()))
      assert(await adminServes(port), "the admin interface still serves others")
    } finally {
      raw.close()
    }
  })
})

Deno.test("an app connection may send at most 64 KiB before it authenticates", async () => {
  await withConductor(async (conductor, port) => {
    const appPort = await conductor.runPromise(Effect.gen(function* () {
      const interfaces = yield* AppInterfaces
      return yield* interfaces.attach({
        port: 0,
        allowedOrigins: "test",
        installedAppId: null,
        bind: null,
      })
    }))
    // Unfinished fragments: without the bound they would sit in memory until the (here ten
    // minute) authentication deadline.
    const greedy = await RawClient.connect(appPort, { origin: "test" })
    try {
      await within(60_000, "sending", sendFragmented(greedy, 4 * FRAGMENT, false))
      assert(await within(30_000, "close", greedy.closedByServer()))
    } finally {
      greedy.close()
    }
    // An authenticated connection is not bound by it: a request larger than the bound is
    // answered (with an error: the token's app is not installed).
    const token = await conductor.runPromise(Effect.gen(function* () {
      const tokens = yield* AppTokens
      return Array.from((yield* tokens.issue("hardening", {})).token)
    }))
    const trusted = await RawClient.connect(appPort, { origin: "test" })
    try {
      await trusted.authenticate(token)
      const big = new Uint8Array(2 * MAX_UNAUTHENTICATED_BYTES)
      await trusted.request(9, { type: "app_info", value: null, padding: big })
      const response = await within(30_000, "response", trusted.nextResponse())
      assertEquals(response?.id, 9)
    } finally {
      trusted.close()
    }
    assert(await adminServes(port))
  })
})

Deno.test("TCP connections that never complete the upgrade are closed", async () => {
  await withConductor(async (_conductor, port) => {
    const count = 1000
    const conns: Array<Deno.TcpConn> = []
    try {
      for (let i = 0; i < count; i++) {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port })
        // Some send half an upgrade request and stop (slowloris).
        if (i % 10 === 0) {
          await conn.write(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: web"))
        }
        conns.push(conn)
      }
      const closed = await within(
        60_000,
        "every idle connection closed",
        Promise.all(conns.map(async (conn) => {
          const buffer = new Uint8Array(1024)
          for (;;) {
            const n = await conn.read(buffer).catch(() => null)
            if (n === null) return true
          }
        })),
      )
      assertEquals(closed.length, count)
      assert(await adminServes(port), "the admin interface serves a new connection")
    } finally {
      for (const conn of conns) {
        try {
          conn.close()
        } catch {
          // Closed already.
        }
      }
    }
  })
})
