/* SPDX-License-Identifier: GPL-2.0 */
/*
 * SocketTermination: the map keys and values shared with user space, and the
 * records the iterators write. Same conventions as traffic.h: exact sizes, no
 * implicit padding, integers in host (little-endian) order, addresses as
 * network-order bytes.
 */
#ifndef BPFGIT_SOCKTERM_H
#define BPFGIT_SOCKTERM_H

#include <linux/types.h>

/* LPM keys of st_dst_v4 / st_dst_v6 */
struct st_lpm_v4 {
	__u32 prefixlen;
	__u8  addr[4];
};

struct st_lpm_v6 {
	__u32 prefixlen;
	__u8  addr[16];
};

/* LPM value: which destination of the policy matched (1-based, its place in the list). */
struct st_dest {
	__u32 index;
	__u32 any_port;         /* 1: the destination lists no ports, every remote port matches */
};

/* Key of st_ports (value __u8 1): remote port `port` of destination `index`. */
struct st_port_key {
	__u32 index;
	__u16 port;             /* host order */
	__u16 pad;
};

#define ST_PROTO_TCP 1
#define ST_PROTO_UDP 2

/* The single entry (key 0) of st_config. */
struct st_config {
	__u32 protocols;        /* ST_PROTO_TCP | ST_PROTO_UDP */
	__u32 cgroup_scope;     /* 1: only sockets whose cgroup id is in st_cgroups */
};

/* st_counters slots (ARRAY of __u64) */
#define ST_CNT_TCP     0    /* TCP sockets destroyed */
#define ST_CNT_UDP     1    /* UDP sockets destroyed */
#define ST_CNT_FAILED  2    /* bpf_sock_destroy returned an error */
#define ST_CNT_SLOTS   4

/* One record per socket the iterator acted on, written with bpf_seq_write (56 bytes). */
struct st_record {
	__u8  protocol;         /* IPPROTO_TCP 6 | IPPROTO_UDP 17 */
	__u8  family;           /* AF_INET 2 | AF_INET6 10 */
	__u8  state;            /* socket state before */
	__u8  pad;
	__s32 err;              /* bpf_sock_destroy's result: 0 or -errno */
	__u16 sport;            /* host order */
	__u16 dport;            /* host order */
	__u32 pad2;
	__u8  saddr[16];        /* AF_INET: first 4 bytes */
	__u8  daddr[16];
	__u64 cgroup;           /* cgroup v2 id of the socket (sk_cgrp_data) */
};

#endif
