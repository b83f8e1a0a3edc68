import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict"
import { Effect } from "effect"
import { encodeHashB64, hashTypeOf, type WasmHash } from "../hash/mod.ts"
import {
  dnaDefOf,
  dnaHash,
  dnaHashContent,
  dnaManifestModifiers,
  encodeProperties,
  loadDnaManifestYaml,
  propertiesFromYaml,
  resolveDna,
  resolveModifiers,
  wasmHash,
  type ZomeDef,
} from "./mod.ts"
import { runWithHasher as run } from "./test_support.ts"

const hex = (bytes: Uint8Array) =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")

// Holochain's hc_bundle fixture `tests/fixtures/my-app/dnas/dna1` (holochain/holochain develop),
// in the v0 manifest form. `hash_dna_function` in crates/hc_bundle/tests/test_cli.rs packs it and
// expects `uhC0kMpN6EzEhjaPP-MWeJi1cH2Zyw7OYEDEekSnjWE85WgCnIvEG`.
const FIXTURE_DNA_YAML = `manifest_version: "0"
name: a dna
integrity:
  network_seed: 00000000-0000-0000-0000-000000000000
  properties: ~
  zomes:
    - name: zome1
      path: ./zomes/zome11.wasm
    - name: zome2
      path: ./zomes/zome12.wasm
`

// The fixture zomes are not real wasm. zome12.wasm is the text "So is this\n" (the same bytes as
// the stored fixture dna2/zome2.wasm); its hash is the `wasm_hash2` literal of test_cli.rs
// `test_multi_integrity`. zome11.wasm's bytes are not in the stored index, so its hash is that
// test's `wasm_hash` literal ("the actual wasm hashes of the fake zomes"), taken verbatim.
const ZOME12_BYTES = new TextEncoder().encode("So is this\n")
const WASM_HASH_ZOME12 = Uint8Array.from([
  132,
  42,
  36,
  235,
  225,
  55,
  255,
  141,
  140,
  72,
  148,
  154,
  141,
  124,
  248,
  185,
  142,
  62,
  218,
  220,
  85,
  73,
  201,
  54,
  10,
  30,
  191,
  206,
  93,
  108,
  142,
  140,
  201,
  164,
  225,
  20,
  241,
  98,
  16,
]) as WasmHash
const WASM_HASH_ZOME11 = Uint8Array.from([
  132,
  42,
  36,
  217,
  5,
  131,
  6,
  203,
  162,
  51,
  6,
  34,
  63,
  247,
  21,
  77,
  60,
  106,
  98,
  53,
  59,
  98,
  172,
  222,
  143,
  105,
  210,
  10,
  5,
  56,
  152,
  102,
  178,
  159,
  162,
  69,
  249,
  162,
  67,
]) as WasmHash

const fixtureZomes = (zome2Hash: WasmHash): ReadonlyArray<readonly [string, ZomeDef]> => [
  ["zome1", { Wasm: { wasm_hash: WASM_HASH_ZOME11, dependencies: [] } }],
  ["zome2", { Wasm: { wasm_hash: zome2Hash, dependencies: [] } }],
]

Deno.test("wasmHash of the fixture zome12.wasm equals test_cli.rs wasm_hash2", async () => {
  const hash = await run(wasmHash(ZOME12_BYTES))
  assertEquals(hashTypeOf(hash), "wasm")
  assertEquals(hex(hash), hex(WASM_HASH_ZOME12))
})

Deno.test("dnaHash reproduces Holochain's hash_dna_function vector", async () => {
  const hash = await run(Effect.gen(function* () {
    const manifest = yield* loadDnaManifestYaml(FIXTURE_DNA_YAML, "dna1/dna.yaml")
    const modifiers = resolveModifiers({ dna: dnaManifestModifiers(manifest) })
    assertEquals(modifiers.network_seed, "00000000-0000-0000-0000-000000000000")
    assertEquals(hex(modifiers.properties), "c0")
    return yield* dnaHash({
      modifiers,
      integrity_zomes: fixtureZomes(yield* wasmHash(ZOME12_BYTES)),
    })
  }))
  assertEquals(encodeHashB64(hash), "uhC0kMpN6EzEhjaPP-MWeJi1cH2Zyw7OYEDEekSnjWE85WgCnIvEG")
})

