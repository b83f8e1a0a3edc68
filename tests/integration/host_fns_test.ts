/**
 * Every host function through the real guest path: the `host_fns` fixture zome (built from
 * AssemblyScript with the repository's PDK) calls each one and answers what the host returned.
 * Also: validation refusing a write leaves the chain unchanged, one call's writes land together
 * or not at all, `init` runs once, `post_commit` runs in the background and is recorded.
 *
 * @module
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict"
import { ed25519 } from "@noble/curves/ed25519.js"
import { blake2b } from "@noble/hashes/blake2.js"
import { Effect } from "effect"
import { Apps } from "../../core/app/mod.ts"
import { Chain } from "../../core/chain/mod.ts"
import { encode } from "../../core/codec/mod.ts"
import { sha256 } from "../../core/crypto/mod.ts"
import { bytesEqual, hashCore, isHoloHash } from "../../core/hash/mod.ts"
import type { RunningCell } from "../../core/cell/mod.ts"
import { TaskManager } from "../../core/task/mod.ts"
import { ZomeCalls } from "../../core/workflow/zome_call.ts"
import {
  callZome,
  callZomeError,
  collectSignals,
  disposeConductor,
  installApp,
  makeConductor,
  packed,
  type TestConductor,
} from "../support/conductor.ts"
import { step } from "../support/timeout.ts"

type Answer = { ok?: unknown; err?: { kind: string; message: string } }

function ok(answer: unknown): unknown {
  const a = answer as Answer
  assert(a.err === undefined, `expected ok, got error ${JSON.stringify(a.err)}`)
  return a.ok
}

function err(answer: unknown): { kind: string; message: string } {
  const a = answer as Answer
  assert(a.err !== undefined, `expected an error, got ${JSON.stringify(a.ok)}`)
  return a.err
}

/** Calls and returns the ZomeCallError instead of throwing. */

function chainLength(conductor: TestConductor, cell: RunningCell) {
  return conductor.runPromise(
    Effect.map(Effect.service(Chain), (chain) => chain.length(cell.dna.hash, cell.agent)),
  )
}

