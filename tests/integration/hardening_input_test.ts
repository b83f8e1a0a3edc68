/**
 * Hostile input at the conductor's edges, through a real `conductor run` process: installing
 * from a path reads only regular files, bounded by `install.max_bundle_bytes` while reading, and
 * says nothing about other files; identifiers with control characters or over the length bound
 * are refused with the same error on the admin websocket (the real `@holochain/client`) and the
 * HTTP API, and nothing is written.
 *
 * @module
 */
import type { AdminWebsocket } from "@holochain/client"
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict"
import { type ConductorProcess, connectAdmin, happ, startConductor } from "../e2e/support.ts"

/** The bound the tests configure: big enough for the fixture hApps, small enough to pass. */
const MAX_BUNDLE_BYTES = 1024 * 1024

/** Rejects when `promise` takes longer than `ms` (every step of these tests is bounded). */
function within<A>(ms: number, what: string, promise: Promise<A>): Promise<A> {
  let timer: ReturnType<typeof setTimeout> | undefined
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} took more than ${ms} ms`)), ms)
    }),
  ]).finally(() => clearTimeout(timer))
}

/** The error message of a rejected admin request. */
async function adminError(promise: Promise<unknown>): Promise<string> {
  try {
    await within(30_000, "admin request", promise)
  } catch (error) {
    assert(error instanceof Error, `expected an Error, got ${error}`)
    return error.message
  }
  throw new Error("expected the admin request to fail")
}

/** POSTs JSON to the HTTP admin API; returns status and body. */
async function httpPost(conductor: ConductorProcess, path: string, body: unknown) {
  const response = await within(
    30_000,
    `POST ${path}`,
    fetch(`http://127.0.0.1:${conductor.ready.http_port}/api${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    }),
  )
  return { status: response.status, body: await response.json() as { error?: string } }
}

/** Starts a conductor with a small bundle bound; the test owns stopping it. */
async function withConductor(
  test: (conductor: ConductorProcess, admin: AdminWebsocket) => Promise<void>,
) {
  const conductor = await within(
    120_000,
    "conductor start",
    startConductor({ extraConfig: `install: {max_bundle_bytes: ${MAX_BUNDLE_BYTES}}` }),
  )
  const admin = await within(30_000, "admin connect", connectAdmin(conductor.adminPort))
  try {
    await test(conductor, admin)
  } finally {
    await within(10_000, "admin close", admin.client.close())
    await within(30_000, "conductor stop", conductor.stop())
    await Deno.remove(conductor.dir, { recursive: true })
  }
}

Deno.test("install from a path reads only bounded regular files and reveals nothing", async (t) => {
  await withConductor(async (conductor, admin) => {
    const dir = await Deno.makeTempDir({ prefix: "hardening-path-" })
    const installByPath = (path: string) =>
      adminError(admin.installApp({ source: { type: "path", value: path } }))
    const httpByPath = async (path: string) => {
      const { status, body } = await httpPost(conductor, "/apps", { path })
      assertEquals(status, 400, JSON.stringify(body))
      return body.error ?? ""
    }
    const generic = (path: string) => `cannot read a hApp bundle at ${JSON.stringify(path)}`
    const expectGeneric = async (path: string) => {
      const ws = await installByPath(path)
      assert(ws.includes(generic(path)), ws)
      assertEquals(await httpByPath(path), generic(path))
    }
    try {
      await t.step("a device (/dev/zero) is refused without reading it", async () => {
        await expectGeneric("/dev/zero")
      })
      await t.step("a FIFO without a writer is refused at once", async () => {
        const fifo = `${dir}/fifo`
        const made = await new Deno.Command("mkfifo", { args: [fifo] }).output()
        assert(made.success, "mkfifo failed")
        await expectGeneric(fifo)
      })
      await t.step("a directory is refused", async () => {
        await expectGeneric(dir)
      })
      await t.step("a symlink to a device is refused", async () => {
        await Deno.symlink("/dev/zero", `${dir}/zero-link`)
        await expectGeneric(`${dir}/zero-link`)
      })
      await t.step(
        "a missing file and a file that is not a bundle get the same error",
        async () => {
          const secret = `${dir}/secret`
          // "ro" = 72 6f: the old error quoted a file's first bytes as hex.
          await Deno.writeTextFile(secret, "root:$6$very-secret-hash:19000:0:99999:7:::\n")
          await expectGeneric(secret)
          await expectGeneric(`${dir}/no-such-file`)
          for (const error of [await installByPath(secret), await httpByPath(secret)]) {
            assert(!error.includes("72 6f") && !error.includes("root") && !error.includes("found"))
          }
        },
      )
      await t.step("a file over install.max_bundle_bytes names the limit", async () => {
        const big = `${dir}/big.happ`
        await Deno.writeFile(big, new Uint8Array(MAX_BUNDLE_BYTES + 1))
        const expected = `bundle ${
          JSON.stringify(big)
        } is larger than ${MAX_BUNDLE_BYTES} bytes (the limit install.max_bundle_bytes)`
        const ws = await installByPath(big)
        assert(ws.includes(expected), ws)
        assertEquals(await httpByPath(big), expected)
      })
      await t.step("bytes over install.max_bundle_bytes are refused the same way", async () => {
        const ws = await adminError(
          admin.installApp({
            source: { type: "bytes", value: new Uint8Array(MAX_BUNDLE_BYTES + 1) },
          }),
        )
        assert(ws.includes(`larger than ${MAX_BUNDLE_BYTES} bytes`), ws)
        // Base64 of MAX_BUNDLE_BYTES + 1 zero bytes (or a little more).
        const bundle = "A".repeat(Math.ceil((MAX_BUNDLE_BYTES + 1) / 3) * 4)
        const { status, body } = await httpPost(conductor, "/apps", { bundle })
        assertEquals(status, 400)
        assert(body.error?.includes("install.max_bundle_bytes"), JSON.stringify(body))
        assertEquals((await admin.listApps({})).length, 0)
      })
      await t.step("a real bundle, also through a symlink, still installs", async () => {
        const file = `${dir}/ws.happ`
        await Deno.writeFile(file, await happ("ws"))
        await Deno.symlink(file, `${dir}/ws-link.happ`)
        const viaWs = await within(
          60_000,
          "install",
          admin.installApp({
            source: { type: "path", value: `${dir}/ws-link.happ` },
            installed_app_id: "by-path",
          }),
        )
        assertEquals(viaWs.installed_app_id, "by-path")
        const viaHttp = await httpPost(conductor, "/apps", {
          path: file,
          "installed_app_id": "by-http-path",
          "network_seed": "other",
        })
        assertEquals(viaHttp.status, 201, JSON.stringify(viaHttp.body))
      })
    } finally {
      await Deno.remove(dir, { recursive: true })
    }
  })
})
