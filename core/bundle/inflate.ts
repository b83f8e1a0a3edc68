/**
 * Bounded, streaming gzip inflation that leaves the event loop free: the input goes to the
 * runtime's `DecompressionStream("gzip")` a slice at a time, the output is counted as it comes
 * and the stream is cancelled as soon as it passes the limit, and the loop hands the event loop
 * back (a macrotask) at least every `YIELD_EVERY_MS`, so other requests are answered while a
 * large bundle or a decompression bomb inflates (docs/decisions.md, "Bundle inflation").
 *
 * The runtime checks what `node:zlib` was asked to check before: one member only, nothing after
 * it, the CRC-32 and size of the trailer. The header is parsed strictly by the caller.
 *
 * @module
 */

/** Input bytes handed to the decompressor per step: at most ~1,000× that comes out of a step. */
export const INFLATE_SLICE_BYTES = 4 * 1024

/** Longest the inflation runs before it lets other work (timers, sockets) run. */
export const YIELD_EVERY_MS = 4

/** What `inflateGzip` found. */
export type Inflated =
  | { readonly _tag: "Ok"; readonly output: Uint8Array }
  | { readonly _tag: "TooLarge" }
  | { readonly _tag: "Corrupt"; readonly detail: string; readonly output: Uint8Array }

const macrotask = () => new Promise<void>((resolve) => setTimeout(resolve, 0))

function concat(chunks: ReadonlyArray<Uint8Array>, length: number): Uint8Array {
  const output = new Uint8Array(length)
  let at = 0
  for (const chunk of chunks) {
    output.set(chunk, at)
    at += chunk.length
  }
  return output
}

/**
 * Inflates one gzip member (`bytes`, header included) to at most `limit` bytes. `Corrupt`
 * carries the runtime's reason and what was inflated before it (to tell a CRC from a size
 * mismatch); it never throws. When `signal` aborts (the caller was interrupted), it stops at the
 * next step and answers `Corrupt`, which nobody reads.
 */
export async function inflateGzip(
  bytes: Uint8Array,
  limit: number,
  signal?: AbortSignal,
): Promise<Inflated> {
  const stream = new DecompressionStream("gzip")
  const writer = stream.writable.getWriter()
  const reader = stream.readable.getReader()
  let stopped = false
  let lastYield = performance.now()
  const breathe = async () => {
    signal?.throwIfAborted()
    if (performance.now() - lastYield < YIELD_EVERY_MS) return
    await macrotask()
    lastYield = performance.now()
  }
  // The writer feeds slices while the reader below drains. A failure of the writer aborts the
  // stream, so that the reader's next read fails with it instead of waiting forever.
  const writing = (async () => {
    for (let at = 0; at < bytes.length && !stopped; at += INFLATE_SLICE_BYTES) {
      signal?.throwIfAborted()
      await writer.write(bytes.slice(at, at + INFLATE_SLICE_BYTES))
      await breathe()
    }
    if (!stopped) await writer.close()
  })().catch(async (cause) => {
    await writer.abort(cause).catch(() => {})
    throw cause
  })
  writing.catch(() => {})
  const chunks: Array<Uint8Array> = []
  let length = 0
  try {
    while (true) {
      const { done, value } = await reader.read()
      if (done) break
      length += value.length
      if (length > limit) {
        stopped = true
        await reader.cancel().catch(() => {})
        return { _tag: "TooLarge" }
      }
      chunks.push(value)
      await breathe()
    }
    await writing
    return { _tag: "Ok", output: concat(chunks, length) }
  } catch (cause) {
    stopped = true
    await reader.cancel().catch(() => {})
    const detail = cause instanceof Error ? cause.message : String(cause)
    return { _tag: "Corrupt", detail, output: concat(chunks, length) }
  }
}
