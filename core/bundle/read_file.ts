/**
 * Reads a bundle a client named by path (`install_app` with `source: {type: "path"}`,
 * `POST /api/apps {"path": …}`), where the path comes from outside and may name anything the
 * conductor's user can open: a device (`/dev/zero`), a FIFO, a directory, a secret file.
 *
 * - only regular files are read; a symlink is followed and its target must be a regular file;
 * - the file is opened non-blocking (a FIFO without a writer would otherwise block the open),
 *   then checked with `fstat` on the open handle, so a path swapped after a check is still caught;
 * - bytes are read in chunks and reading stops as soon as the bound is passed: a file that grows
 *   while it is read, or lies about its size, still never costs more than the bound;
 * - every failure to open or read is the same `BundleUnreadable` that names the path the caller
 *   gave and nothing else (no "exists" vs "not found", no OS error text), so the API cannot be
 *   used to probe other files. Only a file over the bound gets its own error, naming the bound.
 *
 * It does not parse the bytes; `installableApp` does. `node:fs` (for `O_NONBLOCK`) loads on the
 * first read, not when the conductor starts (docs/benchmarks.md, start-up).
 *
 * @module
 */
import { Effect } from "effect"
import { type BundleError, bundleError, BundleFileTooLarge, BundleUnreadable } from "./errors.ts"

/** Default bound on a bundle's size, in bytes: the websocket message limit (64 MiB). */
export const DEFAULT_MAX_BUNDLE_BYTES = 64 * 1024 * 1024

const CHUNK_BYTES = 1024 * 1024

/** The path as it appears in messages: JSON-quoted, so control characters stay visible. */
export function quotedPath(file: string): string {
  const shown = file.length > 200 ? `${file.slice(0, 200)}…` : file
  return JSON.stringify(shown)
}

/**
 * Reads at most `maxBytes` from the regular file at `file`. Fails with `BundleUnreadable` when
 * the path is not a readable regular file, and with `BundleTooLarge` (naming `limitName`) when
 * the file holds more than `maxBytes`.
 */
export const readBundleFile = (
  file: string,
  options: { readonly maxBytes: number; readonly limitName: string },
): Effect.Effect<Uint8Array, BundleError> => {
  const unreadable = () => bundleError(new BundleUnreadable({ file: quotedPath(file) }))
  const tooLarge = () =>
    bundleError(
      new BundleFileTooLarge({
        file: quotedPath(file),
        limit: options.maxBytes,
        limitName: options.limitName,
      }),
    )
  return Effect.acquireUseRelease(
    Effect.tryPromise({
      // O_NONBLOCK: opening a FIFO that has no writer returns at once instead of waiting.
      try: async () => {
        const fs = await import("node:fs")
        return fs.promises.open(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK)
      },
      catch: unreadable,
    }),
    (handle) =>
      Effect.gen(function* () {
        const info = yield* Effect.tryPromise({ try: () => handle.stat(), catch: unreadable })
        if (!info.isFile()) return yield* unreadable()
        const chunks: Array<Uint8Array> = []
        let total = 0
        while (true) {
          // One byte more than allowed tells "exactly the bound" from "over the bound".
          const want = Math.min(CHUNK_BYTES, options.maxBytes + 1 - total)
          const chunk = new Uint8Array(want)
          const { bytesRead } = yield* Effect.tryPromise({
            try: () => handle.read(chunk, 0, want, null),
            catch: unreadable,
          })
          if (bytesRead === 0) break
          total += bytesRead
          if (total > options.maxBytes) return yield* tooLarge()
          chunks.push(bytesRead === want ? chunk : chunk.subarray(0, bytesRead))
        }
        const bytes = new Uint8Array(total)
        let at = 0
        for (const chunk of chunks) {
          bytes.set(chunk, at)
          at += chunk.length
        }
        return bytes
      }),
    (handle) => Effect.promise(() => handle.close()),
  )
}
