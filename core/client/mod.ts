/**
 * A small client of the conductor's own wire protocol (signing credentials, a websocket client),
 * used by the `call` command.
 *
 * @module
 */
export * from "./signing.ts"
export * from "./wire_client.ts"
