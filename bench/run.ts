/**
 * `deno task bench`: runs every benchmark as its own process (so that none inherits another's
 * warm state or memory), collects the JSON lines they print, and prints a Markdown report: the
 * date, the machine, the command, and each result next to its goal from the issues, marked met or
 * missed. The report is what goes into `docs/benchmarks.md`.
 *
 * Run: `deno task bench [--only
 * core,nonce,process,websocket,receptors,wasm_receptor,forum,robustness,engine,parallel,
 * network]`. The soak
 * benchmark is long (30 minutes by default) and runs only when asked for: `deno task bench --only
 * soak`, with its options after `--soak` (`deno task bench --only soak --soak --minutes 10`).
 *
 * @module
 */
// Benchmarks are command-line programs: their results go to stdout.
// deno-lint-ignore-file no-console

/** One measurement, as each benchmark prints it. */
interface Result {
  readonly name: string
  readonly value: number
  readonly unit: string
  readonly detail?: string
}

/** A goal from the issues: which results it judges and how. */
interface Goal {
  readonly matches: (name: string) => boolean
  readonly text: string
  readonly met: (value: number) => boolean
}

const GOALS: ReadonlyArray<Goal> = [
  // Issue 8 (the network over NATS).
  {
    matches: (n) => /^sync lag commit → held on another conductor, (2|10) conductors, p95$/.test(n),
    text: "≤ 1,000 ms",
    met: (v) => v <= 1000,
  },
  {
    matches: (n) =>
      n.startsWith(
        "sync lag commit → held on another conductor, 2 conductors, 50 ms per hop (proxy), p95",
      ),
    text: "≤ 1,500 ms",
    met: (v) => v <= 1500,
  },
  {
    matches: (n) => n.startsWith("all receipts back"),
    text: "≤ 500 ms",
    met: (v) => v <= 500,
  },
  {
    matches: (n) => n.startsWith("call_remote round trip as the client sees it, p50"),
    text: "≤ 2 ms",
    met: (v) => v <= 2,
  },
  {
    matches: (n) => n.startsWith("remote signal, A's call → B's client, p50"),
    text: "≤ 1 ms",
    met: (v) => v <= 1,
  },
  {
    matches: (n) => / two clients on two cells vs one, workers [1-9]/.test(n),
    text: "≥ 1.6x",
    met: (v) => v >= 1.6,
  },
  {
    matches: (n) => n.startsWith("trivial call on cell B while cell A spins, p99"),
    text: "≤ 10 ms",
    met: (v) => v <= 10,
  },
  {
    matches: (n) => n.endsWith("websocket while cell A spins, p99"),
    text: "≤ 10 ms",
    met: (v) => v <= 10,
  },
  {
    matches: (n) => n.startsWith("trivial zome call in conductor, p50"),
    text: "≤ 50 µs",
    met: (v) => v <= 50,
  },
  {
    matches: (n) => /^create entry per second at .*, normal$/.test(n),
    text: "≥ 1,500/s",
    met: (v) => v >= 1500,
  },
  {
    matches: (n) => n.startsWith("create entry rate at 100,000 actions as a share"),
    text: "flat (≥ 80 %)",
    met: (v) => v >= 80,
  },
  {
    matches: (n) => n.startsWith("start to admin ready (bundle"),
    text: "≤ 150 ms",
    met: (v) => v <= 150,
  },
  {
    matches: (n) => n.startsWith("install the forum example"),
    text: "≤ 30 ms",
    met: (v) => v <= 30,
  },
  {
    matches: (n) => n.startsWith("RSS with 10 apps"),
    text: "≤ 100 MB",
    met: (v) => v <= 100,
  },
  {
    matches: (n) => n.startsWith("trivial zome call over the app websocket, p50"),
    text: "≤ 350 µs",
    met: (v) => v <= 350,
  },
  {
    matches: (n) => n.startsWith("trivial zome calls per second"),
    text: "≥ 3,000/s",
    met: (v) => v >= 3000,
  },
  {
    matches: (n) => n.startsWith("create entry as the client sees it, p50"),
    text: "≤ 2,000 µs",
    met: (v) => v <= 2000,
  },
  {
    matches: (n) => n.startsWith("10,000 signals from one call"),
    text: "< 500 ms",
    met: (v) => v < 500,
  },
  {
    matches: (n) => /^forum list_posts \{limit: 20\} .* time index, as a multiple/.test(n),
    text: "flat (≤ 1.5x)",
    met: (v) => v <= 1.5,
  },
  {
    matches: (n) => n.startsWith("soak: RSS slope after warm-up"),
    text: "flat (≤ 2 MiB/10 min)",
    met: (v) => v <= 2,
  },
  {
    matches: (n) => n.startsWith("soak: acknowledged posts missing"),
    text: "0",
    met: (v) => v === 0,
  },
  {
    matches: (n) => n.startsWith("conductor RSS growth between two websocket abuse rounds"),
    text: "< 48 MiB",
    met: (v) => v < 48,
  },
]

