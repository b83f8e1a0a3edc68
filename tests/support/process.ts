/**
 * Test helpers for real conductor processes: write a config, start `conductor run` and wait for
 * the line that says where the HTTP endpoint listens, run one-shot commands. Processes are stopped
 * by the tests that start them (SIGKILL for crash tests, SIGTERM otherwise) through `stop`, which
 * bounds the wait and falls back to SIGKILL; one-shot commands are bounded too.
 *
 * @module
 */
import { ROOT, testConfig } from "./conductor.ts"
import { CLEANUP_TIMEOUT_MS, stopProcess, withTimeout } from "./timeout.ts"

/** Bound of a one-shot `conductor` command (pack, verify, …). */
export const COMMAND_TIMEOUT_MS = 120_000

/** A started conductor process. */
export interface ConductorProcess {
  readonly child: Deno.ChildProcess
  /** `http://127.0.0.1:<port>` of the admin HTTP endpoint. */
  readonly http: string
  /** Everything the process printed so far (stdout and stderr). */
  readonly output: () => string
  /** Resolves with the exit status once its output is read to the end. */
  readonly exited: Promise<Deno.CommandStatus>
  /** Sends `signal` (default SIGTERM) and waits, bounded, for the exit; SIGKILL if it hangs. */
  readonly stop: (signal?: Deno.Signal) => Promise<Deno.CommandStatus>
}

/** Writes a conductor.yaml into `dir` with loopback, free ports and a fixed passphrase. */
export async function writeConfig(dir: string, extra = ""): Promise<string> {
  const file = `${dir}/conductor.yaml`
  await Deno.writeTextFile(
    file,
    testConfig(`data_dir: data
keystore:
  passphrase: "test passphrase"
admin_interfaces: []
http:
  port: 0
log:
  level: warn
${extra}`),
  )
  return file
}

/** Options of `denoRun`. */
export interface RunOptions {
  /** @default the repository root */
  readonly cwd?: string
  readonly env?: Record<string, string>
  /** @default COMMAND_TIMEOUT_MS */
  readonly timeoutMs?: number
}

/** Runs `deno <args>` to completion; killed (and the call fails) after `timeoutMs`. */
export async function denoRun(args: ReadonlyArray<string>, options: RunOptions = {}) {
  const child = new Deno.Command(Deno.execPath(), {
    args: [...args],
    cwd: options.cwd ?? ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    ...(options.env === undefined ? {} : { env: options.env }),
  }).spawn()
  const what = `deno ${args.join(" ")}`
  const output = await withTimeout(child.output(), options.timeoutMs ?? COMMAND_TIMEOUT_MS, what)
    .catch(async (error) => {
      await stopProcess(child, what, { signal: "SIGKILL" }).catch(() => {})
      throw error
    })
  const decoder = new TextDecoder()
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  }
}

/** Runs `conductor <args>` to completion, bounded like `denoRun`. */
export function conductorCommand(args: ReadonlyArray<string>, cwd = ROOT) {
  return denoRun(["run", "-A", `${ROOT}main.ts`, ...args], { cwd })
}

/** Starts `conductor run --config <file>` and waits until the HTTP endpoint listens. */
export async function startConductor(
  config: string,
  timeoutMs = 60_000,
): Promise<ConductorProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}main.ts`, "run", "--config", config],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn()
  let text = ""
  let resolveHttp: (url: string) => void = () => {}
  const httpUrl = new Promise<string>((resolve) => (resolveHttp = resolve))
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder()
    for await (const chunk of stream) {
      text += decoder.decode(chunk, { stream: true })
      const match = text.match(/admin http listening on (http:\/\/\S+?) /)
      if (match) resolveHttp(match[1]!)
    }
  }
  const pumps = Promise.all([pump(child.stdout), pump(child.stderr)])
  const exited = child.status.then(async (status) => {
    await pumps
    return status
  })
  const stop = async (signal: Deno.Signal = "SIGTERM") => {
    const status = await stopProcess(child, `conductor ${child.pid}`, { signal })
    await withTimeout(exited, CLEANUP_TIMEOUT_MS, `conductor ${child.pid} output closing`)
    return status
  }
  const early = exited.then((status) =>
    Promise.reject(new Error(`conductor exited with ${status.code} before listening:\n${text}`))
  )
  const http = await withTimeout(Promise.race([httpUrl, early]), timeoutMs, "conductor start")
    .catch(async (error) => {
      await stop("SIGKILL").catch(() => {})
      throw new Error(`${error.message}:\n${text}`, { cause: error })
    })
  return { child, http, output: () => text, exited, stop }
}
