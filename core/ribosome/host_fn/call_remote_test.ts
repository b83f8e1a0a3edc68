import { deepStrictEqual as assertEquals } from "node:assert/strict"
import { Effect } from "effect"
import { Keystore } from "../../keystore/mod.ts"
import {
  localOnlyNetwork,
  Network,
  NetworkError,
  type NetworkShape,
  type RemoteCall,
  type RemoteCallOutcome,
} from "../../network/mod.ts"
import { callRemote, MAX_REMOTE_PAYLOAD_BYTES } from "./call_remote.ts"
import { expectAllowedIn, expectError, hostFnTest, run } from "./test_support.ts"

const payload = new Uint8Array([0x91, 0x01])

/** A network whose remote calls answer `outcome` and are recorded in `calls`. */
function answering(
  outcome: Effect.Effect<RemoteCallOutcome, NetworkError>,
  calls: Array<RemoteCall>,
): NetworkShape {
  return {
    ...localOnlyNetwork,
    callRemote: (_dna, call) => Effect.flatMap(Effect.sync(() => calls.push(call)), () => outcome),
  }
}

hostFnTest(
  "call_remote_1 sends the call signed as this agent and hands back the callee's outcome",
  (cell) =>
    Effect.gen(function* () {
      const ctx = yield* cell.context()
      const target = yield* (yield* Keystore).generate
      const secret = new Uint8Array(64).fill(3)
      const calls: Array<RemoteCall> = []
      const input = { agent: target, "zome_name": "z", "fn_name": "f", payload }
      const ok = Effect.succeed({ type: "ok", value: new Uint8Array([7]) } as const)
      assertEquals(
        yield* Effect.provide(
          run(callRemote, ctx, { ...input, "cap_secret": secret }),
          Network.layerFrom(answering(ok, calls)),
        ),
        { type: "ok", value: new Uint8Array([7]) },
      )
      assertEquals(calls, [{
        target,
        zome: "z",
        fn: "f",
        payload,
        capSecret: secret,
        provenance: cell.agent,
      }])
      const refused = Effect.succeed({ type: "unauthorized", value: "no grant" } as const)
      assertEquals(
        yield* Effect.provide(
          run(callRemote, ctx, input),
          Network.layerFrom(answering(refused, calls)),
        ),
        { type: "unauthorized", value: "no grant" },
      )
      assertEquals(calls[1]?.capSecret, null)
    }),
)

hostFnTest(
  "call_remote_1 hands network failures to the zome as network_error values",
  (cell) =>
    Effect.gen(function* () {
      const ctx = yield* cell.context()
      const target = yield* (yield* Keystore).generate
      const input = { agent: target, "zome_name": "z", "fn_name": "f", payload }
      const unreachable = Effect.fail(
        new NetworkError({
          reason: "Unreachable",
          operation: "Network.callRemote",
          detail: "gone",
        }),
      )
      assertEquals(
        yield* Effect.provide(
          run(callRemote, ctx, input),
          Network.layerFrom(answering(unreachable, [])),
        ),
        { type: "network_error", value: "Network.callRemote: gone" },
      )
      // Without a network (the test conductor's), nobody is reachable.
      const none = (yield* run(callRemote, ctx, input)) as RemoteCallOutcome | { type: string }
      assertEquals(none.type, "network_error")
    }),
)

hostFnTest(
  "call_remote_1 refuses oversized payloads and names, bad agents, and calls that cannot wait",
  (cell) =>
    Effect.gen(function* () {
      const target = yield* (yield* Keystore).generate
      const calls: Array<RemoteCall> = []
      const ok = Effect.succeed({ type: "ok", value: payload } as const)
      const ctx = yield* cell.context()
      const input = { agent: target, "zome_name": "z", "fn_name": "f", payload }
      const refuse = (
        overrides: object,
        kind: "limit" | "invalid_input" | "denied",
        mention: string,
        context = ctx,
      ) =>
        Effect.provide(
          expectError(callRemote, context, { ...input, ...overrides }, kind, mention),
          Network.layerFrom(answering(ok, calls)),
        )
      yield* refuse(
        { payload: new Uint8Array(MAX_REMOTE_PAYLOAD_BYTES + 1) },
        "limit",
        `${MAX_REMOTE_PAYLOAD_BYTES}-byte`,
      )
      yield* refuse({ "zome_name": "z".repeat(257) }, "invalid_input", "at most 256")
      yield* refuse({ "fn_name": "f".repeat(257) }, "invalid_input", "at most 256")
      yield* refuse({ agent: new Uint8Array(39) }, "invalid_input", "call_remote_1")
      yield* refuse({ "cap_secret": new Uint8Array(3) }, "invalid_input", "call_remote_1")
      yield* refuse(
        {},
        "denied",
        "cannot wait",
        yield* cell.context("zome_call", { synchronous: true }),
      )
      assertEquals(calls, [])
    }),
)

hostFnTest(
  "call_remote_1 runs only in calls",
  (cell) =>
    expectAllowedIn(callRemote, cell, ["zome_call", "init", "post_commit"], {
      agent: cell.agent,
      "zome_name": "z",
      "fn_name": "f",
      payload,
    }),
)
