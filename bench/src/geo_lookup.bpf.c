// bench/geo's references for the per-packet cost of the geo table at tc: the bare LPM lookup of a packet's
// IPv4 destination in bpfgit's rules_v4 map (reused from its pin, so the same 561,828-prefix trie), and
// an empty program. Built and loaded by bench/geo with clang and bpftool.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>

struct lpm_v4 {
	__u32 prefixlen;
	__u8 addr[4];
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct lpm_v4);
	__uint(value_size, 24);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} rules_v4 SEC(".maps");

SEC("tc")
int lookup(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	struct iphdr *ip = data + sizeof(struct ethhdr);
	struct lpm_v4 k = {.prefixlen = 32};

	if ((void *)(ip + 1) > end)
		return 0;
	__builtin_memcpy(k.addr, &ip->daddr, 4);
	return bpf_map_lookup_elem(&rules_v4, &k) ? 0 : 2;	/* TC_ACT_OK on a hit, TC_ACT_SHOT on a miss */
}

char LICENSE[] SEC("license") = "GPL";
