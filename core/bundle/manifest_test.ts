import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict"
import { Effect, Exit } from "effect"
import {
  appManifestToMsg,
  type BundleError,
  decodeAppManifestMsg,
  decodeDnaManifestMsg,
  dnaManifestToMsg,
  encodeOrdered,
  lineInYaml,
  loadAppManifestYaml,
  loadDnaManifestYaml,
  type ManifestInvalid,
  Msg,
  provisioningOf,
  resourceIdForPath,
  roleResourceId,
  zomeResourceId,
} from "./mod.ts"

const hex = (bytes: Uint8Array) =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")

const invalid = <A>(effect: Effect.Effect<A, BundleError>): ManifestInvalid => {
  const exit = Effect.runSyncExit(effect)
  assert(Exit.isFailure(exit), "expected a failure")
  const error = Exit.findErrorOption(exit)
  assert(error._tag === "Some")
  assert(error.value.reason._tag === "ManifestInvalid", error.value.message)
  return error.value.reason
}

const dnaYaml = (zomes: string, coordinator = "") =>
  `manifest_version: "0"\nname: d\nintegrity:\n  zomes:\n${zomes}${
    coordinator === "" ? "" : `coordinator:\n  zomes:\n${coordinator}`
  }`

const DNA_FULL = `manifest_version: "0"
name: my dna
integrity:
  network_seed: seed
  properties:
    z: 1
    a: [1.0, "x"]
  zomes:
    - name: integrity_a
      path: ../build/integrity_a.wasm
coordinator:
  zomes:
    - name: coordinator_a
      path: ../build/coordinator_a.wasm
      dependencies:
        - name: integrity_a
`

const APP_FULL = `manifest_version: "0"
name: my app
description: an app
roles:
  - name: main
    provisioning:
      strategy: create
      deferred: false
    dna:
      path: ./dnas/main.dna
      modifiers:
        network_seed: role-seed
        properties: {k: v}
      clone_limit: 3
  - name: clones
    provisioning:
      strategy: clone_only
    dna:
      path: ./dnas/clones.dna
allow_deferred_memproofs: true
`

Deno.test("loadDnaManifestYaml applies the v0 defaults", () => {
  const m = Effect.runSync(
    loadDnaManifestYaml(dnaYaml("    - {name: z, path: z.wasm}\n"), "dna.yaml"),
  )
  assertEquals(m.integrity.network_seed, null)
  assertEquals(m.integrity.properties, null)
  assertEquals(m.integrity.zomes[0], { name: "z", hash: null, path: "z.wasm", dependencies: null })
  assertEquals(m.coordinator, { zomes: [] })
})

Deno.test("loadDnaManifestYaml turns properties into ordered msgpack bytes", () => {
  const m = Effect.runSync(loadDnaManifestYaml(DNA_FULL, "dna.yaml"))
  assertEquals(hex(m.integrity.properties!), "82" + "a17a01" + "a161" + "92cb3ff0000000000000a178")
  assertEquals(m.coordinator.zomes[0]?.dependencies, [{ name: "integrity_a" }])
})

Deno.test("loadDnaManifestYaml rejects an unknown key with its path and line", () => {
  const reason = invalid(
    loadDnaManifestYaml(
      dnaYaml("    - name: z\n      path: z.wasm\n      colour: red\n"),
      "a/dna.yaml",
    ),
  )
  assertEquals(reason.file, "a/dna.yaml")
  assertEquals(reason.keyPath, "integrity.zomes.0.colour")
  assertEquals(reason.line, 7)
  assert(reason.message.startsWith("invalid manifest a/dna.yaml:7 at integrity.zomes.0.colour"))
})

Deno.test("loadDnaManifestYaml names a missing key", () => {
  const reason = invalid(loadDnaManifestYaml(dnaYaml("    - name: z\n"), "dna.yaml"))
  assertEquals(reason.keyPath, "integrity.zomes.0.path")
  assertEquals(reason.detail, `missing key "path"`)
  assertEquals(reason.line, 5)
})

Deno.test('loadDnaManifestYaml requires manifest_version to be the string "0"', () => {
  const reason = invalid(
    loadDnaManifestYaml("manifest_version: 0\nname: d\nintegrity:\n  zomes: []\n", "dna.yaml"),
  )
  assertEquals(reason.keyPath, "manifest_version")
  assertEquals(reason.line, 1)
})

Deno.test("loadDnaManifestYaml rejects duplicate zome names across integrity and coordinator", () => {
  const reason = invalid(
    loadDnaManifestYaml(
      dnaYaml("    - {name: z, path: a.wasm}\n", "    - {name: z, path: b.wasm}\n"),
      "dna.yaml",
    ),
  )
  assertEquals(reason.keyPath, "coordinator.zomes.0.name")
  assertEquals(reason.detail, `duplicate zome name "z"`)
  assertEquals(reason.line, 8)
})

