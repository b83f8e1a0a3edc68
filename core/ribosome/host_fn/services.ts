/**
 * The services every host function may use. Adding a service here makes it available to all
 * host functions; the ribosome captures them once at layer construction.
 *
 * @module
 */
import type { Chain } from "../../chain/mod.ts"
import type { Hasher } from "../../hash/mod.ts"
import type { Keystore } from "../../keystore/mod.ts"
import type { Cascade, Network } from "../../network/mod.ts"
import type { Receptors } from "../../receptors/mod.ts"
import type { Signals } from "../../signals/mod.ts"
import type { Spaces } from "../../space/mod.ts"

/** Services available to host functions. */
export type HostFnServices =
  | Cascade
  | Chain
  | Hasher
  | Keystore
  | Network
  | Receptors
  | Signals
  | Spaces
