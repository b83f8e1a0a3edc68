import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict"
import * as zlib from "node:zlib"
import { Effect, Exit } from "effect"
import {
  type AppManifest,
  appManifestToMsg,
  type BundleError,
  type BundleErrorReason,
  decodeOrdered,
  DEFAULT_MAX_DECOMPRESSED_BYTES,
  type DnaManifest,
  dnaManifestToMsg,
  encodeOrdered,
  loadAppManifestYaml,
  loadDnaManifestYaml,
  Msg,
  type MsgValue,
  packDna,
  packHapp,
  unpackDna,
  unpackHapp,
} from "./mod.ts"
import { inflateGzip } from "./inflate.ts"

/** The 8-byte empty module, plus a custom section named `tag` so modules can differ. */
const wasm = (tag = "") =>
  tag === "" ? Uint8Array.of(0, 0x61, 0x73, 0x6d, 1, 0, 0, 0) : Uint8Array.from([
    0,
    0x61,
    0x73,
    0x6d,
    1,
    0,
    0,
    0,
    0,
    1 + tag.length,
    tag.length,
    ...new TextEncoder().encode(tag),
  ])

const dnaManifest = (text: string): DnaManifest =>
  Effect.runSync(loadDnaManifestYaml(text, "dna.yaml"))
const appManifest = (text: string): AppManifest =>
  Effect.runSync(loadAppManifestYaml(text, "happ.yaml"))

const DNA = dnaManifest(`manifest_version: "0"
name: test dna
integrity:
  network_seed: seed
  properties: {b: 1.0, "1": x}
  zomes:
    - name: integrity
      path: ../build/integrity.wasm
coordinator:
  zomes:
    - name: coordinator
      path: ./build/coordinator.wasm
      dependencies: [{name: integrity}]
`)
const DNA_RESOURCES = new Map([["integrity.wasm", wasm("i")], ["coordinator.wasm", wasm("c")]])

const APP = appManifest(`manifest_version: "0"
name: test app
roles:
  - name: main
    dna:
      path: ./dnas/test.dna
      clone_limit: 2
  - name: other
    provisioning: {strategy: clone_only}
    dna:
      path: ../elsewhere/test.dna
      modifiers: {network_seed: other}
`)

const run = <A, E>(effect: Effect.Effect<A, E>) => Effect.runPromise(effect)

const reasonOf = async <A>(effect: Effect.Effect<A, BundleError>): Promise<BundleErrorReason> => {
  const exit = await Effect.runPromiseExit(effect)
  assert(Exit.isFailure(exit), "expected a failure")
  const error = Exit.findErrorOption(exit)
  assert(error._tag === "Some", `expected a typed failure, got ${exit.cause}`)
  return error.value.reason
}

const container = (manifest: MsgValue, resources: ReadonlyArray<readonly [string, MsgValue]>) =>
  zlib.gzipSync(
    encodeOrdered(Msg.record([["manifest", manifest], ["resources", Msg.record(resources)]])),
  )

const packedDna = () => run(packDna({ manifest: DNA, resources: DNA_RESOURCES }))

Deno.test("packDna then unpackDna round-trips with zome paths turned into resource ids", async () => {
  const bytes = await packedDna()
  assertEquals(Array.from(bytes.subarray(0, 2)), [0x1f, 0x8b])
  const bundle = await run(unpackDna(bytes, { source: "test.dna" }))
  assertEquals(bundle.manifest.integrity.zomes.map((z) => z.path), ["integrity.wasm"])
  assertEquals(bundle.manifest.coordinator.zomes.map((z) => z.path), ["coordinator.wasm"])
  assertEquals(bundle.manifest.integrity.properties, DNA.integrity.properties)
  assertEquals(bundle.manifest.name, "test dna")
  assertEquals([...bundle.resources.entries()].sort(), [...DNA_RESOURCES.entries()].sort())
  // Packing is deterministic.
  assertEquals(await packedDna(), bytes)
})

