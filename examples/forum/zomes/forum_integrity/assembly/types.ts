// The forum's data model, shared by the integrity zome (which validates it) and the coordinator
// zome (which writes and reads it): entry and link type names, the entry classes, the content
// rules, and the `all_posts` time index.
import { codePoints, EntryHash, hashEntry, Kind, Value, Writer } from "pdk/assembly"

/** The integrity zome's name in dna.yaml (the coordinator resolves type indexes through it). */
export const INTEGRITY_ZOME = "forum_integrity"

export namespace EntryTypes {
  export const Post = "post"
  export const Comment = "comment"
}

export namespace LinkTypes {
  /**
   * A one-second time bucket of the `all_posts` index → each post created in that second; the
   * tag is the post's timestamp (8 bytes, big-endian microseconds).
   */
  export const AllPosts = "all_posts"
  /** A post → its comments. */
  export const PostToComments = "post_to_comments"
  /** An author's agent key → their posts. */
  export const AuthorToPosts = "author_to_posts"
  /**
   * A bucket of the `all_posts` time index → one of its sub-buckets (month → day → hour →
   * minute → second); the tag is the sub-bucket's path as UTF-8.
   */
  export const TimeIndex = "time_index"
}

export const MAX_TITLE_CHARS = 200
export const MAX_POST_BODY_CHARS = 10000
export const MAX_COMMENT_CHARS = 2000
export const MAX_TAG_BYTES = 100

/** A post: `{title, body}`. */
export class Post {
  constructor(
    public title: string,
    public body: string,
  ) {}

  /** Reads `{title, body}`; null when the value has another shape. */
  static from(v: Value | null): Post | null {
    if (v === null || v.kind != Kind.Map) return null
    const m = v.asMap()
    const title = m.opt("title")
    const body = m.opt("body")
    if (title.kind != Kind.Str || body.kind != Kind.Str) return null
    return new Post(title.asString(), body.asString())
  }

  /** Why this post breaks the rules, or null when it is fine. */
  problem(): string | null {
    const titleChars = codePoints(this.title)
    if (titleChars < 1 || this.title.trim().length == 0) return "a post needs a title"
    if (titleChars > MAX_TITLE_CHARS) {
      return "a title has at most " + MAX_TITLE_CHARS.toString() + " characters"
    }
    if (codePoints(this.body) > MAX_POST_BODY_CHARS) {
      return "a post body has at most " + MAX_POST_BODY_CHARS.toString() + " characters"
    }
    return null
  }

  encode(w: Writer): void {
    w.map(2).field("title", this.title).field("body", this.body)
  }
}

/** A comment: `{post_hash, body}`, where `post_hash` is the post's create action hash. */
export class Comment {
  constructor(
    public postHash: Uint8Array,
    public body: string,
  ) {}

  /** Reads `{post_hash, body}`; null when the value has another shape. */
  static from(v: Value | null): Comment | null {
    if (v === null || v.kind != Kind.Map) return null
    const m = v.asMap()
    const postHash = m.opt("post_hash")
    const body = m.opt("body")
    if (postHash.kind != Kind.Bin || body.kind != Kind.Str) return null
    return new Comment(postHash.asBytes(), body.asString())
  }

  /** Why this comment breaks the rules, or null when it is fine. */
  problem(): string | null {
    const chars = codePoints(this.body)
    if (chars < 1 || this.body.trim().length == 0) return "a comment cannot be empty"
    if (chars > MAX_COMMENT_CHARS) {
      return "a comment has at most " + MAX_COMMENT_CHARS.toString() + " characters"
    }
    if (this.postHash.length != 39) return "post_hash must be a 39-byte action hash"
    return null
  }

  encode(w: Writer): void {
    w.map(2).field("post_hash", this.postHash).field("body", this.body)
  }
}

/**
 * An anchor: a well-known entry whose hash is a meeting point for links. It is never committed;
 * its hash is computed by the host (`hash_1 {type: "entry"}`) from `{anchor: name}`, so every
 * agent derives the same base for `all_posts` without a write.
 */
export class Anchor {
  constructor(public name: string) {}

  encode(w: Writer): void {
    w.map(1).field("anchor", this.name)
  }
}

/** The entry hash of the anchor `name`. */
export function anchorHash(name: string): EntryHash {
  return hashEntry(new Anchor(name)).expect("anchor " + name)
}

/** The root of the `all_posts` time index. */
export function allPostsAnchor(): EntryHash {
  return anchorHash(LinkTypes.AllPosts)
}

