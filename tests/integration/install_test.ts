/**
 * Installing and managing apps: malformed bundles, wasm and inputs are refused with errors that
 * name the problem and leave nothing behind; genesis, duplicates, clone cells, deferred
 * membrane proofs, disable/enable/uninstall, and a restart that keeps apps, cells and data.
 *
 * @module
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict"
import { gzipSync } from "node:zlib"
import { Effect } from "effect"
import { type AppError, Apps } from "../../core/app/mod.ts"
import { packDirectory } from "../../core/bundle/mod.ts"
import { Cells } from "../../core/cell/mod.ts"
import { encode } from "../../core/codec/mod.ts"
import { Hasher, type WasmHash } from "../../core/hash/mod.ts"
import { RibosomeStore } from "../../core/ribosome_store/mod.ts"
import { Keystore } from "../../core/keystore/mod.ts"
import { Store } from "../../core/store/mod.ts"
import {
  callZome,
  disposeConductor,
  makeConductor,
  packed,
  ROOT,
  type TestConductor,
} from "../support/conductor.ts"
import { step } from "../support/timeout.ts"

const TABLES = [
  "agent_keys",
  "wasm",
  "dnas",
  "apps",
  "cells",
  "actions",
  "entries",
  "links",
  "dht_ops",
  "cap_grants",
  "outbox",
]

/** Row counts of every conductor table: "nothing written" means these do not change. */
function snapshot(conductor: TestConductor) {
  return conductor.runPromise(
    Effect.map(Effect.service(Store), (store) =>
      Object.fromEntries(
        TABLES.map((
          t,
        ) => [t, (store.prepare(`SELECT count(*) AS n FROM ${t}`).get() as { n: number }).n]),
      )),
  )
}

function installError(
  conductor: TestConductor,
  request: Parameters<typeof Apps.Service.install>[0],
) {
  return conductor.runPromise(
    Effect.flatMap(Effect.service(Apps), (apps) => Effect.flip(apps.install(request))),
  )
}

function apps(conductor: TestConductor) {
  return conductor.runPromise(Effect.service(Apps))
}

/** Packs a one-role hApp around a fixture DNA with the given manifest extras. */
async function customHapp(dna: string, role: Record<string, unknown>, extra = "") {
  const dir = await Deno.makeTempDir()
  const yaml = `manifest_version: "0"
name: custom
${extra}
roles:
  - name: main
    provisioning: ${JSON.stringify(role["provisioning"] ?? { strategy: "create", deferred: false })}
    dna:
      path: ${ROOT}tests/fixtures/dnas/${dna}
      modifiers: {network_seed: null, properties: null}
      installed_hash: null
      clone_limit: ${role["clone_limit"] ?? 0}
`
  await Deno.writeTextFile(`${dir}/happ.yaml`, yaml)
  const result = await Effect.runPromise(packDirectory(dir).pipe(Effect.provide(Hasher.layer)))
  await Deno.remove(dir, { recursive: true })
  return result.bytes
}

