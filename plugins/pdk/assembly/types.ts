/**
 * The conductor's data types (abi.md §3) as AssemblyScript classes, decoded from and encoded to
 * msgpack: actions, entries, records, links, details, capability grants and claims, and the
 * outputs of the information host functions.
 *
 * Owns the mapping between snake_case msgpack maps and camelCase fields. Hashes stay raw bytes
 * (`Uint8Array` of 39 bytes); the aliases below only document which hash a field holds.
 */
import { decode, decodeError, setDecodeContext, tryDecode, Value, Writer } from "./msgpack"
import {
  arrayAt,
  binAt,
  binOrNilAt,
  failIn,
  fieldBytes,
  fieldI64,
  fieldLaterMap,
  fieldNonNil,
  fieldPresent,
  fieldString,
  fieldU32,
  hFrom,
  hTo,
  Kind,
  kindName,
  readHead,
  scanMap,
  skipValue,
} from "./scan"

export type AgentPubKey = Uint8Array
export type ActionHash = Uint8Array
export type EntryHash = Uint8Array
export type DnaHash = Uint8Array
/** An action hash or an entry hash. */
export type AnyDhtHash = Uint8Array
/** An action, entry, agent or external hash: what links connect. */
export type AnyLinkableHash = Uint8Array
export type Signature = Uint8Array
/** Microseconds since the UNIX epoch. */
export type Timestamp = i64

/** Action `type` strings. */
export namespace ActionType {
  export const Dna = "dna"
  export const AgentValidationPkg = "agent_validation_pkg"
  export const InitZomesComplete = "init_zomes_complete"
  export const Create = "create"
  export const Update = "update"
  export const Delete = "delete"
  export const CreateLink = "create_link"
  export const DeleteLink = "delete_link"
}

/** Entry visibility strings. */
export namespace Visibility {
  export const Public = "public"
  export const Private = "private"
}

/** Entry kinds (`Entry.entryType`, `EntryType.type`). */
export namespace EntryKind {
  export const App = "app"
  export const Agent = "agent"
  export const AgentPubKey = "agent_pub_key"
  export const CapGrant = "cap_grant"
  export const CapClaim = "cap_claim"
}

// The default of hash and byte fields that were never set. A zero-length array has no contents
// to change, so one can be shared.
const EMPTY_BYTES = new Uint8Array(0)

// The classes most often decoded (actions, records, links: every callback input and read) decode
// straight from the bytes of a checked document with `scanMap` and the field readers of scan.ts,
// with the messages their `ValueMap` getters gave. Each has its own key list and offset array;
// each reads its offsets before decoding anything nested, which may reuse another class's array.

// `fromValue` of these classes reads the value's encoded bytes; only maps have them in a map's
// kind, so anything else fails as `Value.asMap` does.
function mapOffset(v: Value): i32 {
  if (v.kind != Kind.Map) failIn(v.context, "expected map, got " + kindName(v.kind))
  return v.start
}

function bytesArray(items: Array<Value>): Array<Uint8Array> {
  const out = new Array<Uint8Array>(items.length)
  for (let i = 0; i < items.length; i++) out[i] = items[i].asBytes()
  return out
}

function stringArray(items: Array<Value>): Array<string> {
  const out = new Array<string>(items.length)
  for (let i = 0; i < items.length; i++) out[i] = items[i].asString()
  return out
}

const ENTRY_TYPE_KEYS: StaticArray<string> = ["type", "zome_index", "entry_index", "visibility"]
const ENTRY_TYPE_AT = new StaticArray<i32>(4)

/** The type of an entry an action creates: `{type: "app", zome_index, entry_index, visibility}`. */
@final
export class EntryType {
  /** "app", "agent_pub_key", "cap_grant" or "cap_claim". */
  type: string = ""
  zomeIndex: u32 = 0
  entryIndex: u32 = 0
  /** "public" or "private" (app entries only). */
  visibility: string = Visibility.Public

  static fromValue(v: Value): EntryType {
    return EntryType.decodeAt(v.source, mapOffset(v), v.context)
  }

  /** @internal the entry type encoded at `pos` of a checked document. */
  static decodeAt(src: Uint8Array, pos: i32, context: string): EntryType {
    const at = ENTRY_TYPE_AT
    scanMap(src, pos, context, ENTRY_TYPE_KEYS, at)
    const t = new EntryType()
    t.type = fieldString(src, unchecked(at[0]), "type", context)
    if (t.type == EntryKind.App) {
      t.zomeIndex = fieldU32(src, unchecked(at[1]), "zome_index", context)
      t.entryIndex = fieldU32(src, unchecked(at[2]), "entry_index", context)
      t.visibility = fieldString(src, unchecked(at[3]), "visibility", context)
    }
    return t
  }

  get isApp(): bool {
    return this.type == EntryKind.App
  }

  encode(w: Writer): void {
    if (!this.isApp) {
      w.map(1).field("type", this.type)
      return
    }
    w.map(4).field("type", this.type).field("zome_index", this.zomeIndex)
      .field("entry_index", this.entryIndex).field("visibility", this.visibility)
  }
}

const ACTION_KEYS: StaticArray<string> = [
  "type",
  "author",
  "timestamp",
  "action_seq",
  "prev_action",
  "dna_hash",
  "membrane_proof",
  "entry_type",
  "entry_hash",
  "original_action_address",
  "original_entry_address",
  "deletes_address",
  "deletes_entry_address",
  "base_address",
  "target_address",
  "zome_index",
  "link_type",
  "tag",
  "link_add_address",
]
const ACTION_AT = new StaticArray<i32>(19)

