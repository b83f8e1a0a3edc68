/**
 * The local DHT store (`Spaces`, one space per DNA) and the durable `Outbox` of authored ops.
 *
 * @module
 */
export * from "./outbox.ts"
export * from "./space.ts"
