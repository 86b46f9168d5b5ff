// SPDX-License-Identifier: GPL-2.0
/*
 * EgressTimeout: per-destination timeouts for the connections of a cgroup v2.
 *
 * et_sockops (sock_ops on the cgroup, through a pinned link) looks the peer up
 * in two LPM tries (an IPv6 socket connected to a v4-mapped address uses the
 * IPv4 trie) and applies what the socket layer can:
 *   - tcpSyn: TCP_USER_TIMEOUT from TCP_CONNECT_CB, before the first SYN. On
 *     Linux 6.18 it bounds the whole attempt to the millisecond (measured:
 *     1.5 s, 3 s, 7 s against a peer dropping SYNs), while TCP_SYNCNT only
 *     moves in doubling steps (1 -> 3 s, 2 -> 7 s, 3 -> 15+ s).
 *   - tcpUser: TCP_USER_TIMEOUT once established (0 puts the default back
 *     after a tcpSyn), with keepalive probing so that an idle connection to a
 *     dead peer also ends after about twice tcpUser.
 *   - tcpFin: TCP_USER_TIMEOUT again when our FIN goes out (FIN_WAIT1,
 *     CLOSING, LAST_ACK), and the entry time of a closing state in socket
 *     storage for the reaper. TCP_LINGER2 is not one bpf_setsockopt accepts.
 *
 * et_skb_out / et_skb_in (cgroup_skb on the cgroup) stamp the last packet of
 * every UDP socket in socket storage: UDP keeps no activity time of its own.
 *
 * et_reap_tcp / et_reap_udp (iter/tcp, iter/udp) run when user space reads
 * an iterator made from them, in the network namespace it is created in, and
 * destroy (bpf_sock_destroy, the owner sees ECONNABORTED) the sockets of the
 * cgroup (or a descendant) that are idle past their timeout:
 *   - established TCP: since the last data sent or received (lsndtime and
 *     icsk_ack.lrcvtime, jiffies); keepalive probes are not activity;
 *   - a closing state: tcpFin after entering it;
 *   - connected UDP: `any` after the last packet (or since first seen).
 * Connections the sock_ops program saw accepted are not egress: never reaped.
 * They write one line per socket destroyed or failed (ET_LINE below), so that
 * a walk over many idle sockets stays cheap for user space too.
 * et_list_tcp / et_list_udp write a line for every socket of the cgroup and
 * destroy and write nothing (plans: run with the unit's pinned maps, or with
 * temporary ones filled from the desired state before the unit exists).
 *
 * Layouts: include/egresstimeout.h. max_entries below are placeholders: user
 * space creates the maps and binds them before loading.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "egresstimeout.h"

#define AF_INET  2
#define AF_INET6 10
#define IPPROTO_UDP 17
#define SOL_SOCKET 1
#define SO_KEEPALIVE 9
#define SOL_TCP 6
#define TCP_KEEPIDLE 4
#define TCP_KEEPINTVL 5
#define TCP_USER_TIMEOUT 18

/* enum tcp_state */
#define ST_ESTABLISHED 1
#define ST_SYN_SENT    2
#define ST_SYN_RECV    3
#define ST_FIN_WAIT1   4
#define ST_FIN_WAIT2   5
#define ST_TIME_WAIT   6
#define ST_CLOSE       7
#define ST_CLOSE_WAIT  8
#define ST_LAST_ACK    9
#define ST_LISTEN      10
#define ST_CLOSING     11
#define ST_NEW_SYN_RECV 12

/* ---- kernel types the iterators read (CO-RE: offsets come from the running kernel's BTF) */
struct seq_file;
struct bpf_iter_meta {
	struct seq_file *seq;
} __attribute__((preserve_access_index));

struct in6_addr___et {
	__u8 s6_addr[16];
};

