/**
 * The conductor's data types: actions, entries, records, capability grants, DHT ops and the
 * schemas that decode them from untrusted bytes (abi.md §3, conductor-api.md §5).
 *
 * @module
 */
export * from "./action.ts"
export * from "./cap.ts"
export * from "./dht_op.ts"
export * from "./entry.ts"
export * from "./identifier.ts"
export * from "./record.ts"
export * from "./schemas.ts"
