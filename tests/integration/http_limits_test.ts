/**
 * The HTTP admin API against web pages and oversized input (docs/decisions.md, "Who may use the
 * admin interfaces", "HTTP body limits"): pages of other sites are refused (Origin,
 * `Sec-Fetch-Site`, DNS-rebinding Host), bodies must be JSON or octet-stream and not encoded, a
 * wrong or missing admin token is a 401, bodies and JSON nesting are bounded with a 413 or 400
 * naming the limit, and the public gateway keeps answering any page. In process through
 * `app.request`, plus one real port for a streamed (chunked) body.
 *
 * @module
 */
import { Effect } from "effect"
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict"
import { makeHttpApp } from "../../core/admin/http_app.ts"
import { ConductorConfig } from "../../core/config/mod.ts"
import { makeConductor, type TestConductor } from "../support/conductor.ts"

const JSON_TYPE = { "content-type": "application/json" }

async function withApp(
  yaml: string,
  test: (app: ReturnType<typeof makeHttpApp>, conductor: TestConductor) => Promise<void>,
): Promise<void> {
  const conductor = makeConductor({ config: `log: {level: error}\n${yaml}` })
  try {
    const config = await conductor.runPromise(Effect.service(ConductorConfig))
    await test(makeHttpApp((effect) => conductor.runPromise(effect), config, 0), conductor)
  } finally {
    await conductor.dispose()
  }
}

async function appCount(app: ReturnType<typeof makeHttpApp>): Promise<number> {
  const response = await app.request("/api/apps")
  assertEquals(response.status, 200)
  return (await response.json() as Array<unknown>).length
}

async function errorOf(response: Response): Promise<string> {
  return (await response.json() as { error: string }).error
}

Deno.test("/api refuses pages of other sites and simple cross-site POSTs", async () => {
  await withApp("", async (app) => {
    // A cross-site text/plain POST (what a form or `fetch(no-cors)` can send).
    const evil = await app.request("/api/agent_keys", {
      method: "POST",
      headers: { origin: "https://evil.example", "content-type": "text/plain" },
      body: "{}",
    })
    assertEquals(evil.status, 403)
    assert((await errorOf(evil)).includes("https://evil.example"))
    // Even with a JSON type, a foreign Origin is refused; so is a GET that would leak state.
    for (const method of ["POST", "GET"]) {
      const response = await app.request("/api/agent_keys", {
        method,
        headers: { origin: "http://evil.example:4445", ...JSON_TYPE },
        ...(method === "POST" ? { body: "{}" } : {}),
      })
      assertEquals(response.status, 403, method)
    }
    // A browser that sends no Origin still says where the request comes from.
    const site = await app.request("/api/apps", { headers: { "sec-fetch-site": "cross-site" } })
    assertEquals(site.status, 403)
    // A DNS-rebinding page reaches the loopback port under its own host name.
    const rebound = await app.request("/api/apps", { headers: { host: "evil.example:4445" } })
    assertEquals(rebound.status, 403)
    // A body without a JSON or octet-stream type is refused, even from a tool: an install with
    // no content type (what `fetch(url, {body: bytes})` sends) changes nothing.
    // In process, a streamed body carries no framing header: set the one the wire would carry.
    const untyped = await app.request("/api/apps?enable=true", {
      method: "POST",
      headers: { "transfer-encoding": "chunked" },
      body: new ReadableStream({
        start(controller) {
          controller.enqueue(new Uint8Array([1, 2, 3]))
          controller.close()
        },
      }),
    })
    assertEquals(untyped.status, 415)
    assert((await errorOf(untyped)).includes("application/json"))
    const text = await app.request("/api/apps/forum/call/forum/forum/create_post", {
      method: "POST",
      body: '{"title": "x", "body": "y"}',
    })
    assertEquals(text.status, 415)
    const form = await app.request("/api/agent_keys", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "a=b",
    })
    assertEquals(form.status, 415)
    const gzip = await app.request("/api/apps", {
      method: "POST",
      headers: { "content-type": "application/octet-stream", "content-encoding": "gzip" },
      body: new Uint8Array([0x1f, 0x8b]),
    })
    assertEquals(gzip.status, 415)
    assertEquals(await appCount(app), 0)
    // Tools (no Origin, or a non-web one) and loopback pages are served.
    assertEquals((await app.request("/api/agent_keys", { method: "POST" })).status, 201)
    for (const origin of ["conductor-cli", "http://localhost:5173", "http://127.0.0.1:8080"]) {
      const response = await app.request("/api/agent_keys", {
        method: "POST",
        headers: { origin, host: "127.0.0.1:4445", ...JSON_TYPE },
        body: "{}",
      })
      assertEquals(response.status, 201, origin)
    }
    // A loopback page gets CORS answers, including the preflight of a JSON POST.
    const preflight = await app.request("/api/agent_keys", {
      method: "OPTIONS",
      headers: {
        origin: "http://localhost:5173",
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type",
      },
    })
    assertEquals(preflight.status, 204)
    assertEquals(preflight.headers.get("access-control-allow-origin"), "http://localhost:5173")
    const foreign = await app.request("/api/agent_keys", {
      method: "OPTIONS",
      headers: { origin: "https://evil.example", "access-control-request-method": "POST" },
    })
    assertEquals(foreign.status, 403)
  })
})

