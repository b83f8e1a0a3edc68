/**
 * Test helpers for real conductor processes: write a config, start `conductor run` and wait for
 * the line that says where the HTTP endpoint listens, run one-shot commands. Processes are killed
 * by the tests that start them (SIGKILL for crash tests, SIGTERM otherwise).
 *
 * @module
 */
import { ROOT } from "./conductor.ts"

/** A started conductor process. */
export interface ConductorProcess {
  readonly child: Deno.ChildProcess
  /** `http://127.0.0.1:<port>` of the admin HTTP endpoint. */
  readonly http: string
  /** Everything the process printed so far (stdout and stderr). */
  readonly output: () => string
  /** Resolves with the exit status. */
  readonly exited: Promise<Deno.CommandStatus>
}

/** Writes a conductor.yaml into `dir` with loopback, free ports and a fixed passphrase. */
export async function writeConfig(dir: string, extra = ""): Promise<string> {
  const file = `${dir}/conductor.yaml`
  await Deno.writeTextFile(
    file,
    `data_dir: data
keystore:
  passphrase: "test passphrase"
admin_interfaces: []
http:
  port: 0
log:
  level: warn
${extra}`,
  )
  return file
}

/** Runs `conductor <args>` to completion. */
export async function conductorCommand(args: ReadonlyArray<string>, cwd = ROOT) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}main.ts`, ...args],
    cwd,
    stdout: "piped",
    stderr: "piped",
  }).output()
  const decoder = new TextDecoder()
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  }
}

/** Starts `conductor run --config <file>` and waits until the HTTP endpoint listens. */
export async function startConductor(
  config: string,
  timeoutMs = 60_000,
): Promise<ConductorProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}main.ts`, "run", "--config", config],
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
  let timer: ReturnType<typeof setTimeout> | undefined
  const http = await Promise.race([
    httpUrl,
    exited.then((status) =>
      Promise.reject(new Error(`conductor exited with ${status.code} before listening:\n${text}`))
    ),
    new Promise<never>((
      _,
      reject,
    ) => (timer = setTimeout(
      () => reject(new Error(`conductor did not start:\n${text}`)),
      timeoutMs,
    ))),
  ]).finally(() => clearTimeout(timer))
  return { child, http, output: () => text, exited }
}
