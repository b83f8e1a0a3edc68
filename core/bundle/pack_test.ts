import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict"
import * as path from "node:path"
import { Effect, Exit } from "effect"
import { encodeHashB64, Hasher } from "../hash/mod.ts"
import {
  type BundleError,
  type BundleErrorReason,
  dnaDefOf,
  dnaHash,
  packDirectory,
  resolveDna,
  resolveModifiers,
  unpackDna,
  unpackHapp,
  wasmHash,
} from "./mod.ts"
import { runWithHasher as run, tinyWasm as wasm } from "./test_support.ts"

const reasonOf = async <A>(
  effect: Effect.Effect<A, BundleError, Hasher>,
): Promise<BundleErrorReason> => {
  const exit = await Effect.runPromiseExit(effect.pipe(Effect.provide(Hasher.layer)))
  assert(Exit.isFailure(exit), "expected a failure")
  const error = Exit.findErrorOption(exit)
  assert(error._tag === "Some", `expected a typed failure, got ${exit.cause}`)
  return error.value.reason
}

/** Writes `files` (path → text or bytes) under a fresh temp folder and runs `body` on it. */
async function withFolder(
  files: Readonly<Record<string, string | Uint8Array>>,
  body: (dir: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "bundle_pack_test_" })
  try {
    for (const [name, content] of Object.entries(files)) {
      const file = path.join(dir, name)
      await Deno.mkdir(path.dirname(file), { recursive: true })
      if (typeof content === "string") await Deno.writeTextFile(file, content)
      else await Deno.writeFile(file, content)
    }
    await body(dir)
  } finally {
    await Deno.remove(dir, { recursive: true })
  }
}

const DNA_YAML = `manifest_version: "0"
name: my dna
integrity:
  network_seed: base
  properties:
    answer: 42
  zomes:
    - name: integrity
      path: ../target/integrity.wasm
coordinator:
  zomes:
    - name: coordinator
      path: ../target/coordinator.wasm
      dependencies:
        - name: integrity
`

const DNA_FILES = {
  "dna/dna.yaml": DNA_YAML,
  "target/integrity.wasm": wasm("integrity"),
  "target/coordinator.wasm": wasm("coordinator"),
}

Deno.test("packDirectory packs a dna.yaml folder into <name>.dna and reports its hash", async () => {
  await withFolder(DNA_FILES, async (dir) => {
    const result = await run(packDirectory(path.join(dir, "dna")))
    assertEquals(result.kind, "dna")
    assertEquals(result.path, path.join(dir, "dna", "my dna.dna"))
    assertEquals(await Deno.readFile(result.path), result.bytes)
    const bundle = await run(unpackDna(result.bytes))
    assertEquals([...bundle.resources.keys()].sort(), ["coordinator.wasm", "integrity.wasm"])
    const expected = await run(Effect.gen(function* () {
      const resolved = yield* resolveDna(bundle, "x")
      return yield* dnaHash(dnaDefOf(resolved, resolveModifiers({ dna: resolved.defaults })))
    }))
    assertEquals(result.dnas.length, 1)
    assertEquals(result.dnas[0]?.role, null)
    assertEquals(result.dnas[0]?.name, "my dna")
    assertEquals(result.dnas[0]?.dnaHashB64, encodeHashB64(expected))
  })
})

Deno.test("packDirectory honours outPath and accepts a dna.yaml path", async () => {
  await withFolder(DNA_FILES, async (dir) => {
    const out = path.join(dir, "out.dna")
    const result = await run(packDirectory(path.join(dir, "dna", "dna.yaml"), { outPath: out }))
    assertEquals(result.path, out)
    assert((await Deno.stat(out)).isFile)
  })
})

Deno.test("packDirectory packs a happ.yaml whose roles point to a folder, a dna.yaml and a .dna", async () => {
  const files = {
    ...DNA_FILES,
    "other/dna.yaml":
      `manifest_version: "0"\nname: other\nintegrity:\n  zomes:\n    - {name: o, path: o.wasm}\n`,
    "other/o.wasm": wasm("o"),
    "app/happ.yaml": `manifest_version: "0"
name: my app
roles:
  - name: from_folder
    dna:
      path: ../dna
  - name: from_yaml
    provisioning: {strategy: clone_only}
    dna:
      path: ../dna/dna.yaml
      modifiers: {network_seed: role-seed}
      clone_limit: 5
  - name: from_dna_file
    dna:
      path: ../other/other.dna
`,
  }
  await withFolder(files, async (dir) => {
    await run(packDirectory(path.join(dir, "other")))
    const result = await run(packDirectory(path.join(dir, "app")))
    assertEquals(result.kind, "happ")
    assertEquals(result.path, path.join(dir, "app", "my app.happ"))
    const app = await run(unpackHapp(await Deno.readFile(result.path)))
    assertEquals(app.manifest.roles.map((r) => r.dna.path), [
      "my dna.dna",
      "my dna.dna",
      "other.dna",
    ])
    assertEquals([...app.resources.keys()].sort(), ["my dna.dna", "other.dna"])
    assertEquals(result.dnas.map((d) => [d.role, d.resourceId]), [
      ["from_folder", "my dna.dna"],
      ["from_yaml", "my dna.dna"],
      ["from_dna_file", "other.dna"],
    ])
    // Same DNA, but the role's network_seed changes its hash.
    assert(result.dnas[0]!.dnaHashB64 !== result.dnas[1]!.dnaHashB64)
    const dnaOnly = await run(packDirectory(path.join(dir, "dna")))
    assertEquals(result.dnas[0]?.dnaHashB64, dnaOnly.dnas[0]?.dnaHashB64)
  })
})

