/**
 * Host-function plugins end to end in a conductor (the whole service graph, real wasm built from
 * AssemblyScript): the `math` plugin (tests/fixtures/plugins/plugin_math) adds
 * `plugin:math/add@1` (deterministic) and `plugin:math/roll@1` (not) to the zomes of the app it
 * is granted to; the `plugin_user` zomes call them from zome functions and from validation. An
 * app not granted gets a clear `denied`; a non-deterministic function is refused in validate; a
 * runaway plugin call loses only that call. Plugins that cannot load fail the start with an
 * error naming the plugin, its config path and the problem.
 *
 * @module
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict"
import { Effect } from "effect"
import * as path from "node:path"
import { ConductorConfig } from "../../core/config/mod.ts"
import { loadHostFnPlugins, type PluginError } from "../../plugins/host/mod.ts"
import {
  callZome,
  callZomeError,
  disposeConductor,
  installApp,
  makeConductor,
  packed,
  ROOT,
} from "../support/conductor.ts"
import { step } from "../support/timeout.ts"

const fixture = (name: string) => path.join(ROOT, `tests/fixtures/build/${name}.wasm`)

const plugin = (id: string, wasm: string, extra = "") =>
  `  - id: ${id}\n    path: ${wasm}\n${extra}`

const MATH = `log: {level: warn}
plugins:
${
  plugin(
    "math",
    fixture("plugin_math"),
    "    grants: {apps: [granted]}\n    limits: {fuel_per_call: 100000000}\n",
  )
}`

Deno.test("host-function plugins: granted apps call them, others are denied, validation only gets deterministic ones", async (t) => {
  const conductor = makeConductor({ config: MATH })
  try {
    const happ = await packed("tests/fixtures/happs/plugin_user")
    const granted = (await installApp(conductor, happ, "granted"))["plugin_user"]!
    const other = (await installApp(conductor, happ, "other"))["plugin_user"]!

    await step(t, "a zome of a granted app calls the plugin's functions", async () => {
      assertEquals(await callZome(conductor, granted, "plugin_user", "add", { a: 2, b: 40 }), 42)
      assertEquals(await callZome(conductor, granted, "plugin_user", "roll", {}), 7)
    })

    await step(t, "a zome of an app that is not granted gets a clear error", async () => {
      const error = await callZomeError(conductor, other, "plugin_user", "add", { a: 1, b: 1 })
      const text = String((error as { detail?: string }).detail ?? error.message)
      assert(text.includes('plugin:math/add@1 is not granted to app "other"'), text)
      assert(text.includes("plugins.0.grants"), text)
    })

    await step(t, "validation may use a deterministic plugin function", async () => {
      const hash = await callZome(conductor, granted, "plugin_user", "create_note", { use: "add" })
      assert(hash instanceof Uint8Array)
    })

    await step(t, "validation may not use a non-deterministic one", async () => {
      const error = await callZomeError(conductor, granted, "plugin_user", "create_note", {
        use: "roll",
      })
      const text = String((error as { detail?: string }).detail ?? error.message)
      assert(
        text.includes("plugin:math/roll@1 is not deterministic, so validate may not use it"),
        text,
      )
    })

    await step(t, "a runaway plugin call loses only that call", async () => {
      const error = await callZomeError(conductor, granted, "plugin_user", "spin", {})
      const text = String((error as { detail?: string }).detail ?? error.message)
      assert(text.includes("plugins.0.limits.fuel_per_call"), text)
      assertEquals(await callZome(conductor, granted, "plugin_user", "add", { a: 1, b: 2 }), 3)
    })
  } finally {
    await disposeConductor(conductor)
  }
})

Deno.test("host-function plugins: a zome importing a plugin function that is not configured fails to install", async () => {
  const conductor = makeConductor()
  try {
    const happ = await packed("tests/fixtures/happs/plugin_user")
    const error = await installApp(conductor, happ, "lonely").then(
      () => undefined,
      (e: unknown) => e,
    )
    assert(error !== undefined, "the install should fail")
    assert(/imports extism:host\/user::plugin:math\/\w+@1/.test(String(error)), String(error))
    // The conductor is unaffected: another app installs and runs.
    const noop = await installApp(conductor, await packed("tests/fixtures/happs/noop"), "noop")
    assert(Object.keys(noop).length === 1)
  } finally {
    await disposeConductor(conductor)
  }
})

/** The error loading the plugins of `yaml` gives. */
function loadError(yaml: string): Promise<PluginError> {
  return Effect.runPromise(
    Effect.scoped(Effect.flip(loadHostFnPlugins)).pipe(
      Effect.provide(ConductorConfig.fromYaml(yaml)),
    ),
  )
}

Deno.test("host-function plugins: bad plugins fail the start naming the plugin, its config path and the problem", async () => {
  const dir = await Deno.makeTempDir()
  const garbage = path.join(dir, "garbage.wasm")
  await Deno.writeFile(garbage, Uint8Array.of(0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 0xff, 0xff))
  const cases: Array<[string, string, string]> = [
    [plugin("junk", garbage), "junk", "is not a usable wasm module"],
    [plugin("none", fixture("plugin_no_describe")), "none", "does not export plugin_describe"],
    [plugin("future", fixture("plugin_wrong_abi")), "future", "declares abi_version 2"],
    [
      plugin("gone", fixture("plugin_missing_export")),
      "gone",
      "it declares plugin:gone/vanished@1 but does not export vanished_1",
    ],
    [
      plugin("greedy", fixture("plugin_asks_http")),
      "greedy",
      "it imports the host function kv_get_1, which plugins of this kind cannot use",
    ],
    [
      plugin("clock", fixture("plugin_nondet_validate")),
      "clock",
      "plugin:clock/now@1 is declared non-deterministic but allowed in validate",
    ],
    [
      plugin("math", fixture("plugin_math")) + plugin("math2", fixture("plugin_math")),
      "math2",
      'namespace "math" is already provided by plugin "math"',
    ],
  ]
  for (const [entries, id, expected] of cases) {
    const error = await loadError(`plugins:\n${entries}`)
    assertEquals(error._tag, "PluginError")
    assertEquals(error.pluginId, id)
    assert(error.configPath.startsWith("plugins."), error.configPath)
    assert(error.message.includes(expected), `${expected} in: ${error.message}`)
  }

  // A conductor configured with a bad plugin does not start, and says why.
  const conductor = makeConductor({ config: `plugins:\n${plugin("junk", garbage)}` })
  try {
    const failure = await conductor.runPromise(Effect.void).then(() => "", (e) => String(e))
    assert(failure.includes('plugin "junk"') && failure.includes("plugins.0"), failure)
  } finally {
    await disposeConductor(conductor)
  }
})
