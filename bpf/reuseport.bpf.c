// SPDX-License-Identifier: GPL-2.0
/*
 * ReusePortGroup selector: which member of an SO_REUSEPORT group gets a new
 * connection, and where the queued connections of a closing listener go.
 *
 * The selection map is a SOCKMAP (key = member index * RP_SLOTS + slot,
 * value = one of the member's listening sockets; user space writes an fd,
 * reads back the socket cookie).
 * Not a REUSEPORT_SOCKARRAY: a socket in one cannot also be in a SOCKMAP
 * (EBUSY), which would close the door on sk_lookup. The kernel removes a
 * socket from the map when it is closed, so an empty slot means "member down".
 *
 * sk_reuseport programs have no bpf_link: user space attaches with
 * SO_ATTACH_REUSEPORT_EBPF on any member socket and the attachment lives as
 * long as the group. The migrate variant (expected attach type
 * SELECT_OR_MIGRATE, from the SEC name) also runs for ordinary SYNs, with
 * migrating_sk NULL, and migrates even with net.ipv4.tcp_migrate_req=0.
 *
 * Layouts: include/reuseport.h. max_entries below are placeholders: user
 * space creates the maps and binds them before loading.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "reuseport.h"

struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} rp_sockets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rp_config);
} rp_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rp_counter);
} rp_counters SEC(".maps");

static __always_inline void count(__u32 member, int migrating)
{
	struct rp_counter *c = bpf_map_lookup_elem(&rp_counters, &member);

	if (!c)
		return;
	if (migrating)
		c->migrated++;
	else
		c->selected++;
}

/*
 * The slot a connection starts from within a member: other bits of the hash
 * than the weighted choice uses (hash % total_weight), mixed.
 */
static __always_inline __u32 slot_of(__u32 hash)
{
	hash ^= hash >> 16;
	hash *= 0x45d9f3b;
	hash ^= hash >> 16;
	return hash & (RP_SLOTS - 1);
}

/*
 * 0 when one of member i's sockets in this group is now selected: the hashed
 * slot, else the next filled one. A slot fails when it is empty (the kernel
 * removed a closed socket) or holds a socket of another reuseport group (the
 * member's IPv6 listener for an IPv4 connection: -EAFNOSUPPORT), so a member
 * with listeners in several groups is served in each.
 */
static __always_inline int try_member(struct sk_reuseport_md *md, __u32 i, __u32 slot)
{
	for (__u32 j = 0; j < RP_SLOTS; j++) {
		__u32 key = i * RP_SLOTS + ((slot + j) & (RP_SLOTS - 1));

		if (bpf_sk_select_reuseport(md, &rp_sockets, &key, 0) == 0)
			return 0;
	}
	return -1;
}

/* The first member from `start` on (wrapping), drained ones only if allowed, that takes it; -1 if none. */
static __always_inline int first_live(struct sk_reuseport_md *md, const struct rp_config *cfg,
				      __u32 start, int allow_drained)
{
	__u32 n = cfg->members;

	for (__u32 j = 0; j < RP_MAX_MEMBERS; j++) {
		__u32 i;

		if (j >= n)
			break;
		i = (start + j) % n;
		i &= RP_MAX_MEMBERS - 1;
		if (cfg->drain[i] && !allow_drained)
			continue;
		if (try_member(md, i, slot_of(md->hash)) == 0)
			return i;
	}
	return -1;
}

/* The member whose weight range holds the hash; -1 when no member has weight. */
static __always_inline int weighted_member(const struct rp_config *cfg, __u32 hash)
{
	__u32 n = cfg->members, point;

	if (cfg->total_weight == 0)
		return -1;
	point = hash % cfg->total_weight;
	for (__u32 i = 0; i < RP_MAX_MEMBERS; i++) {
		if (i >= n)
			break;
		if (point < cfg->cum_weight[i])
			return i;
	}
	return -1;
}

/*
 * New connections go to eligible (not drained) members only. Migration must
 * not lose a connection, so when no eligible member is live it falls back to
 * a drained one. When nobody takes it, SK_PASS without a selection leaves the
 * choice to the kernel's hash over the group (for a migration: the remaining
 * listeners), never SK_DROP: bpfgit has no opinion when its members are gone.
 */
static __always_inline int select(struct sk_reuseport_md *md, int migrating)
{
	__u32 zero = 0;
	struct rp_config *cfg = bpf_map_lookup_elem(&rp_config, &zero);
	int chosen = -1;

	if (!cfg || cfg->members == 0 || cfg->members > RP_MAX_MEMBERS)
		goto kernel;

	if (cfg->strategy == RP_WEIGHTED) {
		int w = weighted_member(cfg, md->hash);

		if (w >= 0) {
			/* a dead weighted pick spills to the next eligible members, not all onto member 0 */
			chosen = first_live(md, cfg, (__u32)w, 0);
		}
	} else {
		chosen = first_live(md, cfg, 0, 0);
	}
	if (chosen < 0 && migrating)
		chosen = first_live(md, cfg, 0, 1);
	if (chosen >= 0) {
		count((__u32)chosen, migrating);
		return SK_PASS;
	}
kernel:
	count(RP_NO_MEMBER, migrating);
	return SK_PASS;
}

/* expected_attach_type BPF_SK_REUSEPORT_SELECT */
SEC("sk_reuseport")
int reuseport_select(struct sk_reuseport_md *md)
{
	return select(md, 0);
}

/* expected_attach_type BPF_SK_REUSEPORT_SELECT_OR_MIGRATE */
SEC("sk_reuseport/migrate")
int reuseport_migrate(struct sk_reuseport_md *md)
{
	return select(md, md->migrating_sk != 0);
}

char LICENSE[] SEC("license") = "GPL";
