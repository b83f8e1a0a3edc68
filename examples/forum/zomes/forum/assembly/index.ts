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
  allPostsAnchor,
  Comment,
  EntryTypes,
  INTEGRITY_ZOME,
  LinkTypes,
  Post,
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
  createLink(allPostsAnchor(), hash, LinkTypes.AllPosts).unwrap()
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
  unlink(getLinks(allPostsAnchor(), LinkTypes.AllPosts).unwrap(), hash)
  unlink(getLinks(me, LinkTypes.AuthorToPosts).unwrap(), hash)
  return ok(deleted)
}

/** nil or `{limit?}` → every post, newest first (PostView[]). */
export function list_posts(): i32 {
  const args = input()
  const limit = args.isNil() ? -1 : <i32> args.asMap().optI64("limit", -1)
  return ok(postsFrom(getLinks(allPostsAnchor(), LinkTypes.AllPosts).unwrap(), limit))
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
