/**
 * A small TCP proxy for fault tests (this kernel has no `netem`, network.md §3). It listens on a
 * free loopback port and forwards every connection to a target, and on command:
 *
 * - delays every chunk by a fixed time in each direction (`setDelay`: "per hop"; order is kept);
 * - cuts every live connection (`cut`: both sides see the connection close);
 * - refuses new connections (`refuse(true)`: accepted and closed at once, like a dead peer);
 * - pauses forwarding (`pause` / `resume`: connections stay open, bytes are held, as in a
 *   partition that heals).
 *
 * Held bytes are bounded per direction (`maxBufferBytes`): past it, the proxy stops reading, so
 * TCP back-pressure reaches the sender.
 *
 * @module
 */
import { CLEANUP_TIMEOUT_MS, withTimeout } from "./timeout.ts"

/** Where the proxy forwards to. */
export interface ProxyTarget {
  /** @default "127.0.0.1" */
  readonly hostname?: string
  readonly port: number
}

/** Options of `startTcpProxy`. */
export interface TcpProxyOptions {
  /** Delay added to every chunk in each direction. @default 0 */
  readonly delayMs?: number
  /** Bytes held per direction before the proxy stops reading. @default 16 MiB */
  readonly maxBufferBytes?: number
}

interface Held {
  readonly due: number
  readonly chunk: Uint8Array
}

/** One direction of one proxied connection. */
class Pipe {
  readonly #queue: Array<Held> = []
  #held = 0
  #wake: (() => void) | null = null
  #closed = false

  constructor(
    private readonly proxy: TcpProxy,
    private readonly from: Deno.Conn,
    private readonly to: Deno.Conn,
    private readonly count: (bytes: number) => void,
  ) {}

  #notify(): void {
    const wake = this.#wake
    this.#wake = null
    wake?.()
  }

  #sleep(ms: number | null): Promise<void> {
    return new Promise((resolve) => {
      const timer = ms === null ? undefined : setTimeout(() => done(), ms)
      const done = () => {
        clearTimeout(timer)
        if (this.#wake === done) this.#wake = null
        resolve()
      }
      this.#wake = done
    })
  }

  /** Bytes read and not yet written. */
  get held(): number {
    return this.#held
  }

  /** Wakes a writer waiting on a pause or a full buffer. */
  poke(): void {
    this.#notify()
  }

  /** Reads from `from` until it ends, queueing chunks with their due time. */
  async read(): Promise<void> {
    const buffer = new Uint8Array(64 * 1024)
    try {
      for (;;) {
        while (this.#held >= this.proxy.maxBufferBytes && !this.#closed) {
          await new Promise((resolve) => setTimeout(resolve, 20))
        }
        if (this.#closed) return
        const n = await this.from.read(buffer)
        if (n === null) return
        this.#queue.push({ due: Date.now() + this.proxy.delayMs, chunk: buffer.slice(0, n) })
        this.#held += n
        this.#notify()
      }
    } catch {
      // The connection was cut or reset: the writer ends too.
    } finally {
      this.#closed = true
      this.#notify()
    }
  }

  /** Writes queued chunks to `to` when due and not paused. */
  async write(): Promise<void> {
    try {
      for (;;) {
        const next = this.#queue[0]
        if (next === undefined) {
          if (this.#closed) return
          await this.#sleep(null)
          continue
        }
        if (this.proxy.paused) {
          await this.#sleep(null)
          continue
        }
        const wait = next.due - Date.now()
        if (wait > 0) {
          await this.#sleep(wait)
          continue
        }
        this.#queue.shift()
        this.#held -= next.chunk.length
        let offset = 0
        while (offset < next.chunk.length) {
          offset += await this.to.write(next.chunk.subarray(offset))
        }
        this.count(next.chunk.length)
      }
    } catch {
      // The other side went away.
    } finally {
      this.#closed = true
    }
  }
}

interface Connection {
  readonly client: Deno.Conn
  readonly server: Deno.Conn
  readonly pipes: ReadonlyArray<Pipe>
  readonly done: Promise<void>
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close()
  } catch {
    // Already closed.
  }
}

/** A running proxy. */
export class TcpProxy {
  readonly #listener: Deno.TcpListener
  readonly #target: Required<ProxyTarget>
  readonly #connections = new Set<Connection>()
  /** Every connection's end, including those still connecting to the target. */
  readonly #ends = new Set<Promise<void>>()
  readonly #accepting: Promise<void>
  #delayMs: number
  #paused = false
  #refusing = false
  #closed = false
  /** Bytes forwarded client → target. */
  bytesUp = 0
  /** Bytes forwarded target → client. */
  bytesDown = 0
  /** Connections accepted (refused ones included). */
  accepted = 0
  /** Bound of held bytes per direction. */
  readonly maxBufferBytes: number

