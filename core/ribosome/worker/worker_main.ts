/**
 * The guest worker's entry point when the conductor runs from source (`guestWorkerUrl()`); the
 * bundle starts its workers from its own entry point instead (`main.ts`).
 *
 * @module
 */
import { startGuestWorker } from "./worker.ts"

startGuestWorker()