/**
 * An action (abi.md §3.1). The fields that depend on `type` are null (or 0) for the other types;
 * `raw` keeps the decoded map, so the action can be hashed or sent back unchanged.
 *
 * A decoded action checks every field when it is decoded (a missing or mistyped field fails
 * then, as always), but makes the byte arrays of its hash and byte fields only when they are
 * first read: validation callbacks often look at `type` alone.
 */
@final
export class Action {
  type: string = ""
  timestamp: Timestamp = 0
  actionSeq: u32 = 0
  /** `create`, `update` */
  entryType: EntryType | null = null
  /** `create_link` */
  zomeIndex: u32 = 0
  /** `create_link`: the index into the integrity zome's link types. */
  linkType: u32 = 0
  // Where the action was decoded from; `raw` is made from it on first use.
  private rawSource: Uint8Array = EMPTY_BYTES
  private rawStart: i32 = -1
  private rawContext: string = ""
  private rawValue: Value | null = null
  // Each byte field: its value, or (at >= 0) the offset in `rawSource` of the bin to read it from.
  private authorValue: AgentPubKey = EMPTY_BYTES
  private authorAt: i32 = -1
  private prevActionValue: ActionHash | null = null
  private prevActionAt: i32 = -1
  private dnaHashValue: DnaHash | null = null
  private dnaHashAt: i32 = -1
  private membraneProofValue: Uint8Array | null = null
  private membraneProofAt: i32 = -1
  private entryHashValue: EntryHash | null = null
  private entryHashAt: i32 = -1
  private originalActionAddressValue: ActionHash | null = null
  private originalActionAddressAt: i32 = -1
  private originalEntryAddressValue: EntryHash | null = null
  private originalEntryAddressAt: i32 = -1
  private deletesAddressValue: ActionHash | null = null
  private deletesAddressAt: i32 = -1
  private deletesEntryAddressValue: EntryHash | null = null
  private deletesEntryAddressAt: i32 = -1
  private baseAddressValue: AnyLinkableHash | null = null
  private baseAddressAt: i32 = -1
  private targetAddressValue: AnyLinkableHash | null = null
  private targetAddressAt: i32 = -1
  private tagValue: Uint8Array | null = null
  private tagAt: i32 = -1
  private linkAddAddressValue: ActionHash | null = null
  private linkAddAddressAt: i32 = -1

  get author(): AgentPubKey {
    if (this.authorAt >= 0) {
      this.authorValue = this.bytesAt(this.authorAt)
      this.authorAt = -1
    }
    return this.authorValue
  }

  set author(value: AgentPubKey) {
    this.authorValue = value
    this.authorAt = -1
  }

  /** Null only for the `dna` action. */
  get prevAction(): ActionHash | null {
    if (this.prevActionAt >= 0) {
      this.prevActionValue = this.bytesAt(this.prevActionAt)
      this.prevActionAt = -1
    }
    return this.prevActionValue
  }

  set prevAction(value: ActionHash | null) {
    this.prevActionValue = value
    this.prevActionAt = -1
  }

  /** `dna` */
  get dnaHash(): DnaHash | null {
    if (this.dnaHashAt >= 0) {
      this.dnaHashValue = this.bytesAt(this.dnaHashAt)
      this.dnaHashAt = -1
    }
    return this.dnaHashValue
  }

  set dnaHash(value: DnaHash | null) {
    this.dnaHashValue = value
    this.dnaHashAt = -1
  }

  /** `agent_validation_pkg` */
  get membraneProof(): Uint8Array | null {
    if (this.membraneProofAt >= 0) {
      this.membraneProofValue = this.bytesAt(this.membraneProofAt)
      this.membraneProofAt = -1
    }
    return this.membraneProofValue
  }

  set membraneProof(value: Uint8Array | null) {
    this.membraneProofValue = value
    this.membraneProofAt = -1
  }

  /** `create`, `update` */
  get entryHash(): EntryHash | null {
    if (this.entryHashAt >= 0) {
      this.entryHashValue = this.bytesAt(this.entryHashAt)
      this.entryHashAt = -1
    }
    return this.entryHashValue
  }

  set entryHash(value: EntryHash | null) {
    this.entryHashValue = value
    this.entryHashAt = -1
  }

  /** `update` */
  get originalActionAddress(): ActionHash | null {
    if (this.originalActionAddressAt >= 0) {
      this.originalActionAddressValue = this.bytesAt(this.originalActionAddressAt)
      this.originalActionAddressAt = -1
    }
    return this.originalActionAddressValue
  }

  set originalActionAddress(value: ActionHash | null) {
    this.originalActionAddressValue = value
    this.originalActionAddressAt = -1
  }

  /** `update` */
  get originalEntryAddress(): EntryHash | null {
    if (this.originalEntryAddressAt >= 0) {
      this.originalEntryAddressValue = this.bytesAt(this.originalEntryAddressAt)
      this.originalEntryAddressAt = -1
    }
    return this.originalEntryAddressValue
  }

  set originalEntryAddress(value: EntryHash | null) {
    this.originalEntryAddressValue = value
    this.originalEntryAddressAt = -1
  }

  /** `delete` */
  get deletesAddress(): ActionHash | null {
    if (this.deletesAddressAt >= 0) {
      this.deletesAddressValue = this.bytesAt(this.deletesAddressAt)
      this.deletesAddressAt = -1
    }
    return this.deletesAddressValue
  }

