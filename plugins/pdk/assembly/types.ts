/**
 * The conductor's data types (abi.md §3) as AssemblyScript classes, decoded from and encoded to
 * msgpack: actions, entries, records, links, details, capability grants and claims, and the
 * outputs of the information host functions.
 *
 * Owns the mapping between snake_case msgpack maps and camelCase fields. Hashes stay raw bytes
 * (`Uint8Array` of 39 bytes); the aliases below only document which hash a field holds.
 */
import { decode, decodeError, setDecodeContext, tryDecode, Value, Writer } from "./msgpack"

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
    const m = v.asMap()
    const t = new EntryType()
    t.type = m.getString("type")
    if (t.type == EntryKind.App) {
      t.zomeIndex = m.getU32("zome_index")
      t.entryIndex = m.getU32("entry_index")
      t.visibility = m.getString("visibility")
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

/**
 * An action (abi.md §3.1). The fields that depend on `type` are null (or 0) for the other types;
 * `raw` keeps the decoded map, so the action can be hashed or sent back unchanged.
 */
@final
export class Action {
  type: string = ""
  author: AgentPubKey = new Uint8Array(0)
  timestamp: Timestamp = 0
  actionSeq: u32 = 0
  /** Null only for the `dna` action. */
  prevAction: ActionHash | null = null
  /** `dna` */
  dnaHash: DnaHash | null = null
  /** `agent_validation_pkg` */
  membraneProof: Uint8Array | null = null
  /** `create`, `update` */
  entryType: EntryType | null = null
  /** `create`, `update` */
  entryHash: EntryHash | null = null
  /** `update` */
  originalActionAddress: ActionHash | null = null
  /** `update` */
  originalEntryAddress: EntryHash | null = null
  /** `delete` */
  deletesAddress: ActionHash | null = null
  /** `delete` */
  deletesEntryAddress: EntryHash | null = null
  /** `create_link`, `delete_link` */
  baseAddress: AnyLinkableHash | null = null
  /** `create_link` */
  targetAddress: AnyLinkableHash | null = null
  /** `create_link` */
  zomeIndex: u32 = 0
  /** `create_link`: the index into the integrity zome's link types. */
  linkType: u32 = 0
  /** `create_link` */
  tag: Uint8Array | null = null
  /** `delete_link` */
  linkAddAddress: ActionHash | null = null
  /** The action as decoded (its `raw()` bytes are the action's msgpack). */
  raw: Value = Value.nil()

  static fromValue(v: Value): Action {
    const m = v.asMap()
    const a = new Action()
    a.raw = v
    a.type = m.getString("type")
    a.author = m.getBytes("author")
    a.timestamp = m.getI64("timestamp")
    a.actionSeq = m.getU32("action_seq")
    a.prevAction = m.optBytes("prev_action")
    if (a.type == ActionType.Create || a.type == ActionType.Update) {
      a.entryType = EntryType.fromValue(m.get("entry_type"))
      a.entryHash = m.getBytes("entry_hash")
      if (a.type == ActionType.Update) {
        a.originalActionAddress = m.getBytes("original_action_address")
        a.originalEntryAddress = m.getBytes("original_entry_address")
      }
    } else if (a.type == ActionType.Delete) {
      a.deletesAddress = m.getBytes("deletes_address")
      a.deletesEntryAddress = m.getBytes("deletes_entry_address")
    } else if (a.type == ActionType.CreateLink) {
      a.baseAddress = m.getBytes("base_address")
      a.targetAddress = m.getBytes("target_address")
      a.zomeIndex = m.getU32("zome_index")
      a.linkType = m.getU32("link_type")
      a.tag = m.getBytes("tag")
    } else if (a.type == ActionType.DeleteLink) {
      a.baseAddress = m.getBytes("base_address")
      a.linkAddAddress = m.getBytes("link_add_address")
    } else if (a.type == ActionType.Dna) {
      a.dnaHash = m.getBytes("dna_hash")
    } else if (a.type == ActionType.AgentValidationPkg) {
      a.membraneProof = m.optBytes("membrane_proof")
    }
    return a
  }

  encode(w: Writer): void {
    w.value(this.raw)
  }

  /** Whether this action creates or updates an entry (the ones with `entryType`). */
  get isEntryWrite(): bool {
    return this.type == ActionType.Create || this.type == ActionType.Update
  }
}

/** `{action_hash, action, signature}`. */
@final
export class SignedAction {
  actionHash: ActionHash = new Uint8Array(0)
  action: Action = new Action()
  signature: Signature = new Uint8Array(0)

  static fromValue(v: Value): SignedAction {
    const m = v.asMap()
    const s = new SignedAction()
    s.actionHash = m.getBytes("action_hash")
    s.action = Action.fromValue(m.get("action"))
    s.signature = m.getBytes("signature")
    return s
  }

  encode(w: Writer): void {
    w.map(3).field("action_hash", this.actionHash).field("action", this.action)
      .field("signature", this.signature)
  }

  static listFromValue(v: Value): Array<SignedAction> {
    const items = v.asArray()
    const out = new Array<SignedAction>(items.length)
    for (let i = 0; i < items.length; i++) out[i] = SignedAction.fromValue(items[i])
    return out
  }
}

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
    const m = v.asMap()
    const e = new Entry()
    e.entryType = m.getString("entry_type")
    if (e.entryType == EntryKind.CapGrant) {
      e.capGrant = CapGrant.fromValue(m.get("entry"))
    } else if (e.entryType == EntryKind.CapClaim) {
      e.capClaim = CapClaim.fromValue(m.get("entry"))
    } else {
      e.bytes = m.getBytes("entry")
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

/** `{action_hash, action, signature, entry}`; `entry` is null when absent or private to others. */
@final
export class Record {
  actionHash: ActionHash = new Uint8Array(0)
  action: Action = new Action()
  signature: Signature = new Uint8Array(0)
  entry: Entry | null = null

  static fromValue(v: Value): Record {
    const m = v.asMap()
    const r = new Record()
    r.actionHash = m.getBytes("action_hash")
    r.action = Action.fromValue(m.get("action"))
    r.signature = m.getBytes("signature")
    const entry = m.opt("entry")
    r.entry = entry.isNil() ? null : Entry.fromValue(entry)
    return r
  }

  encode(w: Writer): void {
    w.map(4).field("action_hash", this.actionHash).field("action", this.action)
      .field("signature", this.signature).field("entry", this.entry)
  }

  static listFromValue(v: Value): Array<Record> {
    const items = v.asArray()
    const out = new Array<Record>(items.length)
    for (let i = 0; i < items.length; i++) out[i] = Record.fromValue(items[i])
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

/** A link as `get_links_1` returns it. */
@final
export class Link {
  createLinkHash: ActionHash = new Uint8Array(0)
  author: AgentPubKey = new Uint8Array(0)
  timestamp: Timestamp = 0
  base: AnyLinkableHash = new Uint8Array(0)
  target: AnyLinkableHash = new Uint8Array(0)
  zomeIndex: u32 = 0
  linkType: u32 = 0
  linkTypeName: string = ""
  tag: Uint8Array = new Uint8Array(0)

  static fromValue(v: Value): Link {
    const m = v.asMap()
    const l = new Link()
    l.createLinkHash = m.getBytes("create_link_hash")
    l.author = m.getBytes("author")
    l.timestamp = m.getI64("timestamp")
    l.base = m.getBytes("base")
    l.target = m.getBytes("target")
    l.zomeIndex = m.getU32("zome_index")
    l.linkType = m.getU32("link_type")
    l.linkTypeName = m.getString("link_type_name")
    l.tag = m.getBytes("tag")
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
  actionHash: ActionHash = new Uint8Array(0)
  actionSeq: u32 = 0
  timestamp: Timestamp = 0
}

/** `agent_info_1`'s output. */
@final
export class AgentInfo {
  agentInitialPubkey: AgentPubKey = new Uint8Array(0)
  agentLatestPubkey: AgentPubKey = new Uint8Array(0)
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
  hash: DnaHash = new Uint8Array(0)
  networkSeed: string = ""
  properties: Uint8Array = new Uint8Array(0)
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
  provenance: AgentPubKey = new Uint8Array(0)
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
