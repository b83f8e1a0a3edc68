/**
 * Callbacks (abi.md §5): `entry_defs`, `validate`, `genesis_self_check`, `init` and
 * `post_commit`. Each export in a zome is one line that hands a domain function to a runner here:
 *
 * ```ts
 * export function validate(): i32 { return validateWith(checkOp) }
 * ```
 *
 * Owns decoding callback inputs (`Op`, genesis input, committed actions) and encoding their
 * results. Zome code decides the outcome; it never sees the msgpack shapes.
 */
import { inputBytes, ok, okNil } from "./io"
import { checkDocument, decode, decodeError, setDecodeContext, Value, Writer } from "./msgpack"
import {
  failIn,
  fieldLaterMap,
  fieldNonNil,
  fieldString,
  fieldStringOpt,
  Kind,
  scanMap,
} from "./scan"
import { dnaInfo, zomeInfo } from "./hdk"
import {
  Action,
  AgentPubKey,
  DnaInfo,
  EntryType,
  Record,
  SignedAction,
  Visibility,
  ZomeInfo,
} from "./types"

// `context` is the callback's name followed by " input" (a literal: no allocation per call).
function callbackInput(context: string): Value {
  const bytes = inputBytes()
  setDecodeContext(context)
  return bytes.length == 0 ? Value.nil(context) : decode(bytes)
}

// ---------------------------------------------------------------------------------------------
// entry_defs

/**
 * The `entry_defs` answer of an integrity zome. Order matters: an entry type's index is its
 * position, and so is a link type's.
 *
 * ```ts
 * export function entry_defs(): i32 {
 *   return new EntryDefs()
 *     .entry("post")
 *     .entry("draft", Visibility.Private)
 *     .link("all_posts")
 *     .respond()
 * }
 * ```
 */
@final
export class EntryDefs {
  private names: Array<string> = []
  private visibilities: Array<string> = []
  private links: Array<string> = []

  /** Declares an entry type, public unless `visibility` is `Visibility.Private`. */
  entry(name: string, visibility: string = Visibility.Public): EntryDefs {
    this.names.push(name)
    this.visibilities.push(visibility)
    return this
  }

  /** Declares a link type. */
  link(name: string): EntryDefs {
    this.links.push(name)
    return this
  }

  encode(w: Writer): void {
    w.map(2).str("entry_defs").array(this.names.length)
    for (let i = 0; i < this.names.length; i++) {
      w.map(2).field("name", this.names[i]).field("visibility", this.visibilities[i])
    }
    w.field("link_types", this.links)
  }

  /** Answers the `entry_defs` callback with these definitions. */
  respond(): i32 {
    return ok(this)
  }
}

// ---------------------------------------------------------------------------------------------
// validate and genesis_self_check

/** Op `type` strings. */
export namespace OpType {
  export const StoreRecord = "store_record"
  export const StoreEntry = "store_entry"
  export const RegisterUpdate = "register_update"
  export const RegisterDelete = "register_delete"
  export const RegisterAgentActivity = "register_agent_activity"
  export const RegisterCreateLink = "register_create_link"
  export const RegisterDeleteLink = "register_delete_link"
}

const NO_BYTES = new Uint8Array(0)

const OP_KEYS: StaticArray<string> = [
  "type",
  "record",
  "entry_type",
  "link_type",
  "original_action",
  "create_link",
]
const OP_AT = new StaticArray<i32>(6)

/**
 * One unit of validation: the record it comes from plus, depending on `type`, the action an
 * update or delete refers to (`originalAction`) or the link a delete removes (`createLink`).
 * `entryType` and `linkType` name this zome's entry or link type when the op concerns one.
 */
@final
export class Op {
  /** See `OpType`. */
  type: string = ""
  private decodedRecord: Record | null = null
  // Where the record is, until it is decoded on first use (-1: nowhere, a default record).
  private recordSource: Uint8Array = NO_BYTES
  private recordAt: i32 = -1
  private recordContext: string = ""
  /** The app entry type name, when the action creates or updates an entry of this zome. */
  entryType: string | null = null
  /** The link type name, when the action creates or deletes a link of this zome. */
  linkType: string | null = null
  /** `register_update` and `register_delete`: the action being updated or deleted. */
  originalAction: SignedAction | null = null
  /** `register_delete_link`: the `create_link` being deleted. */
  createLink: SignedAction | null = null