  set deletesAddress(value: ActionHash | null) {
    this.deletesAddressValue = value
    this.deletesAddressAt = -1
  }

  /** `delete` */
  get deletesEntryAddress(): EntryHash | null {
    if (this.deletesEntryAddressAt >= 0) {
      this.deletesEntryAddressValue = this.bytesAt(this.deletesEntryAddressAt)
      this.deletesEntryAddressAt = -1
    }
    return this.deletesEntryAddressValue
  }

  set deletesEntryAddress(value: EntryHash | null) {
    this.deletesEntryAddressValue = value
    this.deletesEntryAddressAt = -1
  }

  /** `create_link`, `delete_link` */
  get baseAddress(): AnyLinkableHash | null {
    if (this.baseAddressAt >= 0) {
      this.baseAddressValue = this.bytesAt(this.baseAddressAt)
      this.baseAddressAt = -1
    }
    return this.baseAddressValue
  }

  set baseAddress(value: AnyLinkableHash | null) {
    this.baseAddressValue = value
    this.baseAddressAt = -1
  }

  /** `create_link` */
  get targetAddress(): AnyLinkableHash | null {
    if (this.targetAddressAt >= 0) {
      this.targetAddressValue = this.bytesAt(this.targetAddressAt)
      this.targetAddressAt = -1
    }
    return this.targetAddressValue
  }

  set targetAddress(value: AnyLinkableHash | null) {
    this.targetAddressValue = value
    this.targetAddressAt = -1
  }

  /** `create_link` */
  get tag(): Uint8Array | null {
    if (this.tagAt >= 0) {
      this.tagValue = this.bytesAt(this.tagAt)
      this.tagAt = -1
    }
    return this.tagValue
  }

  set tag(value: Uint8Array | null) {
    this.tagValue = value
    this.tagAt = -1
  }

  /** `delete_link` */
  get linkAddAddress(): ActionHash | null {
    if (this.linkAddAddressAt >= 0) {
      this.linkAddAddressValue = this.bytesAt(this.linkAddAddressAt)
      this.linkAddAddressAt = -1
    }
    return this.linkAddAddressValue
  }

  set linkAddAddress(value: ActionHash | null) {
    this.linkAddAddressValue = value
    this.linkAddAddressAt = -1
  }

  // The bin at `pos` of the source, already checked by `decodeAt`.
  private bytesAt(pos: i32): Uint8Array {
    const src = this.rawSource
    readHead(src.dataStart, pos)
    return src.subarray(hFrom, hTo)
  }

  /** The action as decoded (its `raw()` bytes are the action's msgpack). */
  get raw(): Value {
    const cached = this.rawValue
    if (cached !== null) return cached
    const v = this.rawStart < 0
      ? Value.nil()
      : Value.at(this.rawSource, this.rawStart, -1, this.rawContext)
    this.rawValue = v
    return v
  }

  set raw(value: Value) {
    this.rawValue = value
  }

  static fromValue(v: Value): Action {
    const a = Action.decodeAt(v.source, mapOffset(v), v.context)
    a.rawValue = v
    return a
  }

  /** @internal the action encoded at `pos` of a checked document. */
  static decodeAt(src: Uint8Array, pos: i32, context: string): Action {
    const at = ACTION_AT
    scanMap(src, pos, context, ACTION_KEYS, at)
    const a = new Action()
    a.rawSource = src
    a.rawStart = pos
    a.rawContext = context
    // In the order the fields were always read, so the first problem reported is the same.
    a.type = fieldString(src, unchecked(at[0]), "type", context)
    a.authorAt = binAt(src, unchecked(at[1]), "author", context)
    a.timestamp = fieldI64(src, unchecked(at[2]), "timestamp", context)
    a.actionSeq = fieldU32(src, unchecked(at[3]), "action_seq", context)
    a.prevActionAt = binOrNilAt(src, unchecked(at[4]), "prev_action", context)
    const type = a.type
    if (type == ActionType.Create || type == ActionType.Update) {
      const entryType = fieldPresent(unchecked(at[7]), "entry_type", context)
      const entryHash = unchecked(at[8])
      const original = unchecked(at[9])
      const originalEntry = unchecked(at[10])
      a.entryType = EntryType.decodeAt(src, entryType, context)
      a.entryHashAt = binAt(src, entryHash, "entry_hash", context)
      if (type == ActionType.Update) {
        a.originalActionAddressAt = binAt(src, original, "original_action_address", context)
        a.originalEntryAddressAt = binAt(src, originalEntry, "original_entry_address", context)
      }
    } else if (type == ActionType.Delete) {
      a.deletesAddressAt = binAt(src, unchecked(at[11]), "deletes_address", context)
      a.deletesEntryAddressAt = binAt(src, unchecked(at[12]), "deletes_entry_address", context)
    } else if (type == ActionType.CreateLink) {
      a.baseAddressAt = binAt(src, unchecked(at[13]), "base_address", context)
      a.targetAddressAt = binAt(src, unchecked(at[14]), "target_address", context)
      a.zomeIndex = fieldU32(src, unchecked(at[15]), "zome_index", context)
      a.linkType = fieldU32(src, unchecked(at[16]), "link_type", context)
      a.tagAt = binAt(src, unchecked(at[17]), "tag", context)
    } else if (type == ActionType.DeleteLink) {
      a.baseAddressAt = binAt(src, unchecked(at[13]), "base_address", context)
      a.linkAddAddressAt = binAt(src, unchecked(at[18]), "link_add_address", context)
    } else if (type == ActionType.Dna) {
      a.dnaHashAt = binAt(src, unchecked(at[5]), "dna_hash", context)
    } else if (type == ActionType.AgentValidationPkg) {
      a.membraneProofAt = binOrNilAt(src, unchecked(at[6]), "membrane_proof", context)
    }
    return a
  }

