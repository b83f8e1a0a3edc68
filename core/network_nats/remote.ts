/**
 * The `NetworkShape` methods that reach other agents for data and calls: `get`, `getLinks`,
 * `agentActivity`, `callRemote` and `sendRemoteSignal`. They plug into the NATS network here:
 * a method asks through the `Inbox` (`ask` to one agent's inbox, `askAuthority` to a sector's
 * authorities; answers arrive verified as envelopes, their content is the method's to check)
 * and the handlers that answer are registered with `Inbox.register` in `registerRemote`, which
 * the runtime calls once at start.
 *
 * Until those land, they behave as the local-only network does (nothing remote; `callRemote`
 * refused with `NoPeers`; signals skipped).
 *
 * @module
 */
import { Effect } from "effect"
import { localOnlyNetwork, type NetworkShape } from "../network/mod.ts"
import type { InboxShape } from "./inbox.ts"
import type { NatsStateShape } from "./state.ts"

/** What the remote methods may use. */
export interface RemoteDeps {
  readonly inbox: InboxShape
  readonly state: NatsStateShape
}

/** The remote methods of the NATS network. */
export type RemoteMethods = Pick<
  NetworkShape,
  "get" | "getLinks" | "agentActivity" | "callRemote" | "sendRemoteSignal"
>

/** Builds the remote methods. */
export function makeRemote(_deps: RemoteDeps): RemoteMethods {
  return {
    get: localOnlyNetwork.get,
    getLinks: localOnlyNetwork.getLinks,
    agentActivity: localOnlyNetwork.agentActivity,
    callRemote: localOnlyNetwork.callRemote,
    sendRemoteSignal: localOnlyNetwork.sendRemoteSignal,
  }
}

/** Registers the handlers that answer other conductors' remote requests (none yet). */
export const registerRemote = (_deps: RemoteDeps): Effect.Effect<void> => Effect.void
