/**
 * The fault-injection proxy itself, against a loopback echo server and a real nats-server:
 * bytes pass both ways, a delay holds every chunk at least that long per hop, a pause holds bytes
 * until resume, a cut closes live connections, refusing closes new ones at once.
 *
 * @module
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict"
import { natsHandshake, startNatsServer } from "./nats.ts"
import { startTcpProxy } from "./tcp_proxy.ts"
import { cleanup, step, waitFor, withTimeout } from "./timeout.ts"

/** An echo server on a free loopback port; counts bytes received. */
function startEcho() {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 })
  const conns = new Set<Deno.Conn>()
  const state = { received: 0 }
  const serving = (async () => {
    const handlers: Array<Promise<void>> = []
    for await (const conn of listener) {
      conns.add(conn)
      handlers.push((async () => {
        const buffer = new Uint8Array(4096)
        try {
          for (;;) {
            const n = await conn.read(buffer)
            if (n === null) break
            state.received += n
            await conn.write(buffer.subarray(0, n))
          }
        } catch {
          // Cut.
        } finally {
          conns.delete(conn)
          try {
            conn.close()
          } catch {
            // Already closed.
          }
        }
      })())
    }
    await Promise.all(handlers)
  })()
  return {
    port: listener.addr.port,
    state,
    close: async () => {
      listener.close()
      for (const conn of conns) {
        try {
          conn.close()
        } catch {
          // Already closed.
        }
      }
      await serving
    },
  }
}

/** Writes `text` and reads until as many bytes came back (or the connection ends). */
async function roundTrip(conn: Deno.Conn, text: string): Promise<string | null> {
  await conn.write(new TextEncoder().encode(text))
  return await readBytes(conn, text.length)
}

async function readBytes(conn: Deno.Conn, count: number): Promise<string | null> {
  const buffer = new Uint8Array(4096)
  let out = ""
  while (out.length < count) {
    const n = await conn.read(buffer)
    if (n === null) return null
    out += new TextDecoder().decode(buffer.subarray(0, n))
  }
  return out
}

function closeQuietly(conn: Deno.Conn) {
  try {
    conn.close()
  } catch {
    // Already closed.
  }
}

Deno.test("TcpProxy forwards, delays per hop, pauses, cuts and refuses", async (t) => {
  const echo = startEcho()
  const proxy = startTcpProxy({ port: echo.port })
  const conns: Array<Deno.Conn> = []
  const open = async () => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: proxy.port })
    conns.push(conn)
    return conn
  }
  try {
    await step(t, "bytes pass both ways", async () => {
      const conn = await open()
      assertEquals(await withTimeout(roundTrip(conn, "hello"), 10_000, "echo"), "hello")
      assertEquals(proxy.bytesUp, 5)
      assertEquals(proxy.bytesDown, 5)
    })
    await step(t, "a delay holds each direction at least that long", async () => {
      const conn = await open()
      proxy.setDelay(40)
      const started = performance.now()
      assertEquals(await withTimeout(roundTrip(conn, "slow"), 10_000, "delayed echo"), "slow")
      // Two hops (there and back), each held ≥ 40 ms: a lower bound, never a speed claim.
      const elapsed = performance.now() - started
      assert(elapsed >= 79, `a 2×40 ms delayed round trip took ${elapsed} ms`)
      proxy.setDelay(0)
    })
    await step(t, "a pause holds bytes until resume", async () => {
      const conn = await open()
      proxy.pause()
      const before = echo.state.received
      await conn.write(new TextEncoder().encode("held"))
      await waitFor(() => proxy.heldBytes === 4, "the proxy to hold the bytes")
      assertEquals(echo.state.received, before)
      proxy.resume()
      assertEquals(await withTimeout(readBytes(conn, 4), 10_000, "resumed echo"), "held")
    })
    await step(t, "a cut closes every live connection", async () => {
      const conn = await open()
      assertEquals(await withTimeout(roundTrip(conn, "x"), 10_000, "echo"), "x")
      assert(proxy.connections > 0)
      await proxy.cut()
      const after = await withTimeout(
        conn.read(new Uint8Array(16)).catch(() => null),
        10_000,
        "read after cut",
      )
      assertEquals(after, null)
      assertEquals(proxy.connections, 0)
    })
    await step(t, "refusing closes new connections at once; accepting again works", async () => {
      proxy.refuse(true)
      const refused = await open()
      const read = await withTimeout(
        refused.read(new Uint8Array(16)).catch(() => null),
        10_000,
        "read on a refused connection",
      )
      assertEquals(read, null)
      proxy.refuse(false)
      const conn = await open()
      assertEquals(await withTimeout(roundTrip(conn, "back"), 10_000, "echo"), "back")
    })
  } finally {
    await cleanup([
      ["closing client connections", () => Promise.resolve(conns.forEach(closeQuietly))],
      ["closing the proxy", () => proxy.close()],
      ["closing the echo server", () => echo.close()],
    ])
  }
})

Deno.test("TcpProxy carries the NATS protocol to a real nats-server", async () => {
  const server = await startNatsServer()
  const proxy = startTcpProxy({ port: server.ports.client }, { delayMs: 10 })
  try {
    const info = await natsHandshake(proxy.port)
    assertEquals(info.server_name, server.name)
    assert(proxy.bytesDown > 0 && proxy.bytesUp > 0)
  } finally {
    await cleanup([
      ["closing the proxy", () => proxy.close()],
      ["closing the server", () => server.close()],
    ])
  }
})