  get record(): Record {
    const decoded = this.decodedRecord
    if (decoded !== null) return decoded
    const r = this.recordAt < 0
      ? new Record()
      : Record.decodeAt(this.recordSource, this.recordAt, this.recordContext)
    this.decodedRecord = r
    return r
  }

  set record(record: Record) {
    this.decodedRecord = record
  }

  static fromValue(v: Value): Op {
    if (v.kind != Kind.Map) failIn(v.context, "expected map, got " + v.kindName)
    return Op.decodeAt(v.source, v.start, v.context)
  }

  /** @internal the op encoded at `pos` of a checked document. */
  static decodeAt(src: Uint8Array, pos: i32, context: string): Op {
    const at = OP_AT
    scanMap(src, pos, context, OP_KEYS, at)
    const recordAt = unchecked(at[1])
    const entryTypeAt = unchecked(at[2])
    const linkTypeAt = unchecked(at[3])
    const original = fieldNonNil(src, unchecked(at[4]))
    const createLink = fieldNonNil(src, unchecked(at[5]))
    const op = new Op()
    op.type = fieldString(src, unchecked(at[0]), "type", context)
    op.recordSource = src
    op.recordAt = fieldLaterMap(src, recordAt, "record", context)
    op.recordContext = context
    op.entryType = fieldStringOpt(src, entryTypeAt, "entry_type", context)
    op.linkType = fieldStringOpt(src, linkTypeAt, "link_type", context)
    if (original >= 0) op.originalAction = SignedAction.decodeAt(src, original, context)
    if (createLink >= 0) op.createLink = SignedAction.decodeAt(src, createLink, context)
    return op
  }

  /** The action the op comes from. */
  get action(): Action {
    return this.record.action
  }

  /** The author of the action. */
  get author(): AgentPubKey {
    return this.record.action.author
  }

  /** The app entry decoded; aborts when the record carries none. */
  entryValue(): Value {
    return this.record.entryValue()
  }

  /** The app entry decoded, or null when the record carries none or it is not msgpack. */
  tryEntryValue(): Value | null {
    return this.record.tryEntryValue()
  }

  /** `originalAction`, or a failure of the callback when the op has none. */
  original(): SignedAction {
    const o = this.originalAction
    if (o === null) {
      setDecodeContext("validate input")
      decodeError("a " + this.type + " op has no original_action")
    }
    return o!
  }
}

// `hashes` of valid and invalid results, which never send theirs: shared instead of allocated.
const NO_HASHES = new Array<Uint8Array>(0)

/** The outcome of `validate` or `genesis_self_check`. */
@final
export class ValidateResult {
  private constructor(
    public type: string,
    public reason: string,
    public hashes: Array<Uint8Array>,
  ) {}

  static valid(): ValidateResult {
    return new ValidateResult("valid", "", NO_HASHES)
  }

  static invalid(reason: string): ValidateResult {
    return new ValidateResult("invalid", reason, NO_HASHES)
  }

  /** The op cannot be decided until these hashes can be fetched. */
  static unresolved(hashes: Array<Uint8Array>): ValidateResult {
    return new ValidateResult("unresolved_dependencies", "", hashes)
  }

  get isValid(): bool {
    return this.type == "valid"
  }

  encode(w: Writer): void {
    if (this.type == "valid") {
      w.map(1).field("type", this.type)
    } else if (this.type == "invalid") {
      w.map(2).field("type", this.type).field("reason", this.reason)
    } else {
      w.map(2).field("type", this.type).field("hashes", this.hashes)
    }
  }
}

/** `ValidateResult.valid()`. */
export function valid(): ValidateResult {
  return ValidateResult.valid()
}

/** `ValidateResult.invalid(reason)`. */
export function invalid(reason: string): ValidateResult {
  return ValidateResult.invalid(reason)
}

/** `ValidateResult.unresolved(hashes)`. */
export function unresolved(hashes: Array<Uint8Array>): ValidateResult {
  return ValidateResult.unresolved(hashes)
}

/** Runs the `validate` callback: decodes the `Op`, calls `check`, answers with its result. */
export function validateWith(check: (op: Op) => ValidateResult): i32 {
  const context = "validate input"
  const bytes = inputBytes()
  setDecodeContext(context)
  if (bytes.length == 0) failIn(context, "expected map, got nil")
  checkDocument(bytes)
  const op = Op.decodeAt(bytes, 0, context)
  setDecodeContext("")
  return ok(check(op))
}

