/**
 * WebAssembly binary tools with no dependencies: inspecting a module's imports, exports and
 * memories, and instrumenting it with fuel metering and a memory cap. The `RibosomeStore` meters
 * wasm when it is stored; the ribosome's kernel runs the result.
 *
 * @module
 */
export * from "./instrument.ts"
