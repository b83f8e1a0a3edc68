/**
 * Wrappers for the host functions that reach other agents (abi.md §4.4, §4.6): reads with a
 * `GetStrategy` ("network", the default, or "local"), `count_links_1`, `get_agent_activity_1`,
 * `call_remote_1` and `send_remote_signal_1`. A zome that wants remote signals exports
 * `recv_remote_signal` (it receives the sender's payload as its input) and grants it.
 *
 * Each returns a `Result`; a network that did not answer is an error of kind "network", and a
 * remote call's outcome (including "network_error") is a value of `ZomeCallResponse`.
 */
import { callHostRaw } from "./hdk"
import {
  get_1,
  get_details_1,
  get_links_1,
  must_get_action_1,
  must_get_agent_activity_1,
  must_get_entry_1,
  must_get_valid_record_1,
} from "./imports"
import { Value, Writer } from "./msgpack"
import { HostError, Result } from "./result"
import { AgentPubKey, AnyDhtHash, AnyLinkableHash, Record, ZomeCallResponse } from "./types"

@external("extism:host/user", "count_links_1")
declare function count_links_1(input: u64): u64
@external("extism:host/user", "get_agent_activity_1")
declare function get_agent_activity_1(input: u64): u64
@external("extism:host/user", "call_remote_1")
declare function call_remote_1(input: u64): u64
@external("extism:host/user", "send_remote_signal_1")
declare function send_remote_signal_1(input: u64): u64

/** Holochain's `GetStrategy`: ask the network when needed (the default), or never. */
export const NETWORK = "network"
/** Holochain's `GetStrategy::Local`. */
export const LOCAL = "local"

/** `get_1` with a strategy: the record, or null. Z I P */
export function getWithStrategy(hash: AnyDhtHash, strategy: string): Result<Record | null> {
  const input = new Writer().map(2).field("hash", hash).field("strategy", strategy)
  const r = callHostRaw("get_1", get_1, input)
  if (r.isErr) return Result.err<Record | null>(r.error!)
  const v = r.unwrap()
  if (v.isNil()) return Result.ok<Record | null>(null)
  return Result.ok<Record | null>(Record.fromValue(v))
}

/** `count_links_1`: how many live links `get_links_1` would return. Z I P */
export function countLinks(
  base: AnyLinkableHash,
  linkType: string | null = null,
  strategy: string = NETWORK,
): Result<i64> {
  const input = new Writer().beginMap().field("base", base)
  if (linkType !== null) input.field("link_type", linkType)
  input.field("strategy", strategy).end()
  const r = callHostRaw("count_links_1", count_links_1, input)
  if (r.isErr) return Result.err<i64>(r.error!)
  return Result.ok<i64>(r.unwrap().asI64())
}

/**
 * `call_remote_1`: calls `fnName` of `zomeName` in `agent`'s cell of this DNA with `payload`
 * (msgpack bytes), authorised by the callee's grants (with `capSecret`). Z I P
 */
export function callRemoteBytes(
  agent: AgentPubKey,
  zomeName: string,
  fnName: string,
  payload: Uint8Array,
  capSecret: Uint8Array | null = null,
): Result<ZomeCallResponse> {
  const input = new Writer().map(5).field("agent", agent).field("zome_name", zomeName)
    .field("fn_name", fnName).field("cap_secret", capSecret).field("payload", payload)
  const r = callHostRaw("call_remote_1", call_remote_1, input)
  if (r.isErr) return Result.err<ZomeCallResponse>(r.error!)
  return Result.ok<ZomeCallResponse>(ZomeCallResponse.fromValue(r.unwrap()))
}

/** `send_remote_signal_1`: sends `payload` (msgpack bytes) to `agents`; fire and forget. Z I P */
export function sendRemoteSignalBytes(
  agents: Array<AgentPubKey>,
  payload: Uint8Array,
): Result<Value> {
  const input = new Writer().map(2).field("agents", agents).field("payload", payload)
  return callHostRaw("send_remote_signal_1", send_remote_signal_1, input)
}

/**
 * Calls host function `fn` (one of the reading and network host functions) with `input`, an
 * already encoded msgpack value, and returns its result envelope as a `Result`. For tests and
 * PDK authors who need an option no wrapper exposes.
 */
export function callNetworkHostRaw(fn: string, input: Uint8Array): Result<Value> {
  const w = new Writer().raw(input)
  if (fn == "get_1") return callHostRaw(fn, get_1, w)
  if (fn == "get_details_1") return callHostRaw(fn, get_details_1, w)
  if (fn == "get_links_1") return callHostRaw(fn, get_links_1, w)
  if (fn == "count_links_1") return callHostRaw(fn, count_links_1, w)
  if (fn == "get_agent_activity_1") return callHostRaw(fn, get_agent_activity_1, w)
  if (fn == "must_get_entry_1") return callHostRaw(fn, must_get_entry_1, w)
  if (fn == "must_get_action_1") return callHostRaw(fn, must_get_action_1, w)
  if (fn == "must_get_valid_record_1") return callHostRaw(fn, must_get_valid_record_1, w)
  if (fn == "must_get_agent_activity_1") return callHostRaw(fn, must_get_agent_activity_1, w)
  if (fn == "call_remote_1") return callHostRaw(fn, call_remote_1, w)
  if (fn == "send_remote_signal_1") return callHostRaw(fn, send_remote_signal_1, w)
  return Result.err<Value>(new HostError(fn, "invalid_input", "not a network host function"))
}
