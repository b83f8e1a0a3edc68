/**
 * The shape of `core/`: no import cycles between core folders, every folder has a `mod.ts`, and
 * a folder imports another folder only through its `mod.ts`. Imports are read from the source
 * (static `import`/`export … from` specifiers and `import("…")`), tests and test helpers
 * excluded. What does not follow the rules yet is listed below, each entry with why; an entry
 * that no longer occurs fails the test too, so the lists only shrink.
 *
 * @module
 */
import { deepStrictEqual as assertEquals } from "node:assert/strict"
import * as path from "node:path"
const CORE = new URL("../core", import.meta.url).pathname

/** Cycles between folders that remain (as sorted member lists): none. */
const ALLOWED_CYCLES: ReadonlyArray<ReadonlyArray<string>> = []

/** Folders without a `mod.ts` yet: none. */
const WITHOUT_MOD: ReadonlyArray<string> = []

/** Imports of another folder's inner file, as `importer -> imported` (paths under core/): none. */
const ALLOWED_DEEP_IMPORTS: ReadonlyArray<string> = []

const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)["'](\.{1,2}\/[^"']+)["']/gm

/** Relative import specifiers of a source text. */
export function importsOf(source: string): ReadonlyArray<string> {
  return [...source.matchAll(SPECIFIER)].map((m) => m[1]!)
}

/** Folder-level strongly connected components with more than one folder (Tarjan). */
export function folderCycles(
  edges: ReadonlyMap<string, ReadonlySet<string>>,
): ReadonlyArray<ReadonlyArray<string>> {
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: Array<string> = []
  const onStack = new Set<string>()
  const cycles: Array<Array<string>> = []
  let next = 0
  const visit = (v: string) => {
    index.set(v, next)
    low.set(v, next++)
    stack.push(v)
    onStack.add(v)
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w)
        low.set(v, Math.min(low.get(v)!, low.get(w)!))
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!))
    }
    if (low.get(v) === index.get(v)) {
      const component: Array<string> = []
      let w: string
      do {
        w = stack.pop()!
        onStack.delete(w)
        component.push(w)
      } while (w !== v)
      if (component.length > 1) cycles.push(component.sort())
    }
  }
  for (const v of [...edges.keys()].sort()) if (!index.has(v)) visit(v)
  return cycles.sort((a, b) => a.join().localeCompare(b.join()))
}

function sourceFiles(dir: string): Array<string> {
  const out: Array<string> = []
  for (const entry of Deno.readDirSync(dir)) {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory) {
      if (entry.name !== "testdata") out.push(...sourceFiles(full))
    } else if (
      entry.name.endsWith(".ts") && !entry.name.endsWith("_test.ts") &&
      entry.name !== "test_support.ts"
    ) out.push(full)
  }
  return out
}

function scanCore() {
  const edges = new Map<string, Set<string>>()
  const deep = new Set<string>()
  for (const file of sourceFiles(CORE)) {
    const from = path.relative(CORE, file)
    const folder = from.split(path.sep)[0]!
    for (const specifier of importsOf(Deno.readTextFileSync(file))) {
      const to = path.relative(CORE, path.resolve(path.dirname(file), specifier))
      if (to.startsWith("..")) continue
      const target = to.split(path.sep)[0]!
      if (target === folder) continue
      if (!edges.has(folder)) edges.set(folder, new Set())
      edges.get(folder)!.add(target)
      if (to !== path.join(target, "mod.ts")) deep.add(`${from} -> ${to}`)
    }
  }
  return { edges, deep }
}

Deno.test("folderCycles finds a cycle through three folders and none in a tree", () => {
  const graph = (pairs: Array<[string, string]>) => {
    const edges = new Map<string, Set<string>>()
    for (const [a, b] of pairs) edges.set(a, (edges.get(a) ?? new Set()).add(b))
    return edges
  }
  assertEquals(folderCycles(graph([["a", "b"], ["b", "c"], ["c", "a"], ["c", "d"]])), [[
    "a",
    "b",
    "c",
  ]])
  assertEquals(folderCycles(graph([["a", "b"], ["a", "c"], ["b", "c"]])), [])
  assertEquals(importsOf(`import { x } from "../a/mod.ts"\nexport * from "./b.ts"\n`), [
    "../a/mod.ts",
    "./b.ts",
  ])
})

Deno.test("core folders import each other without cycles", () => {
  const { edges } = scanCore()
  assertEquals(folderCycles(edges), ALLOWED_CYCLES)
})

Deno.test("every core folder has a mod.ts", () => {
  const missing = [...Deno.readDirSync(CORE)]
    .filter((e) => e.isDirectory)
    .map((e) => e.name)
    .filter((name) => !existsFile(path.join(CORE, name, "mod.ts")))
    .sort()
  assertEquals(missing, [...WITHOUT_MOD].sort())
})

Deno.test("core folders import another folder only through its mod.ts", () => {
  const { deep } = scanCore()
  assertEquals([...deep].sort(), [...ALLOWED_DEEP_IMPORTS].sort())
})

function existsFile(file: string): boolean {
  try {
    return Deno.statSync(file).isFile
  } catch {
    return false
  }
}

const ANY_SQL = /\b(?:FROM|INTO|UPDATE|JOIN|TABLE)\s+([a-z_]+)/g
const WRITE_SQL = /\b(?:INTO|UPDATE|DELETE\s+FROM)\s+([a-z_]+)/g

/** Table names a folder's SQL mentions (`ANY_SQL`) or writes (`WRITE_SQL`). */
function tablesIn(folder: string, pattern: RegExp): ReadonlyArray<string> {
  const tables = new Set<string>()
  for (const file of sourceFiles(path.join(CORE, folder))) {
    for (const m of Deno.readTextFileSync(file).matchAll(pattern)) tables.add(m[1]!)
  }
  return [...tables].sort()
}

Deno.test("Apps names only its own tables; Chain and Spaces write only theirs", () => {
  // Apps deletes a cell through the Chain, Spaces and Outbox ports, never their tables.
  assertEquals(tablesIn("app", ANY_SQL), ["apps", "cells", "clone_counters"])
  assertEquals(tablesIn("chain", WRITE_SQL), ["actions", "entries"])
  // The DHT store and the outbox read the chain's actions and entries (the ops' data).
  assertEquals(tablesIn("space", WRITE_SQL), [
    "cap_grants",
    "dht_ops",
    "links",
    "outbox",
    "outbox_receipts",
  ])
})

Deno.test("every host function has a unit test beside it (style.md §2.7)", () => {
  const dir = path.join(CORE, "ribosome", "host_fn")
  const files = [...Deno.readDirSync(dir)].map((e) => e.name)
  const hostFns = files.filter((name) =>
    name.endsWith(".ts") && !name.endsWith("_test.ts") &&
    Deno.readTextFileSync(path.join(dir, name)).includes("defineHostFn({")
  )
  assertEquals(hostFns.length > 20, true, `only ${hostFns.length} host function files found`)
  const untested = hostFns.filter((name) => !files.includes(name.replace(/\.ts$/, "_test.ts")))
  assertEquals(untested, [])
})
