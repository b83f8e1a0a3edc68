// A receptor plugin: named counters kept in the receptor's key-value namespace (`kv: true`).
// Operations (input and output are JSON to callers, msgpack to the plugin):
//   get {name}              -> {name, count}      (count 0 for a counter never incremented)
//   increment {name, by?}   -> {name, count}      (by defaults to 1, must be 1..1000000)
//   reset {name}            -> {name, existed}
//   list {}                 -> {names}
import {
  input,
  Kind,
  kvDelete,
  kvGet,
  kvList,
  kvPut,
  ok,
  ReceptorManifest,
  Reason,
  refuse,
  Value,
  Writer,
} from "pdk/assembly"

/** The manifest: the conductor reads it once when the receptor starts. */
export function receptor_describe(): i32 {
  return new ReceptorManifest("counter")
    .operation("get", true, "{name} -> {name, count}")
    .operation("increment", false, "{name, by?} -> {name, count}")
    .operation("reset", false, "{name} -> {name, existed}")
    .operation("list", true, "{} -> {names}")
    .respond()
}

/** The counter name of the input, or "" when it is missing or not a non-empty string. */
function nameOf(args: Value): string {
  if (args.kind != Kind.Map) return ""
  const name = args.asMap().optString("name")
  return name === null ? "" : name
}

function current(name: string): i64 {
  const stored = kvGet("count/" + name).unwrap()
  return stored.isNil() ? 0 : stored.asI64()
}

function answer(name: string, count: i64): i32 {
  return ok(new Writer().map(2).field("name", name).field("count", count))
}

export function get(): i32 {
  const name = nameOf(input())
  if (name == "") return refuse(Reason.InvalidInput, "get needs {name: string}")
  return answer(name, current(name))
}

export function increment(): i32 {
  const args = input()
  const name = nameOf(args)
  if (name == "") return refuse(Reason.InvalidInput, "increment needs {name: string, by?: int}")
  const by = args.asMap().optI64("by", 1)
  if (by < 1 || by > 1000000) return refuse(Reason.InvalidInput, "by must be 1..1000000")
  const count = current(name) + by
  kvPut<i64>("count/" + name, count).unwrap()
  return answer(name, count)
}

export function reset(): i32 {
  const name = nameOf(input())
  if (name == "") return refuse(Reason.InvalidInput, "reset needs {name: string}")
  const existed = kvDelete("count/" + name).unwrap().asBool()
  return ok(new Writer().map(2).field("name", name).field("existed", existed))
}

export function list(): i32 {
  const page = kvList("count/").unwrap().asMap().getArray("keys")
  const w = new Writer().map(1)
  w.str("names").array(page.length)
  for (let i = 0; i < page.length; i++) w.str(page[i].asString().substring(6))
  return ok(w)
}
