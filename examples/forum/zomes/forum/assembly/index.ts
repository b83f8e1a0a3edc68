// The forum's coordinator zome: the functions a UI calls to write and read posts and comments,
// plus `init` (opens the read functions to other agents) and `post_commit` (announces new posts).
// Inputs and outputs are msgpack maps; hashes are bin. See examples/forum/README.md.
import {
  ActionHash,
  ActionType,
  AgentPubKey,
  agentPubKey,
  bytesEqual,
  CapAccess,
  CapGrant,
  createCapGrant,
  createEntry,
  createLink,
  deleteEntry,
  deleteLink,
  emitSignal,
  fail,
  get,
  getDetails,
  getLinks,
  GrantedFunctions,
  InitResult,
  initWith,
  input,
  Link,
  ok,
  postCommitWith,
  Record,
  SignedAction,
  Timestamp,
  updateEntry,
  ValueMap,
  Writer,
  zomeInfo,
  ZomeTypes,
} from "pdk/assembly"
import {
  anchorHash,
  bucketComponents,
  bucketPath,
  Comment,
  EntryTypes,
  INDEX_DEPTH,
  INTEGRITY_ZOME,
  LinkTypes,
  Post,
  secondBucket,
  tagTimestamp,
  timestampTag,
  utf8,
} from "../../forum_integrity/assembly/types"

// ---------------------------------------------------------------------------------------------
// Views: what the functions return

/** `{hash, action_hash, author, created_at, updated_at, title, body}`. */
class PostView {
  constructor(
    /** The post's create action hash: its identity. */
    public hash: ActionHash,
    /** The action that wrote the current version (the create, or the newest edit). */
    public actionHash: ActionHash,
    public author: AgentPubKey,
    public createdAt: Timestamp,
    public updatedAt: Timestamp,
    public post: Post,
  ) {}

  encode(w: Writer): void {
    w.map(7).field("hash", this.hash).field("action_hash", this.actionHash)
      .field("author", this.author).field("created_at", this.createdAt)
      .field("updated_at", this.updatedAt).field("title", this.post.title)
      .field("body", this.post.body)
  }
}

/** `{hash, post_hash, author, created_at, body}`. */
class CommentView {
  constructor(
    public hash: ActionHash,
    public author: AgentPubKey,
    public createdAt: Timestamp,
    public comment: Comment,
  ) {}

  encode(w: Writer): void {
    w.map(5).field("hash", this.hash).field("post_hash", this.comment.postHash)
      .field("author", this.author).field("created_at", this.createdAt)
      .field("body", this.comment.body)
  }
}

/**
 * Where a page of `list_posts_page` ended: `{timestamp, hash}` of its last post. The next page
 * holds the posts after it in the list's order (older, or as old with a smaller hash).
 */
class Cursor {
  constructor(public timestamp: Timestamp, public hash: ActionHash) {}

  encode(w: Writer): void {
    w.map(2).field("timestamp", this.timestamp).field("hash", this.hash)
  }

  /** True when a post at (`timestamp`, `hash`) comes after the cursor in the list. */
  before(timestamp: Timestamp, hash: ActionHash): bool {
    return timestamp < this.timestamp ||
      (timestamp == this.timestamp && compareBytes(hash, this.hash) < 0)
  }
}

/** `{posts, next}`: a page of posts, and the cursor of the next page (nil after the last). */
class PostPage {
  constructor(public posts: Array<PostView>, public next: Cursor | null) {}

  encode(w: Writer): void {
    w.map(2).field("posts", this.posts).field("next", this.next)
  }
}

/** The signal sent when a post is committed: `{type: "post_created", hash}`. */
class PostCreated {
  constructor(public hash: ActionHash) {}

  encode(w: Writer): void {
    w.map(2).field("type", "post_created").field("hash", this.hash)
  }
}

// ---------------------------------------------------------------------------------------------
// Posts

/** `{title, body}` → the new post's hash. */
export function create_post(): i32 {
  const post = readPost(input().asMap())
  const problem = post.problem()
  if (problem !== null) return fail(problem)
  const hash = createEntry(EntryTypes.Post, post).unwrap()
  // The post's own timestamp (the host set it) decides its bucket in the time index.
  const created = get(hash).unwrap()
  if (created === null) return fail("the new post cannot be read back")
  indexPost(hash, created.action.timestamp)
  createLink(agentPubKey(), hash, LinkTypes.AuthorToPosts).unwrap()
  return ok(hash)
}