Deno.test("packDna writes resources sorted by id and the manifest with Option fields as nil", async () => {
  const manifest = dnaManifest(
    `manifest_version: "0"\nname: d\nintegrity:\n  zomes:\n    - {name: b, path: b.wasm}\n    - {name: a, path: a.wasm}\n    - {name: z, path: Z.wasm}\n`,
  )
  const resources = new Map([["b.wasm", wasm("b")], ["a.wasm", wasm("a")], ["Z.wasm", wasm("z")]])
  const bytes = await run(packDna({ manifest, resources }))
  const top = decodeOrdered(zlib.gunzipSync(bytes))
  assert(top.type === "map")
  assertEquals(top.entries.map(([k]) => (k.type === "str" ? k.value : "?")), [
    "manifest",
    "resources",
  ])
  const res = top.entries[1]![1]
  assert(res.type === "map")
  assertEquals(res.entries.map(([k]) => (k.type === "str" ? k.value : "?")), [
    "Z.wasm",
    "a.wasm",
    "b.wasm",
  ])
  assertEquals(top.entries[0]![1], dnaManifestToMsg(manifest))
})

Deno.test("packHapp then unpackHapp round-trips and unpacks every DNA", async () => {
  const dna = await packedDna()
  const bytes = await run(packHapp({ manifest: APP, resources: new Map([["test.dna", dna]]) }))
  const app = await run(unpackHapp(bytes, { source: "test.happ" }))
  assertEquals(app.manifest.roles.map((r) => r.dna.path), ["test.dna", "test.dna"])
  assertEquals(app.manifest.roles[1]?.dna.modifiers.network_seed, "other")
  assertEquals(app.resources.get("test.dna"), dna)
  assertEquals(app.dnas.get("test.dna")?.manifest.name, "test dna")
})

Deno.test("unpackDna rejects bytes that are not gzip", async () => {
  const reason = await reasonOf(
    unpackDna(new TextEncoder().encode("this is not a bundle at all"), { source: "x.dna" }),
  )
  assert(reason._tag === "BundleCorrupt")
  assertEquals(reason.file, "x.dna")
  assert(reason.detail.startsWith("not gzip data"), reason.detail)
  assert((await reasonOf(unpackDna(new Uint8Array(0))))._tag === "BundleCorrupt")
})

Deno.test("unpackDna rejects gzip of garbage", async () => {
  const reason = await reasonOf(
    unpackDna(zlib.gzipSync(new TextEncoder().encode("garbage, not msgpack"))),
  )
  assert(reason._tag === "BundleCorrupt")
  assert(reason.detail.startsWith("not a msgpack bundle"), reason.detail)
})

Deno.test("unpackDna rejects trailing data after the gzip stream, and a second gzip member", async () => {
  const bytes = await packedDna()
  const garbage = await reasonOf(unpackDna(Uint8Array.from([...bytes, 1, 2, 3])))
  assert(
    garbage._tag === "BundleCorrupt" &&
      garbage.detail.startsWith("trailing data after the gzip stream"),
  )
  const twice = await reasonOf(unpackDna(Uint8Array.from([...bytes, ...bytes])))
  assert(twice._tag === "BundleCorrupt" && twice.detail.includes("trailing data"))
})

Deno.test("unpackDna rejects a truncated stream and a bad CRC", async () => {
  const bytes = await packedDna()
  const truncated = await reasonOf(unpackDna(bytes.subarray(0, bytes.length - 12)))
  assert(truncated._tag === "BundleCorrupt")
  const crc = Uint8Array.from(bytes)
  crc[crc.length - 6]! ^= 0xff
  const bad = await reasonOf(unpackDna(crc))
  assert(bad._tag === "BundleCorrupt" && bad.detail === "gzip CRC-32 mismatch")
})

Deno.test("unpackDna rejects trailing bytes after the msgpack value", async () => {
  const raw = zlib.gunzipSync(await packedDna())
  const reason = await reasonOf(unpackDna(zlib.gzipSync(Uint8Array.from([...raw, 0xc0]))))
  assert(reason._tag === "BundleCorrupt" && reason.detail.includes("1 trailing bytes"))
})

