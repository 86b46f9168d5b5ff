// SPDX-License-Identifier: GPL-2.0
/*
 * TrafficPolicy datapath: filter and steer packets by source or destination
 * prefix. One program per hook; bpfgit loads one copy per (interface, hook)
 * with its own set of maps.
 *
 * User space creates the maps itself (real sizes, BTF from this object) and
 * binds them with bpf_map__reuse_fd() before loading, so max_entries below
 * are placeholders.
 *
 * Layouts: include/traffic.h. Per packet: parse Ethernet (+ up to two VLAN
 * tags), IPv4 or IPv6; look the address up (prefixlen 32/128, so the longest
 * matching prefix wins); count; act. Non-IP frames (ARP, LLDP, ...) and
 * frames too short for their IP header always pass and are not counted.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "compat.h"
#include "traffic.h"

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct lpm_v4);
	__type(value, struct rule);
} rules_v4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct lpm_v6);
	__type(value, struct rule);
} rules_v6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct counter);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct config);
} config SEC(".maps");

/*
 * "Pass" at tc returns TCX_NEXT (== TC_ACT_UNSPEC, -1), not TC_ACT_OK.
 * A TrafficPolicy only has an opinion about the prefixes it names: passing
 * means "bpfgit does not object", not "accept now". TC_ACT_OK (TCX_PASS)
 * would end the tcx chain and also skip classic clsact filters, so programs
 * attached after ours by someone else would silently stop seeing traffic.
 * TCX_NEXT runs them, and when nothing follows the kernel passes the packet.
 * It means the same for legacy cls_bpf (direct-action), bpfgit's fallback
 * on kernels without tcx. Drop and redirect are final: TC_ACT_SHOT and
 * TC_ACT_REDIRECT.
 */
#define TC_CONTINUE BPFGIT_TCX_NEXT

/* The deepest header we parse: Ethernet + two VLAN tags + IPv6. */
#define PARSE_MAX (sizeof(struct ethhdr) + 2 * sizeof(struct vlan_tag) + sizeof(struct ipv6hdr))

enum { NOT_IP = 0, IPV4 = 4, IPV6 = 6 };

struct lookup {
	struct rule *rule;      /* NULL: no prefix matched */
	__u32 l3off;            /* offset of the IP header from data */
};

/* config[0]; an ARRAY entry always exists, zeroed (= pass, match source) until user space writes it. */
static __always_inline struct config get_config(void)
{
	__u32 zero = 0;
	struct config *c = bpf_map_lookup_elem(&config, &zero);
	struct config cfg = { .default_action = ACT_PASS, .match = MATCH_SOURCE };

	if (c)
		cfg = *c;
	return cfg;
}

/*
 * Parses the frame and looks the configured address up in the trie of its
 * family. Returns IPV4, IPV6 or NOT_IP.
 */
static __always_inline int find_rule(void *data, void *end, __u32 match, struct lookup *out)
{
	struct ethhdr *eth = data;
	__u32 off = sizeof(*eth);
	__be16 proto;

	if ((void *)(eth + 1) > end)
		return NOT_IP;
	proto = eth->h_proto;

	/* Up to two in-band tags (802.1ad outer + 802.1Q inner, or QinQ with two 802.1Q). */
#pragma unroll
	for (int i = 0; i < 2; i++) {
		struct vlan_tag *tag = data + off;

		if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD))
			break;
		if ((void *)(tag + 1) > end)
			return NOT_IP;
		proto = tag->encap_proto;
		off += sizeof(*tag);
	}
	out->l3off = off;

	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = data + off;
		struct lpm_v4 key = { .prefixlen = 32 };

		if ((void *)(ip + 1) > end)
			return NOT_IP;
		__builtin_memcpy(key.addr, match == MATCH_DESTINATION ? &ip->daddr : &ip->saddr, 4);
		out->rule = bpf_map_lookup_elem(&rules_v4, &key);
		return IPV4;
	}
	if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = data + off;
		struct lpm_v6 key = { .prefixlen = 128 };

		if ((void *)(ip6 + 1) > end)
			return NOT_IP;
		__builtin_memcpy(key.addr, match == MATCH_DESTINATION ? &ip6->daddr : &ip6->saddr, 16);
		out->rule = bpf_map_lookup_elem(&rules_v6, &key);
		return IPV6;
	}
	return NOT_IP;
}

