// SPDX-License-Identifier: GPL-2.0
/* Test iterator: writes the local port (u16, host order) and state (u8) of every TCP socket it walks. */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct seq_file;
struct bpf_iter_meta {
	struct seq_file *seq;
} __attribute__((preserve_access_index));
struct sock_common {
	__u16 skc_num;
	unsigned char skc_state;
} __attribute__((preserve_access_index));
struct bpf_iter__tcp {
	struct bpf_iter_meta *meta;
	struct sock_common *sk_common;
} __attribute__((preserve_access_index));

SEC("iter/tcp")
int it_tcp_ports(struct bpf_iter__tcp *ctx)
{
	struct sock_common *sk = ctx->sk_common;
	__u8 rec[3];

	if (!sk)
		return 0;
	__u16 port = sk->skc_num;
	rec[0] = port & 0xff;
	rec[1] = port >> 8;
	rec[2] = sk->skc_state;
	bpf_seq_write(ctx->meta->seq, rec, sizeof(rec));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
