/**
 * Hostile input at the conductor's edges, through a real `conductor run` process: installing
 * from a path reads only regular files, bounded by `install.max_bundle_bytes` while reading, and
 * says nothing about other files; identifiers with control characters or over the length bound
 * are refused with the same error on the admin websocket (the real `@holochain/client`) and the
 * HTTP API, and nothing is written.
 *
 * @module
 */
import { gzipSync } from "node:zlib"
import type { AdminWebsocket, AppWebsocket, WsClient } from "@holochain/client"
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict"
import {
  APP_ORIGIN,
  type ConductorProcess,
  connectAdmin,
  happ,
  openApp,
  startConductor,
} from "../e2e/support.ts"

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
      await t.step("a gzip bomb stops at install.max_bundle_bytes decompressed", async () => {
        // 4 MiB of zeros gzip to a few KiB: small enough to send, four times the bound inflated.
        const bomb = new Uint8Array(gzipSync(new Uint8Array(4 * MAX_BUNDLE_BYTES)))
        assert(bomb.length < MAX_BUNDLE_BYTES)
        const ws = await adminError(admin.installApp({ source: { type: "bytes", value: bomb } }))
        assert(
          ws.includes(
            `decompresses to more than ${MAX_BUNDLE_BYTES} bytes (the limit install.max_bundle_bytes)`,
          ),
          ws,
        )
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

/** GETs/POSTs/DELETEs on the HTTP admin API with a raw (already encoded) path. */
async function httpRaw(conductor: ConductorProcess, method: string, path: string) {
  const response = await within(
    30_000,
    `${method} ${path}`,
    fetch(`http://127.0.0.1:${conductor.ready.http_port}/api${path}`, { method }),
  )
  return { status: response.status, body: await response.json() as { error?: string } }
}

Deno.test("identifiers with control characters or over 256 bytes are refused everywhere", async (t) => {
  await withConductor(async (conductor, admin) => {
    const bundle = await happ("ws")
    const nul = "installed_app_id contains the control character U+0000 at index 5; " +
      "identifiers must not contain control characters (U+0000–U+001F, U+007F–U+009F)"
    const install = (id: string, extra: Record<string, unknown> = {}) =>
      admin.installApp({
        source: { type: "bytes", value: bundle },
        installed_app_id: id,
        ...extra,
      })
    const ids = async () => (await admin.listApps({})).map((a) => a.installed_app_id).sort()

    const forumInfo = await within(60_000, "install forum", install("forum"))

    await t.step("install with a NUL in installed_app_id writes nothing", async () => {
      const ws = await adminError(install("forum\u0000evil"))
      assert(ws.includes(nul), ws)
      const http = await httpPost(conductor, "/apps", {
        bundle: btoa(Array.from(bundle, (b) => String.fromCharCode(b)).join("")),
        "installed_app_id": "forum\u0000evil",
      })
      assertEquals(http, { status: 400, body: { error: nul } })
      const raw = await within(
        30_000,
        "POST raw",
        fetch(
          `http://127.0.0.1:${conductor.ready.http_port}/api/apps?installed_app_id=forum%00evil`,
          {
            method: "POST",
            headers: { "content-type": "application/octet-stream" },
            body: bundle.slice(),
          },
        ),
      )
      assertEquals({ status: raw.status, body: await raw.json() }, {
        status: 400,
        body: { error: nul },
      })
      assertEquals(await ids(), ["forum"])
    })

    await t.step("enable, disable, uninstall and tokens refuse forum\\0evil", async () => {
      for (
        const request of [
          admin.enableApp({ installed_app_id: "forum\u0000evil" }),
          admin.disableApp({ installed_app_id: "forum\u0000evil" }),
          admin.uninstallApp({ installed_app_id: "forum\u0000evil" }),
          admin.issueAppAuthenticationToken({ installed_app_id: "forum\u0000evil" }),
          admin.listCapabilityGrants({
            installed_app_id: "forum\u0000evil",
            include_revoked: false,
          }),
        ]
      ) {
        const error = await adminError(request)
        assert(error.includes(nul), error)
      }
      for (
        const [method, path] of [
          ["GET", "/apps/forum%00evil"],
          ["POST", "/apps/forum%00evil/enable"],
          ["POST", "/apps/forum%00evil/disable"],
          ["DELETE", "/apps/forum%00evil"],
        ] as const
      ) {
        assertEquals(await httpRaw(conductor, method, path), { status: 400, body: { error: nul } })
      }
      assertEquals(await ids(), ["forum"])
      const forum = (await admin.listApps({})).find((a) => a.installed_app_id === "forum")
      assertEquals(forum?.status.type, "disabled")
    })

    await t.step("other control characters: DEL, C1, newline", async () => {
      for (const [id, code] of [["forum\u007f", "007F"], ["forum\u0085", "0085"]] as const) {
        const error = await adminError(install(id))
        assert(error.includes(`control character U+${code} at index 5`), error)
      }
      const error = await adminError(install("new\nline"))
      assert(error.includes("U+000A at index 3"), error)
      assertEquals(await ids(), ["forum"])
    })

    await t.step("a 100,000-character id is refused and the connection stays up", async () => {
      const long = "a".repeat(100_000)
      const error = await adminError(install(long))
      assert(error.includes("installed_app_id is longer than 256 bytes of UTF-8"), error)
      const http = await httpRaw(conductor, "GET", `/apps/${"a".repeat(257)}`)
      assertEquals(http, {
        status: 400,
        body: { error: "installed_app_id is longer than 256 bytes of UTF-8" },
      })
      assertEquals(await ids(), ["forum"])
    })

    await t.step("exactly 256 bytes is accepted", async () => {
      const id = "é".repeat(128)
      const info = await within(
        60_000,
        "install",
        install(id, { network_seed: "256" }),
      )
      assertEquals(info.installed_app_id, id)
      assertEquals(await ids(), ["forum", id].sort())
    })

    await t.step(
      "role names, clone ids, zome and function names follow the same rule",
      async () => {
        const role = await adminError(
          install("roles", { roles_settings: { "ma\u0000in": { type: "provisioned" } } }),
        )
        assert(role.includes("role name contains the control character U+0000 at index 2"), role)
        const clone = await adminError(
          admin.deleteCloneCell({
            app_id: "forum",
            clone_cell_id: { type: "clone_id", value: "main.\u00000" } as never,
          }),
        )
        assert(clone.includes("clone_id contains the control character U+0000 at index 5"), clone)
        const cell = forumInfo.cell_info["main"]?.[0]
        assert(cell?.type === "provisioned")
        const cellId = cell.value.cell_id
        const grant = await adminError(
          admin.grantZomeCallCapability({
            cell_id: cellId,
            cap_grant: {
              tag: "t",
              access: { type: "unrestricted" },
              functions: { type: "listed", value: [["ws", "f\u0000n"]] },
            },
          }),
        )
        assert(grant.includes("function name contains the control character U+0000"), grant)
        const call = await httpRaw(conductor, "POST", "/apps/forum/call/main/w%00s/fn")
        assertEquals(call, {
          status: 400,
          body: {
            error: "zome_name contains the control character U+0000 at index 1; " +
              "identifiers must not contain control characters (U+0000–U+001F, U+007F–U+009F)",
          },
        })
        assertEquals(await ids(), ["forum", "é".repeat(128)].sort())
      },
    )

    await t.step(
      "attach_app_interface refuses a bad installed_app_id and opens nothing",
      async () => {
        const before = await admin.listAppInterfaces()
        const error = await adminError(
          admin.attachAppInterface({ port: 0, allowed_origins: "*", installed_app_id: "x\u0000" }),
        )
        assert(error.includes("installed_app_id contains the control character U+0000"), error)
        assertEquals(await admin.listAppInterfaces(), before)
      },
    )

    await t.step("network_seed is data: any character, bounded to 4096 bytes", async () => {
      const error = await adminError(install("seeded", { network_seed: "s".repeat(4097) }))
      assert(error.includes("network_seed is longer than 4096 bytes of UTF-8"), error)
      const info = await within(60_000, "install", install("seeded", { network_seed: "a\u0000b" }))
      assertEquals(info.installed_app_id, "seeded")
    })

    await t.step("the app websocket applies the same rule to clones and zome calls", async () => {
      const { port } = await within(
        30_000,
        "attach",
        admin.attachAppInterface({ port: 0, allowed_origins: APP_ORIGIN }),
      )
      await within(60_000, "enable", admin.enableApp({ installed_app_id: "forum" }))
      const cell = forumInfo.cell_info["main"]?.[0]
      assert(cell?.type === "provisioned")
      await within(30_000, "authorize", admin.authorizeSigningCredentials(cell.value.cell_id))
      const client = await within<AppWebsocket>(30_000, "open app", openApp(admin, port, "forum"))
      try {
        const clone = await adminError(
          client.createCloneCell({
            role_name: "main",
            modifiers: { network_seed: "clone" },
            name: "x\u0000",
          }),
        )
        assert(clone.includes("name contains the control character U+0000 at index 1"), clone)
        const disable = await adminError(
          client.disableCloneCell({
            clone_cell_id: { type: "clone_id", value: "main.\u0085" },
          } as never),
        )
        assert(disable.includes("clone_id contains the control character U+0085"), disable)
        const call = await adminError(
          client.callZome({
            role_name: "main",
            zome_name: "no\u0000op",
            fn_name: "f",
            payload: null,
          }),
        )
        assert(call.includes("zome_name contains the control character U+0000 at index 2"), call)
        const info = await within(30_000, "app info", client.appInfo())
        assertEquals(info?.cell_info["main"]?.length, 1)
      } finally {
        await within(10_000, "app close", (client.client as WsClient).close())
      }
    })
  })
})
