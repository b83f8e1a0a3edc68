/**
 * Agent keys.
 *
 * @module
 */
export { Keystore, KeystoreError, type KeystoreShape, makeKeystore } from "./keystore.ts"
