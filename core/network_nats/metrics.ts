/**
 * The network's per-space gauges on `/metrics` (labelled by space, the DNA hash in `u…` form:
 * bounded by the installed DNAs). The runtime updates them every few seconds.
 *
 * @module
 */
import { Metric } from "effect"
import { series } from "../metrics/mod.ts"

const gauge = (name: string, description: string) =>
  series((attributes) => Metric.gauge(name, { description, attributes }))

/** The gauges, by statistic. */
export const networkGauges = {
  peers: gauge("conductor_network_peers", "Live remote agents per space"),
  opsHeld: gauge("conductor_network_ops_held", "DHT ops held per space"),
  opsPending: gauge(
    "conductor_network_ops_pending",
    "Authored ops waiting for publishing or receipts per space",
  ),
  receipts: gauge("conductor_network_receipts_received", "Validation receipts received per space"),
  fetchesInFlight: gauge("conductor_network_fetches_in_flight", "Repair fetches in flight"),
  repairRounds: gauge("conductor_network_repair_rounds", "Repair rounds run per space"),
  refused: gauge("conductor_network_refused", "Records refused per space"),
  lastSync: gauge(
    "conductor_network_last_sync_seconds",
    "Unix time of the last completed repair round per space (0: never)",
  ),
}