/** `{hash}` → the post's current version (a PostView), or nil when it is missing or deleted. */
export function get_post(): i32 {
  return ok(loadPost(input().asMap().getBytes("hash")))
}

/** `{hash, title, body}` → the edit's action hash. Only the author can edit. */
export function update_post(): i32 {
  const args = input().asMap()
  const hash = args.getBytes("hash")
  const post = readPost(args)
  const problem = post.problem()
  if (problem !== null) return fail(problem)
  const current = loadPost(hash)
  if (current === null) return fail("post not found")
  if (!bytesEqual(current.author, agentPubKey())) return fail("only the author can edit a post")
  return ok(updateEntry(hash, post).unwrap())
}

/** `{hash}` → the delete's action hash. Only the author can delete; the post leaves every list. */
export function delete_post(): i32 {
  const hash = input().asMap().getBytes("hash")
  const current = loadPost(hash)
  if (current === null) return fail("post not found")
  const me = agentPubKey()
  if (!bytesEqual(current.author, me)) return fail("only the author can delete a post")
  const deleted = deleteEntry(hash).unwrap()
  const bucket = secondBucket(current.createdAt)
  if (bucket !== null) {
    unlink(getLinks(anchorHash(bucket), LinkTypes.AllPosts).unwrap(), hash)
  }
  unlink(getLinks(me, LinkTypes.AuthorToPosts).unwrap(), hash)
  return ok(deleted)
}

/** Pages of `list_posts_page` hold at most this many posts. */
const MAX_PAGE = 1000

/**
 * nil or `{limit?}` → the newest `limit` posts (every post without one), newest first
 * (PostView[]). It reads only the buckets of the time index those posts are in.
 */
export function list_posts(): i32 {
  const args = input()
  const given = args.isNil() ? -1 : args.asMap().optI64("limit", -1)
  const limit = <i32> min<i64>(max<i64>(-1, given), i32.MAX_VALUE)
  const posts = new Array<PostView>(0)
  walkBuckets(LinkTypes.AllPosts, 0, null, null, limit, posts)
  return ok(posts)
}

/**
 * nil or `{limit?, cursor?}` → `{posts, next}`: up to `limit` posts (default 20, at most 1000),
 * newest first, after `cursor` (the `next` of the previous page; none for the first page).
 * `next` is nil once the list is exhausted; a full last page may be followed by an empty one.
 * Posts created after the first page was read never appear in later pages (they are newer).
 */
export function list_posts_page(): i32 {
  const args = input()
  let limit: i64 = 20
  let cursor: Cursor | null = null
  if (!args.isNil()) {
    const map = args.asMap()
    limit = map.optI64("limit", 20)
    if (limit < 1 || limit > MAX_PAGE) {
      return fail("limit must be from 1 to " + MAX_PAGE.toString())
    }
    const given = map.optMap("cursor")
    if (given !== null) {
      const hash = given.getBytes("hash")
      if (hash.length != 39) return fail("cursor.hash must be a 39-byte action hash")
      cursor = new Cursor(given.getI64("timestamp"), hash)
    }
  }
  let parts: Array<string> | null = null
  if (cursor !== null) {
    parts = bucketComponents(cursor.timestamp)
    if (parts === null) return ok(new PostPage(new Array<PostView>(0), null))
  }
  const posts = new Array<PostView>(0)
  const full = walkBuckets(LinkTypes.AllPosts, 0, cursor, parts, <i32> limit, posts)
  let next: Cursor | null = null
  if (full) {
    const last = posts[posts.length - 1]
    next = new Cursor(last.createdAt, last.hash)
  }
  return ok(new PostPage(posts, next))
}

/** nil → the calling agent's posts, newest first (PostView[]). */
export function get_my_posts(): i32 {
  return ok(postsFrom(getLinks(agentPubKey(), LinkTypes.AuthorToPosts).unwrap(), -1))
}

/** `{author}` → that agent's posts, newest first (PostView[]). */
export function get_posts_by_author(): i32 {
  const author = input().asMap().getBytes("author")
  return ok(postsFrom(getLinks(author, LinkTypes.AuthorToPosts).unwrap(), -1))
}

// ---------------------------------------------------------------------------------------------
// Comments

/** `{post_hash, body}` → the new comment's hash. */
export function create_comment(): i32 {
  const args = input().asMap()
  const comment = new Comment(args.getBytes("post_hash"), args.getString("body"))
  const problem = comment.problem()
  if (problem !== null) return fail(problem)
  if (loadPost(comment.postHash) === null) return fail("post not found")
  const hash = createEntry(EntryTypes.Comment, comment).unwrap()
  createLink(comment.postHash, hash, LinkTypes.PostToComments).unwrap()
  return ok(hash)
}