Deno.test("host functions through the guest path", async (t) => {
  const conductor = makeConductor()
  const cells = await installApp(
    conductor,
    await packed("tests/fixtures/happs/host_fns"),
    "host_fns",
  )
  const cell = cells["host_fns"]!
  const call = (fn: string, payload: unknown = null) =>
    callZome(conductor, cell, "host_fns", fn, payload)

  await step(t, "init runs once, before the first call, and writes its marker", async () => {
    assertEquals(await call("init_count"), 1)
    assertEquals(await call("init_count"), 1)
  })

  await step(
    t,
    "agent_info_1, dna_info_1, zome_info_1, call_info_1 describe the running call",
    async () => {
      const agent = ok(await call("call_agent_info")) as {
        agent_initial_pubkey: Uint8Array
        chain_head: { action_seq: number }
      }
      assert(bytesEqual(agent.agent_initial_pubkey, cell.agent))
      assert(agent.chain_head.action_seq >= 4) // 3 genesis actions, the init marker, init_zomes_complete
      const dna = ok(await call("call_dna_info")) as {
        name: string
        hash: Uint8Array
        zome_names: Array<string>
      }
      assertEquals(dna.name, "host_fns")
      assert(bytesEqual(dna.hash, cell.dna.hash))
      assertEquals(dna.zome_names, ["host_fns_integrity", "host_fns"])
      const zome = ok(await call("call_zome_info")) as {
        name: string
        id: number
        entry_defs: Array<{ name: string }>
        extern_fns: Array<string>
      }
      assertEquals(zome.name, "host_fns")
      assertEquals(zome.id, 1)
      assert(zome.entry_defs.some((d) => d.name === "thing"))
      assert(zome.extern_fns.includes("call_create"))
      const info = ok(await call("call_call_info")) as {
        provenance: Uint8Array
        fn_name: string
        cap_grant: { type: string }
      }
      assert(bytesEqual(info.provenance, cell.agent))
      assertEquals(info.fn_name, "call_call_info")
      assertEquals(info.cap_grant.type, "chain_author")
    },
  )

  await step(t, "sys_time_1 and random_bytes_1", async () => {
    // Between two wall-clock readings however long the call took, give or take the 1 s of
    // skew Effect's Clock allows its monotonic projection before re-anchoring to Date.now.
    const before = (Date.now() - 1000) * 1000
    const time = ok(await call("call_sys_time")) as number
    const after = (Date.now() + 1000) * 1000
    assert(before <= time && time <= after, `sys_time ${time} not in [${before}, ${after}]`)
    const bytes = ok(await call("call_random_bytes", 48)) as Uint8Array
    assertEquals(bytes.length, 48)
    assert(!bytes.every((b) => b === 0))
  })

  await step(t, "hash_1 agrees with the reference implementations and the chain", async () => {
    const data = new TextEncoder().encode("the quick brown fox")
    assertEquals(
      ok(await call("call_hash", { type: "blake2b", data })),
      blake2b(data, { dkLen: 32 }),
    )
    assertEquals(
      ok(await call("call_hash", { type: "blake2b", data, output_len: 13 })),
      blake2b(data, { dkLen: 13 }),
    )
    assertEquals(ok(await call("call_hash", { type: "sha256", data })), sha256(data))
    const created = ok(
      await call("call_create", { entry_type: "thing", entry: { value: 7 } }),
    ) as Uint8Array
    const record = ok(await call("call_get", { hash: created })) as {
      action: { entry_hash: Uint8Array }
      action_hash: Uint8Array
    }
    const entryHash = ok(await call("call_hash", { type: "entry", entry: encode({ value: 7 }) }))
    assertEquals(entryHash, record.action.entry_hash)
    assertEquals(
      ok(await call("call_hash", { type: "action", action: record.action })),
      record.action_hash,
    )
  })

  await step(
    t,
    "sign_1 signs with the cell's key only; verify_signature_1 checks any",
    async () => {
      const data = new TextEncoder().encode("sign this")
      const signature = ok(await call("call_sign", { data })) as Uint8Array
      assert(ed25519.verify(signature, data, hashCore(cell.agent)))
      assertEquals(
        ok(await call("call_verify_signature", { key: cell.agent, signature, data })),
        true,
      )
      assertEquals(
        ok(
          await call("call_verify_signature", {
            key: cell.agent,
            signature,
            data: new Uint8Array([1]),
          }),
        ),
        false,
      )
      const other = new Uint8Array(cell.agent)
      other[10] = other[10]! ^ 1
      assertEquals(err(await call("call_sign", { key: other, data })).kind, "unauthorized")
    },
  )

  await step(t, "create, get, update, get_details, delete", async () => {
    const created = ok(
      await call("call_create", { entry_type: "thing", entry: { value: 1 } }),
    ) as Uint8Array
    assert(isHoloHash(created, "action"))
    const updated = ok(
      await call("call_update", { original_action_hash: created, entry: { value: 2 } }),
    ) as Uint8Array
    const details = ok(await call("call_get_details", { hash: created })) as {
      type: string
      updates: Array<{ action_hash: Uint8Array }>
    }
    assertEquals(details.type, "record")
    assert(bytesEqual(details.updates[0]!.action_hash, updated))
    const record = ok(await call("call_get", { hash: created })) as {
      action: { entry_hash: Uint8Array }
    }
    const entryHash = record.action.entry_hash
    ok(await call("call_delete", { deletes_action_hash: created }))
    assertEquals(ok(await call("call_get", { hash: entryHash })), null)
    const entryDetails = ok(await call("call_get_details", { hash: entryHash })) as {
      entry_dht_status: string
      deletes: Array<unknown>
    }
    assertEquals(entryDetails.entry_dht_status, "dead")
    assertEquals(entryDetails.deletes.length, 1)
    const nowhere = updated.slice().fill(0, 3)
    assertEquals(
      err(await call("call_update", { original_action_hash: nowhere, entry: { value: 1 } })).kind,
      "not_found",
    )
    const malformed = updated.slice(0, 20)
    assertEquals(
      err(await call("call_update", { original_action_hash: malformed, entry: { value: 1 } })).kind,
      "invalid_input",
    )
  })

  await step(t, "create_link, get_links, delete_link", async () => {
    const target = ok(
      await call("call_create", { entry_type: "thing", entry: { value: 10 } }),
    ) as Uint8Array
    const tag = new TextEncoder().encode("t1")
    const link = ok(
      await call("call_create_link", { base: cell.agent, target, link_type: "thing_link", tag }),
    ) as Uint8Array
    const links = ok(
      await call("call_get_links", { base: cell.agent, link_type: "thing_link" }),
    ) as Array<{ create_link_hash: Uint8Array; target: Uint8Array; link_type_name: string }>
    assertEquals(links.length, 1)
    assert(bytesEqual(links[0]!.create_link_hash, link) && bytesEqual(links[0]!.target, target))
    assertEquals(links[0]!.link_type_name, "thing_link")
    assertEquals(
      (ok(
        await call("call_get_links", {
          base: cell.agent,
          tag_prefix: new TextEncoder().encode("x"),
        }),
      ) as Array<unknown>).length,
      0,
    )
    ok(await call("call_delete_link", { create_link_hash: link }))
    assertEquals(
      (ok(await call("call_get_links", { base: cell.agent })) as Array<unknown>).length,
      0,
    )
  })

  await step(t, "query_1 filters the cell's own chain", async () => {
    const things = ok(await call("call_query", { entry_types: ["thing"] })) as Array<
      { action: { type: string } }
    >
    assert(things.length >= 4)
    assert(things.every((r) => r.action.type === "create" || r.action.type === "update"))
    const firstThree = ok(
      await call("call_query", { seq_range: [0, 3], include_entries: false }),
    ) as Array<{ action: { type: string; action_seq: number } }>
    assertEquals(firstThree.map((r) => r.action.type), ["dna", "agent_validation_pkg", "create"])
    const newest = ok(
      await call("call_query", { descending: true, action_types: ["delete_link"] }),
    ) as Array<{ action: { type: string } }>
    assertEquals(newest.length, 1)
  })

  await step(t, "must_get_* find what exists and report what does not", async () => {
    const created = ok(
      await call("call_create", { entry_type: "thing", entry: { value: 3 } }),
    ) as Uint8Array
    const record = ok(await call("call_must_get_valid_record", { hash: created })) as {
      action: { entry_hash: Uint8Array }
    }
    ok(await call("call_must_get_action", { hash: created }))
    ok(await call("call_must_get_entry", { hash: record.action.entry_hash }))
    const activity = ok(
      await call("call_must_get_agent_activity", { author: cell.agent, chain_top: created }),
    ) as Array<unknown>
    assertEquals(activity.length, (await chainLength(conductor, cell)) - 0)
    const missing = new Uint8Array(created)
    missing[20] = missing[20]! ^ 0xff
    assertEquals(err(await call("call_must_get_action", { hash: missing })).kind, "not_found")
  })

  await step(t, "capability grants and claims are written to the chain", async () => {
    const grant = {
      tag: "readers",
      access: { type: "unrestricted" },
      functions: { type: "listed", value: [["host_fns", "call_get"]] },
    }
    ok(await call("call_create_cap_grant", grant))
    const claim = { tag: "theirs", grantor: cell.agent, secret: new Uint8Array(64).fill(3) }
    ok(await call("call_create_cap_claim", claim))
    const grants = await conductor.runPromise(Effect.gen(function* () {
      const { Spaces } = yield* Effect.promise(() => import("../../core/space/mod.ts"))
      const spaces = yield* Spaces
      return yield* spaces.grants(cell.dna.hash, cell.agent, false)
    }))
    assert(grants.some((g) => g.grant.tag === "readers"))
  })

  await step(
    t,
    "emit_signal_1 delivers the zome's msgpack to subscribers; post_commit runs after commits",
    async () => {
      const signals = collectSignals(conductor)
      ok(await call("call_emit_signal", { hello: "world" }))
      await signals.atLeast(1)
      assertEquals(signals.received[0], {
        appId: "host_fns",
        zomeName: "host_fns",
        signal: { hello: "world" },
      })
      const created = ok(
        await call("call_create", { entry_type: "thing", entry: { value: 5 } }),
      ) as Uint8Array
      await signals.atLeast(2)
      const isOurs = (s: { signal: unknown }) => {
        const signal = s.signal as { type?: string; hashes?: Array<Uint8Array> }
        return signal.type === "post_commit" &&
          (signal.hashes ?? []).some((h) => bytesEqual(h, created))
      }
      while (!signals.received.some(isOurs)) await signals.atLeast(signals.received.length + 1)
      await signals.stop()
      const outcomes = await conductor.runPromise(Effect.gen(function* () {
        const tasks = yield* TaskManager
        yield* tasks.awaitIdle
        return tasks.recent(10)
      }))
      assert(outcomes.some((o) => o.kind === "post_commit" && o.outcome === "succeeded"))
    },
  )

  await step(
    t,
    "an invalid write fails the call with the validator's reason and changes nothing",
    async () => {
      const before = await chainLength(conductor, cell)
      const error = await callZomeError(conductor, cell, "host_fns", "call_create", {
        entry_type: "thing",
        entry: { value: -1 },
      })
      assertEquals(error.reason, "InvalidCommit")
      assert(error.detail.includes("invalid"), error.detail)
      assertEquals(await chainLength(conductor, cell), before)
    },
  )

  await step(t, "one call's writes land together or not at all", async () => {
    const before = await chainLength(conductor, cell)
    const hashes = await call("create_many", [1, 2, 3]) as Array<Uint8Array>
    assertEquals(hashes.length, 3)
    assertEquals(await chainLength(conductor, cell), before + 3)
    const invalid = await callZomeError(conductor, cell, "host_fns", "create_many", [4, 5, -6])
    assertEquals(invalid.reason, "InvalidCommit")
    const failed = await callZomeError(conductor, cell, "host_fns", "create_then_fail", 7)
    assertEquals(failed.reason, "GuestError")
    assert(failed.detail.includes("failing after a write, on purpose"))
    assertEquals(await chainLength(conductor, cell), before + 3)
  })

  await step(
    t,
    "a payload that is not msgpack fails with a clear error and writes nothing",
    async () => {
      const before = await chainLength(conductor, cell)
      const error = await conductor.runPromise(Effect.gen(function* () {
        const calls = yield* ZomeCalls
        return yield* Effect.flip(calls.call({
          cellId: cell.cellId,
          zome: "host_fns",
          fn: "call_create",
          payload: Uint8Array.of(0xc1, 0xff),
          provenance: cell.agent,
          capSecret: null,
        }))
      }))
      assert(error.reason === "GuestError" || error.reason === "Trap", error.reason)
      assert(/msgpack|input/i.test(error.detail), error.detail)
      assertEquals(await chainLength(conductor, cell), before)
    },
  )

  await step(t, "a missing function is FunctionNotFound; callbacks are not callable", async () => {
    assertEquals(
      (await callZomeError(conductor, cell, "host_fns", "no_such_fn", null)).reason,
      "FunctionNotFound",
    )
    assertEquals(
      (await callZomeError(conductor, cell, "host_fns", "init", null)).reason,
      "FunctionNotFound",
    )
    assertEquals(
      (await callZomeError(conductor, cell, "no_such_zome", "noop", null)).reason,
      "ZomeNotFound",
    )
  })

  await disposeConductor(conductor)
})