Deno.test("packDirectory checks a zome's hash: against its wasm", async () => {
  const good = encodeHashB64(await run(wasmHash(wasm("integrity"))))
  const bad = encodeHashB64(await run(wasmHash(wasm("something else"))))
  const withHash = (hash: string) => ({
    ...DNA_FILES,
    "dna/dna.yaml": DNA_YAML.replace(
      "      path: ../target/integrity.wasm",
      `      path: ../target/integrity.wasm\n      hash: ${hash}`,
    ),
  })
  await withFolder(withHash(good), async (dir) => {
    assertEquals((await run(packDirectory(path.join(dir, "dna")))).kind, "dna")
  })
  await withFolder(withHash(bad), async (dir) => {
    const reason = await reasonOf(packDirectory(path.join(dir, "dna")))
    assert(reason._tag === "WasmHashMismatch")
    assertEquals(reason.zome, "integrity")
    assertEquals(reason.expected, bad)
    assertEquals(reason.actual, good)
  })
})

Deno.test("packDirectory reports a missing wasm file as a missing resource", async () => {
  await withFolder(
    { "dna/dna.yaml": DNA_YAML, "target/integrity.wasm": wasm("i") },
    async (dir) => {
      const reason = await reasonOf(packDirectory(path.join(dir, "dna")))
      assert(reason._tag === "ResourceMissing")
      assertEquals(reason.resource, "../target/coordinator.wasm")
      assertEquals(reason.file, path.join(dir, "dna", "dna.yaml"))
    },
  )
})

Deno.test("packDirectory rejects a zome file that is not wasm", async () => {
  await withFolder({ ...DNA_FILES, "target/coordinator.wasm": "So is this\n" }, async (dir) => {
    const reason = await reasonOf(packDirectory(path.join(dir, "dna")))
    assert(reason._tag === "WasmInvalid")
    assertEquals(reason.zome, "coordinator")
  })
})

Deno.test("packDirectory rejects two different wasm files with the same resource id, with the line", async () => {
  const yaml =
    `manifest_version: "0"\nname: d\nintegrity:\n  zomes:\n    - name: a\n      path: x/z.wasm\n    - name: b\n      path: y/z.wasm\n`
  await withFolder(
    { "d/dna.yaml": yaml, "d/x/z.wasm": wasm("x"), "d/y/z.wasm": wasm("y") },
    async (dir) => {
      const reason = await reasonOf(packDirectory(path.join(dir, "d")))
      assert(reason._tag === "ManifestInvalid")
      assertEquals(reason.keyPath, "integrity.zomes.1.path")
      assertEquals(reason.line, 8)
    },
  )
  // The same bytes under one id are fine.
  await withFolder(
    { "d/dna.yaml": yaml, "d/x/z.wasm": wasm("x"), "d/y/z.wasm": wasm("x") },
    async (dir) => {
      const result = await run(packDirectory(path.join(dir, "d")))
      assertEquals([...(await run(unpackDna(result.bytes))).resources.keys()], ["z.wasm"])
    },
  )
})

Deno.test("packDirectory reports a bad dna.yaml with its file and line", async () => {
  await withFolder(
    { "d/dna.yaml": `manifest_version: "0"\nname: d\nintegrity:\n  zomes: 5\n` },
    async (dir) => {
      const reason = await reasonOf(packDirectory(path.join(dir, "d")))
      assert(reason._tag === "ManifestInvalid")
      assertEquals(reason.file, path.join(dir, "d", "dna.yaml"))
      assertEquals(reason.keyPath, "integrity.zomes")
      assertEquals(reason.line, 4)
    },
  )
})

Deno.test("packDirectory fails clearly without a manifest, without the folder, or with a bad role path", async () => {
  await withFolder({ "empty/readme.txt": "nothing" }, async (dir) => {
    const none = await reasonOf(packDirectory(path.join(dir, "empty")))
    assert(none._tag === "NotFound")
    assertEquals(none.detail, "no happ.yaml or dna.yaml in this folder")
    const missing = await reasonOf(packDirectory(path.join(dir, "nope")))
    assert(missing._tag === "NotFound" && missing.detail === "no such folder")
  })
  const happ = (dnaPath: string) =>
    `manifest_version: "0"\nname: a\nroles:\n  - name: r\n    dna:\n      path: ${dnaPath}\n`
  await withFolder(
    { "app/happ.yaml": happ("../missing.dna"), "emptydir/x.txt": "" },
    async (dir) => {
      const reason = await reasonOf(packDirectory(path.join(dir, "app")))
      assert(reason._tag === "ResourceMissing" && reason.resource === "../missing.dna")
    },
  )
  await withFolder({ "app/happ.yaml": happ("../emptydir"), "emptydir/x.txt": "" }, async (dir) => {
    const reason = await reasonOf(packDirectory(path.join(dir, "app")))
    assert(reason._tag === "NotFound" && reason.detail === "folder has no dna.yaml")
  })
  await withFolder(
    { "app/happ.yaml": happ("../junk.dna"), "junk.dna": "not gzip" },
    async (dir) => {
      const reason = await reasonOf(packDirectory(path.join(dir, "app")))
      assert(reason._tag === "BundleCorrupt")
      assertEquals(reason.file, path.join(dir, "junk.dna"))
    },
  )
})
