/**
 * Supervised background work.
 *
 * @module
 */
export * from "./task_manager.ts"
