/**
 * Source chains: workspaces, atomic commits, queries and verification.
 *
 * @module
 */
export {
  Chain,
  ChainError,
  type ChainFault,
  type ChainFilter,
  type ChainShape,
  entryTypeKey,
  makeChain,
} from "./chain.ts"
export {
  type ActionDraft,
  type ChainHead,
  entryHashOf,
  type PendingRecord,
  Workspace,
} from "./workspace.ts"
