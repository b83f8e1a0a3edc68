/**
 * The commented `conductor.yaml` that `conductor init` writes. Embedded as a string so the single
 * executable carries it; `template_test.ts` checks that it decodes to the same config as the
 * embedded default.
 *
 * @module
 */

/** Template text; every value equals the built-in default. */
export const CONFIG_TEMPLATE =
  `# conductor.yaml: every key is optional; the values below are the defaults.
# Paths are relative to this file's folder.

# Where the conductor keeps its SQLite database (apps, cells, source chains, DHT ops, wasm).
data_dir: conductor-data

keystore:
  # Agent keys are encrypted at rest with a key derived from this passphrase (scrypt).
  # It is read from the environment variable named here...
  passphrase_env: CONDUCTOR_PASSPHRASE
  # ...or from the first line of a file (takes precedence over the environment).
  # passphrase_file: ./passphrase.txt
  # Without any passphrase, a random one is generated into <data_dir>/keystore.passphrase
  # (mode 0600) so that a development conductor starts with no setup.

# Admin websockets speaking the Holochain Conductor API (@holochain/client's AdminWebsocket).
# They listen on 127.0.0.1 and ::1 unless danger_bind_addr says otherwise.
admin_interfaces:
  - driver:
      type: websocket
      port: 4444 # 0 picks a free port
      # Which Origin headers may connect (connections without one are refused): a comma-separated
      # list of exact values ("https://my.app", "my-tool"), patterns with any port
      # ("http://localhost:*"), "local", or "*" (any web page: dangerous).
      # "local" = pages from localhost, 127.0.0.1 or [::1] (any port) and tools that send an
      # Origin no browser sends (e.g. "conductor-cli"; Node's ws needs one: @holochain/client's
      # wsClientOptions: {origin}). Pages from any other site are refused.
      allowed_origins: local
      # danger_bind_addr: 0.0.0.0

# The HTTP endpoint (Hono): /health, /metrics (Prometheus), the JSON admin API under /api,
# and the HTTP gateway GET /{dna_hash}/{app_id}/{zome}/{fn}?payload=<base64url JSON>.
http:
  port: 4445
  bind: 127.0.0.1
  # admin_token: a-long-random-string # when set, /api/* needs "Authorization: Bearer <token>"
  # Pages allowed to use /api (same syntax as allowed_origins above). Requests without an Origin
  # (curl, scripts) are allowed; bodies must be application/json or application/octet-stream.
  allowed_origins: local
  max_install_body_bytes: 67108864 # POST /api/apps (64 MiB)
  max_body_bytes: 1048576 # every other /api body, zome calls included (1 MiB)
  max_json_depth: 64 # deepest nesting of arrays and objects in a JSON body
  gateway:
    enabled: true
    allowed_app_ids: [] # nothing is exposed until listed here
    allowed_fns: {} # per app id: "*" or a list such as ["forum/list_posts"]
    payload_limit_bytes: 10240

ribosome:
  # Metering budget of one guest call; a call that runs out fails with a ribosome error.
  fuel_per_call: 10000000000
  # Largest linear memory of one zome instance (MiB).
  max_memory_mb: 256
  # Largest total of Extism kernel blocks one call may allocate (MiB).
  max_kernel_mb: 64
  # Idle zome instances kept warm, and how long an unused one is kept (ms).
  instance_cache_size: 256
  instance_idle_ms: 60000
  # Cap on the linear memory of all zome instances together (MiB).
  instance_memory_mb: 512
  # Wall-clock deadline of one guest call, waiting included (ms).
  call_timeout_ms: 30000
  # Fuel a guest runs between two looks at the clock and the event loop (about 1 ms of work).
  fuel_per_slice: 5000000
  # Largest output of one guest call (bytes); a larger one is refused.
  max_output_bytes: 16777216

tasks:
  post_commit_timeout_ms: 30000
  post_commit_retries: 3

storage:
  # normal (SQLite WAL, Holochain's default): nothing committed is lost when the process crashes;
  # a power loss may lose the last commits. full: every commit is fsynced (slower).
  synchronous: normal

install:
  # Largest .happ install_app accepts, sent as bytes or read from a path (64 MiB).
  max_bundle_bytes: 67108864

log:
  level: info # trace, debug, info, warn, error
  format: pretty # pretty or json

# Receptors: adapters between apps and systems outside them, reached by id through
# /api/receptors and \`conductor receptor\`. Each keeps its data in <data_dir>/receptors/<id>.sqlite3.
# Ids are unique; the default of a type is the one with default: true, else the first of the type.
receptors: []
#  - id: notes
#    type: local_store # a durable key-value/document store
#    enabled: true
#    default: false
#    max_key_bytes: 1024
#    max_value_bytes: 1048576
#    max_batch_ops: 1000
#    max_list: 1000
#  - id: edits
#    type: recovery # crash-safe editing sessions with undo, redo, commit and abort
#    max_key_bytes: 1024
#    max_value_bytes: 16777216
#    max_changes: 10000 # entries one checkpoint may set or delete
#    max_session_bytes: 268435456
#    max_undo: 1000 # checkpoints kept per session; older ones fold into the baseline
#    max_sessions: 1000

# Other conductors over NATS (README, "Two conductors that talk"). Without this section the
# conductor is local-only. NATS only routes: every message is signed and checked by its receiver.
# network:
#   nats: {servers: ["nats://127.0.0.1:4222"], reconnect_wait_ms: 1000, ping_interval_ms: 10000}
#   # nats also takes credentials (an nsc .creds file), token, user and pass, and
#   # tls: {ca_file, cert_file, key_file}; files are relative to this one.
#   agent_info_ttl_ms: 60000 # a peer that stops re-signing leaves everyone's view after this
#   agent_info_refresh_ms: 20000
#   publish_interval_ms: 200
#   repair_interval_ms: 30000 # also on reconnect and when a peer joins
#   request_timeout_ms: 5000 # per repair request: a dead peer costs only this
#   repair_parallelism: 8
#   arc: full # full holds every op of a space; zero holds none
#   required_receipts: 5 # or every peer when there are fewer
#   max_message_bytes: 1048576
`
