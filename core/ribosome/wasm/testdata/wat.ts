/**
 * WAT → wasm for the tests, with the npm `wabt` package and every feature the rewriter
 * supports (and exception handling, so tests can check that it is refused).
 *
 * @module
 */
import wabtInit from "wabt"

const wabt = await wabtInit()

/**
 * Assembles WAT text into wasm bytes; throws on a syntax error. Validation is left to V8 (the
 * rewriter validates first), since wabt's validator rejects some features V8 accepts.
 * `names: true` writes a name section.
 */
export function wat(
  text: string,
  options: { readonly names?: boolean } = {},
): Uint8Array<ArrayBuffer> {
  const module = wabt.parseWat("fixture.wat", text, {
    simd: true,
    multi_value: true,
    bulk_memory: true,
    reference_types: true,
    tail_call: true,
    threads: true,
    exceptions: true,
    sat_float_to_int: true,
    sign_extension: true,
    mutable_globals: true,
    relaxed_simd: true,
    memory64: true,
  })
  try {
    module.resolveNames()
    const { buffer } = module.toBinary({ write_debug_names: options.names ?? false })
    return new Uint8Array(buffer)
  } finally {
    module.destroy()
  }
}