  encode(w: Writer): void {
    const v = this.rawValue
    if (v === null && this.rawStart >= 0) {
      const src = this.rawSource
      const end = skipValue(src.dataStart, this.rawStart)
      w.rawMemory(src.dataStart + <usize> this.rawStart, end - this.rawStart)
    } else {
      w.value(this.raw)
    }
  }

  /** Whether this action creates or updates an entry (the ones with `entryType`). */
  get isEntryWrite(): bool {
    return this.type == ActionType.Create || this.type == ActionType.Update
  }
}

const SIGNED_ACTION_KEYS: StaticArray<string> = ["action_hash", "action", "signature"]
const SIGNED_ACTION_AT = new StaticArray<i32>(3)

/** `{action_hash, action, signature}`. */
@final
export class SignedAction {
  actionHash: ActionHash = EMPTY_BYTES
  private decodedAction: Action | null = null
  // Where the action is, until it is decoded on first use (-1: nowhere, a default action).
  private actionSource: Uint8Array = EMPTY_BYTES
  private actionAt: i32 = -1
  private actionContext: string = ""
  signature: Signature = EMPTY_BYTES

  get action(): Action {
    const decoded = this.decodedAction
    if (decoded !== null) return decoded
    const a = this.actionAt < 0
      ? new Action()
      : Action.decodeAt(this.actionSource, this.actionAt, this.actionContext)
    this.decodedAction = a
    return a
  }

  set action(action: Action) {
    this.decodedAction = action
  }

  static fromValue(v: Value): SignedAction {
    return SignedAction.decodeAt(v.source, mapOffset(v), v.context)
  }

  /** @internal the signed action encoded at `pos` of a checked document. */
  static decodeAt(src: Uint8Array, pos: i32, context: string): SignedAction {
    const at = SIGNED_ACTION_AT
    scanMap(src, pos, context, SIGNED_ACTION_KEYS, at)
    const actionAt = unchecked(at[1])
    const signatureAt = unchecked(at[2])
    const s = new SignedAction()
    s.actionHash = fieldBytes(src, unchecked(at[0]), "action_hash", context)
    s.actionSource = src
    s.actionAt = fieldLaterMap(src, actionAt, "action", context)
    s.actionContext = context
    s.signature = fieldBytes(src, signatureAt, "signature", context)
    return s
  }

  encode(w: Writer): void {
    w.map(3).field("action_hash", this.actionHash).field("action", this.action)
      .field("signature", this.signature)
  }

  static listFromValue(v: Value): Array<SignedAction> {
    const src = v.source
    const context = v.context
    if (v.kind != Kind.Array) failIn(context, "expected array, got " + kindName(v.kind))
    const n = arrayAt(src, v.start, context)
    let pos = hFrom
    const out = new Array<SignedAction>(n)
    for (let i = 0; i < n; i++) {
      unchecked(out[i] = SignedAction.decodeAt(src, pos, context))
      pos = skipValue(src.dataStart, pos)
    }
    return out
  }
}

const ENTRY_KEYS: StaticArray<string> = ["entry_type", "entry"]
const ENTRY_AT = new StaticArray<i32>(2)

/**
 * An entry: `{entry_type: "app", entry: bin}` (the app's own msgpack), `{entry_type: "agent",
 * entry: AgentPubKey}`, or a capability grant or claim.
 */
@final
export class Entry {
  /** "app", "agent", "cap_grant" or "cap_claim". */
  entryType: string = ""
  /** The app entry's msgpack, or the agent key. */
  bytes: Uint8Array | null = null
  capGrant: CapGrant | null = null
  capClaim: CapClaim | null = null

  static fromValue(v: Value): Entry {
    return Entry.decodeAt(v.source, mapOffset(v), v.context)
  }

  /** @internal the entry encoded at `pos` of a checked document. */
  static decodeAt(src: Uint8Array, pos: i32, context: string): Entry {
    const at = ENTRY_AT
    scanMap(src, pos, context, ENTRY_KEYS, at)
    const entryAt = unchecked(at[1])
    const e = new Entry()
    e.entryType = fieldString(src, unchecked(at[0]), "entry_type", context)
    if (e.entryType == EntryKind.CapGrant) {
      const value = Value.at(src, fieldPresent(entryAt, "entry", context), -1, context)
      e.capGrant = CapGrant.fromValue(value)
    } else if (e.entryType == EntryKind.CapClaim) {
      const value = Value.at(src, fieldPresent(entryAt, "entry", context), -1, context)
      e.capClaim = CapClaim.fromValue(value)
    } else {
      e.bytes = fieldBytes(src, entryAt, "entry", context)
    }
    return e
  }

  get isApp(): bool {
    return this.entryType == EntryKind.App
  }

  encode(w: Writer): void {
    w.map(2).field("entry_type", this.entryType).str("entry")
    if (this.capGrant !== null) w.write(this.capGrant!)
    else if (this.capClaim !== null) w.write(this.capClaim!)
    else w.bin(this.bytes!)
  }

  /** The app entry decoded as msgpack; aborts for other kinds of entry. */
  value(): Value {
    setDecodeContext("entry")
    if (!this.isApp) decodeError("a " + this.entryType + " entry has no app value")
    return decode(this.bytes!)
  }