Deno.test("malformed bundles, wasm and inputs are refused and change nothing", async (t) => {
  const conductor = makeConductor()
  const before = await snapshot(conductor)
  const expectRefused = async (
    request: Parameters<typeof Apps.Service.install>[0],
    reason: AppError["reason"],
    text: string,
  ) => {
    const error = await installError(conductor, request)
    assertEquals(error.reason, reason, error.detail)
    assert(error.detail.includes(text), `${error.detail} should mention ${text}`)
    assertEquals(await snapshot(conductor), before)
  }

  await step(t, "bytes that are not a bundle", async () => {
    await expectRefused(
      { source: { type: "bytes", value: new Uint8Array([1, 2, 3]) } },
      "InvalidBundle",
      "gzip",
    )
    await expectRefused(
      { source: { type: "bytes", value: gzipSync(new Uint8Array([0xc1, 0x00])) } },
      "InvalidBundle",
      "<bytes>",
    )
    await expectRefused(
      { source: { type: "bytes", value: gzipSync(encode({ manifest: {}, resources: {} })) } },
      "InvalidBundle",
      "manifest",
    )
    await expectRefused(
      { source: { type: "path", value: "/no/such/file.happ" } },
      "InvalidBundle",
      "/no/such/file.happ",
    )
  })

  await step(t, "wasm the conductor cannot run", async () => {
    await expectRefused(
      { source: { type: "bytes", value: await packed("tests/fixtures/happs/bad_import") } },
      "InvalidDna",
      "no_such_fn_1",
    )
    await expectRefused(
      { source: { type: "bytes", value: await packed("tests/fixtures/happs/big_memory") } },
      "InvalidDna",
      "4200",
    )
  })

  await step(t, "inputs that do not fit the bundle or the keystore", async () => {
    const happ = await packed("tests/fixtures/happs/noop")
    await expectRefused(
      { source: { type: "bytes", value: happ }, rolesSettings: { nope: { type: "provisioned" } } },
      "InvalidInput",
      "nope",
    )
    const hasher = await conductor.runPromise(Effect.service(Hasher))
    const stranger = hasher.fromCore("agent", new Uint8Array(32).fill(1))
    await expectRefused(
      { source: { type: "bytes", value: happ }, agentKey: stranger },
      "InvalidInput",
      "not in this conductor's keystore",
    )
    await expectRefused(
      { source: { type: "bytes", value: happ }, installedAppId: "" },
      "InvalidInput",
      "must not be empty",
    )
  })

  await step(
    t,
    "a genesis_self_check rejection fails the install; ignore_genesis_failure keeps a disabled app",
    async () => {
      const happ = await packed("tests/fixtures/happs/host_fns")
      const settings = {
        "host_fns": {
          type: "provisioned" as const,
          value: { membrane_proof: new TextEncoder().encode("bad") },
        },
      }
      const keysBefore = (await conductor.runPromise(Effect.service(Keystore))).list().length
      await expectRefused(
        { source: { type: "bytes", value: happ }, rolesSettings: settings },
        "GenesisFailed",
        "rejected it",
      )
      assertEquals((await conductor.runPromise(Effect.service(Keystore))).list().length, keysBefore)
      const installed = await conductor.runPromise(
        Effect.flatMap(Effect.service(Apps), (a) =>
          a.install({
            source: { type: "bytes", value: happ },
            rolesSettings: settings,
            ignoreGenesisFailure: true,
            installedAppId: "kept",
          })),
      )
      assertEquals(installed.status.type, "disabled")
      assert(JSON.stringify(installed.status).includes("rejected it"))
      const enable = await conductor.runPromise(
        Effect.flatMap(Effect.service(Apps), (a) => Effect.flip(a.enable("kept"))),
      )
      assertEquals(enable.reason, "GenesisFailed")
    },
  )

  await disposeConductor(conductor)
})

