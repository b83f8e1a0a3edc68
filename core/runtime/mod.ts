/**
 * Running the conductor as a process: `runMain` (signals tear the layers down), logging, and the
 * watch that stops a run whose launcher (npx, sh -c, deno task) is gone.
 *
 * @module
 */
export * from "./logging.ts"
export * from "./run_main.ts"
export * from "./launcher_watch.ts"
