/**
 * Builds every AssemblyScript zome of the repository (`deno task build:wasm`): the forum example,
 * the test fixtures and the PDK's own test zome, in one Deno process with the compiler loaded once.
 *
 * Owns the list of targets, the compiler flags and the up-to-date check: a target is rebuilt when
 * its output is missing, when any source file the compiler read for it (the PDK included) is newer
 * than the output, or when the flags or the compiler version changed. It does not pack bundles.
 *
 * Usage: `deno run -A plugins/build_wasm.ts [--force] [target …]`
 *
 * @module
 */
import { dirname, join, relative, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { HOST_FUNCTIONS } from "./pdk/mock_host.ts"

/** One wasm module to build. Paths are relative to the repository root. */
export interface Target {
  /** Unique name; also the output's file name. */
  readonly name: string
  /** The AssemblyScript entry file; its exports become the module's exports. */
  readonly entry: string
  /** Where the `.wasm` goes (a gitignored `build/` folder). */
  readonly out: string
  /** Extra compiler flags for this target only. */
  readonly flags?: readonly string[]
  /**
   * Skip the import check (for fixtures that must import something the conductor refuses).
   * @default false
   */
  readonly allowUnknownImports?: boolean
}

const fixture = (name: string, extra: Partial<Target> = {}): Target => ({
  name,
  entry: `tests/fixtures/zomes/${name}/assembly/index.ts`,
  out: `tests/fixtures/build/${name}.wasm`,
  ...extra,
})

const plugin = (name: string): Target => ({
  name,
  entry: `tests/fixtures/plugins/${name}/assembly/index.ts`,
  out: `tests/fixtures/build/${name}.wasm`,
  allowUnknownImports: true,
})

/** Every target, in build order. Adding a zome to the repository = one line here. */
export const TARGETS: readonly Target[] = [
  {
    name: "pdk_test",
    entry: "plugins/pdk/test_zome/assembly/index.ts",
    out: "plugins/pdk/build/pdk_test.wasm",
  },
  {
    name: "forum_integrity",
    entry: "examples/forum/zomes/forum_integrity/assembly/index.ts",
    out: "examples/forum/build/forum_integrity.wasm",
  },
  {
    name: "forum",
    entry: "examples/forum/zomes/forum/assembly/index.ts",
    out: "examples/forum/build/forum.wasm",
  },
  fixture("noop"),
  fixture("emit_many"),
  fixture("host_fns_integrity"),
  fixture("host_fns"),
  fixture("network"),
  fixture("trap"),
  fixture("spin"),
  fixture("grow"),
  fixture("kernel_flood"),
  fixture("bad_output"),
  fixture("host_abuse_integrity"),
  fixture("host_abuse"),
  fixture("bad_import", { allowUnknownImports: true }),
  fixture("wait", { allowUnknownImports: true }),
  fixture("receptor_caller_integrity"),
  fixture("receptor_caller"),
  fixture("receptor_bench", { allowUnknownImports: true }),
  fixture("big_memory", { flags: ["--initialMemory", "4200"] }),
  // Plugins that are not zomes (docs/abi.md, "Plugins") and the zomes that use them. They import
  // receptor and plugin host functions, which the zome import check does not know.
  plugin("plugin_math"),
  plugin("plugin_no_describe"),
  plugin("plugin_wrong_abi"),
  plugin("plugin_asks_http"),
  plugin("plugin_nondet_validate"),
  plugin("plugin_missing_export"),
  plugin("receptor_misbehave"),
  fixture("plugin_user", { allowUnknownImports: true }),
  fixture("plugin_user_integrity", { allowUnknownImports: true }),
  {
    name: "receptor_counter",
    entry: "examples/receptor-counter/assembly/index.ts",
    out: "examples/receptor-counter/build/receptor_counter.wasm",
    allowUnknownImports: true,
  },
]

/** Flags every target is compiled with (see plugins/pdk/README.md, "Build"). */
export const COMMON_FLAGS: readonly string[] = [
  "-O3",
  "--runtime",
  "incremental",
  // Start a GC cycle when the heap reaches 4x what survived the last one (default 2x): half the
  // marking per call for a bounded heap (plugins/pdk/README.md, "Build").
  "--use",
  "ASC_GC_IDLEFACTOR=400",
  // Zome code imports the PDK as "pdk/assembly": the package folder is plugins/pdk.
  "--path",
  "plugins",
  // Route abort/assert/throw to the PDK, which reports the message through error_set.
  "--use",
  "abort=~lib/pdk/assembly/abort/pdkAbort",
  "--noColors",
]

/** The kernel functions a zome may import from `extism:host/env`. */
const KERNEL_IMPORTS = new Set([
  "alloc",
  "free",
  "length",
  "length_unsafe",
  "load_u8",
  "load_u64",
  "store_u8",
  "store_u64",
  "input_offset",
  "input_length",
  "input_load_u8",
  "input_load_u64",
  "output_set",
  "error_set",
  "config_get",
  "var_get",
  "var_set",
  "log_info",
  "log_warn",
  "log_error",
  "log_debug",
])

/** The host functions of docs/abi.md §4 (`extism:host/user`). */
const HOST_FN_IMPORTS: ReadonlySet<string> = new Set(HOST_FUNCTIONS)

/** Options of {@link buildWasm}. */
export interface BuildOptions {
  /**
   * Repository root.
   * @default the folder above plugins/
   */
  readonly root?: string
  /**
   * Names of the targets to build.
   * @default every target
   */
  readonly only?: readonly string[]
  /**
   * Rebuild even when outputs are up to date.
   * @default false
   */
  readonly force?: boolean
  /**
   * Receives one line per target.
   * @default discard
   */
  readonly log?: (line: string) => void
  /**
   * Targets compiled at once, each in its own worker (compiling is CPU-bound and single-threaded).
   * @default 2, or the number of CPUs when lower
   */
  readonly jobs?: number
}

/** What happened to one target. */
export interface TargetReport {
  readonly name: string
  /** Absolute path of the output. */
  readonly out: string
  readonly status: "built" | "up to date"
  /** Output size in bytes. */
  readonly bytes: number
  /** Compile time in milliseconds (0 when up to date). */
  readonly ms: number
}

/** A target failed to compile or imports something the conductor refuses. */
export class BuildError extends Error {
  override readonly name = "BuildError"
  constructor(readonly target: string, readonly diagnostics: string) {
    super(`${target}: build failed\n${diagnostics}`)
  }
}

/** Recorded beside each output (`<out>.deps.json`) for the up-to-date check. */
interface DepsFile {
  readonly fingerprint: string
  /** Every source file the compiler read, relative to the root. */
  readonly inputs: readonly string[]
}

const defaultRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..")

// The compiler's resolved location names its version (…/assemblyscript@0.28.20/…), so the
// up-to-date check does not have to load the compiler.
const compilerId = import.meta.resolve("assemblyscript/asc").replace(
  /^.*\/(assemblyscript@[^/]+)\/.*$/,
  "$1",
)

function fingerprintOf(target: Target): string {
  return JSON.stringify({ compiler: compilerId, flags: [...COMMON_FLAGS, ...(target.flags ?? [])] })
}

// Loaded on first use: a run where everything is up to date never pays for it.
let compiler: typeof import("assemblyscript/asc").default | null = null

async function loadCompiler(): Promise<typeof import("assemblyscript/asc").default> {
  compiler ??= (await import("assemblyscript/asc")).default
  return compiler
}

function mtime(path: string): number | null {
  try {
    return Deno.statSync(path).mtime?.getTime() ?? null
  } catch (cause) {
    if (cause instanceof Deno.errors.NotFound) return null
    throw cause
  }
}

function isUpToDate(root: string, target: Target): boolean {
  const out = join(root, target.out)
  const outTime = mtime(out)
  if (outTime === null) return false
  let deps: DepsFile
  try {
    deps = JSON.parse(Deno.readTextFileSync(`${out}.deps.json`)) as DepsFile
  } catch (cause) {
    if (cause instanceof Deno.errors.NotFound || cause instanceof SyntaxError) return false
    throw cause
  }
  if (deps.fingerprint !== fingerprintOf(target) || !Array.isArray(deps.inputs)) return false
  return deps.inputs.every((input) => {
    const t = mtime(join(root, input))
    return t !== null && t <= outTime
  })
}

/** Checks the module's imports against what the conductor accepts (docs/abi.md §1). */
function importProblems(bytes: Uint8Array<ArrayBuffer>): string[] {
  const problems: string[] = []
  for (const imp of WebAssembly.Module.imports(new WebAssembly.Module(bytes))) {
    const known = (imp.module === "extism:host/env" && KERNEL_IMPORTS.has(imp.name)) ||
      (imp.module === "extism:host/user" && HOST_FN_IMPORTS.has(imp.name))
    if (!known) problems.push(`imports ${imp.module}.${imp.name}, which the conductor refuses`)
  }
  if (problems.some((p) => p.includes(" env."))) {
    problems.push(
      "hint: env.* imports come from AssemblyScript's Math.random, Date.now, console or trace; " +
        "use the PDK's randomBytes, sysTime and trace instead",
    )
  }
  return problems
}

async function compile(
  root: string,
  target: Target,
  cache: Map<string, string | null>,
): Promise<Compiled> {
  const inputs = new Set<string>()
  let binary: Uint8Array<ArrayBuffer> | null = null
  const readFile = (filename: string, baseDir: string): string | null => {
    const path = resolve(root, baseDir, filename)
    let text = cache.get(path)
    if (text === undefined) {
      try {
        text = Deno.readTextFileSync(path)
      } catch (cause) {
        if (!(cause instanceof Deno.errors.NotFound)) throw cause
        text = null
      }
      cache.set(path, text)
    }
    if (text !== null) inputs.add(relative(root, path))
    return text
  }
  const argv = [target.entry, "--baseDir", root, ...COMMON_FLAGS, ...(target.flags ?? [])]
  argv.push("--outFile", target.out)
  const asc = await loadCompiler()
  const result = await asc.main(argv, {
    readFile,
    writeFile: (_name: string, contents: Uint8Array | string) => {
      binary = typeof contents === "string" ? new TextEncoder().encode(contents) : contents.slice()
    },
    listFiles: (dirname: string, baseDir: string) => {
      try {
        return [...Deno.readDirSync(resolve(root, baseDir, dirname))]
          .filter((e) => e.isFile && e.name.endsWith(".ts"))
          .map((e) => e.name)
      } catch (cause) {
        if (cause instanceof Deno.errors.NotFound) return null
        throw cause
      }
    },
  })
  const diagnostics = result.stderr.toString().trim()
  if (result.error !== null || binary === null) {
    const hint = diagnostics.includes("pdkAbort' not found")
      ? '\nhint: every zome must import from "pdk/assembly" (the PDK provides the abort handler)'
      : ""
    throw new BuildError(target.name, (diagnostics || String(result.error)) + hint)
  }
  return { bytes: binary, inputs: [...inputs].sort() }
}

/** What a compile produced: the module, and every source file the compiler read. */
interface Compiled {
  readonly bytes: Uint8Array<ArrayBuffer>
  readonly inputs: string[]
}

/** A message from a build worker. */
type WorkerReply =
  | { readonly ok: true; readonly compiled: Compiled }
  | { readonly ok: false; readonly diagnostics: string }

/** Compiles targets in a worker running this same module, so each has its own compiler. */
class CompileWorker {
  #worker = new Worker(import.meta.url, { type: "module" })

  compile(root: string, target: Target): Promise<Compiled> {
    return new Promise((resolve, reject) => {
      this.#worker.onmessage = (event: MessageEvent<WorkerReply>) => {
        const reply = event.data
        if (reply.ok) resolve(reply.compiled)
        else reject(new BuildError(target.name, reply.diagnostics))
      }
      this.#worker.onerror = (event) => {
        event.preventDefault()
        reject(new BuildError(target.name, `build worker failed: ${event.message}`))
      }
      this.#worker.postMessage({ root, target })
    })
  }

  close(): void {
    this.#worker.terminate()
  }
}

