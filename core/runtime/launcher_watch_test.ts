import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict"
import { ROOT } from "../../tests/support/conductor.ts"
import { isLauncher } from "./launcher_watch.ts"

Deno.test("isLauncher knows npm exec, npx, sh -c and deno task, and not a user's shell", () => {
  const yes = [
    ["npm exec deno@2.9.6 task start"],
    ["/usr/bin/node", "/usr/lib/node_modules/npm/bin/npx-cli.js", "-y", "deno@2.9.6"],
    ["sh", "-c", "'deno' task start"],
    ["/bin/bash", "-c", "deno task start"],
    ["/home/u/.npm/_npx/x/node_modules/deno/deno", "task", "start"],
  ]
  const no = [
    ["-bash"],
    ["/bin/bash"],
    ["/usr/bin/zsh", "-l"],
    ["/sbin/init"],
    ["/usr/lib/systemd/systemd", "--user"],
    ["deno", "test", "-A"],
    ["/usr/bin/node", "server.js"],
    ["tmux"],
  ]
  assertEquals(yes.map(isLauncher), yes.map(() => true))
  assertEquals(no.map(isLauncher), no.map(() => false))
})

Deno.test({
  name: "conductor run stops when the sh -c that launched it is killed",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const dir = await Deno.makeTempDir()
    try {
      await Deno.writeTextFile(
        `${dir}/conductor.yaml`,
        "data_dir: d\nkeystore: {passphrase: p}\nadmin_interfaces: []\nhttp: {port: 0}\n",
      )
      // The shell stays the conductor's parent (as npm's `sh -c` does) and prints its pid.
      const script = `'${Deno.execPath()}' run -A '${ROOT}main.ts' run & echo "pid $!"; wait`
      const shell = new Deno.Command("sh", {
        args: ["-c", script],
        cwd: dir,
        stdout: "piped",
        stderr: "piped",
        env: { NO_COLOR: "1" },
      }).spawn()
      const timeout = AbortSignal.timeout(60_000)
      const out = { stdout: "", stderr: "" }
      // The conductor holds both pipes' write ends: both ending means it has exited.
      const closed = Promise.all(
        (["stdout", "stderr"] as const).map((key) =>
          shell[key].pipeThrough(new TextDecoderStream()).pipeTo(
            new WritableStream({ write: (chunk) => void (out[key] += chunk) }),
          )
        ),
      )
      const timedOut = new Promise<"timeout">((resolve) =>
        timeout.addEventListener("abort", () => resolve("timeout"))
      )
      const until = async (condition: () => boolean) => {
        while (!condition() && !timeout.aborted) {
          await Promise.race([new Promise((resolve) => setTimeout(resolve, 20)), timedOut])
        }
      }
      await until(() => out.stdout.includes("conductor ready "))
      const pid = Number(out.stdout.match(/^pid (\d+)$/m)?.[1])
      try {
        assert(out.stdout.includes("conductor ready "), out.stdout + out.stderr)
        shell.kill("SIGKILL")
        const outcome = await Promise.race([closed.then(() => "closed" as const), timedOut])
        assertEquals(outcome, "closed", `the conductor did not stop:\n${out.stdout}${out.stderr}`)
        assert(/that launched it \(\S*sh -c /.test(out.stderr), out.stdout + out.stderr)
        assert(out.stderr.includes("conductor stopped"), out.stderr)
      } finally {
        if (timeout.aborted && Number.isInteger(pid)) Deno.kill(pid, "SIGKILL")
        await shell.status
      }
    } finally {
      await Deno.remove(dir, { recursive: true })
    }
  },
})
