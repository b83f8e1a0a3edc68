/**
 * Typed wrappers for every host function of abi.md §4. Each encodes its input, calls the host,
 * reads the result envelope and returns a `Result`: the decoded output, or the host's error.
 *
 * Owns the host-call convention (kernel blocks in, envelope out). It does not retry, cache or
 * interpret errors; `unwrap()` is the caller's choice.
 */
import { panic } from "./abort"
import {
  agent_info_1,
  call_1,
  call_info_1,
  create_1,
  create_cap_claim_1,
  create_cap_grant_1,
  create_link_1,
  delete_1,
  delete_link_1,
  dna_info_1,
  emit_signal_1,
  get_1,
  get_details_1,
  get_links_1,
  hash_1,
  must_get_action_1,
  must_get_agent_activity_1,
  must_get_entry_1,
  must_get_valid_record_1,
  query_1,
  random_bytes_1,
  receptor_call_1,
  sign_1,
  sys_time_1,
  trace_1,
  update_1,
  verify_signature_1,
  zome_info_1,
} from "./imports"
import { blockFromMemory, bytesFromBlock, free } from "./kernel"
import { checkDocument, setDecodeContext, Value, Writer } from "./msgpack"
import { giveWriter, takeWriter } from "./pool"
import { HostError, Result } from "./result"
import {
  arrayAt,
  failIn,
  fieldMap,
  fieldString,
  hFrom,
  Kind,
  scanMap,
  skipValue,
} from "./scan"
import {
  ActionHash,
  AgentInfo,
  AgentPubKey,
  AnyDhtHash,
  AnyLinkableHash,
  CallInfo,
  CallTarget,
  CapClaim,
  CapGrant,
  Details,
  DnaInfo,
  Entry,
  EntryHash,
  Link,
  QueryFilter,
  ReceptorResponse,
  Record,
  Signature,
  SignedAction,
  Timestamp,
  ZomeCallResponse,
  ZomeInfo,
} from "./types"

// ---------------------------------------------------------------------------------------------
// The calling convention

/** Copies a finished document into a kernel block for a host function; 0 for no input. */
function send(input: Writer | null): u64 {
  if (input === null) return 0
  input.checkComplete()
  return blockFromMemory(input.dataStart, <usize> input.length)
}

const ENVELOPE_KEYS: StaticArray<string> = ["ok", "err"]
const ENVELOPE_AT = new StaticArray<i32>(2)
const ERROR_KEYS: StaticArray<string> = ["kind", "message"]
const ERROR_AT = new StaticArray<i32>(2)

// The last "<fn> output" context: a zome usually calls the same host function again, so the
// string is built once instead of on every call.
let lastFn = ""
let lastContext = ""

function outputContext(fn: string): string {
  if (fn != lastFn) {
    lastFn = fn
    lastContext = fn + " output"
  }
  return lastContext
}

/**
 * Reads and frees the envelope at `out`, and frees the input block. Returns the `ok` value, or
 * the `err` as a `HostError`. A malformed envelope fails the call: it is a host bug, not
 * something zome code could handle.
 */
export function receive(fn: string, inputBlock: u64, out: u64): Result<Value> {
  if (inputBlock != 0) free(inputBlock)
  if (out == 0) panic(fn + ": the host returned no result envelope")
  const bytes = bytesFromBlock(out)
  free(out)
  // Values decoded here carry this context into their own errors ("get_1 output: …").
  const context = outputContext(fn)
  setDecodeContext(context)
  checkDocument(bytes)
  // The envelope is read in place: only the `ok` value (or the error's strings) is made.
  const at = ENVELOPE_AT
  scanMap(bytes, 0, context, ENVELOPE_KEYS, at)
  const okAt = unchecked(at[0])
  const errAt = unchecked(at[1])
  if (okAt >= 0) return Result.ok<Value>(Value.at(bytes, okAt, -1, context))
  if (errAt < 0) panic(fn + ": the host's answer is neither {ok} nor {err}")
  const err = ERROR_AT
  scanMap(bytes, fieldMap(bytes, errAt, "err", context), context, ERROR_KEYS, err)
  const kind = fieldString(bytes, unchecked(err[0]), "kind", context)
  const message = fieldString(bytes, unchecked(err[1]), "message", context)
  return Result.err<Value>(new HostError(fn, kind, message))
}

// The wrappers' own calls: `input` comes from `takeWriter` and is given back once copied.
function callHost(fn: string, host: (input: u64) => u64, input: Writer | null): Result<Value> {
  const block = send(input)
  if (input !== null) giveWriter(input)
  return receive(fn, block, host(block))
}

