/**
 * Running the conductor as a process: `runMain` (signals tear the layers down) and logging.
 *
 * @module
 */
export * from "./logging.ts"
export * from "./run_main.ts"
