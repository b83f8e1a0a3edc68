/**
 * The error of every app operation.
 *
 * @module
 */
import { Schema } from "effect"

/** An app operation that cannot be done; `reason` says why. */
export class AppError extends Schema.TaggedError<AppError>()("AppError", {
  reason: Schema.Literals([
    "NotFound",
    "AlreadyExists",
    "InvalidBundle",
    "InvalidInput",
    "InvalidDna",
    "GenesisFailed",
    "WrongStatus",
    "CloneLimitReached",
    "Dependents",
    "Internal",
  ]),
  detail: Schema.String,
}) {
  override get message(): string {
    return this.detail
  }
}

/** An `AppError` with a reason and a message. */
export const appError = (reason: AppError["reason"], detail: string) =>
  new AppError({ reason, detail })
