/**
 * The wire of the Conductor API (conductor-api.md), shared by the admin and the app interfaces:
 * the message schemas and their decoders (`api.ts`), the identifier checks every request gets
 * before it does anything (`request_identifiers.ts`), the websocket transport (`websocket.ts`)
 * and the Origin policy (`origins.ts`). It owns shapes and how bytes travel; it does not know
 * what a request means: `admin/dispatch.ts` and `app_interface/dispatch.ts` decide that.
 *
 * @module
 */
export * from "./api.ts"
export * from "./origins.ts"
export * from "./request_identifiers.ts"
export * from "./websocket.ts"
