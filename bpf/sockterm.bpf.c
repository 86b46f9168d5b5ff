// SPDX-License-Identifier: GPL-2.0
/*
 * SocketTermination: iter/tcp and iter/udp programs that destroy the sockets
 * whose remote address and port match a policy (bpf_sock_destroy kfunc, Linux
 * 6.5+; the owner sees ECONNABORTED). User space runs them on demand
 * (BPF_ITER_CREATE + read) inside the policy's network namespace: a socket
 * iterator walks the namespace it is created in.
 *
 * Match: the longest prefix of st_dst_v4/v6 holding the remote address names
 * a destination; its port set (st_ports) or "any port" decides. A v4-mapped
 * IPv6 remote is looked up as IPv4. With cgroup_scope, only sockets whose
 * cgroup (sk_cgrp_data: the cgroup of the process that created the socket)
 * is in st_cgroups; user space puts the cgroup and its descendants there.
 * Never touched: TCP LISTEN, TIME_WAIT, NEW_SYN_RECV and CLOSE sockets (request
 * and timewait socks are not full sockets); UDP sockets that are not connected.
 *
 * No vmlinux.h: the few kernel types below are declared with
 * preserve_access_index, so libbpf relocates every field against the running
 * kernel's BTF (CO-RE). Layouts shared with user space: include/sockterm.h.
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>

#include "compat.h"
#include "sockterm.h"

#define PAI __attribute__((preserve_access_index))

struct seq_file;

struct bpf_iter_meta {
	struct seq_file *seq;
} PAI;

struct in6_addr___st {
	__u8 bytes[16];
};

struct sock_common {
	__be32 skc_daddr;
	__be32 skc_rcv_saddr;
	__be16 skc_dport;
	__u16 skc_num;
	unsigned short skc_family;
	unsigned char skc_state;
	struct in6_addr___st skc_v6_daddr;
	struct in6_addr___st skc_v6_rcv_saddr;
} PAI;

struct kernfs_node {
	__u64 id;
} PAI;

struct cgroup {
	struct kernfs_node *kn;
} PAI;

struct sock_cgroup_data {
	struct cgroup *cgroup;
} PAI;

struct sock {
	struct sock_cgroup_data sk_cgrp_data;
} PAI;

struct udp_sock;

struct bpf_iter__tcp {
	struct bpf_iter_meta *meta;
	struct sock_common *sk_common;
} PAI;

struct bpf_iter__udp {
	struct bpf_iter_meta *meta;
	struct udp_sock *udp_sk;
} PAI;

extern int bpf_sock_destroy(struct sock_common *sk) __ksym;

/* max_entries are placeholders: user space creates the maps and binds them before loading */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct st_lpm_v4);
	__type(value, struct st_dest);
} st_dst_v4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct st_lpm_v6);
	__type(value, struct st_dest);
} st_dst_v6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, struct st_port_key);
	__type(value, __u8);
} st_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, __u64);
	__type(value, __u8);
} st_cgroups SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct st_config);
} st_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, ST_CNT_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} st_counters SEC(".maps");

#define TCP_ESTABLISHED  1
#define TCP_TIME_WAIT    6
#define TCP_CLOSE        7
#define TCP_LISTEN       10
#define TCP_NEW_SYN_RECV 12

static __always_inline void count(__u32 slot)
{
	__u64 *v = bpf_map_lookup_elem(&st_counters, &slot);

	if (v)
		__sync_fetch_and_add(v, 1);
}

static __always_inline int port_matches(const struct st_dest *d, __u16 dport)
{
	struct st_port_key k = { .index = d->index, .port = dport };

	return d->any_port || bpf_map_lookup_elem(&st_ports, &k) != NULL;
}

static __always_inline int is_v4_mapped(const __u8 *a)
{
	for (int i = 0; i < 10; i++)
		if (a[i])
			return 0;
	return a[10] == 0xff && a[11] == 0xff;
}

