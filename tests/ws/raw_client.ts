/**
 * A bare websocket client over TCP for robustness tests: it performs the HTTP upgrade itself and
 * writes and reads raw frames, so a test can send what no well-behaved client would (random
 * bytes, truncated or oversized messages, text frames) and can stop reading altogether to
 * play a consumer that never drains its signals.
 *
 * @module
 */
import { decode, encode } from "@msgpack/msgpack"

/** A decoded frame from the server. */
export interface Frame {
  readonly opcode: number
  readonly payload: Uint8Array
}

/** Options of `RawClient.connect`. */
export interface RawConnectOptions {
  readonly origin?: string
  readonly hostname?: string
}

const OP_TEXT = 0x1
const OP_BINARY = 0x2
const OP_CLOSE = 0x8
const OP_PING = 0x9
const OP_PONG = 0xa

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length)
  out.set(a)
  out.set(b, a.length)
  return out
}

/** A raw websocket connection. */
export class RawClient {
  private buffer: Uint8Array = new Uint8Array(0)
  private closed = false

  private constructor(private readonly conn: Deno.TcpConn) {}

  /** Opens the TCP connection and performs the upgrade; throws with the HTTP status line if refused. */
  static async connect(port: number, options: RawConnectOptions = {}): Promise<RawClient> {
    const conn = await Deno.connect({ hostname: options.hostname ?? "127.0.0.1", port })
    const client = new RawClient(conn)
    const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))))
    const origin = options.origin === undefined ? "" : `Origin: ${options.origin}\r\n`
    await client.writeAll(
      new TextEncoder().encode(
        `GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n${origin}\r\n`,
      ),
    )
    const head = await client.readHead()
    if (!head.startsWith("HTTP/1.1 101")) {
      conn.close()
      throw new Error(head.split("\r\n")[0])
    }
    return client
  }

  private async writeAll(bytes: Uint8Array): Promise<void> {
    let written = 0
    while (written < bytes.length) written += await this.conn.write(bytes.subarray(written))
  }

  private async fill(): Promise<boolean> {
    const chunk = new Uint8Array(64 * 1024)
    const n = await this.conn.read(chunk)
    if (n === null) return false
    this.buffer = concat(this.buffer, chunk.subarray(0, n))
    return true
  }

  private async readHead(): Promise<string> {
    for (;;) {
      const text = new TextDecoder().decode(this.buffer)
      const end = text.indexOf("\r\n\r\n")
      if (end >= 0) {
        this.buffer = this.buffer.subarray(new TextEncoder().encode(text.slice(0, end + 4)).length)
        return text.slice(0, end)
      }
      if (!(await this.fill())) return text
    }
  }

  /** Writes one masked frame (client frames must be masked). */
  async sendFrame(opcode: number, payload: Uint8Array, fin = true): Promise<void> {
    const length = payload.length
    const header: Array<number> = [(fin ? 0x80 : 0) | opcode]
    if (length < 126) header.push(0x80 | length)
    else if (length < 65536) header.push(0x80 | 126, length >> 8, length & 0xff)
    else {
      header.push(0x80 | 127)
      for (let i = 7; i >= 0; i--) header.push(Math.floor(length / 2 ** (8 * i)) & 0xff)
    }
    const mask = crypto.getRandomValues(new Uint8Array(4))
    const masked = new Uint8Array(length)
    for (let i = 0; i < length; i++) masked[i] = payload[i]! ^ mask[i & 3]!
    await this.writeAll(concat(concat(Uint8Array.from(header), mask), masked))
  }

  /** Sends a binary frame. */
  sendBinary(payload: Uint8Array): Promise<void> {
    return this.sendFrame(OP_BINARY, payload)
  }

  /** Sends a text frame. */
  sendText(text: string): Promise<void> {
    return this.sendFrame(OP_TEXT, new TextEncoder().encode(text))
  }

  /** Sends `{type: "request", id, data: bin(payload)}`. */
  request(id: number, payload: unknown): Promise<void> {
    return this.sendBinary(encode({ id, type: "request", data: encode(payload) }))
  }

  /** Sends `authenticate` with a token. */
  authenticate(token: ReadonlyArray<number>): Promise<void> {
    return this.sendBinary(encode({ type: "authenticate", data: encode({ token }) }))
  }

  /** The next data frame (answers pings); null once the connection is closed. */
  async nextFrame(): Promise<Frame | null> {
    for (;;) {
      const frame = this.parseFrame()
      if (frame !== undefined) {
        if (frame.opcode === OP_PING) {
          await this.sendFrame(OP_PONG, frame.payload).catch(() => {})
          continue
        }
        if (frame.opcode === OP_CLOSE) {
          this.closed = true
          return null
        }
        return frame
      }
      if (this.closed) return null
      const more = await this.fill().catch(() => false)
      if (!more) {
        this.closed = true
        return null
      }
    }
  }

  /** The next frame of any kind (pings included), without answering it. */
  async nextRawFrame(): Promise<Frame | null> {
    for (;;) {
      const frame = this.parseFrame()
      if (frame !== undefined) return frame
      const more = await this.fill().catch(() => false)
      if (!more) return null
    }
  }

  /** The next `response` envelope's id and decoded payload. */
  async nextResponse(): Promise<{ id: number; payload: unknown } | null> {
    for (;;) {
      const frame = await this.nextFrame()
      if (frame === null) return null
      const message = decode(frame.payload) as { type: string; id: number; data: Uint8Array }
      if (message.type === "response") return { id: message.id, payload: decode(message.data) }
    }
  }

  /** Resolves true when the server closes the connection (draining whatever it still sends). */
  async closedByServer(): Promise<boolean> {
    while ((await this.nextFrame()) !== null) { /* drain */ }
    return true
  }

  private parseFrame(): Frame | undefined {
    const b = this.buffer
    if (b.length < 2) return undefined
    const opcode = b[0]! & 0x0f
    let length = b[1]! & 0x7f
    let offset = 2
    if (length === 126) {
      if (b.length < 4) return undefined
      length = (b[2]! << 8) | b[3]!
      offset = 4
    } else if (length === 127) {
      if (b.length < 10) return undefined
      length = 0
      for (let i = 2; i < 10; i++) length = length * 256 + b[i]!
      offset = 10
    }
    if (b.length < offset + length) return undefined
    const payload = b.slice(offset, offset + length)
    this.buffer = b.subarray(offset + length)
    return { opcode, payload }
  }

  /** Drops the TCP connection without a close frame. */
  close(): void {
    if (this.closed) return
    this.closed = true
    try {
      this.conn.close()
    } catch {
      // Already closed by the peer.
    }
  }
}