// ---------------------------------------------------------------------------------------------
// The `all_posts` time index
//
// Posts are indexed by the UTC second they were created in, under a tree of anchors named by
// path: `all_posts` → `all_posts/2026-12` (month) → `all_posts/2026-12/02` (day) →
// `all_posts/2026-12/02/13` (hour) → `all_posts/2026-12/02/13/07` (minute) →
// `all_posts/2026-12/02/13/07/42` (second) → the posts. Each bucket links to its sub-buckets
// (`time_index`, tag = the sub-bucket's path) and a second links to its posts (`all_posts`, tag =
// the post's timestamp). Reading the newest posts walks the newest buckets first and stops when
// it has enough, so a page costs what is on it, not what the forum holds.

/** Levels below the root: month, day, hour, minute, second. */
export const INDEX_DEPTH = 5

const MICROS_PER_SECOND: i64 = 1_000_000
const SECONDS_PER_DAY: i64 = 86_400

function pad(n: i64, width: i32): string {
  return n.toString().padStart(width, "0")
}

/**
 * The components of the bucket of `timestamp` (microseconds since the epoch, UTC): `[YYYY-MM,
 * DD, HH, MM, SS]`. Null before 1970 or after 9999: no bucket.
 */
export function bucketComponents(timestamp: i64): Array<string> | null {
  if (timestamp < 0) return null
  const seconds = timestamp / MICROS_PER_SECOND
  const days = seconds / SECONDS_PER_DAY
  const ofDay = seconds % SECONDS_PER_DAY
  // Days since the epoch to a civil date (H. Hinnant's algorithm; days >= 0 here).
  const z = days + 719468
  const era = z / 146097
  const doe = z - era * 146097
  const yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
  const doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
  const mp = (5 * doy + 2) / 153
  const day = doy - (153 * mp + 2) / 5 + 1
  const month = mp < 10 ? mp + 3 : mp - 9
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0)
  if (year > 9999) return null
  const parts = new Array<string>(0)
  parts.push(pad(year, 4) + "-" + pad(month, 2))
  parts.push(pad(day, 2))
  parts.push(pad(ofDay / 3600, 2))
  parts.push(pad((ofDay / 60) % 60, 2))
  parts.push(pad(ofDay % 60, 2))
  return parts
}

/** The path of the bucket `depth` levels below the root (0: the root itself). */
export function bucketPath(components: Array<string>, depth: i32): string {
  let path = LinkTypes.AllPosts
  for (let i = 0; i < depth; i++) path += "/" + components[i]
  return path
}

/** The path of the second-bucket of `timestamp`, or null when it has none. */
export function secondBucket(timestamp: i64): string | null {
  const components = bucketComponents(timestamp)
  return components === null ? null : bucketPath(components, INDEX_DEPTH)
}

function digits(s: string, from: i32, count: i32, max: i32): bool {
  let n = 0
  for (let i = from; i < from + count; i++) {
    const c = s.charCodeAt(i)
    if (c < 48 || c > 57) return false
    n = n * 10 + (c - 48)
  }
  return n <= max
}

/**
 * The depth (1-5) of `path` when it is a bucket of the time index below the root
 * (`all_posts/YYYY-MM[/DD[/HH[/MM[/SS]]]]`, as `bucketComponents` writes it), else 0.
 */
export function bucketDepth(path: string): i32 {
  const parts = path.split("/")
  const depth = parts.length - 1
  if (depth < 1 || depth > INDEX_DEPTH || parts[0] != LinkTypes.AllPosts) return 0
  const month = parts[1]
  if (month.length != 7 || month.charCodeAt(4) != 45) return 0
  if (!digits(month, 0, 4, 9999) || !digits(month, 5, 2, 12) || digits(month, 5, 2, 0)) return 0
  const max: StaticArray<i32> = [0, 0, 31, 23, 59, 59]
  for (let i = 2; i <= depth; i++) {
    const part = parts[i]
    if (part.length != 2 || !digits(part, 0, 2, max[i])) return 0
    if (i == 2 && digits(part, 0, 2, 0)) return 0
  }
  return depth
}

/** The path of the bucket that holds `path` (one level up). */
export function parentPath(path: string): string {
  return path.substring(0, path.lastIndexOf("/"))
}

/** The `all_posts` link tag: the post's timestamp, 8 bytes big-endian. */
export function timestampTag(timestamp: i64): Uint8Array {
  const tag = new Uint8Array(8)
  for (let i = 0; i < 8; i++) tag[i] = <u8> (timestamp >> (<i64> (56 - 8 * i)))
  return tag
}

/** The timestamp in an `all_posts` tag, or -1 when the tag is not 8 bytes. */
export function tagTimestamp(tag: Uint8Array): i64 {
  if (tag.length != 8) return -1
  let t: i64 = 0
  for (let i = 0; i < 8; i++) t = (t << 8) | <i64> tag[i]
  return t
}

/** The UTF-8 bytes of a string (a `time_index` tag). */
export function utf8(s: string): Uint8Array {
  return Uint8Array.wrap(String.UTF8.encode(s))
}
