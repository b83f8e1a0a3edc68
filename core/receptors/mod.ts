/**
 * Receptors: adapters between the conductor's apps and systems outside them, configured by the
 * operator under `receptors:` and reached by id. This folder holds the contract (`receptor.ts`)
 * and the registry service (`receptors.ts`); the receptor types live in the top-level
 * `receptors/<type>/` folders and `receptors/mod.ts` wires them into `Receptors.layer`.
 *
 * @module
 */
export {
  callReceptor,
  describeOperations,
  operation,
  type Receptor,
  ReceptorError,
  ReceptorErrorReason,
  ReceptorHealth,
  ReceptorNotFound,
  type ReceptorOperation,
  storageAttempt,
} from "./receptor.ts"
export {
  type ReceptorEnv,
  Receptors,
  type ReceptorsShape,
  type ReceptorStatus,
  type StartReceptor,
} from "./receptors.ts"
export {
  isGranted,
  type ReceptorCaller,
  ReceptorNotGranted,
  type ReceptorTarget,
} from "./grants.ts"
export { checkKey, encodeValue, openReceptorStore, receptorFile, utf8Bytes } from "./storage.ts"
