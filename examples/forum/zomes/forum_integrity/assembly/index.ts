// The forum's integrity zome: the entry and link types, and the rules every agent checks before
// a post, comment or link is accepted. See examples/forum/README.md.
import {
  Action,
  ActionType,
  bytesEqual,
  EntryDefs,
  invalid,
  mustGetAction,
  mustGetValidRecord,
  Op,
  OpType,
  Record,
  valid,
  ValidateResult,
  validateWith,
  ZomeTypes,
} from "pdk/assembly"
import {
  anchorHash,
  bucketDepth,
  Comment,
  EntryTypes,
  LinkTypes,
  MAX_TAG_BYTES,
  parentPath,
  Post,
  secondBucket,
  tagTimestamp,
} from "./types"

export function entry_defs(): i32 {
  return new EntryDefs()
    .entry(EntryTypes.Post)
    .entry(EntryTypes.Comment)
    .link(LinkTypes.AllPosts)
    .link(LinkTypes.PostToComments)
    .link(LinkTypes.AuthorToPosts)
    .link(LinkTypes.TimeIndex)
    .respond()
}

export function validate(): i32 {
  return validateWith(validateOp)
}

// This zome's type names, looked up once per validate call (zome_info is per zome, and the same
// wasm may run in more than one DNA, so it is not kept across calls).
let ownTypes: ZomeTypes | null = null

function types(): ZomeTypes {
  let t = ownTypes
  if (t === null) {
    t = ZomeTypes.own()
    ownTypes = t
  }
  return t
}

function validateOp(op: Op): ValidateResult {
  ownTypes = null
  const action = op.action
  if (op.type == OpType.StoreEntry) return validateContent(op)
  if (op.type == OpType.RegisterUpdate) {
    return validateChange(action, op.original().action, "edit")
  }
  if (op.type == OpType.RegisterDelete) {
    return validateChange(action, op.original().action, "delete")
  }
  if (op.type == OpType.RegisterCreateLink) return validateCreateLink(op.linkType, action)
  if (op.type == OpType.RegisterDeleteLink) {
    const created = op.createLink
    return validateDeleteLink(
      action,
      created !== null ? created.action : mustGetAction(action.linkAddAddress!).unwrap().action,
    )
  }
  if (op.type == OpType.StoreRecord) return validateRecord(op)
  return valid()
}

// The record of any action of this zome, as its authorities store it: the same rules as the
// typed ops, looked up from the action itself.
function validateRecord(op: Op): ValidateResult {
  const action = op.action
  if (action.type == ActionType.Create) {
    return op.entryType === null ? valid() : validateContent(op)
  }
  if (action.type == ActionType.Update) {
    if (op.entryType === null) return valid()
    const content = validateContent(op)
    if (!content.isValid) return content
    const original = mustGetAction(action.originalActionAddress!).unwrap().action
    return validateChange(action, original, "edit")
  }
  if (action.type == ActionType.Delete) {
    const original = mustGetAction(action.deletesAddress!).unwrap().action
    if (types().entryTypeName(original.entryType) === null) return valid()
    return validateChange(action, original, "delete")
  }
  if (action.type == ActionType.CreateLink) return validateCreateLink(op.linkType, action)
  if (action.type == ActionType.DeleteLink) {
    const created = mustGetAction(action.linkAddAddress!).unwrap().action
    if (types().linkTypeName(created) === null) return valid()
    return validateDeleteLink(action, created)
  }
  return valid()
}

/** A post or comment being created or edited: its content follows the rules. */
function validateContent(op: Op): ValidateResult {
  if (op.entryType == EntryTypes.Post) {
    const post = Post.from(op.tryEntryValue())
    if (post === null) return invalid("a post is {title: string, body: string}")
    const problem = post.problem()
    return problem === null ? valid() : invalid(problem)
  }
  if (op.entryType == EntryTypes.Comment) {
    const comment = Comment.from(op.tryEntryValue())
    if (comment === null) return invalid("a comment is {post_hash: bin, body: string}")
    const problem = comment.problem()
    if (problem !== null) return invalid(problem)
    if (!isPost(mustGetValidRecord(comment.postHash).unwrap())) {
      return invalid("post_hash must be the hash of a post")
    }
    if (op.action.type == ActionType.Update) {
      // An edit keeps the comment under the same post.
      const original = mustGetValidRecord(op.action.originalActionAddress!).unwrap()
      const before = Comment.from(original.tryEntryValue())
      if (before === null || !bytesEqual(before.postHash, comment.postHash)) {
        return invalid("an edited comment must stay under the same post")
      }
    }
    return valid()
  }
  return valid()
}