  /** The app entry decoded, or null when this is not an app entry or its bytes are malformed. */
  tryValue(): Value | null {
    if (!this.isApp) return null
    return tryDecode(this.bytes!)
  }
}

const RECORD_KEYS: StaticArray<string> = ["action_hash", "action", "signature", "entry"]
const RECORD_AT = new StaticArray<i32>(4)

/** `{action_hash, action, signature, entry}`; `entry` is null when absent or private to others. */
@final
export class Record {
  actionHash: ActionHash = EMPTY_BYTES
  private decodedAction: Action | null = null
  // Where the action is, until it is decoded on first use (-1: nowhere, a default action).
  private actionSource: Uint8Array = EMPTY_BYTES
  private actionAt: i32 = -1
  private actionContext: string = ""
  signature: Signature = EMPTY_BYTES
  entry: Entry | null = null

  get action(): Action {
    const decoded = this.decodedAction
    if (decoded !== null) return decoded
    const a = this.actionAt < 0
      ? new Action()
      : Action.decodeAt(this.actionSource, this.actionAt, this.actionContext)
    this.decodedAction = a
    return a
  }

  set action(action: Action) {
    this.decodedAction = action
  }

  static fromValue(v: Value): Record {
    return Record.decodeAt(v.source, mapOffset(v), v.context)
  }

  /** @internal the record encoded at `pos` of a checked document. */
  static decodeAt(src: Uint8Array, pos: i32, context: string): Record {
    const at = RECORD_AT
    scanMap(src, pos, context, RECORD_KEYS, at)
    const actionAt = unchecked(at[1])
    const signatureAt = unchecked(at[2])
    const entryAt = unchecked(at[3])
    const r = new Record()
    r.actionHash = fieldBytes(src, unchecked(at[0]), "action_hash", context)
    r.actionSource = src
    r.actionAt = fieldLaterMap(src, actionAt, "action", context)
    r.actionContext = context
    r.signature = fieldBytes(src, signatureAt, "signature", context)
    const entry = fieldNonNil(src, entryAt)
    r.entry = entry < 0 ? null : Entry.decodeAt(src, entry, context)
    return r
  }

  encode(w: Writer): void {
    w.map(4).field("action_hash", this.actionHash).field("action", this.action)
      .field("signature", this.signature).field("entry", this.entry)
  }

  static listFromValue(v: Value): Array<Record> {
    const src = v.source
    const context = v.context
    if (v.kind != Kind.Array) failIn(context, "expected array, got " + kindName(v.kind))
    const n = arrayAt(src, v.start, context)
    let pos = hFrom
    const out = new Array<Record>(n)
    for (let i = 0; i < n; i++) {
      unchecked(out[i] = Record.decodeAt(src, pos, context))
      pos = skipValue(src.dataStart, pos)
    }
    return out
  }

  /** Whether the record carries an app entry. */
  get hasAppEntry(): bool {
    const e = this.entry
    return e !== null && e.isApp
  }

  /** The app entry decoded, or null when the record has none or its bytes are malformed. */
  tryEntryValue(): Value | null {
    const e = this.entry
    return e === null ? null : e.tryValue()
  }

  /** The app entry decoded as msgpack; aborts when the record has none. */
  entryValue(): Value {
    const e = this.entry
    if (e === null) {
      setDecodeContext("record")
      decodeError("the record has no entry")
    }
    return e!.value()
  }
}

const LINK_KEYS: StaticArray<string> = [
  "create_link_hash",
  "author",
  "timestamp",
  "base",
  "target",
  "zome_index",
  "link_type",
  "link_type_name",
  "tag",
]
const LINK_AT = new StaticArray<i32>(9)

/** A link as `get_links_1` returns it. */
@final
export class Link {
  createLinkHash: ActionHash = EMPTY_BYTES
  author: AgentPubKey = EMPTY_BYTES
  timestamp: Timestamp = 0
  base: AnyLinkableHash = EMPTY_BYTES
  target: AnyLinkableHash = EMPTY_BYTES
  zomeIndex: u32 = 0
  linkType: u32 = 0
  linkTypeName: string = ""
  tag: Uint8Array = EMPTY_BYTES

  static fromValue(v: Value): Link {
    return Link.decodeAt(v.source, mapOffset(v), v.context)
  }

  /** @internal the link encoded at `pos` of a checked document. */
  static decodeAt(src: Uint8Array, pos: i32, context: string): Link {
    const at = LINK_AT
    scanMap(src, pos, context, LINK_KEYS, at)
    const l = new Link()
    l.createLinkHash = fieldBytes(src, unchecked(at[0]), "create_link_hash", context)
    l.author = fieldBytes(src, unchecked(at[1]), "author", context)
    l.timestamp = fieldI64(src, unchecked(at[2]), "timestamp", context)
    l.base = fieldBytes(src, unchecked(at[3]), "base", context)
    l.target = fieldBytes(src, unchecked(at[4]), "target", context)
    l.zomeIndex = fieldU32(src, unchecked(at[5]), "zome_index", context)
    l.linkType = fieldU32(src, unchecked(at[6]), "link_type", context)
    l.linkTypeName = fieldString(src, unchecked(at[7]), "link_type_name", context)
    l.tag = fieldBytes(src, unchecked(at[8]), "tag", context)
    return l
  }

  encode(w: Writer): void {
    w.map(9).field("create_link_hash", this.createLinkHash).field("author", this.author)
      .field("timestamp", this.timestamp).field("base", this.base).field("target", this.target)
      .field("zome_index", this.zomeIndex).field("link_type", this.linkType)
      .field("link_type_name", this.linkTypeName).field("tag", this.tag)
  }
}

