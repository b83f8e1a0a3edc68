/**
 * The forum's `list_posts {limit: 20}` as the forum grows, in process (no interface in the way),
 * on a real SQLite file: its p50 on a fresh chain (20 posts) and at 6,247 posts, for the forum as
 * it is (posts indexed by the second they were written in) and, as the baseline measured in the
 * same run, the forum as it was before (every post linked from one `all_posts` anchor, so a page
 * reads every link), built from the sources of commit `--baseline` (default `af87a64`) into a
 * temporary folder. Also the cost of the index on writes: `create_post` per second in both, and
 * the second page of `list_posts_page`.
 * Prints one JSON line per result; `bench/run.ts` collects them.
 *
 * Run: `deno run -A bench/forum_bench.ts [--posts 6247] [--baseline af87a64]`.
 *
 * @module
 */
// Benchmarks are command-line programs: their results go to stdout.
// deno-lint-ignore-file no-console
import { Effect } from "effect"
import { parseArgs } from "node:util"
import { packDirectory } from "../core/bundle/mod.ts"
import { Hasher } from "../core/hash/mod.ts"
import { buildWasm } from "../plugins/build_wasm.ts"
import { callZome, installApp, makeConductor, ROOT } from "../tests/support/conductor.ts"
import { emit, median } from "./report.ts"

/** Packs the hApp folder `dir` (absolute, or relative to the repository root). */
export async function packHapp(dir: string): Promise<Uint8Array> {
  const out = await Deno.makeTempFile({ suffix: ".happ" })
  try {
    const path = dir.startsWith("/") ? dir : `${ROOT}${dir}`
    const result = await Effect.runPromise(
      packDirectory(path, { outPath: out }).pipe(Effect.provide(Hasher.layer)),
    )
    return result.bytes
  } finally {
    await Deno.remove(out)
  }
}

/** The forum's sources at `rev`, built into a temporary folder; returns that folder. */
export async function buildBaseline(rev: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "forum-baseline-" })
  const archive = new Deno.Command("git", {
    args: ["archive", rev, "examples/forum", "plugins/pdk"],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).spawn()
  const untar = new Deno.Command("tar", { args: ["-x", "-C", dir], stdin: "piped" }).spawn()
  await archive.stdout.pipeTo(untar.stdin)
  const [archived, untarred] = await Promise.all([archive.output(), untar.status])
  if (!archived.success || !untarred.success) {
    throw new Error(
      `cannot read the baseline forum at ${rev}: ${new TextDecoder().decode(archived.stderr)}`,
    )
  }
  await buildWasm({ root: dir, only: ["forum_integrity", "forum"] })
  return dir
}

/** Measures one design of the forum. */
async function measure(label: string, happ: Uint8Array, posts: number, paged: boolean) {
  const dir = await Deno.makeTempDir({ prefix: "forum-bench-" })
  const conductor = makeConductor({ file: `${dir}/forum.sqlite3`, config: "log: {level: error}\n" })
  try {
    const cell = (await installApp(conductor, happ, "forum"))["forum"]!
    const call = (fn: string, payload: unknown) => callZome(conductor, cell, "forum", fn, payload)
    let written = 0
    const write = async (until: number) => {
      const start = performance.now()
      const from = written
      for (; written < until; written++) {
        await call("create_post", { title: `post ${written}`, body: "x".repeat(300) })
      }
      return (written - from) / ((performance.now() - start) / 1000)
    }
    const listP50 = async (runs: number) => {
      for (let i = 0; i < 5; i++) await call("list_posts", { limit: 20 })
      const samples: Array<number> = []
      for (let i = 0; i < runs; i++) {
        const start = performance.now()
        const page = await call("list_posts", { limit: 20 }) as Array<unknown>
        samples.push(performance.now() - start)
        if (page.length !== 20) throw new Error(`list_posts gave ${page.length} posts, not 20`)
      }
      return median(samples)
    }
    await write(20)
    const fresh = await listP50(30)
    const rate = await write(posts)
    const grown = await listP50(30)
    emit({
      name: `forum list_posts {limit: 20} at ${posts.toLocaleString("en")} posts, ${label}, p50`,
      value: grown,
      unit: "ms",
      detail: `fresh chain (20 posts) ${fresh.toFixed(2)} ms; ${
        (grown / fresh).toFixed(2)
      }x; median of 30 calls`,
    })
    emit({
      name: `forum list_posts {limit: 20} at ${
        posts.toLocaleString("en")
      } posts, ${label}, as a multiple of a fresh chain`,
      value: grown / fresh,
      unit: "x",
      detail: `${grown.toFixed(2)} ms against ${fresh.toFixed(2)} ms`,
    })
    emit({
      name: `forum create_post per second up to ${posts.toLocaleString("en")} posts, ${label}`,
      value: rate,
      unit: "posts/s",
      detail: "one agent, synchronous=normal, validation included",
    })
    if (paged) {
      const first = await call("list_posts_page", { limit: 20 }) as { next: unknown }
      const samples: Array<number> = []
      for (let i = 0; i < 30; i++) {
        const start = performance.now()
        await call("list_posts_page", { limit: 20, cursor: first.next })
        samples.push(performance.now() - start)
      }
      emit({
        name: `forum list_posts_page, second page of 20 at ${
          posts.toLocaleString("en")
        } posts, ${label}, p50`,
        value: median(samples),
        unit: "ms",
        detail: "median of 30 calls",
      })
    }
  } finally {
    await conductor.dispose()
    await Deno.remove(dir, { recursive: true })
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      posts: { type: "string", default: "6247" },
      baseline: { type: "string", default: "af87a64" },
    },
  })
  const posts = Number(values.posts)
  if (!Number.isInteger(posts) || posts < 40 || posts > 1_000_000) {
    console.error(`--posts must be an integer from 40 to 1,000,000, got ${values.posts}`)
    Deno.exit(2)
  }
  await buildWasm({ only: ["forum_integrity", "forum"] })
  await measure("time index", await packHapp("examples/forum"), posts, true)
  // The baseline needs the repository's history; without it the report says so and goes on.
  const baseline = await buildBaseline(values.baseline).catch((cause) => {
    console.error(`no baseline: ${cause instanceof Error ? cause.message : cause}`)
    return null
  })
  if (baseline !== null) {
    try {
      await measure(
        `one anchor (as of ${values.baseline})`,
        await packHapp(`${baseline}/examples/forum`),
        posts,
        false,
      )
    } finally {
      await Deno.remove(baseline, { recursive: true })
    }
  }
}