/** Calls the raw host function `fn` with `input` (see imports.ts); for tests and PDK authors. */
export function callHostRaw(
  fn: string,
  host: (input: u64) => u64,
  input: Writer | null,
): Result<Value> {
  const block = send(input)
  return receive(fn, block, host(block))
}

function hashInput(hash: Uint8Array): Writer {
  return takeWriter().map(1).field("hash", hash)
}

// Most outputs map one decoded value to one class. These helpers keep each wrapper to a line.
function toBytes(r: Result<Value>): Result<Uint8Array> {
  if (r.isErr) return Result.err<Uint8Array>(r.error!)
  return Result.ok<Uint8Array>(r.unwrap().asBytes())
}

// ---------------------------------------------------------------------------------------------
// 4.1 Information

/** `agent_info_1`: this cell's agent keys and chain head. Z I P */
export function agentInfo(): Result<AgentInfo> {
  const r = callHost("agent_info_1", agent_info_1, null)
  if (r.isErr) return Result.err<AgentInfo>(r.error!)
  return Result.ok<AgentInfo>(AgentInfo.fromValue(r.unwrap()))
}

/** This cell's agent key (`agentInfo().unwrap().agentInitialPubkey`); fails the call on error. */
export function agentPubKey(): AgentPubKey {
  return agentInfo().expect("agentPubKey").agentInitialPubkey
}

/** `dna_info_1`: the DNA's name, hash, modifiers and zome names. Z I P V G */
export function dnaInfo(): Result<DnaInfo> {
  const r = callHost("dna_info_1", dna_info_1, null)
  if (r.isErr) return Result.err<DnaInfo>(r.error!)
  return Result.ok<DnaInfo>(DnaInfo.fromValue(r.unwrap()))
}

/** `zome_info_1`: the running zome, its (integrity zome's) entry and link types. Z I P V G */
export function zomeInfo(): Result<ZomeInfo> {
  const r = callHost("zome_info_1", zome_info_1, null)
  if (r.isErr) return Result.err<ZomeInfo>(r.error!)
  return Result.ok<ZomeInfo>(ZomeInfo.fromValue(r.unwrap()))
}

/** `call_info_1`: who is calling this zome function, and under which grant. Z */
export function callInfo(): Result<CallInfo> {
  const r = callHost("call_info_1", call_info_1, null)
  if (r.isErr) return Result.err<CallInfo>(r.error!)
  return Result.ok<CallInfo>(CallInfo.fromValue(r.unwrap()))
}

/** `sys_time_1`: the current time in microseconds. Z I P */
export function sysTime(): Result<Timestamp> {
  const r = callHost("sys_time_1", sys_time_1, null)
  if (r.isErr) return Result.err<Timestamp>(r.error!)
  return Result.ok<Timestamp>(r.unwrap().asI64())
}

/** `random_bytes_1`: `n` (at most 1 MiB) cryptographically random bytes. Z I P */
export function randomBytes(n: u32): Result<Uint8Array> {
  return toBytes(callHost("random_bytes_1", random_bytes_1, takeWriter().uint(n)))
}

/** Trace levels for `trace`. */
export namespace TraceLevel {
  export const Trace = "trace"
  export const Debug = "debug"
  export const Info = "info"
  export const Warn = "warn"
  export const Error = "error"
}

/** `trace_1`: writes `message` to the conductor's log at `level` (see `TraceLevel`). All */
export function trace(level: string, message: string): Result<Value> {
  const input = takeWriter().map(2).field("level", level).field("message", message)
  return callHost("trace_1", trace_1, input)
}

/** `trace` at level "debug". */
export function debug(message: string): void {
  trace(TraceLevel.Debug, message)
}

// ---------------------------------------------------------------------------------------------
// 4.2 Hashing and signing

/** `hash_1` blake2b: `outputLen` bytes (1..64, default 32) of BLAKE2b over `data`. All */
export function hashBlake2b(data: Uint8Array, outputLen: i32 = 32): Result<Uint8Array> {
  const input = takeWriter().map(3).field("type", "blake2b").field("data", data)
    .field("output_len", outputLen)
  return toBytes(callHost("hash_1", hash_1, input))
}

/** `hash_1` sha256 over `data`. All */
export function hashSha256(data: Uint8Array): Result<Uint8Array> {
  const input = takeWriter().map(2).field("type", "sha256").field("data", data)
  return toBytes(callHost("hash_1", hash_1, input))
}

/** `hash_1` sha512 over `data`. All */
export function hashSha512(data: Uint8Array): Result<Uint8Array> {
  const input = takeWriter().map(2).field("type", "sha512").field("data", data)
  return toBytes(callHost("hash_1", hash_1, input))
}

