/**
 * Keeps Effect from giving every suspended fiber a `node:async_hooks` `AsyncResource`. Import it
 * first in an entry point, before anything that imports `effect`: it has no imports of its own,
 * so it runs before Effect's modules do.
 *
 * Why (docs/decisions.md, "Long runs"): Effect 4.1.0 captures an `AsyncResource` each time a
 * fiber suspends and resumes the fiber inside it, so that `AsyncLocalStorage` values follow
 * fibers. On Deno 2.9 a resource created while another one's scope runs keeps that one alive
 * through its async-context snapshot, so a fiber that lives as long as the conductor (the nonce
 * flush every 100 ms, the signal delivery loop, every `Effect.forever`) builds a chain that is
 * never freed: about 0.9 KiB per suspension, 32 MiB an hour from the nonce flush alone, and two
 * suspensions per signal. The conductor uses no `AsyncLocalStorage`, so Effect loses nothing.
 *
 * Effect looks `AsyncResource` up once, when it loads, through
 * `process.getBuiltinModule("node:async_hooks")`; that lookup now answers the module without
 * `AsyncResource`. Everything else in the module (`AsyncLocalStorage` included) is unchanged.
 *
 * @module
 */

interface BuiltinModules {
  getBuiltinModule?: (id: string) => unknown
}

const host = (globalThis as { process?: BuiltinModules }).process
const original = host?.getBuiltinModule
if (host !== undefined && original !== undefined) {
  host.getBuiltinModule = function getBuiltinModule(id: string) {
    const builtin = original.call(host, id)
    if ((id !== "node:async_hooks" && id !== "async_hooks") || typeof builtin !== "object") {
      return builtin
    }
    return { ...builtin, AsyncResource: undefined }
  }
}
