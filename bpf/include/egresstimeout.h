/* SPDX-License-Identifier: GPL-2.0 */
/*
 * EgressTimeout datapath: the map keys and values shared with user space
 * (reconciler kind/egress, EgressLayout.java). Exact sizes, no implicit
 * padding; integers little-endian, addresses network-order bytes.
 */
#ifndef BPFGIT_EGRESSTIMEOUT_H
#define BPFGIT_EGRESSTIMEOUT_H

#include <linux/types.h>

/* The most policies one cgroup's unit merges: the size of et_counters. */
#define ET_MAX_POLICIES 256

/* LPM_TRIE keys of et_dest_v4 / et_dest_v6 (bpf_lpm_trie_key layout). */
struct et_lpm_v4 {
	__u32 prefixlen;
	__u8  addr[4];
};                                      /* 8 bytes */

struct et_lpm_v6 {
	__u32 prefixlen;
	__u8  addr[16];
};                                      /* 20 bytes */

/* Value of both tries: the timeouts of the longest matching prefix, in ms; 0 = the system default. */
struct et_timeouts {
	__u32 policy;           /* the owning policy's id (user space: PolicyIds): its et_counters key */
	__u32 syn_ms;           /* connection attempt: TCP_USER_TIMEOUT while in SYN_SENT */
	__u32 established_ms;   /* established TCP idle longer than this is destroyed by the reaper */
	__u32 fin_ms;           /* closing states: TCP_USER_TIMEOUT after our FIN, destroyed by the reaper after */
	__u32 user_ms;          /* TCP_USER_TIMEOUT once established, with keepalive probing */
	__u32 any_ms;           /* connected UDP idle longer than this is destroyed by the reaper */
};                                      /* 24 bytes */

/* Value of the single entry (key 0) of et_config. */
struct et_config {
	__u64 cgroup_id;        /* the policy's cgroup (its inode): the reaper only touches its sockets and its descendants' */
};                                      /* 8 bytes */

/* Value of et_counters (a hash by policy id): what the programs did for the policy. */
struct et_counter {
	__u64 applied;          /* connections the sock_ops program gave a timeout */
	__u64 idle_tcp;         /* established TCP destroyed for idleness */
	__u64 idle_udp;         /* connected UDP destroyed for idleness */
	__u64 closing;          /* TCP destroyed after tcpFin in a closing state */
	__u64 failed;           /* bpf_setsockopt or bpf_sock_destroy errors */
};                                      /* 40 bytes */

/* Per-socket storage (SK_STORAGE). */
struct et_sock {
	__u64 last_ns;          /* UDP: last packet in or out (cgroup_skb programs); bpf_ktime_get_ns */
	__u64 closing_ns;       /* TCP: when it entered a closing state (sock_ops STATE_CB) */
	__u32 passive;          /* TCP: an accepted connection, not egress: never reaped */
	__u32 pad;
};                                      /* 24 bytes */

#endif
