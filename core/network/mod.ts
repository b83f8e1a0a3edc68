/**
 * The `Network` seam to other peers (with its local-only implementation), one publish round
 * from the outbox, and the `Cascade` of local-first, verified reads.
 *
 * @module
 */
export * from "./cascade.ts"
export * from "./network.ts"
export { publishDue } from "./publish.ts"