/**
 * `get_details_1`'s output: `type` "record" (with `record`) or "entry" (with `entry`,
 * `actions` and `entryDhtStatus`); both kinds have `deletes` and `updates`.
 */
@final
export class Details {
  type: string = ""
  record: Record | null = null
  entry: Entry | null = null
  actions: Array<SignedAction> = []
  deletes: Array<SignedAction> = []
  updates: Array<SignedAction> = []
  /** "live" or "dead" for entry details; "" for record details. */
  entryDhtStatus: string = ""

  static fromValue(v: Value): Details {
    const m = v.asMap()
    const d = new Details()
    d.type = m.getString("type")
    if (d.type == "record") {
      d.record = Record.fromValue(m.get("record"))
    } else {
      d.entry = Entry.fromValue(m.get("entry"))
      d.actions = SignedAction.listFromValue(m.get("actions"))
      d.entryDhtStatus = m.getString("entry_dht_status")
    }
    d.deletes = SignedAction.listFromValue(m.get("deletes"))
    d.updates = SignedAction.listFromValue(m.get("updates"))
    return d
  }

  encode(w: Writer): void {
    if (this.type == "record") {
      w.map(4).field("type", this.type).field("record", this.record)
    } else {
      w.map(6).field("type", this.type).field("entry", this.entry).field("actions", this.actions)
        .field("entry_dht_status", this.entryDhtStatus)
    }
    w.field("deletes", this.deletes).field("updates", this.updates)
  }
}

/** `{action_hash, action_seq, timestamp}` of the chain's newest action. */
@final
export class ChainHead {
  actionHash: ActionHash = EMPTY_BYTES
  actionSeq: u32 = 0
  timestamp: Timestamp = 0
}

/** `agent_info_1`'s output. */
@final
export class AgentInfo {
  agentInitialPubkey: AgentPubKey = EMPTY_BYTES
  agentLatestPubkey: AgentPubKey = EMPTY_BYTES
  chainHead: ChainHead = new ChainHead()

  static fromValue(v: Value): AgentInfo {
    const m = v.asMap()
    const a = new AgentInfo()
    a.agentInitialPubkey = m.getBytes("agent_initial_pubkey")
    a.agentLatestPubkey = m.getBytes("agent_latest_pubkey")
    const head = m.getMap("chain_head")
    a.chainHead.actionHash = head.getBytes("action_hash")
    a.chainHead.actionSeq = head.getU32("action_seq")
    a.chainHead.timestamp = head.getI64("timestamp")
    return a
  }

  encode(w: Writer): void {
    w.map(3).field("agent_initial_pubkey", this.agentInitialPubkey)
      .field("agent_latest_pubkey", this.agentLatestPubkey).str("chain_head").map(3)
      .field("action_hash", this.chainHead.actionHash).field("action_seq", this.chainHead.actionSeq)
      .field("timestamp", this.chainHead.timestamp)
  }
}

/** `dna_info_1`'s output. `properties` is the msgpack of the DNA's properties. */
@final
export class DnaInfo {
  name: string = ""
  hash: DnaHash = EMPTY_BYTES
  networkSeed: string = ""
  properties: Uint8Array = EMPTY_BYTES
  zomeNames: Array<string> = []

  static fromValue(v: Value): DnaInfo {
    const m = v.asMap()
    const d = new DnaInfo()
    d.name = m.getString("name")
    d.hash = m.getBytes("hash")
    const modifiers = m.getMap("modifiers")
    d.networkSeed = modifiers.getString("network_seed")
    d.properties = modifiers.getBytes("properties")
    d.zomeNames = stringArray(m.getArray("zome_names"))
    return d
  }

  encode(w: Writer): void {
    w.map(4).field("name", this.name).field("hash", this.hash).str("modifiers").map(2)
      .field("network_seed", this.networkSeed).field("properties", this.properties)
      .field("zome_names", this.zomeNames)
  }

  /** The DNA properties decoded (nil when the DNA has none). */
  propertiesValue(): Value {
    setDecodeContext("dna properties")
    return this.properties.length == 0 ? Value.nil() : decode(this.properties)
  }
}

/** One entry type of `zome_info_1`'s `entry_defs`. */
@final
export class EntryDefInfo {
  constructor(
    public name: string,
    public visibility: string,
  ) {}

  encode(w: Writer): void {
    w.map(2).field("name", this.name).field("visibility", this.visibility)
  }
}

/** `zome_info_1`'s output. */
@final
export class ZomeInfo {
  name: string = ""
  id: u32 = 0
  entryDefs: Array<EntryDefInfo> = []
  linkTypes: Array<string> = []
  externFns: Array<string> = []

  static fromValue(v: Value): ZomeInfo {
    const m = v.asMap()
    const z = new ZomeInfo()
    z.name = m.getString("name")
    z.id = m.getU32("id")
    const defs = m.getArray("entry_defs")
    for (let i = 0; i < defs.length; i++) {
      const d = defs[i].asMap()
      z.entryDefs.push(new EntryDefInfo(d.getString("name"), d.getString("visibility")))
    }
    z.linkTypes = stringArray(m.getArray("link_types"))
    z.externFns = stringArray(m.getArray("extern_fns"))
    return z
  }

  encode(w: Writer): void {
    w.map(5).field("name", this.name).field("id", this.id).field("entry_defs", this.entryDefs)
      .field("link_types", this.linkTypes).field("extern_fns", this.externFns)
  }

