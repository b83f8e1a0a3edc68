/**
 * `launcherGone`: completes when a process that launched the conductor as a wrapper (`npx`/`npm
 * exec`, a `sh -c`, `deno task`) has gone away, so that `npx -y deno@… task start &` followed by
 * `kill $!` stops the conductor. npm forwards the signal only to its `sh -c` child, which dies
 * without passing it on; `deno task` and the conductor below it would otherwise keep running
 * (and keep the ports). Shells that are not `-c` wrappers, init and service managers are not
 * watched: a conductor started by hand from a terminal, under `nohup` or by systemd is unaffected.
 *
 * It reads `/proc`, so it watches on Linux only; elsewhere it never completes.
 *
 * @module
 */
import { Duration, Effect } from "effect"

/** A watched process: its id and its start time (so a reused pid is not mistaken for it). */
export interface Launcher {
  readonly pid: number
  readonly startTime: string
  readonly command: string
}

/** How often the launchers are checked. */
const POLL = Duration.millis(500)
/** At most this many ancestors are looked at. */
const MAX_DEPTH = 16

function readProc(pid: number, file: string): string | undefined {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/${file}`)
  } catch {
    return undefined
  }
}

/**
 * State, parent pid and start time from `/proc/<pid>/stat` (the command name may hold spaces).
 */
function stat(
  pid: number,
): { readonly state: string; readonly ppid: number; readonly startTime: string } | undefined {
  const text = readProc(pid, "stat")
  if (text === undefined) return undefined
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ")
  // Fields after the name start at "state" (field 3): ppid is field 4, starttime field 22.
  const state = fields[0] ?? ""
  const ppid = Number(fields[1])
  const startTime = fields[19]
  return Number.isInteger(ppid) && startTime !== undefined ? { state, ppid, startTime } : undefined
}

/** Whether `argv` is a wrapper that launched us rather than a user's shell or a supervisor. */
export function isLauncher(argv: ReadonlyArray<string>): boolean {
  const first = argv[0] ?? ""
  const base = first.split("/").at(-1) ?? ""
  if (base === "deno") return argv[1] === "task"
  if (["sh", "bash", "dash", "zsh"].includes(base)) return argv[1] === "-c"
  // npm renames its process to "npm exec …"; npx is npm exec.
  if (first.startsWith("npm exec") || base === "npx" || base === "npm") return true
  return base === "node" && argv.slice(1, 3).some((a) => /(^|\/)(npx|npm)(-cli)?(\.js)?$/.test(a))
}

/** The chain of wrapper processes above this one, nearest first; empty off Linux. */
export function findLaunchers(): ReadonlyArray<Launcher> {
  if (Deno.build.os !== "linux") return []
  const launchers: Array<Launcher> = []
  let pid = Deno.ppid
  for (let depth = 0; depth < MAX_DEPTH && pid > 1; depth++) {
    const argv = readProc(pid, "cmdline")?.split("\0").filter((a) => a !== "")
    const info = stat(pid)
    if (argv === undefined || info === undefined || !isLauncher(argv)) break
    launchers.push({ pid, startTime: info.startTime, command: argv.join(" ") })
    pid = info.ppid
  }
  return launchers
}

/**
 * The first of `launchers` that no longer runs, if any: its pid is gone or reused, or it is a
 * zombie (dead, and not yet reaped by its own parent).
 */
export function goneLauncher(launchers: ReadonlyArray<Launcher>): Launcher | undefined {
  return launchers.find((l) => {
    const now = stat(l.pid)
    return now === undefined || now.startTime !== l.startTime || now.state === "Z"
  })
}

/**
 * Completes with the launcher that went away; never completes when there is none to watch.
 */
export const launcherGone: Effect.Effect<Launcher> = Effect.suspend(() => {
  const launchers = findLaunchers()
  if (launchers.length === 0) return Effect.never
  const check: Effect.Effect<Launcher> = Effect.suspend(() => {
    const gone = goneLauncher(launchers)
    return gone !== undefined ? Effect.succeed(gone) : Effect.andThen(Effect.sleep(POLL), check)
  })
  return check
})