Deno.test("app lifecycle: install, enable, disable, uninstall", async (t) => {
  const conductor = makeConductor()
  const happ = await packed("tests/fixtures/happs/noop")
  const service = await apps(conductor)
  const run = <A, E>(effect: Effect.Effect<A, E>) => conductor.runPromise(effect)

  await step(
    t,
    "install leaves the app disabled (never started) with its provisioned cell",
    async () => {
      const info = await run(
        service.install({ source: { type: "bytes", value: happ }, installedAppId: "a1" }),
      )
      assertEquals(info.status, { type: "disabled", value: { type: "never_started" } })
      assertEquals(info.cell_info["noop"]?.[0]?.type, "provisioned")
      const duplicate = await run(
        Effect.flip(
          service.install({ source: { type: "bytes", value: happ }, installedAppId: "a1" }),
        ),
      )
      assertEquals(duplicate.reason, "AlreadyExists")
      const sameCell = await run(
        Effect.flip(
          service.install({
            source: { type: "bytes", value: happ },
            installedAppId: "a2",
            agentKey: info.agent_pub_key,
          }),
        ),
      )
      assertEquals(sameCell.reason, "AlreadyExists")
      assert(sameCell.detail.includes("already installed"))
    },
  )

  await step(t, "enable starts cells; disable stops them; enable again restarts them", async () => {
    const info = await run(service.enable("a1"))
    assertEquals(info.status, { type: "enabled" })
    const cells = await conductor.runPromise(Effect.service(Cells))
    const cell = cells.byApp("a1")[0]!
    assertEquals(await callZome(conductor, cell, "noop", "noop", 42), 42)
    await run(service.disable("a1"))
    assertEquals(cells.byApp("a1").length, 0)
    assertEquals((await run(service.info("a1")))?.status, {
      type: "disabled",
      value: { type: "user" },
    })
    await run(service.enable("a1"))
    assertEquals(await callZome(conductor, cells.byApp("a1")[0]!, "noop", "echo_len", "abc"), 4)
  })

  await step(t, "list filters by status, newest first", async () => {
    await run(service.install({ source: { type: "bytes", value: happ }, installedAppId: "a3" }))
    assertEquals((await run(service.list(null))).map((a) => a.installed_app_id), ["a3", "a1"])
    assertEquals((await run(service.list("enabled"))).map((a) => a.installed_app_id), ["a1"])
    assertEquals((await run(service.list("disabled"))).map((a) => a.installed_app_id), ["a3"])
  })

  await step(t, "uninstall removes the app, its cells and their data", async () => {
    const before = await snapshot(conductor)
    await run(service.uninstall("a1", false))
    assertEquals(await run(service.info("a1")), null)
    const after = await snapshot(conductor)
    assertEquals(after["apps"], before["apps"]! - 1)
    assertEquals(after["cells"], before["cells"]! - 1)
    assert(after["actions"]! < before["actions"]!)
    assert(after["outbox"]! < before["outbox"]!)
    // Each service deleted its own rows: no op, link or outbox row outlives its action.
    const orphans = await conductor.runPromise(
      Effect.map(Effect.service(Store), (store) =>
        store.prepare(
          `SELECT (SELECT count(*) FROM outbox WHERE id / 16 NOT IN (SELECT id FROM actions))
                + (SELECT count(*) FROM dht_ops WHERE action_id NOT IN (SELECT id FROM actions))
                + (SELECT count(*) FROM links WHERE create_hash NOT IN (SELECT hash FROM actions))
             AS n`,
        ).get() as { n: number }),
    )
    assertEquals(orphans.n, 0)
    assertEquals((await run(Effect.flip(service.enable("a1")))).reason, "NotFound")
  })

  await disposeConductor(conductor)
})

Deno.test("clone cells: create, disable, enable, delete, with role.N ids and a limit", async () => {
  const conductor = makeConductor()
  const service = await apps(conductor)
  const run = <A, E>(effect: Effect.Effect<A, E>) => conductor.runPromise(effect)
  const happ = await customHapp("host_fns", { clone_limit: 2 })
  await run(service.install({ source: { type: "bytes", value: happ }, installedAppId: "c" }))
  await run(service.enable("c"))
  const refused = await run(
    Effect.flip(service.createClone("c", { roleName: "main", modifiers: {} })),
  )
  assertEquals(refused.reason, "InvalidInput")
  const first = await run(
    service.createClone("c", {
      roleName: "main",
      modifiers: { network_seed: "one" },
      name: "first",
    }),
  )
  assertEquals(first.clone_id, "main.0")
  assertEquals(first.name, "first")
  const second = await run(
    service.createClone("c", { roleName: "main", modifiers: { properties: { n: 2 } } }),
  )
  assertEquals(second.clone_id, "main.1")
  assertEquals(
    (await run(
      Effect.flip(
        service.createClone("c", { roleName: "main", modifiers: { network_seed: "three" } }),
      ),
    )).reason,
    "CloneLimitReached",
  )
  const cells = await conductor.runPromise(Effect.service(Cells))
  const clone = cells.get(first.cell_id)!
  assertEquals(await callZome(conductor, clone, "host_fns", "init_count"), 1)
  await run(service.disableClone("c", { type: "clone_id", value: "main.0" }))
  assertEquals(cells.get(first.cell_id), undefined)
  const info = await run(service.info("c"))
  assertEquals(
    info?.cell_info["main"]?.map((c) =>
      c.type === "cloned" ? `${c.value.clone_id}:${c.value.enabled}` : c.type
    ),
    ["provisioned", "main.1:true", "main.0:false"],
  )
  const reenabled = await run(
    service.enableClone("c", { type: "dna_hash", value: first.cell_id[0] }),
  )
  assertEquals(reenabled.enabled, true)
  assertEquals(
    (await run(Effect.flip(service.deleteClone("c", { type: "clone_id", value: "main.0" }))))
      .reason,
    "WrongStatus",
  )
  await run(service.disableClone("c", { type: "clone_id", value: "main.0" }))
  await run(service.deleteClone("c", { type: "clone_id", value: "main.0" }))
  // A deleted clone's index is never reused.
  const third = await run(
    service.createClone("c", { roleName: "main", modifiers: { network_seed: "three" } }),
  )
  assertEquals(third.clone_id, "main.2")
  await disposeConductor(conductor)
})

