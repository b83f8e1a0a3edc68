/**
 * The forum driven by the unmodified `@holochain/client`, as a web or Node app would drive it:
 * install the packed hApp through the admin websocket, authorise a signing key, find or attach an
 * app interface, authenticate with a token, listen for the `post_created` signals of `post_commit`,
 * create a post and list the posts.
 *
 * Run against a conductor started with `deno task start`:
 * `deno run -A examples/forum/client.ts [--admin-port 4444] [--happ examples/forum/forum.happ]`.
 *
 * @module
 */
// An example program: it reports to the terminal.
// deno-lint-ignore-file no-console
import {
  AdminWebsocket,
  AppWebsocket,
  type CellId,
  encodeHashToBase64,
  type WsClient,
} from "@holochain/client"
import { parseArgs } from "node:util"

const { values } = parseArgs({
  args: Deno.args,
  options: {
    "admin-port": { type: "string", default: "4444" },
    happ: { type: "string", default: "examples/forum/forum.happ" },
    "app-id": { type: "string", default: "forum-client" },
  },
})
const appId = values["app-id"]
// The Origin sent on both websockets: Node's ws sends none unless told. The embedded default
// admin interface admits loopback pages and tools (an Origin that is not a web page's).
const origin = "forum-client"

const admin = await AdminWebsocket.connect({
  url: new URL(`ws://localhost:${values["admin-port"]}`),
  wsClientOptions: { origin },
})
const installed = (await admin.listApps({})).some((app) => app.installed_app_id === appId)
if (!installed) {
  await admin.installApp({
    source: { type: "bytes", value: await Deno.readFile(values.happ) },
    agent_key: await admin.generateAgentPubKey(),
    installed_app_id: appId,
  })
  await admin.enableApp({ installed_app_id: appId })
}
const info = (await admin.listApps({})).find((app) => app.installed_app_id === appId)!
const cell = info.cell_info["forum"]![0]!
const cellId = (cell.value as { cell_id: CellId }).cell_id
// A signing key with a capability grant for this cell: @holochain/client signs every call.
await admin.authorizeSigningCredentials(cellId)
// An app interface this client may use, or a new one (the conductor keeps it across restarts).
const admits = (origins: string) =>
  origins === "*" || origins.split(",").map((o) => o.trim()).includes(origin)
const existing = (await admin.listAppInterfaces()).find((i) =>
  admits(i.allowed_origins) && (i.installed_app_id ?? appId) === appId
)
const port = existing?.port ??
  (await admin.attachAppInterface({ allowed_origins: origin, installed_app_id: appId })).port
const { token } = await admin.issueAppAuthenticationToken({ installed_app_id: appId })
const app = await AppWebsocket.connect({
  url: new URL(`ws://localhost:${port}`),
  token,
  wsClientOptions: { origin },
})

const signal = new Promise<unknown>((resolve) => {
  app.on("signal", (s) => {
    if (s.type === "app") resolve(s.value.payload)
  })
})
const hash = await app.callZome({
  role_name: "forum",
  zome_name: "forum",
  fn_name: "create_post",
  payload: { title: "Hello from @holochain/client", body: "Signed, validated and committed." },
}) as Uint8Array
console.log(`created post ${encodeHashToBase64(hash)}`)
const announced = await signal as { type: string; hash: Uint8Array }
console.log(`signal ${announced.type} ${encodeHashToBase64(announced.hash)}`)
const posts = await app.callZome({
  role_name: "forum",
  zome_name: "forum",
  fn_name: "list_posts",
  payload: null,
}) as Array<{ title: string }>
console.log(`${posts.length} post(s), newest: "${posts[0]?.title}"`)

await (app.client as WsClient).close()
await admin.client.close()
