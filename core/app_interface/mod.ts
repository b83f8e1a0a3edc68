/**
 * App interfaces of the Conductor API: app websockets with token authentication, signal
 * delivery, signed zome calls with nonce witnessing, and the app API's semantics.
 *
 * @module
 */
export {
  AppInterfaceError,
  type AppInterfaceInfo,
  AppInterfaces,
  type AppInterfacesOptions,
  type AppInterfacesShape,
  type AttachRequest,
  AUTHENTICATION_TIMEOUT,
  makeAppInterfaces,
  MAX_APP_CONNECTIONS,
  MAX_UNAUTHENTICATED_BYTES,
} from "./app_interfaces.ts"
export { type AppDispatch, makeAppDispatch, parseAppRequest } from "./dispatch.ts"
export {
  NETWORK_REQUEST_TYPES,
  networkRequest,
  type NetworkRequestFailure,
  type NetworkRequestScope,
} from "./network_requests.ts"
export {
  makeNonceWitness,
  MAX_NONCE_AHEAD_MICROS,
  type NonceOutcome,
  NonceWitness,
  type NonceWitnessShape,
} from "./nonces.ts"
export { FILTER_BITS, makeNonceFilter, type NonceFilter } from "./nonce_filter.ts"
export { makeSignalFrameEncoder } from "./signal_frame.ts"
export {
  makeSignedCallCheck,
  makeSignedCalls,
  type SignedCall,
  type SignedCallCheck,
  type SignedZomeCall,
} from "./signed_call.ts"
export {
  AppTokens,
  type AppTokensShape,
  DEFAULT_TOKEN_EXPIRY_SECONDS,
  type IssuedToken,
  makeAppTokens,
  type TokenCheck,
} from "./tokens.ts"
