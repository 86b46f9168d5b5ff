// SPDX-License-Identifier: GPL-2.0
/*
 * No programs: this object only carries the BTF of bpfgit's bookkeeping map
 * (applied revision, per-policy digests; see design §5), so user space can
 * create that map with typed keys and values and `bpftool map dump` prints
 * them as text. User space creates the map with its real max_entries; the 1
 * below is a placeholder. libbpf opens an object without programs fine.
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct meta_key {
	char name[96];          /* NUL-padded, e.g. "revision" or "digest/TrafficPolicy/edge-filter" */
};

struct meta_value {
	char text[160];         /* NUL-padded */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, struct meta_key);
	__type(value, struct meta_value);
} meta SEC(".maps");
