/**
 * The wasm rewriter of the ribosome: a dependency-free binary parser and rewriter that makes a
 * guest module safe to run in-process. It owns four things:
 *
 * - **fuel metering**: one mutable `i64` global, appended at the end of the global index space
 *   (no existing index shifts) and exported as {@link FUEL_EXPORT}, is decremented at every
 *   function entry and every `loop` header by a static count of the instructions of that
 *   straight-line region (the function body outside loops, or one loop's body outside nested
 *   loops; both arms of an `if` count, so fuel is an upper bound of what runs; a call to an
 *   imported function may be priced higher, `hostCallCost`), and before every bulk memory or
 *   table operation by its length (1 per byte or element, so `memory.fill` in a loop cannot run
 *   for hours on a small budget); when it goes below zero the guest calls the host through slot 0
 *   of an added one-slot table exported as {@link REFUEL_EXPORT} (`call_indirect`, so no
 *   function index shifts), and the host refills it, yields or traps;
 * - **a memory cap**: every memory the module defines gets `max = min(declared max, cap)`, a
 *   module whose initial memory exceeds the cap, that imports a memory or uses memory64 is
 *   refused;
 * - **a metered start**: the start section is removed and its function exported as
 *   {@link START_EXPORT}, so the host runs it after instantiation with fuel it can measure;
 * - **module facts**: the imports and exports (with function signatures) and memory limits, so
 *   callers can refuse unknown imports and find callable exports without a second parser.
 *
 * Every failure is a value ({@link InstrumentError}); nothing here throws to the caller.
 * The rewrite is a pure function of its inputs: the same bytes and options give the same output.
 *
 * @module
 */

/** Name of the exported fuel global that {@link instrumentWasm} adds. */
export const FUEL_EXPORT = "__conductor_fuel"

/**
 * Name of the exported one-slot `funcref` table that {@link instrumentWasm} adds. When the fuel
 * global goes below zero, the guest calls slot 0 of it (`call_indirect`, type `() -> ()`); the
 * host puts its refuel function there before running any guest code. A table appended at the
 * end of the table index space, rather than an added function import, shifts no function index.
 */
export const REFUEL_EXPORT = "__conductor_refuel"

/**
 * Name under which {@link instrumentWasm} exports the module's start function after removing
 * the start section, so the host runs it metered right after instantiation.
 */
export const START_EXPORT = "__conductor_start"

/** Wasm page size in bytes. */
export const WASM_PAGE_BYTES = 65536

/** A wasm value type this rewriter understands. */
export type ValType = "i32" | "i64" | "f32" | "f64" | "v128" | "funcref" | "externref"

/** A function signature. */
export interface FuncType {
  /** Parameter types. */
  readonly params: ReadonlyArray<ValType>
  /** Result types. */
  readonly results: ReadonlyArray<ValType>
}

/** The kind of an import or export. */
export type ExternKind = "function" | "table" | "memory" | "global" | "tag"

/** One import of a module; `type` is set for function imports. */
export interface WasmImport {
  /** Import module name (`extism:host/env`, `extism:host/user`, …). */
  readonly module: string
  /** Field name. */
  readonly name: string
  /** What is imported. */
  readonly kind: ExternKind
  /** The signature, for a function import. */
  readonly type?: FuncType
}

/** One export of a module; `type` is set for function exports. */
export interface WasmExport {
  /** Export name. */
  readonly name: string
  /** What is exported. */
  readonly kind: ExternKind
  /** The signature, for a function export. */
  readonly type?: FuncType
}

/** Limits of one memory defined by the module, in 64 KiB pages. */
export interface WasmMemoryLimits {
  /** Initial size in pages. */
  readonly initialPages: number
  /** `undefined` when the module declares no maximum (only possible before instrumentation). */
  readonly maximumPages: number | undefined
}

/** What a caller needs to know about a module before instantiating it. */
export interface WasmModuleInfo {
  /** Imports in declaration order. */
  readonly imports: ReadonlyArray<WasmImport>
  /** Exports in declaration order (after instrumentation: the module's own, without the fuel global). */
  readonly exports: ReadonlyArray<WasmExport>
  /** Memories the module defines (after instrumentation: with the capped maximum). */
  readonly memories: ReadonlyArray<WasmMemoryLimits>
  /** True when the module exports {@link FUEL_EXPORT} added by {@link instrumentWasm}. */
  readonly metered: boolean
  /**
   * Export the host must call (no arguments) right after instantiation: the module's start
   * function, moved out of the start section by {@link instrumentWasm}. `undefined` when there
   * is none or the module was only inspected (its start section then runs at instantiation).
   */
  readonly start: string | undefined
}

/** Options of {@link instrumentWasm}. */
export interface InstrumentOptions {
  /** Cap on every defined memory, in 64 KiB pages (0..65536). */
  readonly maxMemoryPages: number
  /**
   * Initial value of the fuel global. It bounds the module's start function and any
   * `_initialize` the host runs at instantiation; callers reset it before every call.
   */
  readonly initialFuel: bigint
  /**
   * Fuel charged for one call to an imported (host or kernel) function, instead of 1, so that
   * fuel tracks wall time in guests that loop over host calls (a kernel call costs tens of
   * nanoseconds, a wasm instruction well under one).
   * @default 1
   */
  readonly hostCallCost?: number
}

