import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict"
import { Effect, Exit } from "effect"
import { decode, encode } from "../codec/msgpack.ts"
import { encodeHashB64, Hasher } from "../hash/mod.ts"
import {
  type AppManifest,
  dnaDefOf,
  dnaHash,
  encodeProperties,
  hasDna,
  installableApp,
  installedManifest,
  loadAppManifestYaml,
  loadDnaManifestYaml,
  packDna,
  packHapp,
  resolveModifiers,
  roleDnaDef,
  roleModifiers,
  wasmHash,
} from "./mod.ts"
import { runWithHasher as run, tinyWasm as wasm } from "./test_support.ts"

const hex = (bytes: Uint8Array) =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")

const DNA_YAML = (hash = "") =>
  `manifest_version: "0"
name: dna one
integrity:
  network_seed: dna-seed
  properties: {level: 1}
  zomes:
    - name: integrity
      path: integrity.wasm${hash === "" ? "" : `\n      hash: ${hash}`}
coordinator:
  zomes:
    - name: coordinator
      path: coordinator.wasm
      dependencies: [{name: integrity}]
`

/** A DNA hash for the use_existing role (any valid one will do). */
const existingHashB64 = Hasher.use((h) =>
  Effect.succeed(encodeHashB64(h.hashContent("dna", Uint8Array.of(1))))
)
const existingHash = () => run(existingHashB64)

const APP_YAML = (installed: string) =>
  `manifest_version: "0"
name: my app
allow_deferred_memproofs: true
roles:
  - name: main
    dna:
      path: dna_one.dna
      modifiers: {properties: {level: 2}}
      clone_limit: 4
  - name: spare
    provisioning: {strategy: clone_only}
    dna:
      path: dna_one.dna
      modifiers: {network_seed: spare-seed}
  - name: shared
    provisioning: {strategy: use_existing, protected: true}
    dna:
      installed_hash: ${installed}
`

const makeHapp = (hash = "") =>
  run(Effect.gen(function* () {
    const dna = yield* loadDnaManifestYaml(DNA_YAML(hash), "dna.yaml")
    const dnaBytes = yield* packDna({
      manifest: dna,
      resources: new Map([["integrity.wasm", wasm("i")], ["coordinator.wasm", wasm("c")]]),
    })
    const manifest: AppManifest = yield* loadAppManifestYaml(
      APP_YAML(yield* existingHashB64),
      "happ.yaml",
    )
    return yield* packHapp({ manifest, resources: new Map([["dna_one.dna", dnaBytes]]) })
  }))

Deno.test("installableApp gives each role its provisioning, clone limit, zomes and modifiers", async () => {
  const app = await run(installableApp(await makeHapp(), { source: "my.happ" }))
  assertEquals(app.name, "my app")
  assertEquals(app.allowDeferredMemproofs, true)
  assertEquals(app.roles.map((r) => r.name), ["main", "spare", "shared"])
  const [main, spare, shared] = app.roles
  assertEquals(main?.provisioning, { strategy: "create", deferred: false })
  assertEquals(main?.cloneLimit, 4)
  assertEquals(main?.resourceId, "dna_one.dna")
  assertEquals(main?.dna?.name, "dna one")
  assertEquals(main?.dna?.integrityZomes.map((z) => [z.name, z.dependencies]), [["integrity", []]])
  assertEquals(main?.dna?.coordinatorZomes.map((z) => [z.name, z.dependencies]), [["coordinator", [
    "integrity",
  ]]])
  assertEquals(main?.dna?.integrityZomes[0]?.wasm, wasm("i"))
  assertEquals(
    encodeHashB64(main!.dna!.integrityZomes[0]!.wasmHash),
    encodeHashB64(await run(wasmHash(wasm("i")))),
  )
  assertEquals(main?.dna?.defaults.network_seed, "dna-seed")
  assertEquals(hex(main!.dna!.defaults.properties!), "81a56c6576656c01")
  assertEquals(hex(main!.modifiers.properties!), "81a56c6576656c02")
  assertEquals(main?.installedHash, null)
  assertEquals(spare?.provisioning, { strategy: "clone_only" })
  assertEquals(spare?.modifiers.network_seed, "spare-seed")
  // Two roles sharing a DNA resource share its resolved zomes.
  assert(spare?.dna === main?.dna)
  assertEquals(shared?.provisioning, { strategy: "use_existing", protected: true })
  assertEquals(shared?.dna, null)
  assertEquals(shared?.resourceId, null)
  assertEquals(encodeHashB64(shared!.installedHash!), await existingHash())
})

Deno.test("roleModifiers and roleDnaDef apply dna.yaml, role and install layers", async () => {
  const app = await run(installableApp(await makeHapp()))
  const main = app.roles[0]!
  assert(hasDna(main))
  assertEquals(roleModifiers(main), {
    network_seed: "dna-seed",
    properties: main.modifiers.properties!,
  })
  const install = {
    networkSeed: "payload-seed",
    roleSettings: { properties: encodeProperties({ level: 3 }) },
  }
  const final = roleModifiers(main, install)
  assertEquals(final.network_seed, "payload-seed")
  assertEquals(hex(final.properties), "81a56c6576656c03")
  const { def, hash } = await run(roleDnaDef(main, install))
  assertEquals(def.modifiers, final)
  const layers = {
    dna: main.dna.defaults,
    role: main.modifiers,
    installNetworkSeed: install.networkSeed,
    roleSettings: install.roleSettings,
  }
  assertEquals(
    encodeHashB64(hash),
    encodeHashB64(await run(dnaHash(dnaDefOf(main.dna, resolveModifiers(layers))))),
  )
  const shared = app.roles[2]!
  assert(!hasDna(shared))
})

Deno.test("installableApp checks zome hash: values inside the hApp", async () => {
  const wrong = encodeHashB64(await run(wasmHash(wasm("not this one"))))
  const exit = await Effect.runPromiseExit(
    installableApp(await makeHapp(wrong), { source: "x.happ" }).pipe(Effect.provide(Hasher.layer)),
  )
  const error = Exit.findErrorOption(exit)
  assert(error._tag === "Some" && error.value.reason._tag === "WasmHashMismatch")
  assertEquals(error.value.reason.file, "x.happ!dna_one.dna")
})

Deno.test("installedManifest is the §8 form: resource ids, u… installed hashes, overrides applied", async () => {
  const app = await run(installableApp(await makeHapp()))
  const main = app.roles[0]!
  assert(hasDna(main))
  const { hash } = await run(roleDnaDef(main))
  const manifest = installedManifest(
    app.manifest,
    new Map([["main", { dnaHash: hash, overrides: { network_seed: "installed-seed" } }]]),
  )
  assertEquals(manifest.manifest_version, "0")
  assertEquals(manifest.roles[0]?.dna.path, "dna_one.dna")
  assertEquals(manifest.roles[0]?.dna.installed_hash, encodeHashB64(hash))
  assertEquals(manifest.roles[0]?.dna.modifiers, {
    network_seed: "installed-seed",
    properties: { level: 2 },
  })
  assertEquals(manifest.roles[1]?.dna.installed_hash, null)
  assertEquals(manifest.roles[2]?.dna.installed_hash, await existingHash())
  assertEquals(manifest.roles[2]?.dna.path, null)
  assertEquals(manifest.relay_url, null)
  // Every Option field is present, so the msgpack form carries nil for it.
  assertEquals(decode(encode(manifest)), JSON.parse(JSON.stringify(manifest)))
})
