// The forum's data model, shared by the integrity zome (which validates it) and the coordinator
// zome (which writes and reads it): entry and link type names, the entry classes, the content
// rules, and the `all_posts` anchor.
import { codePoints, EntryHash, hashEntry, Kind, Value, Writer } from "pdk/assembly"

/** The integrity zome's name in dna.yaml (the coordinator resolves type indexes through it). */
export const INTEGRITY_ZOME = "forum_integrity"

export namespace EntryTypes {
  export const Post = "post"
  export const Comment = "comment"
}

export namespace LinkTypes {
  /** The `all_posts` anchor → every post. */
  export const AllPosts = "all_posts"
  /** A post → its comments. */
  export const PostToComments = "post_to_comments"
  /** An author's agent key → their posts. */
  export const AuthorToPosts = "author_to_posts"
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

/** The base of the `all_posts` links. */
export function allPostsAnchor(): EntryHash {
  return anchorHash(LinkTypes.AllPosts)
}
