/**
 * The one list of host functions. Adding a host function is one file plus one line here.
 *
 * @module
 */
import { Context } from "effect"
import { agentInfo } from "./agent_info.ts"
import { call } from "./call.ts"
import { callInfo } from "./call_info.ts"
import { callRemote } from "./call_remote.ts"
import { countLinks } from "./count_links.ts"
import { getAgentActivity } from "./get_agent_activity.ts"
import { sendRemoteSignal } from "./send_remote_signal.ts"
import { create } from "./create.ts"
import { createCapClaim } from "./create_cap_claim.ts"
import { createCapGrant } from "./create_cap_grant.ts"
import { createLink } from "./create_link.ts"
import { deleteEntry } from "./delete.ts"
import { deleteLink } from "./delete_link.ts"
import { dnaInfo } from "./dna_info.ts"
import { emitSignal } from "./emit_signal.ts"
import { get } from "./get.ts"
import { getDetails } from "./get_details.ts"
import { getLinks } from "./get_links.ts"
import { hash } from "./hash.ts"
import type { AnyHostFn } from "./host_fn.ts"
import { mustGetAction } from "./must_get_action.ts"
import { mustGetAgentActivity } from "./must_get_agent_activity.ts"
import { mustGetEntry } from "./must_get_entry.ts"
import { mustGetValidRecord } from "./must_get_valid_record.ts"
import { query } from "./query.ts"
import { randomBytes } from "./random_bytes.ts"
import { receptorCall } from "./receptor_call.ts"
import { sign } from "./sign.ts"
import { sysTime } from "./sys_time.ts"
import { trace } from "./trace.ts"
import { update } from "./update.ts"
import { verifySignature } from "./verify_signature.ts"
import { zomeInfo } from "./zome_info.ts"

/** Every host function a zome may import from `extism:host/user`. */
export const hostFns: ReadonlyArray<AnyHostFn> = [
  agentInfo,
  dnaInfo,
  zomeInfo,
  callInfo,
  sysTime,
  randomBytes,
  trace,
  hash,
  sign,
  verifySignature,
  create,
  update,
  deleteEntry,
  createLink,
  deleteLink,
  createCapGrant,
  createCapClaim,
  get,
  getDetails,
  getLinks,
  query,
  mustGetEntry,
  mustGetAction,
  mustGetValidRecord,
  mustGetAgentActivity,
  emitSignal,
  call,
  receptorCall,
  // The network (issue 8): reads and calls that reach other agents.
  countLinks,
  getAgentActivity,
  callRemote,
  sendRemoteSignal,
] as ReadonlyArray<AnyHostFn>

/** Host functions by guest import name. */
export const hostFnsByName: ReadonlyMap<string, AnyHostFn> = new Map(
  hostFns.map((fn) => [fn.name, fn]),
)

/**
 * The host functions guests may import, by name: {@link hostFnsByName} unless a layer provides
 * another map. Only tests provide one (to add a host function that waits, say); the ribosome and
 * the install-time import check both read it.
 */
export const HostFns: Context.Reference<ReadonlyMap<string, AnyHostFn>> = Context.Reference(
  "conductor/ribosome/HostFns",
  { defaultValue: () => hostFnsByName },
)