struct sock_common {
	__u32 skc_daddr;
	__u16 skc_dport;
	__u16 skc_num;
	unsigned short skc_family;
	volatile unsigned char skc_state;
	struct in6_addr___et skc_v6_daddr;
} __attribute__((preserve_access_index));

struct kernfs_node {
	__u64 id;
} __attribute__((preserve_access_index));

struct cgroup;
struct cgroup_subsys_state {
	struct cgroup *cgroup;
	struct cgroup_subsys_state *parent;
} __attribute__((preserve_access_index));

struct cgroup {
	struct cgroup_subsys_state self;
	struct kernfs_node *kn;
} __attribute__((preserve_access_index));

struct sock_cgroup_data {
	struct cgroup *cgroup;
} __attribute__((preserve_access_index));

struct sock {
	struct sock_common __sk_common;
	struct sock_cgroup_data sk_cgrp_data;
} __attribute__((preserve_access_index));

struct inet_connection_sock {
	struct {
		__u32 lrcvtime;
	} icsk_ack;
} __attribute__((preserve_access_index));

struct tcp_sock {
	struct inet_connection_sock inet_conn;
	__u32 lsndtime;
} __attribute__((preserve_access_index));

struct inet_sock {
	struct sock sk;
} __attribute__((preserve_access_index));

struct udp_sock {
	struct inet_sock inet;
} __attribute__((preserve_access_index));

struct bpf_iter__tcp {
	struct bpf_iter_meta *meta;
	struct sock_common *sk_common;
} __attribute__((preserve_access_index));

struct bpf_iter__udp {
	struct bpf_iter_meta *meta;
	struct udp_sock *udp_sk;
} __attribute__((preserve_access_index));

/*
 * Weak: a kernel without the kfunc (before 6.5, e.g. Debian 12's 6.1) still loads the sock_ops and
 * cgroup_skb programs of this object. Only the reaper programs call it; bpfgit loads them only where the
 * kernel has it (Feature.SOCK_DESTROY), and idle timeouts are NotSupported at plan elsewhere.
 */
extern int bpf_sock_destroy(struct sock_common *sk) __ksym __weak;
extern unsigned long CONFIG_HZ __kconfig;

/* ---- maps */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct et_lpm_v4);
	__type(value, struct et_timeouts);
} et_dest_v4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct et_lpm_v6);
	__type(value, struct et_timeouts);
} et_dest_v6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct et_config);
} et_config SEC(".maps");

/* key: the policy's id (struct et_timeouts.policy); an entry is made on its first count */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, ET_MAX_POLICIES);
	__type(key, __u32);
	__type(value, struct et_counter);
} et_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct et_sock);
} et_socks SEC(".maps");

/* offsets into struct et_counter, in u64 */
#define C_APPLIED 0
#define C_IDLE_TCP 1
#define C_IDLE_UDP 2
#define C_CLOSING 3
#define C_FAILED 4

static __always_inline void count(__u32 policy, int which)
{
	__u64 *c = bpf_map_lookup_elem(&et_counters, &policy);

	if (!c) {
		struct et_counter zero = {};

		bpf_map_update_elem(&et_counters, &policy, &zero, BPF_NOEXIST);
		c = bpf_map_lookup_elem(&et_counters, &policy);
	}
	if (c)
		__sync_fetch_and_add(&c[which], 1);
}

static __always_inline struct et_timeouts *lookup_v4(__u32 addr)
{
	struct et_lpm_v4 k = { .prefixlen = 32 };

	__builtin_memcpy(k.addr, &addr, 4);
	return bpf_map_lookup_elem(&et_dest_v4, &k);
}

/* words: the address as four network-order 32-bit words */
static __always_inline struct et_timeouts *lookup_v6(const __u32 *words)
{
	struct et_lpm_v6 k = { .prefixlen = 128 };

	if (words[0] == 0 && words[1] == 0 && words[2] == __builtin_bswap32(0xffff))
		return lookup_v4(words[3]);
	__builtin_memcpy(k.addr, words, 16);
	return bpf_map_lookup_elem(&et_dest_v6, &k);
}