/* Fills rec's addresses and ports; 1 when the socket matches the policy. */
static __always_inline int matches(struct sock_common *skc, __u32 protocol, struct st_record *rec)
{
	__u32 key0 = 0;
	struct st_config *cfg = bpf_map_lookup_elem(&st_config, &key0);
	struct st_dest *d;

	if (!cfg || !(cfg->protocols & protocol))
		return 0;
	rec->family = BPF_CORE_READ(skc, skc_family);
	rec->state = BPF_CORE_READ(skc, skc_state);
	rec->sport = BPF_CORE_READ(skc, skc_num);
	rec->dport = bpf_ntohs(BPF_CORE_READ(skc, skc_dport));
	if (rec->family == AF_INET) {
		__be32 daddr = BPF_CORE_READ(skc, skc_daddr);
		__be32 saddr = BPF_CORE_READ(skc, skc_rcv_saddr);
		struct st_lpm_v4 k = { .prefixlen = 32 };

		__builtin_memcpy(k.addr, &daddr, 4);
		__builtin_memcpy(rec->daddr, &daddr, 4);
		__builtin_memcpy(rec->saddr, &saddr, 4);
		d = bpf_map_lookup_elem(&st_dst_v4, &k);
	} else if (rec->family == AF_INET6) {
		BPF_CORE_READ_INTO(&rec->daddr, skc, skc_v6_daddr);
		BPF_CORE_READ_INTO(&rec->saddr, skc, skc_v6_rcv_saddr);
		if (is_v4_mapped(rec->daddr)) {
			struct st_lpm_v4 k = { .prefixlen = 32 };

			__builtin_memcpy(k.addr, &rec->daddr[12], 4);
			d = bpf_map_lookup_elem(&st_dst_v4, &k);
		} else {
			struct st_lpm_v6 k = { .prefixlen = 128 };

			__builtin_memcpy(k.addr, rec->daddr, 16);
			d = bpf_map_lookup_elem(&st_dst_v6, &k);
		}
	} else {
		return 0;
	}
	if (!d || !port_matches(d, rec->dport))
		return 0;
	rec->cgroup = BPF_CORE_READ((struct sock *)skc, sk_cgrp_data.cgroup, kn, id);
	if (cfg->cgroup_scope && !bpf_map_lookup_elem(&st_cgroups, &rec->cgroup))
		return 0;
	return 1;
}

static __always_inline void destroy(struct seq_file *seq, struct sock_common *skc, struct st_record *rec, __u32 slot)
{
	rec->err = bpf_sock_destroy(skc);
	count(rec->err ? ST_CNT_FAILED : slot);
	bpf_seq_write(seq, rec, sizeof(*rec));
}

SEC("iter/tcp")
int st_destroy_tcp(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;
	struct st_record rec = { .protocol = 6 };
	__u8 state;

	if (!skc)
		return 0;
	state = BPF_CORE_READ(skc, skc_state);
	if (state == TCP_LISTEN || state == TCP_TIME_WAIT || state == TCP_NEW_SYN_RECV || state == TCP_CLOSE)
		return 0;
	if (!matches(skc, ST_PROTO_TCP, &rec))
		return 0;
	destroy(ctx->meta->seq, skc, &rec, ST_CNT_TCP);
	return 0;
}

SEC("iter/udp")
int st_destroy_udp(struct bpf_iter__udp *ctx)
{
	struct sock_common *skc = (struct sock_common *)ctx->udp_sk;
	struct st_record rec = { .protocol = 17 };

	if (!skc)
		return 0;
	/* a connected UDP socket is in TCP_ESTABLISHED; bound-only ones (servers) stay in TCP_CLOSE */
	if (BPF_CORE_READ(skc, skc_state) != TCP_ESTABLISHED)
		return 0;
	if (!matches(skc, ST_PROTO_UDP, &rec))
		return 0;
	destroy(ctx->meta->seq, skc, &rec, ST_CNT_UDP);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