Deno.test("unpackDna rejects the wrong msgpack shape", async () => {
  const manifest = dnaManifestToMsg(DNA)
  const cases: ReadonlyArray<readonly [Uint8Array, string]> = [
    [
      zlib.gzipSync(encodeOrdered(Msg.array([]))),
      "expected a map {manifest, resources}, found array",
    ],
    [
      zlib.gzipSync(encodeOrdered(Msg.record([["manifest", manifest]]))),
      `missing top-level key "resources"`,
    ],
    [
      zlib.gzipSync(
        encodeOrdered(
          Msg.record([["manifest", manifest], ["resources", Msg.record([])], ["extra", Msg.nil]]),
        ),
      ),
      `unexpected or repeated top-level key "extra"`,
    ],
    [
      container(manifest, [["integrity.wasm", Msg.str("not bin")]]),
      `resource "integrity.wasm" must be binary, found str`,
    ],
    [
      zlib.gzipSync(
        encodeOrdered(Msg.record([["manifest", manifest], ["resources", Msg.array([])]])),
      ),
      `"resources" must be a map, found array`,
    ],
  ]
  for (const [bytes, detail] of cases) {
    const reason = await reasonOf(unpackDna(bytes))
    assert(reason._tag === "BundleCorrupt", reason.message)
    assertEquals(reason.detail, detail)
  }
  const badManifest = await reasonOf(unpackDna(container(Msg.str("hi"), [])))
  assert(badManifest._tag === "ManifestInvalid")
})

Deno.test("unpackDna reports a missing resource", async () => {
  const reason = await reasonOf(
    unpackDna(container(dnaManifestToMsg(DNA), [["integrity.wasm", Msg.bin(wasm())]]), {
      source: "x.dna",
    }),
  )
  assert(reason._tag === "ResourceMissing")
  assertEquals(reason.resource, "coordinator.wasm")
  assertEquals(
    reason.message,
    `bundle x.dna: resource "coordinator.wasm" named by the manifest is missing`,
  )
})

Deno.test("unpackDna reports an unused resource", async () => {
  const resources = [...DNA_RESOURCES.entries()].map(([id, bytes]) => [id, Msg.bin(bytes)] as const)
  const reason = await reasonOf(
    unpackDna(container(dnaManifestToMsg(DNA), [...resources, ["extra.wasm", Msg.bin(wasm())]])),
  )
  assert(reason._tag === "ResourceUnused")
  assertEquals(reason.resource, "extra.wasm")
})

Deno.test("unpackDna rejects a zome resource that is not wasm", async () => {
  const reason = await reasonOf(
    unpackDna(
      container(dnaManifestToMsg(DNA), [
        ["integrity.wasm", Msg.bin(new TextEncoder().encode("So is this\n"))],
        ["coordinator.wasm", Msg.bin(wasm())],
      ]),
    ),
  )
  assert(reason._tag === "WasmInvalid")
  assertEquals(reason.zome, "integrity")
  assert(reason.detail.includes("\\0asm"))
})

Deno.test("unpackDna reports an invalid manifest inside the bundle", async () => {
  const dup = Msg.record([
    ["manifest_version", Msg.str("0")],
    ["name", Msg.str("d")],
    [
      "integrity",
      Msg.record([
        ["network_seed", Msg.nil],
        ["properties", Msg.nil],
        [
          "zomes",
          Msg.array([
            Msg.record([["name", Msg.str("z")], ["path", Msg.str("a.wasm")]]),
            Msg.record([["name", Msg.str("z")], ["path", Msg.str("b.wasm")]]),
          ]),
        ],
      ]),
    ],
  ])
  const reason = await reasonOf(
    unpackDna(container(dup, [["a.wasm", Msg.bin(wasm())], ["b.wasm", Msg.bin(wasm())]]), {
      source: "x.dna",
    }),
  )
  assert(reason._tag === "ManifestInvalid")
  assertEquals(reason.file, "x.dna (manifest)")
  assertEquals(reason.keyPath, "integrity.zomes.1.name")
  assertEquals(reason.line, null)
})