/** Successful result of {@link instrumentWasm}: the rewritten bytes plus the module facts. */
export interface InstrumentedWasm extends WasmModuleInfo {
  /** Discriminant. */
  readonly _tag: "Instrumented"
  /** The rewritten module. */
  readonly bytes: Uint8Array<ArrayBuffer>
  /** Number of fuel checks inserted (function entries, loop headers, bulk operations). */
  readonly fuelChecks: number
}

/** Successful result of {@link inspectWasm}. */
export interface InspectedWasm extends WasmModuleInfo {
  /** Discriminant. */
  readonly _tag: "Inspected"
}

/** Why a module was refused. */
export type InstrumentErrorReason =
  | "invalid_wasm"
  | "unsupported_feature"
  | "reserved_export_taken"
  | "memory_too_large"
  | "imported_memory"
  | "invalid_options"

/** A module the rewriter refuses, with a message that names the problem. */
export interface InstrumentError {
  /** Discriminant. */
  readonly _tag: "InstrumentError"
  /** Why the module was refused. */
  readonly reason: InstrumentErrorReason
  /** What is wrong, naming the section, function, opcode or number involved. */
  readonly message: string
}

/** Thrown inside the parser, turned into an {@link InstrumentError} at the public boundary. */
class ParseFailure extends Error {
  constructor(readonly reason: InstrumentErrorReason, message: string) {
    super(message)
    this.name = "ParseFailure"
  }
}

function fail(reason: InstrumentErrorReason, message: string): never {
  throw new ParseFailure(reason, message)
}

function unsupported(what: string): never {
  return fail("unsupported_feature", `unsupported wasm feature: ${what}`)
}

function hex(n: number): string {
  return "0x" + n.toString(16).padStart(2, "0")
}

// ---------------------------------------------------------------------------------------------
// Reading

const textDecoder = new TextDecoder("utf-8", { fatal: true })

class Reader {
  pos: number
  constructor(readonly bytes: Uint8Array, pos = 0, readonly end = bytes.length) {
    this.pos = pos
  }

  u8(): number {
    if (this.pos >= this.end) fail("invalid_wasm", `unexpected end of data at byte ${this.pos}`)
    return this.bytes[this.pos++]!
  }

  /** Unsigned LEB128 up to 2^53 (enough for every u32/u64 count, index and limit we read). */
  uleb(): number {
    let result = 0
    let scale = 1
    for (let i = 0; i < 10; i++) {
      const b = this.u8()
      result += (b & 0x7f) * scale
      if ((b & 0x80) === 0) return result
      scale *= 128
    }
    return fail("invalid_wasm", `LEB128 integer too long at byte ${this.pos}`)
  }

  /** Signed LEB128 that fits in a JS number (used for s33 block types). */
  sleb(): number {
    let result = 0
    let scale = 1
    for (let i = 0; i < 10; i++) {
      const b = this.u8()
      result += (b & 0x7f) * scale
      scale *= 128
      if ((b & 0x80) === 0) return (b & 0x40) !== 0 ? result - scale : result
    }
    return fail("invalid_wasm", `LEB128 integer too long at byte ${this.pos}`)
  }

  /** Skips one LEB128 integer of any width. */
  skipLeb(): void {
    for (let i = 0; i < 10; i++) if ((this.u8() & 0x80) === 0) return
    fail("invalid_wasm", `LEB128 integer too long at byte ${this.pos}`)
  }

  skip(n: number): void {
    if (this.pos + n > this.end) fail("invalid_wasm", `unexpected end of data at byte ${this.pos}`)
    this.pos += n
  }