/** An edit or delete: only the author of the original may make it. */
function validateChange(action: Action, original: Action, verb: string): ValidateResult {
  if (!bytesEqual(action.author, original.author)) {
    return invalid("only the author can " + verb + " a post or comment")
  }
  return valid()
}

/** Whether `record` is the creation of a post of this zome. */
function isPost(record: Record): bool {
  return record.action.type == ActionType.Create &&
    types().isEntryOf(record.action, EntryTypes.Post)
}

/**
 * Links point only at content the link's author wrote, so nobody can list someone else's post
 * under their name or attach comments to a thread on another's behalf.
 */
function validateCreateLink(linkType: string | null, action: Action): ValidateResult {
  if (linkType === null) return valid()
  const tag = action.tag
  if (tag !== null && tag.length > MAX_TAG_BYTES) {
    return invalid("a link tag has at most " + MAX_TAG_BYTES.toString() + " bytes")
  }
  const base = action.baseAddress!
  if (linkType == LinkTypes.TimeIndex) return validateTimeIndexLink(action, base)
  const target = mustGetValidRecord(action.targetAddress!).unwrap()
  if (!bytesEqual(target.action.author, action.author)) {
    return invalid("a link must point at the link author's own post or comment")
  }
  if (linkType == LinkTypes.AllPosts || linkType == LinkTypes.AuthorToPosts) {
    if (!isPost(target)) return invalid(linkType + " links must point at a post")
    if (linkType == LinkTypes.AllPosts) {
      const created = target.action.timestamp
      if (tag === null || tagTimestamp(tag) != created) {
        return invalid("an all_posts link's tag is the post's timestamp")
      }
      const bucket = secondBucket(created)
      if (bucket === null || !bytesEqual(base, anchorHash(bucket))) {
        return invalid("all_posts links start at the time bucket of the post")
      }
    }
    if (linkType == LinkTypes.AuthorToPosts && !bytesEqual(base, action.author)) {
      return invalid("author_to_posts links start at the author's own key")
    }
    return valid()
  }
  if (linkType == LinkTypes.PostToComments) {
    const created = target.action
    if (created.type != ActionType.Create || !types().isEntryOf(created, EntryTypes.Comment)) {
      return invalid("post_to_comments links must point at a comment")
    }
    const comment = Comment.from(target.tryEntryValue())
    if (comment === null || !bytesEqual(comment.postHash, base)) {
      return invalid("post_to_comments links start at the comment's post")
    }
    return valid()
  }
  return invalid("unknown link type " + linkType)
}

/**
 * A link of the `all_posts` time index from a bucket to one of its sub-buckets: the tag is the
 * sub-bucket's path, the base the anchor of its parent and the target its own anchor. Anyone may
 * write one (the index is shared); nothing else is allowed in the index.
 */
function validateTimeIndexLink(action: Action, base: Uint8Array): ValidateResult {
  const tag = action.tag
  const path = tag === null ? "" : String.UTF8.decodeUnsafe(tag.dataStart, <usize> tag.length)
  if (bucketDepth(path) == 0) return invalid("a time_index link's tag is a bucket path")
  if (!bytesEqual(base, anchorHash(parentPath(path)))) {
    return invalid("a time_index link starts at its bucket's parent")
  }
  if (!bytesEqual(action.targetAddress!, anchorHash(path))) {
    return invalid("a time_index link points at its bucket")
  }
  return valid()
}

/** Only the agent who created a link may delete it. */
function validateDeleteLink(action: Action, created: Action): ValidateResult {
  if (!bytesEqual(action.author, created.author)) {
    return invalid("only the author of a link can delete it")
  }
  return valid()
}
