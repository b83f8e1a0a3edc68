/**
 * The HTTP gateway (Holochain's `hc-http-gw`): routes and JSON ⇄ msgpack transcoding.
 *
 * @module
 */
export * from "./gateway.ts"
export * from "./transcode.ts"
