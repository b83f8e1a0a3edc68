/**
 * The conductor's host functions (`extism:host/user`, abi.md §4), as raw imports.
 *
 * Each takes the offset of a kernel block holding msgpack input (0 for none) and returns the
 * offset of a block holding the msgpack result envelope. Zome code uses the typed wrappers in
 * hdk.ts instead; these are exported for tests and for PDK authors.
 */

@external("extism:host/user", "agent_info_1")
export declare function agent_info_1(input: u64): u64
@external("extism:host/user", "dna_info_1")
export declare function dna_info_1(input: u64): u64
@external("extism:host/user", "zome_info_1")
export declare function zome_info_1(input: u64): u64
@external("extism:host/user", "call_info_1")
export declare function call_info_1(input: u64): u64
@external("extism:host/user", "sys_time_1")
export declare function sys_time_1(input: u64): u64
@external("extism:host/user", "random_bytes_1")
export declare function random_bytes_1(input: u64): u64
@external("extism:host/user", "trace_1")
export declare function trace_1(input: u64): u64
@external("extism:host/user", "hash_1")
export declare function hash_1(input: u64): u64
@external("extism:host/user", "sign_1")
export declare function sign_1(input: u64): u64
@external("extism:host/user", "verify_signature_1")
export declare function verify_signature_1(input: u64): u64
@external("extism:host/user", "create_1")
export declare function create_1(input: u64): u64
@external("extism:host/user", "update_1")
export declare function update_1(input: u64): u64
@external("extism:host/user", "delete_1")
export declare function delete_1(input: u64): u64
@external("extism:host/user", "create_link_1")
export declare function create_link_1(input: u64): u64
@external("extism:host/user", "delete_link_1")
export declare function delete_link_1(input: u64): u64
@external("extism:host/user", "create_cap_grant_1")
export declare function create_cap_grant_1(input: u64): u64
@external("extism:host/user", "create_cap_claim_1")
export declare function create_cap_claim_1(input: u64): u64
@external("extism:host/user", "get_1")
export declare function get_1(input: u64): u64
@external("extism:host/user", "get_details_1")
export declare function get_details_1(input: u64): u64
@external("extism:host/user", "get_links_1")
export declare function get_links_1(input: u64): u64
@external("extism:host/user", "query_1")
export declare function query_1(input: u64): u64
@external("extism:host/user", "must_get_entry_1")
export declare function must_get_entry_1(input: u64): u64
@external("extism:host/user", "must_get_action_1")
export declare function must_get_action_1(input: u64): u64
@external("extism:host/user", "must_get_valid_record_1")
export declare function must_get_valid_record_1(input: u64): u64
@external("extism:host/user", "must_get_agent_activity_1")
export declare function must_get_agent_activity_1(input: u64): u64
@external("extism:host/user", "emit_signal_1")
export declare function emit_signal_1(input: u64): u64
@external("extism:host/user", "call_1")
export declare function call_1(input: u64): u64
@external("extism:host/user", "receptor_call_1")
export declare function receptor_call_1(input: u64): u64