/*
 * counters[slot] for a rule. A slot is reused when its rule goes away and
 * another takes it; user space then bumps gen instead of zeroing every CPU's
 * copy, and each CPU starts over here on its next packet. Per-CPU, so no
 * atomics: a CPU only touches its own copy, and XDP and tc run with bottom
 * halves disabled, so two updates never interleave on one CPU.
 */
static __always_inline void count_rule(const struct rule *r, __u64 len)
{
	__u32 slot = r->slot;
	struct counter *c;

	c = bpf_map_lookup_elem(&counters, &slot);
	if (!c)
		return;                 /* slot beyond the map: act, but do not count */
	if (slot != DEFAULT_SLOT && c->gen != r->gen) {  /* slot 0 in a rule would be a bug; never reset it */
		c->packets = 0;
		c->bytes = 0;
		c->gen = r->gen;
	}
	c->packets++;
	c->bytes += len;
}

/* counters[0]: packets no rule matched. Generation 0, never reset. */
static __always_inline void count_default(__u64 len)
{
	__u32 slot = DEFAULT_SLOT;
	struct counter *c = bpf_map_lookup_elem(&counters, &slot);

	if (!c)
		return;
	c->packets++;
	c->bytes += len;
}

SEC("xdp")
int traffic_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct config cfg = get_config();
	struct lookup l = {};
	__u64 len = end - data;
	struct rule *r;

	if (find_rule(data, end, cfg.match, &l) == NOT_IP)
		return XDP_PASS;
	r = l.rule;
	if (!r) {
		count_default(len);
		return cfg.default_action == ACT_DROP ? XDP_DROP : XDP_PASS;
	}
	count_rule(r, len);
	switch (r->action) {
	case ACT_DROP:
		return XDP_DROP;
	case ACT_REDIRECT:
		return bpf_redirect(r->ifindex, 0);     /* XDP_REDIRECT, or XDP_ABORTED on bad flags */
	default:
		return XDP_PASS;        /* ACT_PASS; ACT_MARK has no skb to mark yet */
	}
}

/*
 * tc-egress ACT_MARK: the route of this packet was chosen before tc egress
 * ran (ip_route_output with the socket's mark), so setting skb->mark here
 * alone changes nothing about where the packet goes; `ip rule fwmark` only
 * acts at ingress, where the forwarding lookup comes after us. So we ask the
 * FIB again, this time with the new mark, and if policy routing now picks
 * another device we move the packet there ourselves.
 *
 * The lookup is input-style (iif = the device the packet is leaving by),
 * not BPF_FIB_LOOKUP_OUTPUT: OUTPUT sets the flow's oif to params->ifindex,
 * and IPv4 then only accepts next hops on that very device, so the fwmark
 * table's route via another device is skipped and the lookup falls back to
 * the original route (measured on 6.18: rc NO_NEIGH, ifindex unchanged).
 * Either way the kernel answers FWD_DISABLED unless forwarding is enabled
 * on this device (net.ipv4/ipv6.conf.<dev>.forwarding=1); then we only set
 * the mark and pass.
 *
 * Only frames without in-band VLAN tags are steered (a tag belongs to the
 * original device). The source address stays what the original route chose,
 * as with iptables MARK in mangle OUTPUT.
 */