  constructor(target: ProxyTarget, options: TcpProxyOptions = {}) {
    this.#target = { hostname: target.hostname ?? "127.0.0.1", port: target.port }
    this.#delayMs = TcpProxy.#checkDelay(options.delayMs ?? 0)
    this.maxBufferBytes = options.maxBufferBytes ?? 16 * 1024 * 1024
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: 0 })
    this.#accepting = this.#accept()
  }

  static #checkDelay(ms: number): number {
    if (!Number.isFinite(ms) || ms < 0 || ms > 60_000) {
      throw new Error(`a proxy delay is 0 to 60000 ms, not ${ms}`)
    }
    return ms
  }

  /** The port the proxy listens on (127.0.0.1). */
  get port(): number {
    return this.#listener.addr.port
  }

  /** `<scheme>://127.0.0.1:<port>`. */
  url(scheme = "nats"): string {
    return `${scheme}://127.0.0.1:${this.port}`
  }

  /** Delay per chunk and direction, in ms. */
  get delayMs(): number {
    return this.#delayMs
  }

  /** True while forwarding is paused. */
  get paused(): boolean {
    return this.#paused
  }

  /** Connections currently open. */
  get connections(): number {
    return this.#connections.size
  }

  /** Bytes read from one side and not yet written to the other (paused or delayed). */
  get heldBytes(): number {
    let held = 0
    for (const connection of this.#connections) {
      for (const pipe of connection.pipes) held += pipe.held
    }
    return held
  }

  /** Sets the delay for chunks read from now on. */
  setDelay(ms: number): void {
    this.#delayMs = TcpProxy.#checkDelay(ms)
  }

  /** Holds every byte (connections stay open) until `resume`. */
  pause(): void {
    this.#paused = true
  }

  /** Forwards what was held and everything after. */
  resume(): void {
    this.#paused = false
    for (const connection of this.#connections) {
      for (const pipe of connection.pipes) pipe.poke()
    }
  }

  /** While on, new connections are accepted and closed at once. */
  refuse(on: boolean): void {
    this.#refusing = on
  }

  /** Closes every live connection (both sides); held bytes are dropped. */
  async cut(): Promise<void> {
    const connections = [...this.#connections]
    for (const connection of connections) {
      closeQuietly(connection.client)
      closeQuietly(connection.server)
    }
    await withTimeout(
      Promise.all(connections.map((connection) => connection.done)),
      CLEANUP_TIMEOUT_MS,
      "proxy connections closing after a cut",
    )
  }

  async #accept(): Promise<void> {
    for (;;) {
      let client: Deno.Conn
      try {
        client = await this.#listener.accept()
      } catch {
        return // The listener was closed.
      }
      this.accepted++
      if (this.#refusing || this.#closed) {
        closeQuietly(client)
        continue
      }
      this.#open(client)
    }
  }

  #open(client: Deno.Conn): void {
    const pending = Deno.connect(this.#target)
    let resolveDone: () => void = () => {}
    const done = new Promise<void>((resolve) => (resolveDone = resolve))
    this.#ends.add(done)
    done.then(() => this.#ends.delete(done))
    pending.then(
      (server) => {
        if (this.#closed) {
          closeQuietly(client)
          closeQuietly(server)
          resolveDone()
          return
        }
        const up = new Pipe(this, client, server, (n) => (this.bytesUp += n))
        const down = new Pipe(this, server, client, (n) => (this.bytesDown += n))
        const connection: Connection = { client, server, pipes: [up, down], done }
        this.#connections.add(connection)
        // When either direction has delivered what it held and ended, the whole connection
        // closes (as a cut does), which ends the other direction too.
        const end = () => {
          closeQuietly(client)
          closeQuietly(server)
        }
        Promise.all([up.read(), down.read(), up.write().then(end), down.write().then(end)]).finally(
          () => {
            this.#connections.delete(connection)
            resolveDone()
          },
        )
      },
      () => {
        // The target is down: the client sees its connection close.
        closeQuietly(client)
        resolveDone()
      },
    )
  }

  /** Stops listening and closes every connection (bounded). */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    try {
      this.#listener.close()
    } catch {
      // Already closed.
    }
    this.#paused = false
    await this.cut()
    await withTimeout(
      Promise.all([this.#accepting, ...this.#ends]),
      CLEANUP_TIMEOUT_MS,
      "proxy accept loop and connections ending",
    )
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close()
  }
}

/** Starts a proxy on a free loopback port forwarding to `target`. */
export function startTcpProxy(target: ProxyTarget, options: TcpProxyOptions = {}): TcpProxy {
  return new TcpProxy(target, options)
}
