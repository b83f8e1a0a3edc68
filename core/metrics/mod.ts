/**
 * Metrics and their Prometheus exposition.
 *
 * @module
 */
export * from "./metrics.ts"
