/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ReusePortGroup datapath: the map keys and values shared with user space.
 *
 * A contract with the Java side (native/), which writes these maps byte by
 * byte: exact sizes, no implicit padding, integers in host (little-endian)
 * order. Member i is the i-th member of the policy's list.
 */
#ifndef BPFGIT_REUSEPORT_H
#define BPFGIT_REUSEPORT_H

#include <linux/types.h>

/* Members per group; a power of two so an index can be masked for the verifier. */
#define RP_MAX_MEMBERS 32

/*
 * rp_sockets slots per member: key = member * RP_SLOTS + slot. A member may
 * hold several listeners on the port (workers, IPv4 and IPv6): user space
 * fills all RP_SLOTS slots of a member round-robin with its k listeners, so a
 * hash over the slots spreads evenly (within one slot's share) over them.
 */
#define RP_SLOTS 16
#define RP_SOCKETS (RP_MAX_MEMBERS * RP_SLOTS)

enum rp_strategy {
	RP_HOT_STANDBY = 0,     /* the first member in list order with a live socket takes all */
	RP_WEIGHTED    = 1,     /* md->hash against the cumulative weights */
};

/* Value of the single entry (key 0) of rp_config. */
struct rp_config {
	__u32 strategy;                 /* enum rp_strategy */
	__u32 members;                  /* members in use, <= RP_MAX_MEMBERS */
	__u32 total_weight;             /* cum_weight[members - 1]; 0: no eligible member */
	__u32 pad;
	/*
	 * Upper bound (exclusive) of member i's share of [0, total_weight):
	 * member i gets hash % total_weight in [cum_weight[i-1], cum_weight[i]).
	 * A drained member adds 0, so its range is empty.
	 */
	__u32 cum_weight[RP_MAX_MEMBERS];
	__u8  drain[RP_MAX_MEMBERS];    /* 1: no new connections; still a migration target of last resort */
};                                      /* 176 bytes */

/*
 * Value of the per-CPU rp_counters array. Key i < RP_MAX_MEMBERS: member i;
 * key RP_NO_MEMBER: decisions left to the kernel (no eligible live member).
 */
struct rp_counter {
	__u64 selected;                 /* new connections (TCP SYNs, UDP datagrams of new flows) given */
	__u64 migrated;                 /* queued connections of a closing listener moved here */
};                                      /* 16 bytes */

#define RP_NO_MEMBER RP_MAX_MEMBERS
#define RP_COUNTERS  (RP_MAX_MEMBERS + 1)

_Static_assert(sizeof(struct rp_config) == 176, "rp_config is 176 bytes");
_Static_assert(sizeof(struct rp_counter) == 16, "rp_counter is 16 bytes");

#endif /* BPFGIT_REUSEPORT_H */