Deno.test("loadDnaManifestYaml rejects a dependency that is not an integrity zome", () => {
  const reason = invalid(
    loadDnaManifestYaml(
      dnaYaml(
        "    - {name: i, path: a.wasm}\n",
        "    - {name: c, path: b.wasm}\n    - {name: d, path: c.wasm, dependencies: [{name: c}]}\n",
      ),
      "dna.yaml",
    ),
  )
  assertEquals(reason.keyPath, "coordinator.zomes.1.dependencies.0.name")
  assert(reason.detail.includes(`"c" is not an integrity zome`))
})

Deno.test("loadDnaManifestYaml rejects a zome depending on itself", () => {
  const reason = invalid(
    loadDnaManifestYaml(
      dnaYaml("    - {name: i, path: a.wasm, dependencies: [{name: i}]}\n"),
      "dna.yaml",
    ),
  )
  assertEquals(reason.detail, "a zome cannot depend on itself")
})

Deno.test("loadDnaManifestYaml allows at most one dependency", () => {
  const reason = invalid(
    loadDnaManifestYaml(
      dnaYaml(
        "    - {name: i, path: a.wasm}\n    - {name: j, path: b.wasm}\n",
        "    - {name: c, path: c.wasm, dependencies: [{name: i}, {name: j}]}\n",
      ),
      "dna.yaml",
    ),
  )
  assertEquals(reason.keyPath, "coordinator.zomes.0.dependencies")
})

Deno.test("loadDnaManifestYaml rejects a malformed zome hash and the lineage key", () => {
  assertEquals(
    invalid(
      loadDnaManifestYaml(dnaYaml("    - {name: z, path: a.wasm, hash: uhCokNOPE}\n"), "dna.yaml"),
    ).keyPath,
    "integrity.zomes.0.hash",
  )
  assertEquals(
    invalid(
      loadDnaManifestYaml(dnaYaml("    - {name: z, path: a.wasm}\n") + "lineage: []\n", "dna.yaml"),
    ).keyPath,
    "lineage",
  )
})

Deno.test("loadDnaManifestYaml reports YAML syntax errors and non-mappings with a line", () => {
  assertEquals(invalid(loadDnaManifestYaml("name: [\n", "dna.yaml")).line, 2)
  assertEquals(
    invalid(loadDnaManifestYaml("- a\n", "dna.yaml")).detail,
    "the manifest must be a YAML mapping",
  )
  assertEquals(invalid(loadDnaManifestYaml("a: 1\na: 2\n", "dna.yaml")).line, 2)
})

Deno.test("loadAppManifestYaml applies the v0 defaults", () => {
  const m = Effect.runSync(
    loadAppManifestYaml(
      `manifest_version: "0"\nname: a\nroles:\n  - name: r\n    dna:\n      path: r.dna\n`,
      "happ.yaml",
    ),
  )
  assertEquals(m.description, null)
  assertEquals(m.allow_deferred_memproofs, false)
  assertEquals(m.bootstrap_url, null)
  assertEquals(m.relay_url, null)
  const role = m.roles[0]!
  assertEquals(role.provisioning, null)
  assertEquals(provisioningOf(role), { strategy: "create", deferred: false })
  assertEquals(role.dna, {
    path: "r.dna",
    modifiers: { network_seed: null, properties: null },
    installed_hash: null,
    clone_limit: 0,
  })
})

Deno.test("loadAppManifestYaml reads every field", () => {
  const m = Effect.runSync(loadAppManifestYaml(APP_FULL, "happ.yaml"))
  assertEquals(m.roles.map((r) => provisioningOf(r).strategy), ["create", "clone_only"])
  assertEquals(m.roles[0]?.dna.modifiers.network_seed, "role-seed")
  assertEquals(hex(m.roles[0]!.dna.modifiers.properties!), "81a16ba176")
  assertEquals(m.roles[0]?.dna.clone_limit, 3)
  assertEquals(m.allow_deferred_memproofs, true)
})

Deno.test("loadAppManifestYaml rejects a role name with a dot", () => {
  const reason = invalid(
    loadAppManifestYaml(
      `manifest_version: "0"\nname: a\nroles:\n  - name: r.1\n    dna:\n      path: r.dna\n`,
      "happ.yaml",
    ),
  )
  assertEquals(reason.keyPath, "roles.0.name")
  assertEquals(reason.line, 4)
})

Deno.test("loadAppManifestYaml rejects duplicate role names", () => {
  const role = "  - name: r\n    dna:\n      path: r.dna\n"
  const reason = invalid(
    loadAppManifestYaml(`manifest_version: "0"\nname: a\nroles:\n${role}${role}`, "happ.yaml"),
  )
  assertEquals(reason.keyPath, "roles.1.name")
  assertEquals(reason.line, 7)
})