Deno.test("dnaHash reproduces the --network-seed vector through the install payload layer", async () => {
  const hash = await run(Effect.gen(function* () {
    const manifest = yield* loadDnaManifestYaml(FIXTURE_DNA_YAML, "dna1/dna.yaml")
    const modifiers = resolveModifiers({
      dna: dnaManifestModifiers(manifest),
      installNetworkSeed: "hc-dna-hash-test-seed",
    })
    return yield* dnaHash({ modifiers, integrity_zomes: fixtureZomes(WASM_HASH_ZOME12) })
  }))
  assertEquals(encodeHashB64(hash), "uhC0kZR2x_xAxE4_wypMnRPjwhk4DeG1dnOGphZpL1lBRAnqoYLoJ")
})

Deno.test("dnaHash reproduces the --role-settings vector (seed and properties foo: bar)", async () => {
  const hash = await run(Effect.gen(function* () {
    const manifest = yield* loadDnaManifestYaml(FIXTURE_DNA_YAML, "dna1/dna.yaml")
    const modifiers = resolveModifiers({
      dna: dnaManifestModifiers(manifest),
      installNetworkSeed: "some-other-seed",
      // tests/fixtures/dna-role-settings.yaml: `properties:\n    foo: bar`
      roleSettings: {
        network_seed: "hc-dna-hash-test-seed",
        properties: yield* propertiesFromYaml("foo: bar\n"),
      },
    })
    return yield* dnaHash({ modifiers, integrity_zomes: fixtureZomes(WASM_HASH_ZOME12) })
  }))
  assertEquals(encodeHashB64(hash), "uhC0kvdsQLPWXzSUqwIC1Gr423E_oB9IF5RsizmRTUPv_fyTILYTZ")
})

Deno.test("dnaHashContent is the map {modifiers, integrity_zomes} in that order", () => {
  const content = dnaHashContent({
    modifiers: { network_seed: "", properties: Uint8Array.of(0xc0) },
    integrity_zomes: [],
  })
  // 82 a9"modifiers" 82 ac"network_seed" a0 aa"properties" c4 01 c0 af"integrity_zomes" 90
  const text = new TextDecoder().decode(content)
  assertEquals(content[0], 0x82)
  assert(text.indexOf("modifiers") < text.indexOf("integrity_zomes"))
  assertEquals(hex(content.subarray(content.length - 1)), "90")
  assert(hex(content).includes("c401c0"))
})

Deno.test("dnaHash ignores the name and the coordinator zomes", async () => {
  const [a, b] = await run(Effect.gen(function* () {
    const wasm = yield* wasmHash(ZOME12_BYTES)
    const base = {
      name: "one",
      modifiers: { network_seed: "s", properties: Uint8Array.of(0xc0) },
      "integrity_zomes": fixtureZomes(wasm),
      "coordinator_zomes": [],
    }
    const other = {
      ...base,
      name: "two",
      "coordinator_zomes": [["c", { Wasm: { wasm_hash: wasm, dependencies: ["zome1"] } }] as const],
    }
    return [yield* dnaHash(base), yield* dnaHash(other)] as const
  }))
  assertEquals(encodeHashB64(a), encodeHashB64(b))
})