  /** The index of the entry type `name`, or -1. */
  entryIndex(name: string): i32 {
    for (let i = 0; i < this.entryDefs.length; i++) {
      if (this.entryDefs[i].name == name) return i
    }
    return -1
  }

  /** The index of the link type `name`, or -1. */
  linkIndex(name: string): i32 {
    return this.linkTypes.indexOf(name)
  }
}

/** `call_info_1`'s output. `capGrant` is "chain_author" or "grant" (with tag and action hash). */
@final
export class CallInfo {
  provenance: AgentPubKey = EMPTY_BYTES
  zomeName: string = ""
  fnName: string = ""
  /** "chain_author" or "grant". */
  capGrant: string = ""
  /** The grant's tag, for "grant". */
  capGrantTag: string | null = null
  /** The grant's action hash, for "grant". */
  capGrantActionHash: ActionHash | null = null

  static fromValue(v: Value): CallInfo {
    const m = v.asMap()
    const c = new CallInfo()
    c.provenance = m.getBytes("provenance")
    c.zomeName = m.getString("zome_name")
    c.fnName = m.getString("fn_name")
    const grant = m.getMap("cap_grant")
    c.capGrant = grant.getString("type")
    if (c.capGrant == "grant") {
      const value = grant.getMap("value")
      c.capGrantTag = value.getString("tag")
      c.capGrantActionHash = value.getBytes("action_hash")
    }
    return c
  }

  encode(w: Writer): void {
    w.map(4).field("provenance", this.provenance).field("zome_name", this.zomeName)
      .field("fn_name", this.fnName).str("cap_grant")
    if (this.capGrant == "grant") {
      w.map(2).field("type", "grant").str("value").map(2).field("tag", this.capGrantTag)
        .field("action_hash", this.capGrantActionHash)
    } else {
      w.map(1).field("type", this.capGrant)
    }
  }
}

/** Who may use a grant: `unrestricted`, `transferable` (secret) or `assigned` (secret + agents). */
@final
export class CapAccess {
  private constructor(
    public type: string,
    public secret: Uint8Array | null,
    public assignees: Array<AgentPubKey>,
  ) {}

  static unrestricted(): CapAccess {
    return new CapAccess("unrestricted", null, [])
  }

  /** Anyone who holds the 64-byte `secret`. */
  static transferable(secret: Uint8Array): CapAccess {
    return new CapAccess("transferable", secret, [])
  }

  /** The `assignees` holding the 64-byte `secret`. */
  static assigned(secret: Uint8Array, assignees: Array<AgentPubKey>): CapAccess {
    return new CapAccess("assigned", secret, assignees)
  }

  static fromValue(v: Value): CapAccess {
    const m = v.asMap()
    const type = m.getString("type")
    if (type == "unrestricted") return CapAccess.unrestricted()
    const value = m.getMap("value")
    const secret = value.getBytes("secret")
    if (type == "transferable") return CapAccess.transferable(secret)
    return CapAccess.assigned(secret, bytesArray(value.getArray("assignees")))
  }

  encode(w: Writer): void {
    if (this.type == "unrestricted") {
      w.map(1).field("type", this.type)
      return
    }
    w.map(2).field("type", this.type).str("value")
    if (this.type == "transferable") {
      w.map(1).field("secret", this.secret!)
    } else {
      w.map(2).field("secret", this.secret!).field("assignees", this.assignees)
    }
  }
}

/** The functions a grant covers: all, or a list of `[zome_name, fn_name]`. */
@final
export class GrantedFunctions {
  private constructor(
    public all: bool,
    public zomes: Array<string>,
    public fns: Array<string>,
  ) {}

  static all(): GrantedFunctions {
    return new GrantedFunctions(true, [], [])
  }

  /** An empty list; add functions with `add`. */
  static listed(): GrantedFunctions {
    return new GrantedFunctions(false, [], [])
  }

  add(zomeName: string, fnName: string): GrantedFunctions {
    this.zomes.push(zomeName)
    this.fns.push(fnName)
    return this
  }

  static fromValue(v: Value): GrantedFunctions {
    const m = v.asMap()
    if (m.getString("type") == "all") return GrantedFunctions.all()
    const list = GrantedFunctions.listed()
    const pairs = m.getArray("value")
    for (let i = 0; i < pairs.length; i++) {
      const pair = pairs[i].asArray()
      if (pair.length != 2) decodeError("a listed function must be [zome_name, fn_name]")
      list.add(pair[0].asString(), pair[1].asString())
    }
    return list
  }

  encode(w: Writer): void {
    if (this.all) {
      w.map(1).field("type", "all")
      return
    }
    w.map(2).field("type", "listed").str("value").array(this.zomes.length)
    for (let i = 0; i < this.zomes.length; i++) w.array(2).str(this.zomes[i]).str(this.fns[i])
  }
}

/** A capability grant: `{tag, access, functions}`. */
@final
export class CapGrant {
  constructor(
    public tag: string,
    public access: CapAccess,
    public functions: GrantedFunctions,
  ) {}

  static fromValue(v: Value): CapGrant {
    const m = v.asMap()
    return new CapGrant(
      m.getString("tag"),
      CapAccess.fromValue(m.get("access")),
      GrantedFunctions.fromValue(m.get("functions")),
    )
  }

  encode(w: Writer): void {
    w.map(3).field("tag", this.tag).field("access", this.access).field("functions", this.functions)
  }
}