Deno.test("loadAppManifestYaml checks the keys each provisioning strategy needs", () => {
  const app = (provisioning: string, dna = "      path: r.dna\n") =>
    `manifest_version: "0"\nname: a\nroles:\n  - name: r\n    provisioning:\n${provisioning}    dna:\n${dna}`
  assertEquals(
    invalid(loadAppManifestYaml(app("      strategy: create\n"), "happ.yaml")).keyPath,
    "roles.0.provisioning.deferred",
  )
  assertEquals(
    invalid(
      loadAppManifestYaml(app("      strategy: clone_only\n      deferred: true\n"), "happ.yaml"),
    ).keyPath,
    "roles.0.provisioning.deferred",
  )
  assertEquals(
    invalid(
      loadAppManifestYaml(
        app("      strategy: use_existing\n      protected: true\n"),
        "happ.yaml",
      ),
    ).keyPath,
    "roles.0.dna.installed_hash",
  )
  assertEquals(
    invalid(
      loadAppManifestYaml(
        app("      strategy: clone_only\n", "      clone_limit: 2\n"),
        "happ.yaml",
      ),
    ).keyPath,
    "roles.0.dna.path",
  )
  assert(
    invalid(loadAppManifestYaml(app("      strategy: create_if_no_exists\n"), "happ.yaml")).detail
      .startsWith(
        "provisioning must be",
      ),
  )
})

Deno.test("loadAppManifestYaml rejects origin_time, a negative clone_limit and a bad installed_hash", () => {
  const app = (dna: string) =>
    `manifest_version: "0"\nname: a\nroles:\n  - name: r\n    dna:\n      path: r.dna\n${dna}`
  assertEquals(
    invalid(loadAppManifestYaml(app("      origin_time: 1\n"), "happ.yaml")).keyPath,
    "roles.0.dna.origin_time",
  )
  assertEquals(
    invalid(loadAppManifestYaml(app("      clone_limit: -1\n"), "happ.yaml")).keyPath,
    "roles.0.dna.clone_limit",
  )
  assertEquals(
    invalid(loadAppManifestYaml(app("      installed_hash: uhCAkAAAA\n"), "happ.yaml")).keyPath,
    "roles.0.dna.installed_hash",
  )
})

Deno.test("manifests round-trip through their msgpack form with Option fields as nil", () => {
  const dna = Effect.runSync(loadDnaManifestYaml(DNA_FULL, "dna.yaml"))
  const dnaMsg = dnaManifestToMsg(dna)
  assertEquals(Effect.runSync(decodeDnaManifestMsg(dnaMsg, "x")), dna)
  // `hash` is written as nil, not left out.
  assert(hex(encodeOrdered(dnaMsg)).includes("a468617368c0"))
  const app = Effect.runSync(loadAppManifestYaml(APP_FULL, "happ.yaml"))
  assertEquals(Effect.runSync(decodeAppManifestMsg(appManifestToMsg(app), "x")), app)
})

Deno.test("decodeDnaManifestMsg accepts missing Option fields and keeps properties bytes exact", () => {
  const value = Msg.record([
    ["manifest_version", Msg.str("0")],
    ["name", Msg.str("d")],
    [
      "integrity",
      Msg.record([
        ["properties", Msg.map([[Msg.str("b"), Msg.float(1)], [Msg.int(1), Msg.str("x")]])],
        ["zomes", Msg.array([Msg.record([["name", Msg.str("z")], ["path", Msg.str("z.wasm")]])])],
      ]),
    ],
  ])
  const m = Effect.runSync(decodeDnaManifestMsg(value, "d.dna (manifest)"))
  assertEquals(m.integrity.network_seed, null)
  assertEquals(hex(m.integrity.properties!), "82a162cb3ff000000000000001a178")
})

Deno.test("decodeDnaManifestMsg reports schema errors by key path without a line", () => {
  const value = Msg.record([["manifest_version", Msg.str("0")], ["name", Msg.int(5)]])
  const reason = invalid(decodeDnaManifestMsg(value, "d.dna (manifest)"))
  assertEquals(reason.keyPath, "name")
  assertEquals(reason.line, null)
  assertEquals(reason.file, "d.dna (manifest)")
})

Deno.test("resourceIdForPath takes the file-name component", () => {
  assertEquals(resourceIdForPath("./test.dna"), "test.dna")
  assertEquals(resourceIdForPath("dnas/dna1/a dna.dna"), "a dna.dna")
  assertEquals(resourceIdForPath("/abs/dir/z.wasm"), "z.wasm")
  assertEquals(resourceIdForPath("../../dir/hello.txt"), "hello.txt")
  assertEquals(resourceIdForPath("plain.wasm"), "plain.wasm")
  assertEquals(resourceIdForPath("dir/"), "dir")
  assertEquals(resourceIdForPath(".."), undefined)
  assertEquals(resourceIdForPath(""), undefined)
  assertEquals(zomeResourceId({ name: "z", path: "../" + ".." }), "z.wasm")
  assertEquals(roleResourceId({ name: "r", dna: { path: null } as never }), undefined)
})

Deno.test("lineInYaml finds a key's line or its nearest parent's", () => {
  const text = "a:\n  b:\n    - x\n    - y\n"
  assertEquals(lineInYaml(text, ["a", "b", 1]), 4)
  assertEquals(lineInYaml(text, ["a", "missing"]), 2)
})