Deno.test("/api with http.admin_token: a missing or wrong token is a 401", async () => {
  await withApp("http: {admin_token: s3cret-token}\n", async (app) => {
    for (
      const headers of [
        {},
        { authorization: "Bearer wrong" },
        { authorization: "Bearer s3cret-toke" },
        { authorization: "Basic czNjcmV0" },
        { authorization: "s3cret-token" },
      ]
    ) {
      const response = await app.request("/api/apps", { headers })
      assertEquals(response.status, 401, JSON.stringify(headers))
      assert(response.headers.get("www-authenticate")?.startsWith("Bearer"))
      assert((await errorOf(response)).length > 0)
    }
    const ok = await app.request("/api/apps", { headers: { authorization: "Bearer s3cret-token" } })
    assertEquals(ok.status, 200)
  })
})

Deno.test("/api bounds bodies and JSON depth, naming the limit", async () => {
  await withApp(
    "http: {max_body_bytes: 1000, max_install_body_bytes: 5000, max_json_depth: 8}\n",
    async (app) => {
      const call = "/api/apps/forum/call/forum/forum/create_post"
      const big = await app.request(call, {
        method: "POST",
        headers: JSON_TYPE,
        body: JSON.stringify("x".repeat(2000)),
      })
      assertEquals(big.status, 413)
      assert((await errorOf(big)).includes("http.max_body_bytes"))
      const install = await app.request("/api/apps", {
        method: "POST",
        headers: { "content-type": "application/octet-stream" },
        body: new Uint8Array(6000),
      })
      assertEquals(install.status, 413)
      assert((await errorOf(install)).includes("http.max_install_body_bytes"))
      // Under the install limit but over the general one: the install limit applies.
      const small = await app.request("/api/apps", {
        method: "POST",
        headers: { "content-type": "application/octet-stream" },
        body: new Uint8Array(3000),
      })
      assertEquals(small.status, 400)
      for (const [path, depth] of [[call, 9], ["/api/apps", 9], [call, 400]] as const) {
        const deep = await app.request(path, {
          method: "POST",
          headers: JSON_TYPE,
          body: "[".repeat(depth) + "]".repeat(depth),
        })
        assertEquals(deep.status, 400, `${path} ${depth}`)
        assert((await errorOf(deep)).includes("http.max_json_depth"))
      }
      // Brackets inside strings are not nesting.
      const quoted = await app.request(call, {
        method: "POST",
        headers: JSON_TYPE,
        body: JSON.stringify({ title: "[[[[[[[[[[[[[[[[[[", body: '\\"{{{{{{{{{{{{' }),
      })
      assertEquals(quoted.status, 404) // no app "forum": the body passed the checks
    },
  )
  // The defaults: 1 MiB for calls, depth 64; a million-deep JSON is a 400, not a 500.
  await withApp("", async (app) => {
    const deep = await app.request("/api/apps/forum/call/forum/forum/create_post", {
      method: "POST",
      headers: JSON_TYPE,
      body: "[".repeat(1_000_000) + "]".repeat(1_000_000),
    })
    assertEquals(deep.status, 413)
    const deepSmall = await app.request("/api/apps/forum/call/forum/forum/create_post", {
      method: "POST",
      headers: JSON_TYPE,
      body: "[".repeat(100_000) + "]".repeat(100_000),
    })
    assertEquals(deepSmall.status, 400)
    assert((await errorOf(deepSmall)).includes("64"))
  })
})

Deno.test("the gateway still answers pages of any site", async () => {
  await withApp("", async (app) => {
    const response = await app.request("/not-a-hash/forum/forum/list_posts", {
      headers: { origin: "https://anyone.example", "sec-fetch-site": "cross-site" },
    })
    assertEquals(response.status, 400)
    assertEquals(response.headers.get("access-control-allow-origin"), "*")
  })
})

Deno.test("a streamed body over the limit is cut off on a real port; the server keeps serving", async () => {
  await withApp("http: {max_body_bytes: 65536}\n", async (app) => {
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, app.fetch)
    try {
      const base = `http://127.0.0.1:${server.addr.port}`
      // Chunked, with no Content-Length: only counting while reading can stop it. The stream
      // would go on for 1 GiB; the server must answer long before.
      let sent = 0
      const chunk = new Uint8Array(64 * 1024).fill(0x20)
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent >= 1024 * 1024 * 1024) return controller.close()
          sent += chunk.length
          controller.enqueue(chunk)
        },
      })
      const response = await fetch(`${base}/api/apps/forum/call/forum/forum/create_post`, {
        method: "POST",
        headers: JSON_TYPE,
        body,
        signal: AbortSignal.timeout(60_000),
      })
      assertEquals(response.status, 413)
      assert((await errorOf(response)).includes("http.max_body_bytes"))
      // deno-lint-ignore no-console
      console.log(`the client had streamed ${sent} bytes when the 413 came`)
      const health = await fetch(`${base}/health`, { signal: AbortSignal.timeout(30_000) })
      assertEquals(health.status, 200)
      await health.body?.cancel()
    } finally {
      await server.shutdown()
    }
  })
})
