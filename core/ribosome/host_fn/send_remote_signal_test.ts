import { deepStrictEqual as assertEquals } from "node:assert/strict"
import { Effect } from "effect"
import { Keystore } from "../../keystore/mod.ts"
import {
  localOnlyNetwork,
  Network,
  NetworkError,
  type NetworkShape,
  type RemoteSignal,
} from "../../network/mod.ts"
import { MAX_REMOTE_PAYLOAD_BYTES } from "./call_remote.ts"
import { MAX_SIGNAL_TARGETS, sendRemoteSignal } from "./send_remote_signal.ts"
import { expectAllowedIn, expectError, hostFnTest, run } from "./test_support.ts"

const payload = new Uint8Array([0xa1, 0x61, 0x01])

/** A network that records the signals it is given and then answers `outcome`. */
function recording(
  signals: Array<RemoteSignal>,
  outcome: Effect.Effect<void, NetworkError> = Effect.void,
): NetworkShape {
  return {
    ...localOnlyNetwork,
    sendRemoteSignal: (_dna, signal) =>
      Effect.flatMap(Effect.sync(() => signals.push(signal)), () => outcome),
  }
}

hostFnTest(
  "send_remote_signal_1 sends the payload from this agent and zome to every target",
  (cell) =>
    Effect.gen(function* () {
      const keystore = yield* Keystore
      const targets = [yield* keystore.generate, yield* keystore.generate]
      const ctx = yield* cell.context()
      const signals: Array<RemoteSignal> = []
      assertEquals(
        yield* Effect.provide(
          run(sendRemoteSignal, ctx, { agents: targets, payload }),
          Network.layerFrom(recording(signals)),
        ),
        null,
      )
      assertEquals(signals, [{ from: cell.agent, zome: cell.coordinator.name, targets, payload }])
    }),
)

hostFnTest(
  "send_remote_signal_1 is fire and forget: a network failure still answers nil",
  (cell) =>
    Effect.gen(function* () {
      const target = yield* (yield* Keystore).generate
      const ctx = yield* cell.context()
      const signals: Array<RemoteSignal> = []
      const failing = Effect.fail(
        new NetworkError({ reason: "Timeout", operation: "Network.sendRemoteSignal", detail: "x" }),
      )
      assertEquals(
        yield* Effect.provide(
          run(sendRemoteSignal, ctx, { agents: [target], payload }),
          Network.layerFrom(recording(signals, failing)),
        ),
        null,
      )
      assertEquals(signals.length, 1)
    }),
)

hostFnTest(
  "send_remote_signal_1 refuses too many targets, oversized payloads and bad agents",
  (cell) =>
    Effect.gen(function* () {
      const ctx = yield* cell.context()
      const signals: Array<RemoteSignal> = []
      const refuse = (input: object, kind: "limit" | "invalid_input", mention: string) =>
        Effect.provide(
          expectError(sendRemoteSignal, ctx, input, kind, mention),
          Network.layerFrom(recording(signals)),
        )
      yield* refuse(
        { agents: Array.from({ length: MAX_SIGNAL_TARGETS + 1 }, () => cell.agent), payload },
        "limit",
        `at most ${MAX_SIGNAL_TARGETS}`,
      )
      yield* refuse(
        { agents: [cell.agent], payload: new Uint8Array(MAX_REMOTE_PAYLOAD_BYTES + 1) },
        "limit",
        `${MAX_REMOTE_PAYLOAD_BYTES}-byte`,
      )
      yield* refuse(
        { agents: [new Uint8Array(39)], payload },
        "invalid_input",
        "send_remote_signal_1",
      )
      yield* refuse({ agents: [cell.agent] }, "invalid_input", "send_remote_signal_1")
      assertEquals(signals, [])
    }),
)

hostFnTest(
  "send_remote_signal_1 runs only in calls",
  (cell) =>
    expectAllowedIn(sendRemoteSignal, cell, ["zome_call", "init", "post_commit"], {
      agents: [cell.agent],
      payload,
    }),
)