Deno.test("resolveModifiers applies the layers of §2.2, each replacing the lower wholesale", () => {
  const props = (value: unknown) => encodeProperties(value)
  const dna = { "network_seed": "dna-seed", properties: props({ a: 1, b: 2 }) }
  assertEquals(resolveModifiers({ dna }), dna)
  const role = { "network_seed": "role-seed", properties: props({ c: 3 }) }
  assertEquals(resolveModifiers({ dna, role }), role)
  // Null layers do not override.
  assertEquals(resolveModifiers({ dna, role: { network_seed: null, properties: null } }), dna)
  // The payload network_seed beats the role's, but not roles_settings.
  assertEquals(
    resolveModifiers({ dna, role, installNetworkSeed: "payload" }).network_seed,
    "payload",
  )
  assertEquals(
    resolveModifiers({
      dna,
      role,
      installNetworkSeed: "payload",
      roleSettings: { network_seed: "settings" },
    }),
    { network_seed: "settings", properties: role.properties },
  )
  // Properties are replaced, never merged.
  assertEquals(
    resolveModifiers({ dna, roleSettings: { properties: props({ z: 0 }) } }).properties,
    props({ z: 0 }),
  )
  // An empty seed is a value: it replaces.
  assertEquals(resolveModifiers({ dna, roleSettings: { network_seed: "" } }).network_seed, "")
})

Deno.test("resolveModifiers ignores the payload network_seed for use_existing roles", () => {
  const dna = { "network_seed": "dna-seed" }
  assertEquals(
    resolveModifiers({ dna, installNetworkSeed: "p", strategy: "clone_only" }).network_seed,
    "p",
  )
  assertEquals(
    resolveModifiers({ dna, installNetworkSeed: "p", strategy: "use_existing" }).network_seed,
    "dna-seed",
  )
})

Deno.test("resolveModifiers defaults to an empty seed and c0 properties", () => {
  const modifiers = resolveModifiers({ dna: { network_seed: null, properties: null } })
  assertEquals(modifiers.network_seed, "")
  assertEquals(hex(modifiers.properties), "c0")
})

Deno.test("resolveDna fails with WasmHashMismatch when a zome hash: is wrong", async () => {
  const wasm = Uint8Array.of(0, 0x61, 0x73, 0x6d, 1, 0, 0, 0)
  const wrong = encodeHashB64(WASM_HASH_ZOME11)
  const error = await run(Effect.flip(Effect.gen(function* () {
    const manifest = yield* loadDnaManifestYaml(
      `manifest_version: "0"\nname: d\nintegrity:\n  zomes:\n    - {name: z, path: z.wasm, hash: ${wrong}}\n`,
      "dna.yaml",
    )
    return yield* resolveDna({ manifest, resources: new Map([["z.wasm", wasm]]) }, "d.dna")
  })))
  assert(error.reason._tag === "WasmHashMismatch")
  assertEquals(error.reason.zome, "z")
  assertEquals(error.reason.expected, wrong)
  assertEquals(error.reason.actual, encodeHashB64(await run(wasmHash(wasm))))
})

Deno.test("resolveDna hashes each zome and dnaDefOf builds the wire DnaDef", async () => {
  const wasm = Uint8Array.of(0, 0x61, 0x73, 0x6d, 1, 0, 0, 0)
  const def = await run(Effect.gen(function* () {
    const good = encodeHashB64(yield* wasmHash(wasm))
    const manifest = yield* loadDnaManifestYaml(
      `manifest_version: "0"\nname: d\nintegrity:\n  network_seed: s\n  zomes:\n    - {name: i, path: w.wasm, hash: ${good}}\ncoordinator:\n  zomes:\n    - {name: c, path: ./x/w.wasm, dependencies: [{name: i}]}\n`,
      "dna.yaml",
    )
    const resolved = yield* resolveDna(
      { manifest, resources: new Map([["w.wasm", wasm]]) },
      "d.dna",
    )
    return dnaDefOf(resolved, resolveModifiers({ dna: resolved.defaults }))
  }))
  assertEquals(def.name, "d")
  assertEquals(def.modifiers.network_seed, "s")
  assertEquals(def.integrity_zomes.map(([n]) => n), ["i"])
  assertEquals(def.coordinator_zomes[0]?.[1].Wasm.dependencies, ["i"])
  assertEquals(hashTypeOf(def.coordinator_zomes[0]![1].Wasm.wasm_hash), "wasm")
})