/* ---- sock_ops */

static __always_inline struct et_timeouts *peer(struct bpf_sock_ops *ops)
{
	if (ops->family == AF_INET)
		return lookup_v4(ops->remote_ip4);
	if (ops->family == AF_INET6) {
		__u32 w[4] = { ops->remote_ip6[0], ops->remote_ip6[1], ops->remote_ip6[2], ops->remote_ip6[3] };

		return lookup_v6(w);
	}
	return 0;
}

static __always_inline int set_int(struct bpf_sock_ops *ops, int level, int opt, int v)
{
	return bpf_setsockopt(ops, level, opt, &v, sizeof(v)) != 0;
}

SEC("sockops")
int et_sockops(struct bpf_sock_ops *ops)
{
	struct et_timeouts *t;
	struct et_sock *s;
	int bad = 0;

	switch (ops->op) {
	case BPF_SOCK_OPS_TCP_CONNECT_CB:
		t = peer(ops);
		if (!t)
			return 1;
		if (t->syn_ms)
			bad |= set_int(ops, SOL_TCP, TCP_USER_TIMEOUT, t->syn_ms);
		if (t->fin_ms)
			bad |= bpf_sock_ops_cb_flags_set(ops, ops->bpf_sock_ops_cb_flags | BPF_SOCK_OPS_STATE_CB_FLAG) != 0;
		count(t->policy, bad ? C_FAILED : C_APPLIED);
		return 1;
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB:
		t = peer(ops);
		if (!t)
			return 1;
		/* the attempt is over: tcpUser (or the default, 0) replaces tcpSyn */
		if (t->syn_ms || t->user_ms)
			bad |= set_int(ops, SOL_TCP, TCP_USER_TIMEOUT, t->user_ms);
		if (t->user_ms) {
			/* TCP_USER_TIMEOUT also ends keepalive probing that goes unanswered */
			__u32 idle = t->user_ms / 1000, intvl = t->user_ms / 3000;

			bad |= set_int(ops, SOL_SOCKET, SO_KEEPALIVE, 1);
			bad |= set_int(ops, SOL_TCP, TCP_KEEPIDLE, idle ? idle : 1);
			bad |= set_int(ops, SOL_TCP, TCP_KEEPINTVL, intvl ? intvl : 1);
		}
		if (bad)
			count(t->policy, C_FAILED);
		return 1;
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB:
		if (!ops->sk)
			return 1;
		s = bpf_sk_storage_get(&et_socks, ops->sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
		if (s)
			s->passive = 1;
		return 1;
	case BPF_SOCK_OPS_STATE_CB: {
		__u32 to = ops->args[1];

		if (to != ST_FIN_WAIT1 && to != ST_CLOSING && to != ST_LAST_ACK && to != ST_CLOSE_WAIT
		    && to != ST_FIN_WAIT2)
			return 1;
		t = peer(ops);
		if (!t || !t->fin_ms)
			return 1;
		if (ops->sk) {
			s = bpf_sk_storage_get(&et_socks, ops->sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
			if (s && !s->closing_ns)
				s->closing_ns = bpf_ktime_get_ns();
		}
		if (to == ST_FIN_WAIT1 || to == ST_CLOSING || to == ST_LAST_ACK)
			if (set_int(ops, SOL_TCP, TCP_USER_TIMEOUT, t->fin_ms))
				count(t->policy, C_FAILED);
		return 1;
	}
	}
	return 1;
}

/* ---- cgroup_skb: UDP activity */

static __always_inline int stamp(struct __sk_buff *skb)
{
	struct bpf_sock *sk = skb->sk;
	struct et_sock *s;

	if (!sk)
		return 1;
	sk = bpf_sk_fullsock(sk);
	if (!sk || sk->protocol != IPPROTO_UDP)
		return 1;
	s = bpf_sk_storage_get(&et_socks, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (s)
		s->last_ns = bpf_ktime_get_ns();
	return 1;
}

SEC("cgroup_skb/egress")
int et_skb_out(struct __sk_buff *skb)
{
	return stamp(skb);
}

SEC("cgroup_skb/ingress")
int et_skb_in(struct __sk_buff *skb)
{
	return stamp(skb);
}

/* ---- iterators */

/* The socket belongs to the policy's cgroup or one below it. */
static __always_inline int in_cgroup(struct sock *sk)
{
	__u32 zero = 0;
	struct et_config *cfg = bpf_map_lookup_elem(&et_config, &zero);
	struct cgroup *cg = sk->sk_cgrp_data.cgroup;

	if (!cfg || !cfg->cgroup_id)
		return 0;
	for (int i = 0; i < 64 && cg; i++) {
		if (cg->kn->id == cfg->cgroup_id)
			return 1;
		struct cgroup_subsys_state *up = cg->self.parent;

		if (!up)
			return 0;
		cg = up->cgroup;
	}
	return 0;
}

static __always_inline struct et_timeouts *remote(struct sock_common *skc)
{
	if (skc->skc_family == AF_INET)
		return lookup_v4(skc->skc_daddr);
	if (skc->skc_family == AF_INET6) {
		__u32 w[4];

		__builtin_memcpy(w, skc->skc_v6_daddr.s6_addr, 16);
		return lookup_v6(w);
	}
	return 0;
}

/*
 * ET_LINE: "<proto> <state> <policy> <idle_ms> <limit_ms> <verdict> <family> <daddr> <dport> <sport>", where
 * verdict is 0 within its limit, 1 past it (listing), 2 destroyed, or the negative errno of bpf_sock_destroy;
 * policy and limit_ms are 0 when no prefix matches (listing only) or no limit applies. idle_ms of a socket
 * whose activity is not known yet (listing, before the reaper first saw it) is 0.
 */
/* sport: read before a destroy, which unhashes the socket and clears its local port */
static __always_inline void line(struct seq_file *seq, const char *proto, __u32 state, __u32 policy,
				 __u64 idle, __u32 limit, long verdict, struct sock_common *skc, __u16 sport)
{
	__u16 dport = __builtin_bswap16(skc->skc_dport);

	if (skc->skc_family == AF_INET) {
		__u32 d = skc->skc_daddr;

		BPF_SEQ_PRINTF(seq, "%s %u %u %llu %u %ld 4 %pI4 %u %u\n", proto, state, policy, idle, limit,
			       verdict, &d, dport, sport);
	} else {
		struct in6_addr___et d6 = skc->skc_v6_daddr;

		BPF_SEQ_PRINTF(seq, "%s %u %u %llu %u %ld 6 %pI6 %u %u\n", proto, state, policy, idle, limit,
			       verdict, &d6, dport, sport);
	}
}

static __always_inline int walk_tcp(struct bpf_iter__tcp *ctx, int destroy)
{
	struct sock_common *skc = ctx->sk_common;
	struct tcp_sock *tp;
	struct et_timeouts *t;
	struct et_sock *s;
	__u64 idle_ms;
	__u32 state, limit;
	long verdict = 0;
	int closing;
	__u16 sport;

	if (!skc)
		return 0;
	state = skc->skc_state;
	sport = skc->skc_num;
	if (state == ST_LISTEN || state == ST_TIME_WAIT || state == ST_NEW_SYN_RECV || state == ST_CLOSE
	    || state == ST_SYN_SENT || state == ST_SYN_RECV)
		return 0;
	tp = bpf_skc_to_tcp_sock(skc);
	if (!tp || !in_cgroup((struct sock *)tp))
		return 0;
	t = remote(skc);
	if (!t && destroy)
		return 0;
	s = bpf_sk_storage_get(&et_socks, tp, 0, 0);
	if (s && s->passive)
		return 0;
	closing = state != ST_ESTABLISHED;
	if (closing) {
		limit = t ? t->fin_ms : 0;
		if (!s && destroy)
			s = bpf_sk_storage_get(&et_socks, tp, 0, BPF_SK_STORAGE_GET_F_CREATE);
		if (s && !s->closing_ns && destroy)
			s->closing_ns = bpf_ktime_get_ns();   /* first seen closing: counts from now */
		/* a listing writes nothing (plans are read-only): not known yet is 0 */
		idle_ms = s && s->closing_ns ? (bpf_ktime_get_ns() - s->closing_ns) / 1000000 : 0;
	} else {
		__u32 now = (__u32)bpf_jiffies64();
		__u32 snd = tp->lsndtime, rcv = tp->inet_conn.icsk_ack.lrcvtime;
		__u32 last = (__s32)(snd - rcv) > 0 ? snd : rcv;
		__u64 hz = CONFIG_HZ ? CONFIG_HZ : 1000;

		limit = t ? t->established_ms : 0;
		idle_ms = (__u64)(__u32)(now - last) * 1000 / hz;
	}
	if (t && limit && idle_ms > limit) {
		verdict = 1;
		if (destroy) {
			int err = bpf_sock_destroy(skc);

			verdict = err ? err : 2;
			count(t->policy, err ? C_FAILED : closing ? C_CLOSING : C_IDLE_TCP);
		}
	}
	if (!destroy || verdict)
		line(ctx->meta->seq, "tcp", state, t ? t->policy : 0, idle_ms, limit, verdict, skc, sport);
	return 0;
}

static __always_inline int walk_udp(struct bpf_iter__udp *ctx, int destroy)
{
	struct udp_sock *us = ctx->udp_sk;
	struct sock_common *skc;
	struct et_timeouts *t;
	struct et_sock *s;
	__u64 now, idle_ms;
	long verdict = 0;
	__u16 sport;

	if (!us)
		return 0;
	skc = &us->inet.sk.__sk_common;
	sport = skc->skc_num;
	if (skc->skc_state != ST_ESTABLISHED || !skc->skc_dport)
		return 0;   /* only connected sockets */
	if (!in_cgroup(&us->inet.sk))
		return 0;
	t = remote(skc);
	if (!t && destroy)
		return 0;
	s = bpf_sk_storage_get(&et_socks, &us->inet.sk, 0, destroy ? BPF_SK_STORAGE_GET_F_CREATE : 0);
	now = bpf_ktime_get_ns();
	if (s && !s->last_ns && destroy)
		s->last_ns = now;   /* no packet since the programs were attached: idle from first seen */
	idle_ms = s && s->last_ns ? (now - s->last_ns) / 1000000 : 0;
	if (t && t->any_ms && idle_ms > t->any_ms) {
		verdict = 1;
		if (destroy) {
			int err = bpf_sock_destroy(skc);

			verdict = err ? err : 2;
			count(t->policy, err ? C_FAILED : C_IDLE_UDP);
		}
	}
	if (!destroy || verdict)
		line(ctx->meta->seq, "udp", ST_ESTABLISHED, t ? t->policy : 0, idle_ms, t ? t->any_ms : 0, verdict, skc, sport);
	return 0;
}

SEC("iter/tcp")
int et_reap_tcp(struct bpf_iter__tcp *ctx)
{
	return walk_tcp(ctx, 1);
}

SEC("iter/udp")
int et_reap_udp(struct bpf_iter__udp *ctx)
{
	return walk_udp(ctx, 1);
}

SEC("iter/tcp")
int et_list_tcp(struct bpf_iter__tcp *ctx)
{
	return walk_tcp(ctx, 0);
}

SEC("iter/udp")
int et_list_udp(struct bpf_iter__udp *ctx)
{
	return walk_udp(ctx, 0);
}

char LICENSE[] SEC("license") = "GPL";