  name(): string {
    const len = this.uleb()
    const start = this.pos
    this.skip(len)
    try {
      return textDecoder.decode(this.bytes.subarray(start, start + len))
    } catch {
      return fail("invalid_wasm", `name at byte ${start} is not valid UTF-8`)
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Writing

function uleb(n: number): number[] {
  const out: number[] = []
  do {
    let b = n % 128
    n = Math.floor(n / 128)
    if (n !== 0) b |= 0x80
    out.push(b)
  } while (n !== 0)
  return out
}

function sleb64(value: bigint): number[] {
  const out: number[] = []
  let v = value
  for (;;) {
    const b = Number(v & 0x7fn)
    v >>= 7n
    const done = (v === 0n && (b & 0x40) === 0) || (v === -1n && (b & 0x40) !== 0)
    out.push(done ? b : b | 0x80)
    if (done) return out
  }
}

function nameBytes(s: string): Uint8Array {
  const utf8 = new TextEncoder().encode(s)
  return concat([Uint8Array.from(uleb(utf8.length)), utf8])
}

function concat(parts: ReadonlyArray<Uint8Array>): Uint8Array<ArrayBuffer> {
  let total = 0
  for (const p of parts) total += p.length
  const out = new Uint8Array(total)
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

function section(id: number, payload: ReadonlyArray<Uint8Array>): Uint8Array {
  let size = 0
  for (const p of payload) size += p.length
  return concat([Uint8Array.of(id, ...uleb(size)), ...payload])
}

// ---------------------------------------------------------------------------------------------
// Module structure

const SECTION_RANK: Readonly<Record<number, number>> = {
  1: 1, // type
  2: 2, // import
  3: 3, // function
  4: 4, // table
  5: 5, // memory
  13: 6, // tag
  6: 7, // global
  7: 8, // export
  8: 9, // start
  9: 10, // element
  12: 11, // data count
  10: 12, // code
  11: 13, // data
}

const ID_TYPE = 1
const ID_TABLE = 4
const ID_GLOBAL = 6
const ID_EXPORT = 7

interface RawSection {
  readonly id: number
  /** Where the section id byte sits. */
  readonly headerStart: number
  /** Payload start (after id and size). */
  readonly start: number
  readonly end: number
}

const VALTYPE: Readonly<Record<number, ValType>> = {
  0x7f: "i32",
  0x7e: "i64",
  0x7d: "f32",
  0x7c: "f64",
  0x7b: "v128",
  0x70: "funcref",
  0x6f: "externref",
}

const EXTERN_KIND: ReadonlyArray<ExternKind> = ["function", "table", "memory", "global", "tag"]

function readValType(r: Reader, where: string): ValType {
  const b = r.u8()
  const t = VALTYPE[b]
  if (t === undefined) {
    if (b === 0x63 || b === 0x64) {
      unsupported(`typed function references (value type ${hex(b)} in ${where})`)
    }
    unsupported(`value type ${hex(b)} in ${where}`)
  }
  return t
}

interface Limits {
  readonly flags: number
  readonly min: number
  readonly max: number | undefined
}

function readLimits(r: Reader): Limits {
  const flags = r.u8()
  const min = r.uleb()
  const max = (flags & 0x01) !== 0 ? r.uleb() : undefined
  return { flags, min, max }
}

/** Everything parsed from the non-code sections. */
interface ModuleParts {
  readonly sections: ReadonlyArray<RawSection>
  readonly types: ReadonlyArray<FuncType>
  readonly imports: ReadonlyArray<WasmImport>
  readonly exports: ReadonlyArray<WasmExport & { readonly index: number }>
  readonly importedFunctions: number
  readonly importedGlobals: number
  readonly definedGlobals: number
  /** Type index of every function, imported first. */
  readonly functionTypes: ReadonlyArray<number>
  readonly memories: ReadonlyArray<Limits>
  /** Limit flags of every table, imported first. */
  readonly tableFlags: ReadonlyArray<number>
  /** Function index of the start function, if any. */
  readonly start: number | undefined
}

function parseModule(bytes: Uint8Array): ModuleParts {
  if (
    bytes.length < 8 || bytes[0] !== 0x00 || bytes[1] !== 0x61 || bytes[2] !== 0x73 ||
    bytes[3] !== 0x6d
  ) {
    fail("invalid_wasm", "not a wasm module (bad magic number)")
  }
  if (bytes[4] !== 1 || bytes[5] !== 0 || bytes[6] !== 0 || bytes[7] !== 0) {
    fail("invalid_wasm", "unsupported wasm binary version (only version 1 modules are accepted)")
  }
  const r = new Reader(bytes, 8)
  const sections: RawSection[] = []
  const types: FuncType[] = []
  const imports: WasmImport[] = []
  const exports: Array<WasmExport & { index: number }> = []
  const functionTypes: number[] = []
  const memories: Limits[] = []
  const tableFlags: number[] = []
  let importedFunctions = 0
  let importedGlobals = 0
  let definedGlobals = 0
  let startFunction: number | undefined

  while (r.pos < bytes.length) {
    const headerStart = r.pos
    const id = r.u8()
    const size = r.uleb()
    const start = r.pos
    r.skip(size)
    const end = r.pos
    sections.push({ id, headerStart, start, end })
    const s = new Reader(bytes, start, end)
    switch (id) {
      case 1: {
        const n = s.uleb()
        for (let i = 0; i < n; i++) {
          const form = s.u8()
          if (form !== 0x60) {
            unsupported(`GC type definitions (type form ${hex(form)} in type ${i})`)
          }
          const params: ValType[] = []
          const results: ValType[] = []
          const np = s.uleb()
          for (let j = 0; j < np; j++) params.push(readValType(s, `type ${i}`))
          const nr = s.uleb()
          for (let j = 0; j < nr; j++) results.push(readValType(s, `type ${i}`))
          types.push({ params, results })
        }
        break
      }
      case 2: {
        const n = s.uleb()
        for (let i = 0; i < n; i++) {
          const module = s.name()
          const name = s.name()
          const kindByte = s.u8()
          const kind = EXTERN_KIND[kindByte]
          if (kind === undefined) {
            fail("invalid_wasm", `import ${module}::${name} has kind ${hex(kindByte)}`)
          }
          switch (kind) {
            case "function": {
              const typeIndex = s.uleb()
              const type = types[typeIndex]
              if (type === undefined) {
                fail("invalid_wasm", `import ${module}::${name} uses unknown type ${typeIndex}`)
              }
              functionTypes.push(typeIndex)
              importedFunctions++
              imports.push({ module, name, kind, type })
              break
            }
            case "table":
              readValType(s, `import ${module}::${name}`)
              tableFlags.push(readLimits(s).flags)
              imports.push({ module, name, kind })
              break
            case "memory":
              readLimits(s)
              imports.push({ module, name, kind })
              break
            case "global":
              readValType(s, `import ${module}::${name}`)
              s.u8()
              importedGlobals++
              imports.push({ module, name, kind })
              break
            case "tag":
              s.u8()
              s.uleb()
              imports.push({ module, name, kind })
              break
          }
        }
        break
      }
      case 3: {
        const n = s.uleb()
        for (let i = 0; i < n; i++) functionTypes.push(s.uleb())
        break
      }
      case 4: {
        const n = s.uleb()
        for (let i = 0; i < n; i++) {
          if (s.bytes[s.pos] === 0x40) unsupported(`table ${tableFlags.length} with an initialiser`)
          readValType(s, `table ${tableFlags.length}`)
          tableFlags.push(readLimits(s).flags)
        }
        break
      }
      case 5: {
        const n = s.uleb()
        for (let i = 0; i < n; i++) memories.push(readLimits(s))
        break
      }
      case 6:
        definedGlobals = s.uleb()
        break
      case 8:
        startFunction = s.uleb()
        break
      case 7: {
        const n = s.uleb()
        for (let i = 0; i < n; i++) {
          const name = s.name()
          const kindByte = s.u8()
          const kind = EXTERN_KIND[kindByte]
          if (kind === undefined) fail("invalid_wasm", `export ${name} has kind ${hex(kindByte)}`)
          const index = s.uleb()
          if (kind === "function") {
            const type = types[functionTypes[index] ?? -1]
            if (type === undefined) {
              fail("invalid_wasm", `export ${name} names unknown function ${index}`)
            }
            exports.push({ name, kind, index, type })
          } else {
            exports.push({ name, kind, index })
          }
        }
        break
      }
      default:
        break
    }
  }
  return {
    sections,
    types,
    imports,
    exports,
    importedFunctions,
    importedGlobals,
    definedGlobals,
    functionTypes,
    memories,
    tableFlags,
    start: startFunction,
  }
}

/** `bytes` as a `BufferSource` for the WebAssembly API (copied only if it views a shared buffer). */
function bufferSource(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes.buffer instanceof ArrayBuffer
    ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    : new Uint8Array(bytes)
}

function validateFirst(input: Uint8Array): void {
  const bytes = bufferSource(input)
  let valid = false
  try {
    valid = WebAssembly.validate(bytes)
  } catch {
    valid = false
  }
  if (valid) return
  let detail = "WebAssembly.validate rejected it"
  try {
    new WebAssembly.Module(bytes)
  } catch (e) {
    if (e instanceof Error) detail = e.message
  }
  fail("invalid_wasm", `invalid wasm module: ${detail}`)
}

function checkFeatures(parts: ModuleParts): void {
  for (const s of parts.sections) {
    if (s.id === 13) unsupported("exception handling (tag section)")
  }
  for (const i of parts.imports) {
    if (i.kind === "memory") {
      fail(
        "imported_memory",
        `the module imports a memory (${i.module}::${i.name}); a guest must define its own memory`,
      )
    }
    if (i.kind === "tag") unsupported(`exception handling (imported tag ${i.module}::${i.name})`)
  }
  parts.tableFlags.forEach((flags, i) => {
    if ((flags & 0x04) !== 0) unsupported(`table64 (table ${i})`)
  })
  parts.memories.forEach((m, i) => {
    if ((m.flags & 0x04) !== 0) unsupported(`memory64 (memory ${i})`)
    if ((m.flags & ~0x03) !== 0) unsupported(`memory ${i} has limit flags ${hex(m.flags)}`)
  })
}

function info(
  parts: ModuleParts,
  memories: ReadonlyArray<WasmMemoryLimits>,
  metered: boolean,
  start: string | undefined,
): WasmModuleInfo {
  return {
    imports: parts.imports,
    exports: parts.exports.map((
      { name, kind, type },
    ) => (type === undefined ? { name, kind } : { name, kind, type })),
    memories,
    metered,
    start,
  }
}

function toError(e: unknown): InstrumentError {
  if (e instanceof ParseFailure) {
    return { _tag: "InstrumentError", reason: e.reason, message: e.message }
  }
  const message = e instanceof Error ? e.message : String(e)
  return {
    _tag: "InstrumentError",
    reason: "invalid_wasm",
    message: `invalid wasm module: ${message}`,
  }
}

/**
 * Reads a module's imports, exports and memories without rewriting it (for modules that run
 * unmetered, such as benchmarks and oracles). The module is validated first.
 *
 * @example
 * ```ts
 * const inspected = inspectWasm(bytes)
 * if (inspected._tag === "Inspected") console.log(inspected.imports)
 * ```
 */
export function inspectWasm(bytes: Uint8Array): InspectedWasm | InstrumentError {
  try {
    validateFirst(bytes)
    const parts = parseModule(bytes)
    const memories = parts.memories.map((m) => ({ initialPages: m.min, maximumPages: m.max }))
    const metered = parts.exports.some((e) => e.name === FUEL_EXPORT && e.kind === "global")
    return { _tag: "Inspected", ...info(parts, memories, metered, undefined) }
  } catch (e) {
    return toError(e)
  }
}

// ---------------------------------------------------------------------------------------------
// Code rewriting

const OP_LOCAL_GET = 0x20
const OP_LOCAL_SET = 0x21
const OP_I64_EXTEND_I32_U = 0xad
const OP_GLOBAL_GET = 0x23
const OP_GLOBAL_SET = 0x24
const OP_I64_CONST = 0x42
const OP_I64_SUB = 0x7d
const OP_I64_LT_S = 0x53
const OP_IF = 0x04
const OP_END = 0x0b
const OP_I32_CONST = 0x41
const OP_CALL_INDIRECT = 0x11
const BLOCKTYPE_EMPTY = 0x40

/** Where the refuel call goes: the added `() -> ()` type and the added one-slot table. */
interface RefuelTarget {
  readonly fuelGlobal: number
  readonly type: number
  readonly table: number
}

/**
 * The end of every charge, with the new fuel on the stack: `global.set g; global.get g;
 * i64.const 0; i64.lt_s; if; i32.const 0; call_indirect type table; end`.
 */
function storeFuelRefuelIfNegative(target: RefuelTarget): number[] {
  const g = uleb(target.fuelGlobal)
  return [
    OP_GLOBAL_SET,
    ...g,
    OP_GLOBAL_GET,
    ...g,
    OP_I64_CONST,
    0,
    OP_I64_LT_S,
    OP_IF,
    BLOCKTYPE_EMPTY,
    OP_I32_CONST,
    0,
    OP_CALL_INDIRECT,
    ...uleb(target.type),
    ...uleb(target.table),
    OP_END,
  ]
}

/**
 * Builds fuel charges for one module: `fuel -= cost; if (fuel < 0) refuel()`, i.e.
 * `global.get g; i64.const cost; i64.sub; global.set g; global.get g; i64.const 0; i64.lt_s;
 * if; i32.const 0; call_indirect; end`. Only the cost's LEB bytes differ between charges.
 */
function chargeBuilder(target: RefuelTarget): (cost: number) => Uint8Array {
  const g = uleb(target.fuelGlobal)
  const head = Uint8Array.from([OP_GLOBAL_GET, ...g, OP_I64_CONST])
  const tail = Uint8Array.from([OP_I64_SUB, ...storeFuelRefuelIfNegative(target)])
  return (cost) => {
    const leb = sleb64(BigInt(cost))
    const out = new Uint8Array(head.length + leb.length + tail.length)
    out.set(head)
    out.set(leb, head.length)
    out.set(tail, head.length + leb.length)
    return out
  }
}

/**
 * Builds the dynamic charge placed before a bulk memory or table operation, whose last operand
 * (an i32 length) is on top of the stack: 1 fuel per byte or element. It parks the length in a
 * scratch local, charges it, and puts it back.
 */
function bulkChargeBuilder(target: RefuelTarget): (scratch: number) => Uint8Array {
  const g = uleb(target.fuelGlobal)
  return (scratch) => {
    const l = uleb(scratch)
    return Uint8Array.from([
      OP_LOCAL_SET,
      ...l,
      OP_GLOBAL_GET,
      ...g,
      OP_LOCAL_GET,
      ...l,
      OP_I64_EXTEND_I32_U,
      OP_I64_SUB,
      ...storeFuelRefuelIfNegative(target),
      OP_LOCAL_GET,
      ...l,
    ])
  }
}

/** Result of scanning one function body. */
interface BodyScan {
  /** Instruction count of each region: [0] = the function body outside loops, then one per loop. */
  readonly costs: number[]
  /**
   * Where to insert charges, in input order: after a loop header (`region` >= 1, a static
   * charge), or before a bulk memory/table operation (`region` = -1, a charge of its length).
   */
  readonly inserts: Array<{ readonly at: number; readonly region: number }>
  /** Loop headers among `inserts`. */
  readonly loops: number
}

function readBlockType(r: Reader, fn: number): void {
  const b = r.bytes[r.pos]
  if (b === BLOCKTYPE_EMPTY || (b !== undefined && VALTYPE[b] !== undefined)) {
    r.pos++
    return
  }
  const index = r.sleb()
  if (index < 0) unsupported(`block type ${hex(b ?? 0)} at function ${fn}`)
}

function readMemarg(r: Reader): void {
  const flags = r.uleb()
  if ((flags & 0x40) !== 0) r.uleb() // multi-memory: explicit memory index
  r.skipLeb() // offset
}

function opError(op: string, fn: number, what?: string): never {
  return unsupported(`opcode ${op}${what === undefined ? "" : ` (${what})`} at function ${fn}`)
}

/** `region` of an insert that charges a bulk operation's length. */
const BULK = -1

/** How instructions are priced. */
interface Pricing {
  /** Functions below this index are imports: a call to one costs `hostCallCost`. */
  readonly importedFunctions: number
  readonly hostCallCost: number
}

/**
 * Decodes one function body's instructions from `r.pos` to `r.end`, counting instructions per
 * straight-line region and recording where each loop body starts.
 */
function scanBody(r: Reader, fn: number, pricing: Pricing): BodyScan {
  const costs = [0]
  const inserts: Array<{ at: number; region: number }> = []
  let loops = 0
  // Region charged by each open control frame; the function frame is region 0.
  const frames = [0]
  let region = 0
  const bytes = r.bytes
  while (r.pos < r.end) {
    const opStart = r.pos
    const op = bytes[r.pos++]!
    costs[region]!++
    if (op >= 0x45 && op <= 0xc4) continue // numeric, sign-extension: no immediates
    switch (op) {
      case 0x00: // unreachable
      case 0x01: // nop
      case 0x05: // else
      case 0x0f: // return
      case 0x1a: // drop
      case 0x1b: // select
      case 0xd1: // ref.is_null
        break
      case 0x02: // block
      case 0x04: // if
        readBlockType(r, fn)
        frames.push(region)
        break
      case 0x03: { // loop
        readBlockType(r, fn)
        region = costs.length
        costs.push(0)
        inserts.push({ at: r.pos, region })
        loops++
        frames.push(region)
        break
      }
      case 0x0b: // end
        frames.pop()
        region = frames[frames.length - 1] ?? 0
        if (frames.length === 0 && r.pos !== r.end) {
          fail("invalid_wasm", `function ${fn} has code after its final end`)
        }
        break
      case 0x10: // call
      case 0x12: // return_call
        if (r.uleb() < pricing.importedFunctions) costs[region]! += pricing.hostCallCost - 1
        break
      case 0x0c: // br
      case 0x0d: // br_if
      case 0x20: // local.get
      case 0x21: // local.set
      case 0x22: // local.tee
      case 0x23: // global.get
      case 0x24: // global.set
      case 0x25: // table.get
      case 0x26: // table.set
      case 0xd2: // ref.func
        r.uleb()
        break
      case 0x0e: { // br_table
        const n = r.uleb()
        for (let i = 0; i <= n; i++) r.uleb()
        break
      }
      case 0x11: // call_indirect
      case 0x13: // return_call_indirect
        r.uleb()
        r.uleb()
        break
      case 0x1c: { // select t*
        const n = r.uleb()
        for (let i = 0; i < n; i++) readValType(r, `select at function ${fn}`)
        break
      }
      case 0x3f: // memory.size
      case 0x40: // memory.grow
        r.uleb()
        break
      case 0x41: // i32.const
      case 0x42: // i64.const
        r.skipLeb()
        break
      case 0x43: // f32.const
        r.skip(4)
        break
      case 0x44: // f64.const
        r.skip(8)
        break
      case 0xd0: { // ref.null
        const ht = r.u8()
        if (ht !== 0x70 && ht !== 0x6f) opError("0xd0", fn, `ref.null with heap type ${hex(ht)}`)
        break
      }
      case 0xfc:
        if (scanFc(r, fn)) inserts.push({ at: opStart, region: BULK })
        break
      case 0xfd:
        scanSimd(r, fn)
        break
      case 0xfe:
        scanAtomic(r, fn)
        break
      case 0x06:
      case 0x07:
      case 0x08:
      case 0x09:
      case 0x0a:
      case 0x18:
      case 0x19:
      case 0x1f:
        opError(hex(op), fn, "exception handling")
        break
      case 0x14:
      case 0x15:
      case 0xd3:
      case 0xd4:
      case 0xd5:
      case 0xd6:
        opError(hex(op), fn, "typed function references")
        break
      case 0xfb:
        opError(hex(op), fn, "garbage collection")
        break
      default:
        if (op >= 0x28 && op <= 0x3e) {
          readMemarg(r) // loads and stores
          break
        }
        opError(hex(op), fn)
    }
  }
  if (frames.length !== 0) fail("invalid_wasm", `function ${fn} has no final end`)
  return { costs, inserts, loops }
}

/** Decodes a 0xFC instruction; true for a bulk operation whose length operand is charged. */
function scanFc(r: Reader, fn: number): boolean {
  const sub = r.uleb()
  if (sub <= 7) return false // non-trapping float-to-int
  switch (sub) {
    case 8: // memory.init dataidx memidx
    case 10: // memory.copy memidx memidx
    case 12: // table.init elemidx tableidx
    case 14: // table.copy tableidx tableidx
      r.uleb()
      r.uleb()
      return true
    case 11: // memory.fill memidx
    case 17: // table.fill tableidx
      r.uleb()
      return true
    case 9: // data.drop
    case 13: // elem.drop
    case 15: // table.grow
    case 16: // table.size
      r.uleb()
      return false
    default:
      return opError(`0xfc ${sub}`, fn)
  }
}

function scanSimd(r: Reader, fn: number): void {
  const sub = r.uleb()
  if (sub <= 0x0b || sub === 0x5c || sub === 0x5d) {
    readMemarg(r) // v128 loads/stores, load32_zero, load64_zero
    return
  }
  if (sub === 0x0c || sub === 0x0d) {
    r.skip(16) // v128.const, i8x16.shuffle
    return
  }
  if (sub >= 0x15 && sub <= 0x22) {
    r.skip(1) // extract_lane / replace_lane
    return
  }
  if (sub >= 0x54 && sub <= 0x5b) {
    readMemarg(r) // load_lane / store_lane
    r.skip(1)
    return
  }
  if (
    (sub >= 0x0e && sub <= 0x14) || (sub >= 0x23 && sub <= 0x53) || (sub >= 0x5e && sub <= 0xff)
  ) {
    return
  }
  if (sub >= 0x100 && sub <= 0x113) {
    opError(`0xfd ${hex(sub)}`, fn, "relaxed SIMD, not deterministic")
  }
  opError(`0xfd ${hex(sub)}`, fn)
}

function scanAtomic(r: Reader, fn: number): void {
  const sub = r.uleb()
  if (sub === 0x03) {
    r.skip(1) // atomic.fence
    return
  }
  if (sub === 0x01 || sub === 0x02) {
    // A wait on a shared memory nobody notifies blocks the host thread without using fuel.
    opError(`0xfe ${hex(sub)}`, fn, "memory.atomic.wait blocks the host thread")
  }
  if (sub === 0x00 || (sub >= 0x10 && sub <= 0x4e)) {
    readMemarg(r)
    return
  }
  opError(`0xfe ${hex(sub)}`, fn)
}

/** Rewrites the code section, returning its new payload and the number of checks inserted. */
function rewriteCode(
  bytes: Uint8Array,
  sec: RawSection,
  parts: ModuleParts,
  pricing: Pricing,
  target: RefuelTarget,
): { payload: Uint8Array[]; checks: number } {
  const charge = chargeBuilder(target)
  const bulkCharge = bulkChargeBuilder(target)
  const r = new Reader(bytes, sec.start, sec.end)
  const count = r.uleb()
  const payload: Uint8Array[] = [Uint8Array.from(uleb(count))]
  let checks = 0
  for (let i = 0; i < count; i++) {
    const fn = pricing.importedFunctions + i
    const size = r.uleb()
    const bodyStart = r.pos
    const bodyEnd = bodyStart + size
    if (bodyEnd > sec.end) fail("invalid_wasm", `function ${fn} body runs past the code section`)
    const body = new Reader(bytes, bodyStart, bodyEnd)
    const groups = body.uleb()
    const groupsStart = body.pos
    let locals = parts.types[parts.functionTypes[fn] ?? -1]?.params.length ?? 0
    for (let g = 0; g < groups; g++) {
      locals += body.uleb()
      readValType(body, `locals of function ${fn}`)
    }
    const codeStart = body.pos
    const scan = scanBody(body, fn, pricing)
    const bulk = scan.inserts.length > scan.loops
    // A function with bulk operations gets one more i32 local: the scratch slot for lengths.
    const out: Uint8Array[] = bulk
      ? [
        Uint8Array.from(uleb(groups + 1)),
        bytes.subarray(groupsStart, codeStart),
        Uint8Array.of(0x01, 0x7f),
      ]
      : [bytes.subarray(bodyStart, codeStart)]
    out.push(charge(Math.max(1, scan.costs[0]!)))
    let at = codeStart
    for (const insert of scan.inserts) {
      out.push(
        bytes.subarray(at, insert.at),
        insert.region === BULK
          ? bulkCharge(locals)
          : charge(Math.max(1, scan.costs[insert.region]!)),
      )
      at = insert.at
    }
    out.push(bytes.subarray(at, bodyEnd))
    checks += 1 + scan.inserts.length
    let newSize = 0
    for (const p of out) newSize += p.length
    payload.push(Uint8Array.from(uleb(newSize)), ...out)
    r.pos = bodyEnd
  }
  return { payload, checks }
}

function capMemories(parts: ModuleParts, maxPages: number): WasmMemoryLimits[] {
  return parts.memories.map((m, i) => {
    if (m.min > maxPages) {
      fail(
        "memory_too_large",
        `memory ${i} declares ${m.min} initial pages, more than the cap of ${maxPages} pages`,
      )
    }
    return { initialPages: m.min, maximumPages: Math.min(m.max ?? Infinity, maxPages) }
  })
}

function memorySection(parts: ModuleParts, limits: ReadonlyArray<WasmMemoryLimits>): Uint8Array {
  const out: number[] = [...uleb(limits.length)]
  limits.forEach((l, i) => {
    const shared = (parts.memories[i]!.flags & 0x02) !== 0
    out.push(shared ? 0x03 : 0x01, ...uleb(l.initialPages), ...uleb(l.maximumPages ?? 0))
  })
  return section(5, [Uint8Array.from(out)])
}

function globalSection(
  bytes: Uint8Array,
  existing: RawSection | undefined,
  count: number,
  fuel: bigint,
): Uint8Array {
  const fuelGlobal = Uint8Array.from([0x7e, 0x01, OP_I64_CONST, ...sleb64(fuel), OP_END])
  if (existing === undefined) return section(ID_GLOBAL, [Uint8Array.from(uleb(1)), fuelGlobal])
  const r = new Reader(bytes, existing.start, existing.end)
  r.uleb()
  return section(ID_GLOBAL, [
    Uint8Array.from(uleb(count + 1)),
    bytes.subarray(r.pos, existing.end),
    fuelGlobal,
  ])
}

/** A section with `count` existing entries (or none) followed by `added` entries. */
function appendToSection(
  id: number,
  bytes: Uint8Array,
  existing: RawSection | undefined,
  added: ReadonlyArray<Uint8Array>,
): Uint8Array {
  if (existing === undefined) return section(id, [Uint8Array.from(uleb(added.length)), ...added])
  const r = new Reader(bytes, existing.start, existing.end)
  const count = r.uleb()
  return section(id, [
    Uint8Array.from(uleb(count + added.length)),
    bytes.subarray(r.pos, existing.end),
    ...added,
  ])
}

/** The refuel function's type, `() -> ()`, appended to the type section. */
const REFUEL_TYPE = Uint8Array.of(0x60, 0x00, 0x00)
/** The refuel table: `funcref`, exactly one slot. */
const REFUEL_TABLE = Uint8Array.of(0x70, 0x01, 0x01, 0x01)

function exportSection(
  bytes: Uint8Array,
  existing: RawSection | undefined,
  target: RefuelTarget,
  start: number | undefined,
): Uint8Array {
  const added = [
    concat([nameBytes(FUEL_EXPORT), Uint8Array.of(0x03, ...uleb(target.fuelGlobal))]),
    concat([nameBytes(REFUEL_EXPORT), Uint8Array.of(0x01, ...uleb(target.table))]),
  ]
  if (start !== undefined) {
    added.push(concat([nameBytes(START_EXPORT), Uint8Array.of(0x00, ...uleb(start))]))
  }
  return appendToSection(ID_EXPORT, bytes, existing, added)
}

function checkOptions(options: InstrumentOptions): void {
  const { maxMemoryPages, initialFuel, hostCallCost = 1 } = options
  if (!Number.isInteger(maxMemoryPages) || maxMemoryPages < 0 || maxMemoryPages > 65536) {
    fail("invalid_options", `maxMemoryPages must be an integer in 0..65536, got ${maxMemoryPages}`)
  }
  if (initialFuel < 0n || initialFuel > 0x7fff_ffff_ffff_ffffn) {
    fail("invalid_options", `initialFuel must be in 0..2^63-1, got ${initialFuel}`)
  }
  if (!Number.isSafeInteger(hostCallCost) || hostCallCost < 1 || hostCallCost > 1_000_000) {
    fail("invalid_options", `hostCallCost must be an integer in 1..1000000, got ${hostCallCost}`)
  }
}

/**
 * Validates `bytes` and rewrites them with fuel metering and a memory cap (see the module doc).
 *
 * @example
 * ```ts
 * const result = instrumentWasm(bytes, { maxMemoryPages: 256, initialFuel: 10_000_000n })
 * if (result._tag === "InstrumentError") throw new Error(result.message)
 * const module = new WebAssembly.Module(result.bytes)
 * ```
 */
export function instrumentWasm(
  bytes: Uint8Array,
  options: InstrumentOptions,
): InstrumentedWasm | InstrumentError {
  try {
    checkOptions(options)
    validateFirst(bytes)
    const parts = parseModule(bytes)
    checkFeatures(parts)
    for (const reserved of [FUEL_EXPORT, REFUEL_EXPORT, START_EXPORT]) {
      if (parts.exports.some((e) => e.name === reserved)) {
        fail(
          "reserved_export_taken",
          `the module already exports "${reserved}" (instrumented twice?)`,
        )
      }
    }
    const memories = capMemories(parts, options.maxMemoryPages)
    const target: RefuelTarget = {
      fuelGlobal: parts.importedGlobals + parts.definedGlobals,
      type: parts.types.length,
      table: parts.tableFlags.length,
    }
    const globalSec = parts.sections.find((s) => s.id === ID_GLOBAL)
    const exportSec = parts.sections.find((s) => s.id === ID_EXPORT)

    const out: Uint8Array[] = [bytes.subarray(0, 8)]
    let checks = 0
    let typeDone = false
    let tableDone = false
    let globalDone = false
    let exportDone = false
    const emitPending = (rank: number) => {
      if (!typeDone && rank > SECTION_RANK[ID_TYPE]!) {
        out.push(appendToSection(ID_TYPE, bytes, undefined, [REFUEL_TYPE]))
        typeDone = true
      }
      if (!tableDone && rank > SECTION_RANK[ID_TABLE]!) {
        out.push(appendToSection(ID_TABLE, bytes, undefined, [REFUEL_TABLE]))
        tableDone = true
      }
      if (!globalDone && rank > SECTION_RANK[ID_GLOBAL]!) {
        out.push(globalSection(bytes, undefined, 0, options.initialFuel))
        globalDone = true
      }
      if (!exportDone && rank > SECTION_RANK[ID_EXPORT]!) {
        out.push(exportSection(bytes, undefined, target, parts.start))
        exportDone = true
      }
    }
    for (const sec of parts.sections) {
      const rank = SECTION_RANK[sec.id]
      if (rank !== undefined) emitPending(rank)
      switch (sec.id) {
        case ID_TYPE:
          out.push(appendToSection(ID_TYPE, bytes, sec, [REFUEL_TYPE]))
          typeDone = true
          break
        case ID_TABLE:
          out.push(appendToSection(ID_TABLE, bytes, sec, [REFUEL_TABLE]))
          tableDone = true
          break
        case 5:
          out.push(memorySection(parts, memories))
          break
        case ID_GLOBAL:
          out.push(globalSection(bytes, globalSec, parts.definedGlobals, options.initialFuel))
          globalDone = true
          break
        case ID_EXPORT:
          out.push(exportSection(bytes, exportSec, target, parts.start))
          exportDone = true
          break
        case 8: // start: moved to an export the host calls metered
          break
        case 10: {
          const code = rewriteCode(bytes, sec, parts, {
            importedFunctions: parts.importedFunctions,
            hostCallCost: options.hostCallCost ?? 1,
          }, target)
          checks = code.checks
          out.push(section(10, code.payload))
          break
        }
        default:
          out.push(bytes.subarray(sec.headerStart, sec.end))
      }
    }
    emitPending(Number.MAX_SAFE_INTEGER)
    const rewritten = concat(out)
    if (!WebAssembly.validate(rewritten)) {
      // A decoder bug must never produce a module that silently misbehaves.
      fail("invalid_wasm", "internal error: the rewritten module does not validate")
    }
    return {
      _tag: "Instrumented",
      bytes: rewritten,
      fuelChecks: checks,
      ...info(parts, memories, true, parts.start === undefined ? undefined : START_EXPORT),
    }
  } catch (e) {
    return toError(e)
  }
}