/** `hash_1` entry: the EntryHash an app entry of this msgpack would have. All */
export function hashEntryBytes(entry: Uint8Array): Result<EntryHash> {
  const input = takeWriter().map(2).field("type", "entry").field("entry", entry)
  return toBytes(callHost("hash_1", hash_1, input))
}

/** The EntryHash of an app entry holding `value` (encoded as by `Writer.write`). All */
export function hashEntry<T>(value: T): Result<EntryHash> {
  const input = takeWriter().map(2).field("type", "entry").str("entry").binOf<T>(value)
  return toBytes(callHost("hash_1", hash_1, input))
}

/** `hash_1` action: the ActionHash of `action` (the map as decoded, re-encoded unchanged). All */
export function hashAction(action: Value): Result<ActionHash> {
  const input = takeWriter().map(2).field("type", "action").field("action", action)
  return toBytes(callHost("hash_1", hash_1, input))
}

/** `sign_1`: an Ed25519 signature by this cell's agent `key` over `data`. Z I P */
export function sign(key: AgentPubKey, data: Uint8Array): Result<Signature> {
  const input = takeWriter().map(2).field("key", key).field("data", data)
  return toBytes(callHost("sign_1", sign_1, input))
}

/** `verify_signature_1`: whether `signature` by `key` over `data` is valid. Z I P V G */
export function verifySignature(
  key: AgentPubKey,
  signature: Signature,
  data: Uint8Array,
): Result<bool> {
  const input = takeWriter().map(3).field("key", key).field("signature", signature)
    .field("data", data)
  const r = callHost("verify_signature_1", verify_signature_1, input)
  if (r.isErr) return Result.err<bool>(r.error!)
  return Result.ok<bool>(r.unwrap().asBool())
}

// ---------------------------------------------------------------------------------------------
// 4.3 Writing to the source chain

/**
 * `create_1`: commits an app entry of type `entryType` holding `entry` (any value `Writer.write`
 * accepts: a class with `encode`, a `Writer`, a `Value`, …). Returns the create's ActionHash.
 * `zome` names the integrity zome when the type is not the dependency's. Z I
 */
export function createEntry<T>(
  entryType: string,
  entry: T,
  zome: string | null = null,
): Result<ActionHash> {
  const input = takeWriter().beginMap().field("entry_type", entryType).str("entry")
    .binOf<T>(entry)
  if (zome !== null) input.field("zome", zome)
  input.end()
  return toBytes(callHost("create_1", create_1, input))
}

/** `create_1` with the entry given as msgpack bytes. Z I */
export function createEntryBytes(
  entryType: string,
  entry: Uint8Array,
  zome: string | null = null,
): Result<ActionHash> {
  const input = takeWriter().beginMap().field("entry_type", entryType).field("entry", entry)
  if (zome !== null) input.field("zome", zome)
  input.end()
  return toBytes(callHost("create_1", create_1, input))
}

/** `update_1`: a new version of the entry created by `originalActionHash` (same type). Z I */
export function updateEntry<T>(originalActionHash: ActionHash, entry: T): Result<ActionHash> {
  const input = takeWriter().map(2).field("original_action_hash", originalActionHash)
    .str("entry").binOf<T>(entry)
  return toBytes(callHost("update_1", update_1, input))
}

/** `update_1` with the entry given as msgpack bytes. Z I */
export function updateEntryBytes(
  originalActionHash: ActionHash,
  entry: Uint8Array,
): Result<ActionHash> {
  const input = takeWriter().map(2).field("original_action_hash", originalActionHash)
    .field("entry", entry)
  return toBytes(callHost("update_1", update_1, input))
}

/** `delete_1`: deletes the entry written by a create or update (a cap grant: revokes it). Z I */
export function deleteEntry(deletesActionHash: ActionHash): Result<ActionHash> {
  const input = takeWriter().map(1).field("deletes_action_hash", deletesActionHash)
  return toBytes(callHost("delete_1", delete_1, input))
}

/** `create_link_1`: a link of type `linkType` from `base` to `target`, with an optional tag. Z I */
export function createLink(
  base: AnyLinkableHash,
  target: AnyLinkableHash,
  linkType: string,
  tag: Uint8Array | null = null,
  zome: string | null = null,
): Result<ActionHash> {
  const input = takeWriter().beginMap().field("base", base).field("target", target)
    .field("link_type", linkType)
  if (tag !== null) input.field("tag", tag)
  if (zome !== null) input.field("zome", zome)
  input.end()
  return toBytes(callHost("create_link_1", create_link_1, input))
}

