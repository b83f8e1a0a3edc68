/**
 * The admin side of the Conductor API: admin websocket interfaces (`admin_interfaces.ts`) and
 * the semantics of the admin API (`dispatch.ts`), and the HTTP endpoint (`http_server.ts`,
 * `http_app.ts`: the admin routes, the gateway and the receptor routes behind their guards).
 * The transport and the wire schemas it shares with the app interfaces live in `wire/`.
 *
 * @module
 */
export {
  AdminInterfaces,
  type AdminInterfacesShape,
  MAX_ADMIN_CONNECTIONS,
} from "./admin_interfaces.ts"
export { type AdminDispatch, makeAdminDispatch, parseAdminRequest } from "./dispatch.ts"
export { type HttpServices, InstallBody, makeHttpApp } from "./http_app.ts"
export { HttpAddress, HttpServerError, HttpServerLayer } from "./http_server.ts"
export { toJson } from "./json.ts"
