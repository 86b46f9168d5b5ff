// SPDX-License-Identifier: GPL-2.0
/*
 * Feature probe: does this kernel have the bpf_sock_destroy kfunc for socket
 * iterators? User space loads this program and never runs it; a load failure
 * (libbpf finds no such kfunc in the kernel's BTF, or the verifier refuses the
 * call) means SocketTermination falls back to netlink SOCK_DESTROY.
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

/*
 * A full struct, not a forward declaration: libbpf checks the kfunc's prototype against the kernel's, and a
 * FWD is not compatible with a STRUCT. clang emits the body only for a struct whose fields are used.
 */
struct sock_common {
	unsigned short skc_family;
} __attribute__((preserve_access_index));

struct bpf_iter__tcp {
	void *meta;
	struct sock_common *sk_common;
} __attribute__((preserve_access_index));

extern int bpf_sock_destroy(struct sock_common *sk) __ksym;

SEC("iter/tcp")
int st_probe(struct bpf_iter__tcp *ctx)
{
	struct sock_common *sk = ctx->sk_common;

	if (sk && sk->skc_family)
		bpf_sock_destroy(sk);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