/** A capability claim: `{tag, grantor, secret}`. */
@final
export class CapClaim {
  constructor(
    public tag: string,
    public grantor: AgentPubKey,
    public secret: Uint8Array,
  ) {}

  static fromValue(v: Value): CapClaim {
    const m = v.asMap()
    return new CapClaim(m.getString("tag"), m.getBytes("grantor"), m.getBytes("secret"))
  }

  encode(w: Writer): void {
    w.map(3).field("tag", this.tag).field("grantor", this.grantor).field("secret", this.secret)
  }
}

/** Where `call` sends a zome call: this cell, another cell, or a role of this app. */
@final
export class CallTarget {
  private constructor(
    public type: string,
    public dnaHash: DnaHash | null,
    public agent: AgentPubKey | null,
    public role: string | null,
  ) {}

  /** This cell (shares the caller's uncommitted writes). */
  static local(): CallTarget {
    return new CallTarget("local", null, null, null)
  }

  static cell(dnaHash: DnaHash, agent: AgentPubKey): CallTarget {
    return new CallTarget("cell", dnaHash, agent, null)
  }

  static role(name: string): CallTarget {
    return new CallTarget("role", null, null, name)
  }

  encode(w: Writer): void {
    if (this.type == "local") {
      w.map(1).field("type", "local")
    } else if (this.type == "cell") {
      w.map(2).field("type", "cell").str("value").array(2).bin(this.dnaHash!).bin(this.agent!)
    } else {
      w.map(2).field("type", "role").field("value", this.role!)
    }
  }
}

/** `call_1`'s output: "ok" with the callee's msgpack, or "unauthorized" / "error" with text. */
@final
export class ZomeCallResponse {
  /** "ok", "unauthorized" or "error". */
  type: string = ""
  /** The callee's output (msgpack) for "ok". */
  payload: Uint8Array | null = null
  /** The reason for "unauthorized" and "error". */
  message: string = ""

  static fromValue(v: Value): ZomeCallResponse {
    const m = v.asMap()
    const r = new ZomeCallResponse()
    r.type = m.getString("type")
    if (r.type == "ok") r.payload = m.getBytes("value")
    else r.message = m.getString("value")
    return r
  }

  get isOk(): bool {
    return this.type == "ok"
  }

  encode(w: Writer): void {
    w.map(2).field("type", this.type).str("value")
    if (this.isOk) w.bin(this.payload!)
    else w.str(this.message)
  }

  /** The callee's output decoded; aborts unless the call succeeded. */
  value(): Value {
    setDecodeContext("call_1 payload")
    if (!this.isOk) decodeError("the call failed (" + this.type + "): " + this.message)
    return decode(this.payload!)
  }
}

/**
 * `receptor_call_1`'s output: "ok" with the operation's output, or "error" with the receptor's
 * reason (`UnknownOperation`, `InvalidInput`, `NotFound`, `Conflict`, `TooLarge`, `Unreachable`,
 * `Timeout`, … see abi.md §4.8) and a detail text.
 */
@final
export class ReceptorResponse {
  /** "ok" or "error". */
  type: string = ""
  /** The operation's output for "ok". */
  value: Value | null = null
  /** The receptor's reason for "error". */
  reason: string = ""
  /** What went wrong, for "error". */
  detail: string = ""

  static fromValue(v: Value): ReceptorResponse {
    const m = v.asMap()
    const r = new ReceptorResponse()
    r.type = m.getString("type")
    if (r.type == "ok") {
      r.value = m.get("value")
    } else {
      r.reason = m.getString("reason")
      r.detail = m.getString("detail")
    }
    return r
  }

  get isOk(): bool {
    return this.type == "ok"
  }

  /** As the host sent it: `{type: "ok", value}` or `{type: "error", reason, detail}`. */
  encode(w: Writer): void {
    if (this.isOk) w.map(2).field("type", this.type).field("value", this.value!)
    else {
      w.map(3).field("type", this.type).field("reason", this.reason).field("detail", this.detail)
    }
  }
}

/** Filters for `query` (all optional): which actions of this cell's chain to return. */
@final
export class QueryFilter {
  private actionTypeList: Array<string> | null = null
  private entryTypeList: Array<string> | null = null
  private rangeStart: i64 = -1
  private rangeEnd: i64 = -1
  private withEntries: bool = true
  private newestFirst: bool = false

  /** Only actions of these types ("create", "update", …). */
  actionTypes(types: Array<string>): QueryFilter {
    this.actionTypeList = types
    return this
  }

  /** Only creates and updates of these app entry types (by name). */
  entryTypes(types: Array<string>): QueryFilter {
    this.entryTypeList = types
    return this
  }

  /** Only actions with `start <= action_seq < end`. */
  seqRange(start: u32, end: u32): QueryFilter {
    this.rangeStart = start
    this.rangeEnd = end
    return this
  }

  /** Whether records carry their entries (default true). */
  includeEntries(yes: bool): QueryFilter {
    this.withEntries = yes
    return this
  }

  /** Newest first (default oldest first). */
  descending(yes: bool = true): QueryFilter {
    this.newestFirst = yes
    return this
  }

  encode(w: Writer): void {
    w.beginMap()
    if (this.actionTypeList !== null) w.field("action_types", this.actionTypeList!)
    if (this.entryTypeList !== null) w.field("entry_types", this.entryTypeList!)
    if (this.rangeStart >= 0) w.str("seq_range").array(2).int(this.rangeStart).int(this.rangeEnd)
    w.field("include_entries", this.withEntries)
    if (this.newestFirst) w.field("descending", true)
    w.end()
  }
}