/** `genesis_self_check`'s input: the membrane proof this agent joins with, and the DNA. */
@final
export class GenesisInput {
  membraneProof: Uint8Array | null = null
  agentKey: AgentPubKey = new Uint8Array(0)
  dnaInfo: DnaInfo = new DnaInfo()

  static fromValue(v: Value): GenesisInput {
    const m = v.asMap()
    const g = new GenesisInput()
    g.membraneProof = m.optBytes("membrane_proof")
    g.agentKey = m.getBytes("agent_key")
    g.dnaInfo = DnaInfo.fromValue(m.get("dna_info"))
    return g
  }
}

/** Runs the `genesis_self_check` callback with `check`. */
export function genesisSelfCheckWith(check: (input: GenesisInput) => ValidateResult): i32 {
  const input = GenesisInput.fromValue(callbackInput("genesis_self_check input"))
  setDecodeContext("")
  return ok(check(input))
}

// ---------------------------------------------------------------------------------------------
// init and post_commit

/** The outcome of `init`. */
@final
export class InitResult {
  private constructor(
    public passed: bool,
    public reason: string,
  ) {}

  static pass(): InitResult {
    return new InitResult(true, "")
  }

  /** Init failed: the cell cannot take zome calls, and `reason` says why. */
  static fail(reason: string): InitResult {
    return new InitResult(false, reason)
  }

  encode(w: Writer): void {
    if (this.passed) w.map(1).field("type", "pass")
    else w.map(2).field("type", "fail").field("reason", this.reason)
  }
}

/** Runs the `init` callback with `setup`. */
export function initWith(setup: () => InitResult): i32 {
  setDecodeContext("")
  return ok(setup())
}

/** Runs the `post_commit` callback: `handle` gets the actions the call committed. */
export function postCommitWith(handle: (actions: Array<SignedAction>) => void): i32 {
  const actions = SignedAction.listFromValue(callbackInput("post_commit input"))
  setDecodeContext("")
  handle(actions)
  return okNil()
}

// ---------------------------------------------------------------------------------------------
// Type names

/**
 * Resolves the numeric entry and link types of actions (`EntryType.zomeIndex/entryIndex`,
 * `Action.zomeIndex/linkType`) into the names an integrity zome declared. `ZomeTypes.own()` is
 * for an integrity zome; a coordinator passes the name of the integrity zome it depends on.
 */
@final
export class ZomeTypes {
  private constructor(
    /** The integrity zome's index in the DNA. */
    public zomeIndex: u32,
    public info: ZomeInfo,
  ) {}

  /** The running integrity zome's own types. */
  static own(): ZomeTypes {
    const info = zomeInfo().unwrap()
    return new ZomeTypes(info.id, info)
  }

  /**
   * The types of the integrity zome `integrityZome`, which the running coordinator depends on.
   * Its index is its position in `dna_info_1`'s `zome_names` (integrity zomes come first, in
   * dna.yaml order).
   */
  static of(integrityZome: string): ZomeTypes {
    const index = dnaInfo().unwrap().zomeNames.indexOf(integrityZome)
    if (index < 0) {
      setDecodeContext("ZomeTypes.of")
      decodeError('no zome named "' + integrityZome + '" in this DNA')
    }
    return new ZomeTypes(<u32> index, zomeInfo().unwrap())
  }

  /** The name of an app entry type of this zome, or null (another zome's, or not an app entry). */
  entryTypeName(entryType: EntryType | null): string | null {
    if (entryType === null || !entryType.isApp || entryType.zomeIndex != this.zomeIndex) {
      return null
    }
    const defs = this.info.entryDefs
    return entryType.entryIndex < <u32> defs.length ? defs[entryType.entryIndex].name : null
  }

  /** Whether `action` creates or updates an entry of this zome's type `name`. */
  isEntryOf(action: Action, name: string): bool {
    const found = this.entryTypeName(action.entryType)
    return found !== null && found == name
  }

  /** The name of a `create_link` action's link type if it is this zome's, else null. */
  linkTypeName(action: Action): string | null {
    if (action.type != "create_link" || action.zomeIndex != this.zomeIndex) return null
    const types = this.info.linkTypes
    return action.linkType < <u32> types.length ? types[action.linkType] : null
  }
}