/** The benchmarks, in the order they run; `optIn` ones run only when `--only` names them. */
const BENCHMARKS: ReadonlyArray<
  { readonly key: string; readonly args: ReadonlyArray<string>; readonly optIn?: boolean }
> = [
  { key: "core", args: ["bench/core_bench.ts"] },
  { key: "nonce", args: ["bench/nonce_bench.ts"] },
  { key: "process", args: ["bench/process_bench.ts"] },
  { key: "websocket", args: ["bench/websocket_bench.ts", "--runs", "5"] },
  { key: "receptors", args: ["bench/receptors_bench.ts"] },
  { key: "wasm_receptor", args: ["bench/wasm_receptor_bench.ts"] },
  { key: "forum", args: ["bench/forum_bench.ts"] },
  { key: "soak", args: ["bench/soak_bench.ts"], optIn: true },
  { key: "robustness", args: ["bench/robustness_bench.ts"] },
  { key: "engine", args: ["bench/engine_bench.ts"] },
  { key: "parallel", args: ["bench/parallel_bench.ts"] },
  { key: "network", args: ["bench/network_bench.ts"] },
]

const ROOT = new URL("../", import.meta.url).pathname

async function runBenchmark(args: ReadonlyArray<string>): Promise<Array<Result>> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "inherit",
  }).spawn()
  const { code, stdout } = await child.output()
  const text = new TextDecoder().decode(stdout)
  if (code !== 0) throw new Error(`${args.join(" ")} exited with ${code}:\n${text}`)
  return text.split("\n").filter((line) => line.startsWith("{")).map((line) =>
    JSON.parse(line) as Result
  )
}

function machine(): string {
  const cpu = Deno.readTextFileSync("/proc/cpuinfo").match(/^model name\s*:\s*(.+)$/m)?.[1]
  const memory = Number(Deno.readTextFileSync("/proc/meminfo").match(/^MemTotal:\s+(\d+)/m)?.[1])
  return `${Deno.build.os} ${Deno.build.arch}, ${navigator.hardwareConcurrency} cores${
    cpu ? ` (${cpu.trim()})` : ""
  }, ${(memory / 2 ** 20).toFixed(0)} GiB, Deno ${Deno.version.deno}`
}

function format(value: number): string {
  return value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2)
}

if (import.meta.main) {
  const soakAt = Deno.args.indexOf("--soak")
  const args = soakAt >= 0 ? Deno.args.slice(0, soakAt) : Deno.args
  const soakArgs = soakAt >= 0 ? Deno.args.slice(soakAt + 1) : []
  const onlyAt = args.indexOf("--only")
  const only = onlyAt >= 0 ? new Set(args[onlyAt + 1]?.split(",")) : null
  const selected = BENCHMARKS
    .filter((b) => only === null ? b.optIn !== true : only.has(b.key))
    .map((b) => b.key === "soak" ? { ...b, args: [...b.args, ...soakArgs] } : b)
  if (selected.length === 0) {
    console.error(`--only takes some of: ${BENCHMARKS.map((b) => b.key).join(", ")}`)
    Deno.exit(2)
  }
  const results: Array<Result> = []
  for (const benchmark of selected) {
    console.error(`running ${benchmark.args.join(" ")} …`)
    results.push(...await runBenchmark(benchmark.args))
  }
  const lines = [
    `Date: ${new Date().toISOString().slice(0, 10)}. Machine: ${machine()}.`,
    `Command: \`deno task bench${only === null ? "" : ` --only ${[...only].join(",")}`}${
      soakArgs.length > 0 ? ` --soak ${soakArgs.join(" ")}` : ""
    }\`.`,
    "",
    "| Measure | Result | Goal | | Detail |",
    "|---|---:|---|---|---|",
  ]
  for (const result of results) {
    const goal = GOALS.find((g) => g.matches(result.name))
    const verdict = goal === undefined ? "" : goal.met(result.value) ? "met" : "missed"
    lines.push(
      `| ${result.name} | ${format(result.value)} ${result.unit} | ${
        goal?.text ?? ""
      } | ${verdict} | ${result.detail ?? ""} |`,
    )
  }
  console.log(lines.join("\n"))
}
