// bench/geo's floor: a tc program that does nothing (TC_ACT_OK).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("tc")
int empty(struct __sk_buff *skb)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
