// A program configured through a read-only global: libbpf makes a .rodata map for it that no pin backs.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

const volatile __u32 verdict = XDP_PASS;

SEC("xdp")
int xdp_verdict(struct xdp_md *ctx)
{
	return verdict;
}

char LICENSE[] SEC("license") = "GPL";