/** Runs inside a build worker: compiles each target it is sent. */
function serveCompiles(): void {
  const cache = new Map<string, string | null>()
  const scope = globalThis as unknown as {
    onmessage: (event: MessageEvent<{ root: string; target: Target }>) => void
    postMessage: (message: WorkerReply, transfer?: Transferable[]) => void
  }
  scope.onmessage = async (event) => {
    const { root, target } = event.data
    try {
      const compiled = await compile(root, target, cache)
      scope.postMessage({ ok: true, compiled }, [compiled.bytes.buffer])
    } catch (cause) {
      const diagnostics = cause instanceof BuildError ? cause.diagnostics : String(cause)
      scope.postMessage({ ok: false, diagnostics })
    }
  }
}

/**
 * Builds the targets (all, or `options.only`), skipping those that are up to date, `jobs` at a
 * time. Throws {@link BuildError} for the first target that fails; outputs already written are
 * kept, and the remaining targets are not started.
 */
export async function buildWasm(options: BuildOptions = {}): Promise<TargetReport[]> {
  const root = options.root ?? defaultRoot
  const log = options.log ?? (() => {})
  const only = options.only
  if (only !== undefined) {
    const unknown = only.filter((n) => !TARGETS.some((t) => t.name === n))
    if (unknown.length > 0) {
      throw new BuildError(
        unknown.join(", "),
        `unknown target; known: ${TARGETS.map((t) => t.name).join(", ")}`,
      )
    }
  }
  const targets = only === undefined ? TARGETS : TARGETS.filter((t) => only.includes(t.name))
  const width = Math.max(...targets.map((t) => t.name.length))
  const reports = new Map<string, TargetReport>()
  const stale: Target[] = []
  for (const target of targets) {
    const out = join(root, target.out)
    if (options.force !== true && isUpToDate(root, target)) {
      const bytes = Deno.statSync(out).size
      reports.set(target.name, { name: target.name, out, status: "up to date", bytes, ms: 0 })
      log(`${target.name.padEnd(width)}  up to date  ${formatSize(bytes)}  ${target.out}`)
    } else {
      stale.push(target)
    }
  }

  const finish = (target: Target, compiled: Compiled, ms: number) => {
    if (target.allowUnknownImports !== true) {
      const problems = importProblems(compiled.bytes)
      if (problems.length > 0) throw new BuildError(target.name, problems.join("\n"))
    }
    const out = join(root, target.out)
    Deno.mkdirSync(dirname(out), { recursive: true })
    // Write to a temporary name first so that an interrupted build never leaves a truncated module.
    Deno.writeFileSync(`${out}.tmp`, compiled.bytes)
    Deno.renameSync(`${out}.tmp`, out)
    const deps: DepsFile = { fingerprint: fingerprintOf(target), inputs: compiled.inputs }
    Deno.writeTextFileSync(`${out}.deps.json`, JSON.stringify(deps, null, 1) + "\n")
    const bytes = compiled.bytes.length
    reports.set(target.name, { name: target.name, out, status: "built", bytes, ms })
    log(`${target.name.padEnd(width)}  built       ${formatSize(bytes)}  ${target.out}  ${ms} ms`)
  }

  const jobs = Math.max(1, Math.min(options.jobs ?? 2, navigator.hardwareConcurrency, stale.length))
  if (jobs === 1) {
    const cache = new Map<string, string | null>()
    for (const target of stale) {
      const started = performance.now()
      finish(target, await compile(root, target, cache), Math.round(performance.now() - started))
    }
  } else {
    const queue = [...stale]
    const workers = Array.from({ length: jobs }, () => new CompileWorker())
    let failed = false
    try {
      await Promise.all(workers.map(async (worker) => {
        for (let target = queue.shift(); target !== undefined && !failed; target = queue.shift()) {
          const started = performance.now()
          try {
            finish(
              target,
              await worker.compile(root, target),
              Math.round(performance.now() - started),
            )
          } catch (cause) {
            failed = true
            throw cause
          }
        }
      }))
    } finally {
      for (const worker of workers) worker.close()
    }
  }
  return targets.map((t) => reports.get(t.name)!)
}

function formatSize(bytes: number): string {
  return `${(bytes / 1024).toFixed(1).padStart(6)} KiB`
}

function print(line: string): void {
  Deno.stdout.writeSync(new TextEncoder().encode(line + "\n"))
}

const inWorker = typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope !==
  "undefined"

if (inWorker) {
  serveCompiles()
} else if (import.meta.main) {
  const force = Deno.args.includes("--force")
  const names = Deno.args.filter((a) => !a.startsWith("--"))
  const started = performance.now()
  try {
    const reports = await buildWasm({
      force,
      log: print,
      ...(names.length > 0 ? { only: names } : {}),
    })
    const built = reports.filter((r) => r.status === "built").length
    print(
      `${built} built, ${reports.length - built} up to date in ${
        Math.round(performance.now() - started)
      } ms`,
    )
  } catch (cause) {
    if (!(cause instanceof BuildError)) throw cause
    Deno.stderr.writeSync(new TextEncoder().encode(cause.message + "\n"))
    Deno.exit(1)
  }
}
