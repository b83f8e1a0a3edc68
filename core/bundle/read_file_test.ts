import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict"
import { Effect } from "effect"
import { readBundleFile } from "./read_file.ts"

const read = (file: string, maxBytes: number) =>
  Effect.runPromise(Effect.result(readBundleFile(file, { maxBytes, limitName: "test.limit" })))

Deno.test("readBundleFile reads a file of exactly the bound and refuses one byte more", async () => {
  const file = await Deno.makeTempFile()
  try {
    const bytes = new Uint8Array(3 * 1024 * 1024 + 5).map((_, i) => i % 251)
    await Deno.writeFile(file, bytes)
    const exact = await read(file, bytes.length)
    assert(exact._tag === "Success")
    assertEquals(exact.success, bytes)
    const over = await read(file, bytes.length - 1)
    assert(over._tag === "Failure")
    assertEquals(over.failure.reason._tag, "BundleFileTooLarge")
    assert(over.failure.message.includes("test.limit"), over.failure.message)
  } finally {
    await Deno.remove(file)
  }
})

Deno.test("readBundleFile reads by chunks, not by the size stat reports", async () => {
  // /proc files are regular files that stat as 0 bytes but hold content.
  const status = await read("/proc/self/status", 1024 * 1024)
  assert(status._tag === "Success")
  assert(new TextDecoder().decode(status.success).includes("VmRSS"))
  const bounded = await read("/proc/self/status", 16)
  assert(bounded._tag === "Failure")
  assertEquals(bounded.failure.reason._tag, "BundleFileTooLarge")
})

Deno.test("readBundleFile refuses what is not a regular file with one generic error", async () => {
  const dir = await Deno.makeTempDir()
  try {
    for (const file of ["/dev/zero", dir, `${dir}/missing`]) {
      const result = await read(file, 1024)
      assert(result._tag === "Failure")
      assertEquals(result.failure.message, `cannot read a hApp bundle at ${JSON.stringify(file)}`)
    }
  } finally {
    await Deno.remove(dir, { recursive: true })
  }
})
