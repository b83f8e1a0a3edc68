/**
 * The `Network` seam to other peers (with its local-only implementation), one publish round
 * from the outbox, the `Cascade` of local-first, verified reads, and `NetworkInfo` for
 * operators.
 *
 * @module
 */
export * from "./cascade.ts"
export * from "./network.ts"
export * from "./network_info.ts"
export { publishDue } from "./publish.ts"