Deno.test("call_1 between cells, roles and agents", async (t) => {
  const conductor = makeConductor()
  const pair = await installApp(
    conductor,
    await packed("tests/fixtures/happs/host_fns_pair"),
    "pair",
  )
  const [a, b] = [pair["a"]!, pair["b"]!]
  const call = (cell: RunningCell, fn: string, payload: unknown) =>
    callZome(conductor, cell, "host_fns", fn, payload)

  await step(t, "local and role targets run as the chain author", async () => {
    const local = ok(
      await call(a, "call_call", {
        target: { type: "local" },
        zome_name: "host_fns",
        fn_name: "init_count",
        payload: null,
      }),
    ) as { type: string; value: Uint8Array }
    assertEquals(local.type, "ok")
    const byRole = ok(
      await call(a, "call_call", {
        target: { type: "role", value: "b" },
        zome_name: "host_fns",
        fn_name: "call_create",
        payload: { entry_type: "thing", entry: { value: 1 } },
      }),
    ) as { type: string }
    assertEquals(byRole.type, "ok")
    const bThings = ok(await call(b, "call_query", { entry_types: ["thing"] })) as Array<unknown>
    assertEquals(bThings.length, 1)
  })

  await step(t, "a call into another agent's cell needs a grant", async () => {
    const other = await installApp(
      conductor,
      await packed("tests/fixtures/happs/host_fns_pair"),
      "pair2",
    )
    const target = other["a"]!
    assert(!bytesEqual(target.agent, a.agent))
    const payload = { "entry_type": "thing", entry: { value: 2 } }
    const refused = ok(
      await call(a, "call_call", {
        target: { type: "cell", value: target.cellId },
        zome_name: "host_fns",
        fn_name: "call_get",
        payload: { hash: a.agent },
      }),
    ) as { type: string }
    assertEquals(refused.type, "unauthorized")
    ok(
      await call(target, "call_create_cap_grant", {
        tag: "open",
        access: { type: "unrestricted" },
        functions: { type: "listed", value: [["host_fns", "call_get"]] },
      }),
    )
    const allowed = ok(
      await call(a, "call_call", {
        target: { type: "cell", value: target.cellId },
        zome_name: "host_fns",
        fn_name: "call_get",
        payload: { hash: a.agent },
      }),
    ) as { type: string }
    assertEquals(allowed.type, "ok")
    const notGranted = ok(
      await call(a, "call_call", {
        target: { type: "cell", value: target.cellId },
        zome_name: "host_fns",
        fn_name: "call_create",
        payload,
      }),
    ) as { type: string }
    assertEquals(notGranted.type, "unauthorized")
  })

  await step(
    t,
    "init failure (DNA properties {fail_init: true}) fails the call and commits nothing",
    async () => {
      const failing = await conductor.runPromise(Effect.gen(function* () {
        const apps = yield* Apps
        yield* apps.install({
          source: {
            type: "bytes",
            value: yield* Effect.promise(() => packed("tests/fixtures/happs/host_fns")),
          },
          installedAppId: "init_fails",
          rolesSettings: {
            host_fns: {
              type: "provisioned",
              value: { modifiers: { properties: { fail_init: true } } },
            },
          },
        })
        yield* apps.enable("init_fails")
        const { Cells } = yield* Effect.promise(() => import("../../core/cell/mod.ts"))
        return (yield* Cells).byApp("init_fails")[0]!
      }))
      const before = await chainLength(conductor, failing)
      const error = await callZomeError(conductor, failing, "host_fns", "call_sys_time", null)
      assertEquals(error.reason, "InitFailed")
      assert(error.detail.includes("the DNA properties ask init to fail"), error.detail)
      assertEquals(await chainLength(conductor, failing), before)
    },
  )

  await disposeConductor(conductor)
})
