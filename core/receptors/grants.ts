/**
 * Which zomes may call which receptors: the `grants` of a receptor's config entry name the apps
 * (installed app id) and DNAs (DNA hash) whose zomes may call it through `receptor_call_1`. No
 * grant, no access. It owns the rule and its error; the registry (`receptors.ts`) applies it in
 * `callAs`, the one path zome calls take.
 *
 * @module
 */
import { Schema } from "effect"
import type { ReceptorGrants } from "../config/mod.ts"

/** Who calls a receptor from a zome. */
export interface ReceptorCaller {
  /** The installed app id of the calling cell. */
  readonly appId: string
  /** The calling cell's DNA hash, as `uhC0k…`. */
  readonly dnaHash: string
}

/** Which receptor a zome names: by id, or the default receptor of a type. */
export type ReceptorTarget =
  | { readonly id: string }
  | { readonly type: string }

/** The receptor exists but the operator did not grant it to the calling app or DNA. */
export class ReceptorNotGranted
  extends Schema.TaggedError<ReceptorNotGranted>()("ReceptorNotGranted", {
    receptorId: Schema.String,
    appId: Schema.String,
    dnaHash: Schema.String,
  }) {
  override get message(): string {
    return `receptor "${this.receptorId}" is not granted to app "${this.appId}" or DNA ${this.dnaHash} (add the app to its grants.apps or the DNA to its grants.dnas in the config)`
  }
}

/** True when `grants` lets `caller` in: its app or its DNA is listed. */
export function isGranted(grants: ReceptorGrants, caller: ReceptorCaller): boolean {
  return grants.apps.includes(caller.appId) || grants.dnas.includes(caller.dnaHash)
}
