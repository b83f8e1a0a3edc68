import { deepStrictEqual as assertEquals } from "node:assert/strict"
import { encode } from "../codec/mod.ts"
import type { AgentPubKey } from "../hash/mod.ts"
import {
  callWindowProblem,
  decodeCallRequest,
  decodeOutcome,
  decodeSignal,
  encodeCallRequest,
  encodeOutcome,
  encodeSignal,
  MAX_CALL_WINDOW_MICROS,
  NonceCache,
} from "./remote_call.ts"

const agent = Uint8Array.from([0x84, 0x20, 0x24, ...new Array(36).fill(7)]) as AgentPubKey
const request = {
  zome: "z",
  fn: "f",
  payload: encode({ a: 1 }),
  capSecret: new Uint8Array(64).fill(1),
  expiresAt: 2_000_000,
}

Deno.test("decodeCallRequest reads what encodeCallRequest wrote and names what is malformed", () => {
  assertEquals(decodeCallRequest(encodeCallRequest(request)), request)
  assertEquals(decodeCallRequest(encodeCallRequest({ ...request, capSecret: null })), {
    ...request,
    capSecret: null,
  })
  const bad = (value: unknown) => decodeCallRequest(encode(value)) as string
  assertEquals(typeof bad([1, 2]), "string")
  assertEquals(bad({ ...request, zome: "" }).includes("names"), true)
  assertEquals(
    bad({ zome: "z", fn: "f", payload: "text", expires_at: 1 }).includes("payload"),
    true,
  )
  assertEquals(
    bad({
      zome: "z",
      fn: "f",
      payload: new Uint8Array(),
      cap_secret: new Uint8Array(3),
      expires_at: 1,
    })
      .includes("cap_secret"),
    true,
  )
  assertEquals(
    bad({ zome: "z", fn: "f", payload: new Uint8Array(), expires_at: 1.5 }).includes("expires_at"),
    true,
  )
  assertEquals(typeof decodeCallRequest(new Uint8Array([0xc1])), "string")
})

Deno.test("callWindowProblem refuses an expired request and an overlong window", () => {
  assertEquals(callWindowProblem(request, 1_000_000, 1_500_000), null)
  assertEquals(callWindowProblem(request, 1_000_000, 2_000_001)?.includes("expired"), true)
  const long = { ...request, expiresAt: 1_000_000 + MAX_CALL_WINDOW_MICROS + 1 }
  assertEquals(callWindowProblem(long, 1_000_000, 1_000_000)?.includes("window"), true)
})

Deno.test("NonceCache refuses a replay until the nonce expires and stays bounded", () => {
  const cache = new NonceCache(2)
  const nonce = new Uint8Array(16).fill(1)
  assertEquals(cache.remember(agent, nonce, 100, 10), "fresh")
  assertEquals(cache.remember(agent, nonce, 100, 50), "replayed")
  assertEquals(cache.remember(agent, new Uint8Array(16).fill(2), 100, 50), "fresh")
  // Full of live nonces: a new one is refused rather than a live one forgotten.
  assertEquals(cache.remember(agent, new Uint8Array(16).fill(3), 100, 60), "full")
  // Once they expire, room is made.
  assertEquals(cache.remember(agent, new Uint8Array(16).fill(3), 300, 200), "fresh")
  assertEquals(cache.size <= 2, true)
})

Deno.test("outcomes and signals round-trip; malformed ones are refused", () => {
  for (
    const outcome of [
      { type: "ok", value: encode(5) },
      { type: "unauthorized", value: "no grant" },
      { type: "error", value: "boom" },
    ] as const
  ) assertEquals(decodeOutcome(encodeOutcome(outcome)), outcome)
  assertEquals(typeof decodeOutcome(encode({ type: "ok", value: "text" })), "string")
  assertEquals(decodeSignal(encodeSignal({ zome: "z", payload: encode(1) })), {
    zome: "z",
    payload: encode(1),
  })
  assertEquals(typeof decodeSignal(encode({ zome: 1, payload: new Uint8Array() })), "string")
})
