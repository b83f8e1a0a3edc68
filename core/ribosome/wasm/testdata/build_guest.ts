/**
 * Builds the AssemblyScript test guest (`testdata/assembly/guest.ts`, written against
 * `@extism/as-pdk`) with the AssemblyScript compiler API, for the tests and the benchmark.
 *
 * @module
 */
import asc from "assemblyscript/asc"

const here = new URL(".", import.meta.url).pathname
const assemblyDir = `${here}assembly`
const nodeModules = new URL("../../../../node_modules", import.meta.url).pathname

/**
 * Compiles the guest into `outDir` and returns the wasm bytes. The abort handler is the guest's
 * own (`--use abort=guest/abortHandler`): the kernel provides no `env.abort`.
 */
export async function buildGuest(outDir: string): Promise<Uint8Array<ArrayBuffer>> {
  const outFile = `${outDir}/guest.wasm`
  const result = await asc.main([
    "guest.ts",
    "--baseDir",
    assemblyDir,
    "--outFile",
    outFile,
    "--optimize",
    "--use",
    "abort=guest/abortHandler",
    "--path",
    nodeModules,
  ])
  if (result.error !== null) {
    throw new Error(`asc failed: ${result.error.message}\n${result.stderr.toString()}`)
  }
  return Deno.readFileSync(outFile)
}