static __always_inline int steer_by_mark(struct __sk_buff *skb, int family, __u32 l3off, __u32 mark)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct fib_params fib = {};
	long rc;

	if (l3off != sizeof(struct ethhdr))
		return TC_CONTINUE;

	if (family == IPV4) {
		struct iphdr *ip = data + sizeof(struct ethhdr);

		if ((void *)(ip + 1) > end)
			return TC_CONTINUE;
		fib.family = AF_INET;
		fib.tos = ip->tos;
		fib.l4_protocol = ip->protocol;
		fib.ipv4_src = ip->saddr;
		fib.ipv4_dst = ip->daddr;
	} else {
		struct ipv6hdr *ip6 = data + sizeof(struct ethhdr);

		if ((void *)(ip6 + 1) > end)
			return TC_CONTINUE;
		fib.family = AF_INET6;
		fib.flowinfo = *(__be32 *)ip6 & bpf_htonl(0x0FFFFFFF);
		fib.l4_protocol = ip6->nexthdr;
		__builtin_memcpy(fib.ipv6_src, &ip6->saddr, 16);
		__builtin_memcpy(fib.ipv6_dst, &ip6->daddr, 16);
	}
	/* tot_len 0: the helper checks the skb (GSO aware) against the new device's MTU. */
	fib.ifindex = skb->ifindex;
	fib.mark = mark;

	rc = bpf_fib_lookup(skb, (struct bpf_fib_lookup *)&fib, sizeof(fib), BPFGIT_FIB_LOOKUP_MARK);
	if (rc < 0 || fib.ifindex == skb->ifindex)
		return TC_CONTINUE;         /* the mark does not change the device: the kernel's route stands */

	if (rc == BPF_FIB_LKUP_RET_SUCCESS) {
		/* New next hop, new L2 header. bpf_skb_store_bytes rather than a
		 * direct packet write: a direct write would make the verifier
		 * unclone every skb on entry, i.e. every TCP segment. */
		__u8 macs[12];

		__builtin_memcpy(macs, fib.dmac, 6);
		__builtin_memcpy(macs + 6, fib.smac, 6);
		if (bpf_skb_store_bytes(skb, 0, macs, sizeof(macs), 0))
			return TC_CONTINUE;
		return bpf_redirect(fib.ifindex, 0);
	}
	if (rc == BPF_FIB_LKUP_RET_NO_NEIGH) {
		/* Next hop known, its MAC not yet: let the neighbour subsystem
		 * resolve it. No explicit next hop: with one, the packet keeps its
		 * original route, and when ARP/ND answers the kernel re-resolves the
		 * queued packet through that route's neighbour, i.e. it leaves with
		 * the old next hop's MAC. Without one, the helper routes the packet
		 * itself (skb->mark is set, oif = the new device) and attaches that
		 * route, so the queued packet goes to the right neighbour. */
		return bpf_redirect_neigh(fib.ifindex, NULL, 0, 0);
	}
	return TC_CONTINUE;
}

static __always_inline int traffic_tc(struct __sk_buff *skb, int egress)
{
	__u32 want = skb->len < PARSE_MAX ? skb->len : PARSE_MAX;
	struct config cfg = get_config();
	struct lookup l = {};
	struct rule *r;
	void *data, *end;
	int family;

	/* Headers are nearly always in the linear part; pull only when they are not. */
	if (skb->data_end - skb->data < want)
		bpf_skb_pull_data(skb, want);
	data = (void *)(long)skb->data;
	end = (void *)(long)skb->data_end;

	family = find_rule(data, end, cfg.match, &l);
	if (family == NOT_IP)
		return TC_CONTINUE;
	r = l.rule;
	if (!r) {
		count_default(skb->len);
		return cfg.default_action == ACT_DROP ? TC_ACT_SHOT : TC_CONTINUE;
	}
	count_rule(r, skb->len);
	switch (r->action) {
	case ACT_DROP:
		return TC_ACT_SHOT;
	case ACT_REDIRECT:
		return bpf_redirect(r->ifindex, 0);     /* egress of ifindex: TC_ACT_REDIRECT */
	case ACT_MARK:
		skb->mark = r->mark;
		/* At ingress the forwarding route lookup comes after us and honours `ip rule fwmark`. */
		if (egress)
			return steer_by_mark(skb, family, l.l3off, r->mark);
		return TC_CONTINUE;
	default:
		return TC_CONTINUE;
	}
}

/* Attached through tcx links (BPF_TCX_INGRESS / BPF_TCX_EGRESS). */
SEC("tc")
int traffic_tc_ingress(struct __sk_buff *skb)
{
	return traffic_tc(skb, 0);
}

SEC("tc")
int traffic_tc_egress(struct __sk_buff *skb)
{
	return traffic_tc(skb, 1);
}

char LICENSE[] SEC("license") = "GPL";  /* bpf_fib_lookup and bpf_redirect_neigh are GPL-only */