/** `delete_link_1`: deletes the link created by `createLinkHash`. Z I */
export function deleteLink(createLinkHash: ActionHash): Result<ActionHash> {
  const input = takeWriter().map(1).field("create_link_hash", createLinkHash)
  return toBytes(callHost("delete_link_1", delete_link_1, input))
}

/** `create_cap_grant_1`: commits a capability grant. Z I */
export function createCapGrant(grant: CapGrant): Result<ActionHash> {
  const input = takeWriter().write(grant)
  return toBytes(callHost("create_cap_grant_1", create_cap_grant_1, input))
}

/** `create_cap_claim_1`: stores a capability claim (a secret another agent granted). Z I */
export function createCapClaim(claim: CapClaim): Result<ActionHash> {
  const input = takeWriter().write(claim)
  return toBytes(callHost("create_cap_claim_1", create_cap_claim_1, input))
}

// ---------------------------------------------------------------------------------------------
// 4.4 Reading

/**
 * `get_1`: the record at an action hash, or the oldest live create of an entry hash; null when
 * there is none. Z I P
 */
export function get(hash: AnyDhtHash): Result<Record | null> {
  const r = callHost("get_1", get_1, hashInput(hash))
  if (r.isErr) return Result.err<Record | null>(r.error!)
  const v = r.unwrap()
  if (v.isNil()) return Result.ok<Record | null>(null)
  return Result.ok<Record | null>(Record.fromValue(v))
}

/** `get_details_1`: a record's or an entry's details (updates, deletes, …), or null. Z I P */
export function getDetails(hash: AnyDhtHash): Result<Details | null> {
  const r = callHost("get_details_1", get_details_1, hashInput(hash))
  if (r.isErr) return Result.err<Details | null>(r.error!)
  const v = r.unwrap()
  if (v.isNil()) return Result.ok<Details | null>(null)
  return Result.ok<Details | null>(Details.fromValue(v))
}

/**
 * `get_links_1`: the live links from `base`, oldest first; optionally only of `linkType`, with a
 * tag starting with `tagPrefix`, or by `author`. Z I P
 */
export function getLinks(
  base: AnyLinkableHash,
  linkType: string | null = null,
  tagPrefix: Uint8Array | null = null,
  author: AgentPubKey | null = null,
  zome: string | null = null,
): Result<Array<Link>> {
  const input = takeWriter().beginMap().field("base", base)
  if (linkType !== null) input.field("link_type", linkType)
  if (tagPrefix !== null) input.field("tag_prefix", tagPrefix)
  if (author !== null) input.field("author", author)
  if (zome !== null) input.field("zome", zome)
  input.end()
  const r = callHost("get_links_1", get_links_1, input)
  if (r.isErr) return Result.err<Array<Link>>(r.error!)
  const v = r.unwrap()
  const src = v.source
  if (v.kind != Kind.Array) failIn(v.context, "expected array, got " + v.kindName)
  const n = arrayAt(src, v.start, v.context)
  let pos = hFrom
  const links = new Array<Link>(n)
  for (let i = 0; i < n; i++) {
    unchecked(links[i] = Link.decodeAt(src, pos, v.context))
    pos = skipValue(src.dataStart, pos)
  }
  return Result.ok<Array<Link>>(links)
}

/** `query_1`: records of this cell's own chain that match `filter` (default: all). Z I P */
export function query(filter: QueryFilter = new QueryFilter()): Result<Array<Record>> {
  const r = callHost("query_1", query_1, takeWriter().write(filter))
  if (r.isErr) return Result.err<Array<Record>>(r.error!)
  return Result.ok<Array<Record>>(Record.listFromValue(r.unwrap()))
}

// ---------------------------------------------------------------------------------------------
// 4.5 Validation dependencies. In `validate`, a missing dependency ends the callback at once
// (the op becomes "unresolved dependencies"); elsewhere it returns kind "not_found".

/** `must_get_entry_1`: the entry at `hash`. Z I P V */
export function mustGetEntry(hash: EntryHash): Result<Entry> {
  const r = callHost("must_get_entry_1", must_get_entry_1, hashInput(hash))
  if (r.isErr) return Result.err<Entry>(r.error!)
  return Result.ok<Entry>(Entry.fromValue(r.unwrap()))
}

/** `must_get_action_1`: the signed action at `hash`. Z I P V */
export function mustGetAction(hash: ActionHash): Result<SignedAction> {
  const r = callHost("must_get_action_1", must_get_action_1, hashInput(hash))
  if (r.isErr) return Result.err<SignedAction>(r.error!)
  return Result.ok<SignedAction>(SignedAction.fromValue(r.unwrap()))
}

