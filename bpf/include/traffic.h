/* SPDX-License-Identifier: GPL-2.0 */
/*
 * TrafficPolicy datapath: the map keys and values shared with user space.
 *
 * This layout is a contract with the Java side (native/, which writes these
 * maps byte by byte). Exact sizes, no implicit padding. Integers are in host
 * (little-endian) order; addresses are network-order bytes, so an address is
 * the same 4 or 16 bytes as on the wire and bpftool prints it as [10,0,0,1].
 * Change nothing here without changing the Java encoder and the README.
 */
#ifndef BPFGIT_TRAFFIC_H
#define BPFGIT_TRAFFIC_H

#include <linux/types.h>

/* LPM_TRIE keys: prefixlen first, as the kernel requires (bpf_lpm_trie_key). */
struct lpm_v4 {
	__u32 prefixlen;
	__u8  addr[4];
};                                      /* 8 bytes */

struct lpm_v6 {
	__u32 prefixlen;
	__u8  addr[16];
};                                      /* 20 bytes */

enum traffic_action {
	ACT_PASS     = 0,
	ACT_DROP     = 1,
	ACT_REDIRECT = 2,                   /* to the egress of rule.ifindex */
	ACT_MARK     = 3,                   /* tc only: skb->mark = rule.mark; in XDP it passes */
};

/* Value of rules_v4 / rules_v6. */
struct rule {
	__u32 slot;     /* index into counters, >= 1 (slot 0 counts the packets no rule matched) */
	__u32 gen;      /* generation of the rule owning the slot; counters of an older owner are reset lazily */
	__u32 policy;   /* id of the owning policy (user space uses it to group counters) */
	__u32 ifindex;  /* ACT_REDIRECT target */
	__u32 mark;     /* skb mark for ACT_MARK */
	__u8  action;   /* enum traffic_action */
	__u8  pad[3];
};                                      /* 24 bytes */

/* Value of the per-CPU counters array: user space sums the CPUs whose gen is the rule's gen. */
struct counter {
	__u64 packets;
	__u64 bytes;
	__u32 gen;
	__u32 pad;
};                                      /* 24 bytes */

/* Value of the single entry (key 0) of the config array. */
struct config {
	__u32 default_action;   /* ACT_PASS or ACT_DROP: packets no rule matches */
	__u32 match;            /* MATCH_SOURCE or MATCH_DESTINATION */
};                                      /* 8 bytes */

#define MATCH_SOURCE      0
#define MATCH_DESTINATION 1

/* The slot that counts packets matched by no rule (generation 0, never reset). */
#define DEFAULT_SLOT 0

_Static_assert(sizeof(struct lpm_v4) == 8, "lpm_v4 is 8 bytes");
_Static_assert(sizeof(struct lpm_v6) == 20, "lpm_v6 is 20 bytes");
_Static_assert(sizeof(struct rule) == 24, "rule is 24 bytes");
_Static_assert(sizeof(struct counter) == 24, "counter is 24 bytes");
_Static_assert(sizeof(struct config) == 8, "config is 8 bytes");

#endif /* BPFGIT_TRAFFIC_H */
