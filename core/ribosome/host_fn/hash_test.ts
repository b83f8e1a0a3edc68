import { deepStrictEqual as assertEquals } from "node:assert/strict"
import { Effect } from "effect"
import { entryHashOf } from "../../chain/mod.ts"
import { sha256, sha512 } from "../../crypto/mod.ts"
import { Hasher } from "../../hash/mod.ts"
import { encodeAction } from "../../types/mod.ts"
import { hash } from "./hash.ts"
import {
  ALL_KINDS,
  committedPost,
  expectAllowedIn,
  expectError,
  hostFnTest,
  run,
} from "./test_support.ts"

const data = new TextEncoder().encode("abc")

hostFnTest(
  "hash_1 computes blake2b, sha256 and sha512 of bytes",
  (cell) =>
    Effect.gen(function* () {
      const hasher = yield* Hasher
      const ctx = yield* cell.context("validate")
      assertEquals(yield* run(hash, ctx, { type: "blake2b", data }), hasher.blake2b(data, 32))
      const short =
        (yield* run(hash, ctx, { type: "blake2b", data, "output_len": 16 })) as Uint8Array
      assertEquals(short, hasher.blake2b(data, 16))
      assertEquals(short.length, 16)
      assertEquals(yield* run(hash, ctx, { type: "sha256", data }), sha256(data))
      assertEquals(
        Array.from((yield* run(hash, ctx, { type: "sha512", data })) as Uint8Array).slice(0, 4),
        [0xdd, 0xaf, 0x35, 0xa1], // the FIPS 180-2 test vector of "abc"
      )
      assertEquals(yield* run(hash, ctx, { type: "sha512", data }), sha512(data))
    }),
)

hostFnTest(
  "hash_1 hashes an app entry and an action as the chain does",
  (cell) =>
    Effect.gen(function* () {
      const hasher = yield* Hasher
      const post = yield* committedPost(cell, "hello")
      const ctx = yield* cell.context()
      const entry = post.entry!
      assertEquals(
        yield* run(hash, ctx, { type: "entry", entry: entry.entry }),
        entryHashOf(hasher, entry),
      )
      assertEquals(yield* run(hash, ctx, { type: "action", action: post.action }), post.action_hash)
      assertEquals(post.action_hash, hasher.hashContent("action", encodeAction(post.action)))
    }),
)

hostFnTest(
  "hash_1 refuses an unknown algorithm and an output length over 64",
  (cell) =>
    Effect.gen(function* () {
      const ctx = yield* cell.context()
      yield* expectError(hash, ctx, { type: "md5", data }, "invalid_input", "hash_1")
      yield* expectError(hash, ctx, { type: "blake2b", data, "output_len": 65 }, "invalid_input")
      yield* expectError(hash, ctx, { type: "blake2b", data, "output_len": 0 }, "invalid_input")
      yield* expectError(hash, ctx, { type: "action", action: { type: "nope" } }, "invalid_input")
    }),
)

hostFnTest(
  "hash_1 runs in every kind of call",
  (cell) => expectAllowedIn(hash, cell, ALL_KINDS, { type: "sha256", data }),
)