/** `{post_hash}` → the post's comments, oldest first (CommentView[]). */
export function list_comments(): i32 {
  const postHash = input().asMap().getBytes("post_hash")
  const links = getLinks(postHash, LinkTypes.PostToComments).unwrap()
  const views = new Array<CommentView>(0)
  for (let i = 0; i < links.length; i++) {
    const record = get(links[i].target).unwrap()
    if (record === null) continue
    const comment = Comment.from(record.tryEntryValue())
    if (comment === null) continue
    const action = record.action
    views.push(new CommentView(record.actionHash, action.author, action.timestamp, comment))
  }
  return ok(views)
}

/** `{hash}` → the delete's action hash. Only the comment's author can delete it. */
export function delete_comment(): i32 {
  const hash = input().asMap().getBytes("hash")
  const record = get(hash).unwrap()
  if (record === null) return fail("comment not found")
  const comment = Comment.from(record.tryEntryValue())
  if (comment === null) return fail("not a comment")
  if (!bytesEqual(record.action.author, agentPubKey())) {
    return fail("only the author can delete a comment")
  }
  const deleted = deleteEntry(hash).unwrap()
  unlink(getLinks(comment.postHash, LinkTypes.PostToComments).unwrap(), hash)
  return ok(deleted)
}

// ---------------------------------------------------------------------------------------------
// Callbacks

/** Opens the read functions to every agent, the way Holochain apps publish public data. */
export function init(): i32 {
  return initWith(openReads)
}

function openReads(): InitResult {
  const zome = zomeInfo().unwrap().name
  const functions = GrantedFunctions.listed()
    .add(zome, "list_posts")
    .add(zome, "list_posts_page")
    .add(zome, "get_post")
    .add(zome, "list_comments")
  createCapGrant(new CapGrant("public_reads", CapAccess.unrestricted(), functions)).unwrap()
  return InitResult.pass()
}

/** Tells the UI about new posts: one `post_created` signal per post the call committed. */
export function post_commit(): i32 {
  return postCommitWith(announcePosts)
}

