/**
 * Makes sure `nats-server` is installed before the tests run (`deno task test` runs this first).
 * Found: prints where. Missing and running as root with apt-get: installs Debian's package.
 * Otherwise: exits 1 with the one command to run. The network tests never skip silently.
 *
 * @module
 */
import { findNatsServer, INSTALL_NATS_COMMAND } from "./nats.ts"

/** Bound of one apt-get run. */
const APT_TIMEOUT_MS = 300_000

async function run(command: string, args: ReadonlyArray<string>): Promise<boolean> {
  try {
    const child = new Deno.Command(command, {
      args: [...args],
      env: { DEBIAN_FRONTEND: "noninteractive" },
      stdin: "null",
      stdout: "inherit",
      stderr: "inherit",
    }).spawn()
    const timer = setTimeout(() => child.kill("SIGKILL"), APT_TIMEOUT_MS)
    const status = await child.status.finally(() => clearTimeout(timer))
    return status.success
  } catch {
    return false
  }
}

function isRoot(): boolean {
  try {
    return Deno.uid() === 0
  } catch {
    return false
  }
}

async function main(): Promise<number> {
  const found = findNatsServer()
  if (found !== null) {
    // deno-lint-ignore no-console
    console.log(`nats-server: ${found}`)
    return 0
  }
  if (isRoot()) {
    // deno-lint-ignore no-console
    console.log(`nats-server is missing; installing it: ${INSTALL_NATS_COMMAND}`)
    const apt = ["install", "-y", "--no-install-recommends", "nats-server"]
    // The package lists may be empty on a fresh machine: update once, then retry.
    if (!(await run("apt-get", apt))) {
      await run("apt-get", ["update"])
      await run("apt-get", apt)
    }
    const installed = findNatsServer()
    if (installed !== null) {
      // deno-lint-ignore no-console
      console.log(`nats-server: ${installed}`)
      return 0
    }
  }
  // deno-lint-ignore no-console
  console.error(
    `nats-server is not installed and could not be installed here; the network tests need it.\n` +
      `Run: ${INSTALL_NATS_COMMAND}   (as root, or with sudo)`,
  )
  return 1
}

if (import.meta.main) Deno.exit(await main())
