// Programs for LinuxKernelIT. Each one exercises one kernel path; none of them is bpfgit's datapath.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct lpm_v4 {
	__u32 prefixlen;
	__u8 addr[4];
};

struct rule {
	__u32 action; /* 1 = drop */
	__u32 mark;
};

struct counter {
	__u64 packets;
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1024);
	__type(key, struct lpm_v4);
	__type(value, struct rule);
} rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, struct counter);
} counters SEC(".maps");

static __always_inline void count(__u32 slot, __u64 bytes)
{
	struct counter *c = bpf_map_lookup_elem(&counters, &slot);

	if (c) {
		c->packets++;
		c->bytes += bytes;
	}
}

/* drops IPv4 packets whose source address has a /32 rule with action 1; counts in slot 1 (drop) or 0 */
SEC("xdp")
int xdp_filter(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct lpm_v4 k = { .prefixlen = 32 };
	struct rule *r;

	if ((void *)(ip + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	__builtin_memcpy(k.addr, &ip->saddr, 4);
	r = bpf_map_lookup_elem(&rules, &k);
	if (r && r->action == 1) {
		count(1, end - data);
		return XDP_DROP;
	}
	count(0, end - data);
	return XDP_PASS;
}

SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

SEC("xdp")
int xdp_drop(struct xdp_md *ctx)
{
	return XDP_DROP;
}

/* counts in slot 2 (ingress) or 3 (egress) */
SEC("tc")
int tc_count(struct __sk_buff *skb)
{
	count(skb->ingress_ifindex ? 2 : 3, skb->len);
	return TC_ACT_OK;
}

SEC("tc")
int tc_pass(struct __sk_buff *skb)
{
	return TC_ACT_OK;
}

/* rejected by the verifier: reads packet data without a bounds check */
SEC("xdp")
int xdp_unsafe(struct xdp_md *ctx)
{
	return *(__u8 *)(long)ctx->data;
}

char LICENSE[] SEC("license") = "GPL";