function announcePosts(actions: Array<SignedAction>): void {
  let types: ZomeTypes | null = null
  for (let i = 0; i < actions.length; i++) {
    const action = actions[i].action
    if (action.type != ActionType.Create) continue
    if (types === null) types = ZomeTypes.of(INTEGRITY_ZOME)
    if (types.isEntryOf(action, EntryTypes.Post)) {
      emitSignal(new PostCreated(actions[i].actionHash)).unwrap()
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers

function readPost(args: ValueMap): Post {
  return new Post(args.getString("title"), args.getString("body"))
}

/**
 * The current version of the post created by `hash`: edits all point at the create, and the
 * newest one wins. Null when there is no such post or it was deleted.
 */
function loadPost(hash: ActionHash): PostView | null {
  const details = getDetails(hash).unwrap()
  if (details === null || details.record === null) return null
  const created = details.record!
  if (details.deletes.length > 0) return null
  let current: Record = created
  if (details.updates.length > 0) {
    let newest = details.updates[0]
    for (let i = 1; i < details.updates.length; i++) {
      const update = details.updates[i]
      if (update.action.timestamp > newest.action.timestamp) newest = update
    }
    const edited = get(newest.actionHash).unwrap()
    if (edited !== null) current = edited
  }
  const post = Post.from(current.tryEntryValue())
  if (post === null) return null
  return new PostView(
    created.actionHash,
    current.actionHash,
    created.action.author,
    created.action.timestamp,
    current.action.timestamp,
    post,
  )
}

/** The posts the links point at, newest link first, skipping deleted ones; `limit` < 0: all. */
function postsFrom(links: Array<Link>, limit: i32): Array<PostView> {
  // get_links answers oldest first; sort by time (newest first), breaking ties by hash.
  links.sort((a: Link, b: Link): i32 => {
    if (a.timestamp != b.timestamp) return a.timestamp > b.timestamp ? -1 : 1
    return compareBytes(b.target, a.target)
  })
  const views = new Array<PostView>(0)
  for (let i = 0; i < links.length && (limit < 0 || views.length < limit); i++) {
    const view = loadPost(links[i].target)
    if (view !== null) views.push(view)
  }
  return views
}

/**
 * Adds the post to the time index: links it from the bucket of the second it was created in,
 * after making sure that bucket is reachable from the root. Buckets are created bottom-up and
 * the walk stops at the first one that is already linked from its parent: a bucket's link is
 * always committed together with its ancestors', so every ancestor of a linked bucket is linked.
 * (Holochain's `Path::ensure` does the same, top-down.)
 */
function indexPost(hash: ActionHash, timestamp: Timestamp): void {
  const parts = bucketComponents(timestamp)
  if (parts === null) return
  for (let depth = INDEX_DEPTH; depth >= 1; depth--) {
    const path = bucketPath(parts, depth)
    const tag = utf8(path)
    const parent = anchorHash(bucketPath(parts, depth - 1))
    if (getLinks(parent, LinkTypes.TimeIndex, tag).unwrap().length > 0) break
    createLink(parent, anchorHash(path), LinkTypes.TimeIndex, tag).unwrap()
  }
  const second = anchorHash(bucketPath(parts, INDEX_DEPTH))
  createLink(second, hash, LinkTypes.AllPosts, timestampTag(timestamp)).unwrap()
}

/**
 * Appends to `out` the posts of the bucket at `path` (`depth` levels below the root), newest
 * first, until it holds `limit` (< 0: no limit); true when it is full. With a cursor, only the
 * posts after it are taken: `parts` are the cursor's bucket components, and a bucket newer than
 * the cursor's is skipped without being read.
 */
function walkBuckets(
  path: string,
  depth: i32,
  cursor: Cursor | null,
  parts: Array<string> | null,
  limit: i32,
  out: Array<PostView>,
): bool {
  if (limit >= 0 && out.length >= limit) return true
  const base = anchorHash(path)
  if (depth == INDEX_DEPTH) {
    return takePosts(getLinks(base, LinkTypes.AllPosts).unwrap(), cursor, limit, out)
  }
  const prefix = path + "/"
  const children = new Array<string>(0)
  const links = getLinks(base, LinkTypes.TimeIndex).unwrap()
  for (let i = 0; i < links.length; i++) {
    const tag = links[i].tag
    const child = String.UTF8.decodeUnsafe(tag.dataStart, <usize> tag.length)
    // Validation admits only well-formed sub-buckets of this bucket; the check is cheap.
    if (!child.startsWith(prefix) || child.indexOf("/", prefix.length) >= 0) continue
    children.push(child)
  }
  // Components have a fixed width, so string order is time order; newest first.
  children.sort((a: string, b: string): i32 => (a < b ? 1 : a > b ? -1 : 0))
  for (let i = 0; i < children.length; i++) {
    const child = children[i]
    if (i > 0 && child == children[i - 1]) continue // the same bucket linked by two agents
    let childCursor = cursor
    if (parts !== null && cursor !== null) {
      const own = parts[depth]
      const component = child.substring(prefix.length)
      if (component > own) continue // newer than the cursor: already listed
      if (component < own) childCursor = null // older than the cursor's bucket: all of it
    }
    const childParts: Array<string> | null = childCursor === null ? null : parts
    if (walkBuckets(child, depth + 1, childCursor, childParts, limit, out)) return true
  }
  return false
}

/** Appends the live posts of one second's links to `out`, newest first, after `cursor`. */
function takePosts(
  links: Array<Link>,
  cursor: Cursor | null,
  limit: i32,
  out: Array<PostView>,
): bool {
  // Newest first by the post's timestamp (the tag), ties broken by hash, largest first.
  links.sort((a: Link, b: Link): i32 => {
    const ta = tagTimestamp(a.tag)
    const tb = tagTimestamp(b.tag)
    if (ta != tb) return ta > tb ? -1 : 1
    return compareBytes(b.target, a.target)
  })
  for (let i = 0; i < links.length; i++) {
    const link = links[i]
    if (i > 0 && bytesEqual(link.target, links[i - 1].target)) continue
    if (cursor !== null && !cursor.before(tagTimestamp(link.tag), link.target)) continue
    const view = loadPost(link.target)
    if (view === null) continue
    out.push(view)
    if (limit >= 0 && out.length >= limit) return true
  }
  return false
}

function compareBytes(a: Uint8Array, b: Uint8Array): i32 {
  const n = min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    if (a[i] != b[i]) return <i32> a[i] - <i32> b[i]
  }
  return a.length - b.length
}

/** Deletes the links among `links` that point at `target`. */
function unlink(links: Array<Link>, target: ActionHash): void {
  for (let i = 0; i < links.length; i++) {
    if (bytesEqual(links[i].target, target)) deleteLink(links[i].createLinkHash).unwrap()
  }
}