Deno.test("unpackDna stops a decompression bomb at the default limit", async () => {
  const bomb = zlib.gzipSync(new Uint8Array(DEFAULT_MAX_DECOMPRESSED_BYTES + 1))
  assert(bomb.length < 1024 * 1024)
  const reason = await reasonOf(unpackDna(bomb, { source: "bomb.dna" }))
  assert(reason._tag === "BundleTooLarge")
  assertEquals(reason.limit, DEFAULT_MAX_DECOMPRESSED_BYTES)
  assertEquals(
    reason.message,
    `bundle bomb.dna decompresses to more than ${DEFAULT_MAX_DECOMPRESSED_BYTES} bytes`,
  )
})

Deno.test("unpackDna lets timers and HTTP requests run while a bomb inflates", async () => {
  // 256 MiB of zeros: inflating it takes far longer than one turn of the event loop. Before,
  // zlib inflated it in one synchronous call, so no timer fired and no request was answered
  // until the result was in.
  const bomb = zlib.gzipSync(new Uint8Array(DEFAULT_MAX_DECOMPRESSED_BYTES + 1))
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => new Response("ok"),
  )
  let ticks = 0
  const timer = setInterval(() => ticks++, 0)
  let inflating = true
  let answeredWhileInflating = 0
  const ask = async () => {
    while (inflating) {
      const response = await fetch(`http://127.0.0.1:${server.addr.port}/health`, {
        signal: AbortSignal.timeout(30_000),
      })
      await response.body?.cancel()
      if (inflating) answeredWhileInflating++
    }
  }
  try {
    const asking = ask()
    const reason = await reasonOf(unpackDna(bomb, { source: "bomb.dna" }))
    inflating = false
    const ticksWhileInflating = ticks
    await asking
    assert(reason._tag === "BundleTooLarge")
    assert(ticksWhileInflating > 0, "no timer ran while the bundle inflated")
    assert(answeredWhileInflating > 0, "no HTTP request was answered while the bundle inflated")
  } finally {
    inflating = false
    clearInterval(timer)
    await server.shutdown()
  }
})

Deno.test("unpackHapp counts nested DNAs against the same decompression budget", async () => {
  const nestedBomb = zlib.gzipSync(new Uint8Array(1024 * 1024))
  const manifest = appManifestToMsg({
    ...APP,
    roles: [{ ...APP.roles[0]!, dna: { ...APP.roles[0]!.dna, path: "test.dna" } }],
  })
  const reason = await reasonOf(
    unpackHapp(container(manifest, [["test.dna", Msg.bin(nestedBomb)]]), {
      source: "x.happ",
      maxDecompressedBytes: 256 * 1024,
    }),
  )
  assert(reason._tag === "BundleTooLarge")
  assertEquals(reason.file, "x.happ")
})

Deno.test("unpackHapp reports missing and unused DNA resources and a resource that is not a .dna", async () => {
  const dna = await packedDna()
  const manifest = appManifestToMsg({
    ...APP,
    roles: APP.roles.map((r) => ({ ...r, dna: { ...r.dna, path: "test.dna" } })),
  })
  const missing = await reasonOf(unpackHapp(container(manifest, [])))
  assert(missing._tag === "ResourceMissing" && missing.resource === "test.dna")
  const unused = await reasonOf(
    unpackHapp(container(manifest, [["test.dna", Msg.bin(dna)], ["x.dna", Msg.bin(dna)]])),
  )
  assert(unused._tag === "ResourceUnused" && unused.resource === "x.dna")
  const notDna = await reasonOf(
    unpackHapp(container(manifest, [["test.dna", Msg.bin(wasm())]]), { source: "app.happ" }),
  )
  assert(notDna._tag === "BundleCorrupt")
  assertEquals(notDna.file, "app.happ!test.dna")
})