Deno.test("deferred membrane proofs: awaiting, provided, enabled", async () => {
  const conductor = makeConductor()
  const service = await apps(conductor)
  const run = <A, E>(effect: Effect.Effect<A, E>) => conductor.runPromise(effect)
  const happ = await customHapp("host_fns", {}, "allow_deferred_memproofs: true")
  const info = await run(
    service.install({ source: { type: "bytes", value: happ }, installedAppId: "m" }),
  )
  assertEquals(info.status, { type: "awaiting_memproofs" })
  assertEquals((await run(Effect.flip(service.enable("m")))).reason, "WrongStatus")
  const bad = await run(
    Effect.flip(service.provideMemproofs("m", { main: new TextEncoder().encode("bad") })),
  )
  assertEquals(bad.reason, "GenesisFailed")
  await run(service.provideMemproofs("m", { main: new TextEncoder().encode("welcome") }))
  assertEquals((await run(service.info("m")))?.status, {
    type: "disabled",
    value: { type: "not_started_after_providing_memproofs" },
  })
  await run(service.enableAfterMemproofs("m"))
  assertEquals((await run(service.info("m")))?.status, { type: "enabled" })
  await disposeConductor(conductor)
})

Deno.test("apps, cells and chains survive a restart; wasm is neither re-instrumented nor recompiled", async () => {
  const dir = await Deno.makeTempDir()
  const file = `${dir}/conductor.sqlite3`
  const first = makeConductor({ file })
  const service = await apps(first)
  const happ = await packed("examples/forum")
  await first.runPromise(
    service.install({ source: { type: "bytes", value: happ }, installedAppId: "forum" }),
  )
  await first.runPromise(service.enable("forum"))
  const store = await first.runPromise(Effect.service(Store))
  const ribosomeStore = await first.runPromise(Effect.service(RibosomeStore))
  const wasmHash = (store.prepare("SELECT hash FROM wasm LIMIT 1").get() as { hash: WasmHash }).hash
  const meteredOf = (s: typeof store) =>
    s.prepare("SELECT metered, metered_key FROM wasm WHERE hash = ?").get(wasmHash) as {
      metered: Uint8Array
      metered_key: string
    }
  const compiled = await first.runPromise(ribosomeStore.wasm(wasmHash))
  // A second install of the same wasm reuses the compiled module.
  await first.runPromise(
    service.install({ source: { type: "bytes", value: happ }, installedAppId: "forum-again" }),
  )
  assert((await first.runPromise(ribosomeStore.wasm(wasmHash))) === compiled)
  await first.runPromise(service.uninstall("forum-again", false))
  const metered = meteredOf(store)
  const cell = (await first.runPromise(Effect.service(Cells))).byApp("forum")[0]!
  await callZome(first, cell, "forum", "create_post", { title: "Before restart", body: "kept" })
  await disposeConductor(first)

  const second = makeConductor({ file })
  // After a restart the stored metered bytes are used as they are.
  assertEquals(meteredOf(await second.runPromise(Effect.service(Store))), metered)
  const restarted = (await second.runPromise(Effect.service(Cells))).byApp("forum")
  assertEquals(restarted.length, 1)
  const posts = await callZome(second, restarted[0]!, "forum", "list_posts", null) as Array<
    { title: string }
  >
  assertEquals(posts.map((p) => p.title), ["Before restart"])
  await callZome(second, restarted[0]!, "forum", "create_post", {
    title: "After restart",
    body: "also kept",
  })
  assertEquals(
    (await second.runPromise(Effect.flatMap(Effect.service(Apps), (a) => a.list(null)))).map((a) =>
      a.status.type
    ),
    ["enabled"],
  )
  await disposeConductor(second)
  await Deno.remove(dir, { recursive: true })
})