/** `must_get_valid_record_1`: the record at `hash`, only if it is valid. Z I P V */
export function mustGetValidRecord(hash: ActionHash): Result<Record> {
  const r = callHost("must_get_valid_record_1", must_get_valid_record_1, hashInput(hash))
  if (r.isErr) return Result.err<Record>(r.error!)
  return Result.ok<Record>(Record.fromValue(r.unwrap()))
}

/**
 * `must_get_agent_activity_1`: `author`'s actions from `chainTop` back to the first, newest
 * first. Z I P V
 */
export function mustGetAgentActivity(
  author: AgentPubKey,
  chainTop: ActionHash,
): Result<Array<SignedAction>> {
  const input = takeWriter().map(2).field("author", author).field("chain_top", chainTop)
  const r = callHost("must_get_agent_activity_1", must_get_agent_activity_1, input)
  if (r.isErr) return Result.err<Array<SignedAction>>(r.error!)
  return Result.ok<Array<SignedAction>>(SignedAction.listFromValue(r.unwrap()))
}

// ---------------------------------------------------------------------------------------------
// 4.6 Signals and calls

/** `emit_signal_1`: sends `signal` (encoded as by `Writer.write`) to the app's clients. Z I P */
export function emitSignal<T>(signal: T): Result<Value> {
  return callHost("emit_signal_1", emit_signal_1, takeWriter().binOf<T>(signal))
}

/** `emit_signal_1` with the signal given as msgpack bytes. Z I P */
export function emitSignalBytes(signal: Uint8Array): Result<Value> {
  return callHost("emit_signal_1", emit_signal_1, takeWriter().bin(signal))
}

/**
 * `call_1`: calls `fnName` of `zomeName` in `target` with `payload` (encoded as by
 * `Writer.write`). The host's answer says whether the callee succeeded; `Result` only fails
 * when the host could not make the call at all. Z I P
 */
export function call<T>(
  target: CallTarget,
  zomeName: string,
  fnName: string,
  payload: T,
  capSecret: Uint8Array | null = null,
): Result<ZomeCallResponse> {
  const input = takeWriter().map(5).field("target", target).field("zome_name", zomeName)
    .field("fn_name", fnName).field("cap_secret", capSecret).str("payload").binOf<T>(payload)
  return callResponse(callHost("call_1", call_1, input))
}

/** `call_1` with the payload given as msgpack bytes. Z I P */
export function callBytes(
  target: CallTarget,
  zomeName: string,
  fnName: string,
  payload: Uint8Array,
  capSecret: Uint8Array | null = null,
): Result<ZomeCallResponse> {
  const input = takeWriter().map(5).field("target", target).field("zome_name", zomeName)
    .field("fn_name", fnName).field("cap_secret", capSecret).field("payload", payload)
  return callResponse(callHost("call_1", call_1, input))
}

function callResponse(r: Result<Value>): Result<ZomeCallResponse> {
  if (r.isErr) return Result.err<ZomeCallResponse>(r.error!)
  return Result.ok<ZomeCallResponse>(ZomeCallResponse.fromValue(r.unwrap()))
}

// ---------------------------------------------------------------------------------------------
// 4.8 Receptors

/**
 * `receptor_call_1`: calls `operation` of receptor `receptor` (its configured id) with `input`
 * (encoded as by `Writer.write`: a `Writer` holding a map, for most operations). The result is an
 * error when the host refuses (`not_found`, `unauthorized`: not granted to this app or DNA;
 * `denied`: not in validation); otherwise the receptor's answer, which may itself be an error
 * with a reason (`ReceptorResponse`). Z I P
 */
export function receptorCall<T>(
  receptor: string,
  operation: string,
  input: T,
): Result<ReceptorResponse> {
  const w = takeWriter().map(3).field("receptor", receptor).field("operation", operation)
    .field<T>("input", input)
  return receptorResponse(callHost("receptor_call_1", receptor_call_1, w))
}

/** `receptor_call_1` on the default receptor of `receptorType` (see `receptorCall`). Z I P */
export function receptorCallDefault<T>(
  receptorType: string,
  operation: string,
  input: T,
): Result<ReceptorResponse> {
  const w = takeWriter().map(3).field("type", receptorType).field("operation", operation)
    .field<T>("input", input)
  return receptorResponse(callHost("receptor_call_1", receptor_call_1, w))
}

function receptorResponse(r: Result<Value>): Result<ReceptorResponse> {
  if (r.isErr) return Result.err<ReceptorResponse>(r.error!)
  return Result.ok<ReceptorResponse>(ReceptorResponse.fromValue(r.unwrap()))
}
