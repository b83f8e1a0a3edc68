/**
 * Workflows: the zome call (`ZomeCalls`), the one commit path (`Commits`), app validation, and
 * the install-time DNA registration and genesis.
 *
 * @module
 */
export { Commits, type CommitsShape, makeCommits } from "./commit.ts"
export { callableExports, InstallFailed, registerDna, runGenesis } from "./genesis.ts"
export {
  InvalidCommit,
  recordValidator,
  runValidateCallback,
  validatePending,
} from "./validation.ts"
export {
  makeZomeCalls,
  MAX_CALL_DEPTH,
  ZomeCallError,
  type ZomeCallRequest,
  ZomeCalls,
  type ZomeCallsShape,
} from "./zome_call.ts"