Deno.test("packDna validates hand-built bundles", async () => {
  const dup: DnaManifest = {
    ...DNA,
    coordinator: {
      zomes: [{ ...DNA.coordinator.zomes[0]!, name: "integrity", dependencies: null }],
    },
  }
  const reason = await reasonOf(packDna({ manifest: dup, resources: DNA_RESOURCES }))
  assert(reason._tag === "ManifestInvalid" && reason.detail === `duplicate zome name "integrity"`)
  const missing = await reasonOf(
    packDna({ manifest: DNA, resources: new Map([["integrity.wasm", wasm()]]) }),
  )
  assert(missing._tag === "ResourceMissing")
  const props = await reasonOf(
    packDna({
      manifest: { ...DNA, integrity: { ...DNA.integrity, properties: Uint8Array.of(0xc1) } },
      resources: DNA_RESOURCES,
    }),
  )
  assert(
    props._tag === "BundleCorrupt" && props.detail.startsWith("properties are not valid msgpack"),
  )
})

Deno.test("packHapp rejects a resource that is not a packed .dna", async () => {
  const reason = await reasonOf(
    packHapp({ manifest: APP, resources: new Map([["test.dna", wasm()]]) }),
  )
  assert(reason._tag === "BundleCorrupt")
})

/** A small deterministic PRNG (mulberry32) so the fuzz cases are reproducible. */
function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function mutate(bytes: Uint8Array, random: () => number): Uint8Array {
  const out = Uint8Array.from(bytes)
  const pick = () => Math.floor(random() * out.length)
  switch (Math.floor(random() * 4)) {
    case 0:
      for (let i = 0; i < 1 + random() * 4; i++) out[pick()] = Math.floor(random() * 256)
      return out
    case 1:
      return out.subarray(0, pick())
    case 2: {
      const at = pick()
      return Uint8Array.from([
        ...out.subarray(0, at),
        Math.floor(random() * 256),
        ...out.subarray(at),
      ])
    }
    default: {
      const at = pick()
      return Uint8Array.from([
        ...out.subarray(0, at),
        ...out.subarray(at + 1 + Math.floor(random() * 8)),
      ])
    }
  }
}

Deno.test("unpackDna and unpackHapp never fail with anything but a BundleError on mutated input", async () => {
  const dna = await packedDna()
  const happ = await run(packHapp({ manifest: APP, resources: new Map([["test.dna", dna]]) }))
  const random = prng(20240611)
  let failures = 0
  const cases: ReadonlyArray<
    readonly [Uint8Array, (b: Uint8Array) => Effect.Effect<unknown, BundleError>]
  > = [
    [dna, (b) => unpackDna(b)],
    [happ, (b) => unpackHapp(b)],
  ]
  for (const [original, unpack] of cases) {
    // Mutating the msgpack under a valid gzip layer reaches the decoder and the schemas.
    const raw = zlib.gunzipSync(original)
    for (let i = 0; i < 400; i++) {
      const input = i % 2 === 0 ? mutate(original, random) : zlib.gzipSync(mutate(raw, random))
      const exit = await Effect.runPromiseExit(unpack(input))
      if (Exit.isFailure(exit)) {
        const error = Exit.findErrorOption(exit)
        assert(error._tag === "Some", `untyped failure on case ${i}: ${exit.cause}`)
        assertEquals(error.value._tag, "BundleError")
        failures++
      }
    }
  }
  assert(failures > 700, `only ${failures} mutations were rejected`)
})

Deno.test("inflation stops when its caller is interrupted", async () => {
  const bomb = zlib.gzipSync(new Uint8Array(DEFAULT_MAX_DECOMPRESSED_BYTES + 1))
  // Aborted after its first step, far before the 256 MiB are inflated: run to the end, it would
  // answer TooLarge.
  const controller = new AbortController()
  const inflating = inflateGzip(bomb, DEFAULT_MAX_DECOMPRESSED_BYTES, controller.signal)
  setTimeout(() => controller.abort(new Error("caller interrupted")), 0)
  const result = await inflating
  assertEquals(result._tag, "Corrupt")
  assert(
    result._tag === "Corrupt" && result.detail === "caller interrupted",
    JSON.stringify(result),
  )
  // Through the Effect API, interruption aborts the signal `Effect.promise` hands over.
  const exit = await Effect.runPromiseExit(
    unpackDna(bomb, { source: "bomb.dna" }).pipe(Effect.timeout("1 millis")),
  )
  const error = Exit.findErrorOption(exit)
  assert(error._tag === "Some" && error.value._tag === "TimeoutError", String(exit))
})
