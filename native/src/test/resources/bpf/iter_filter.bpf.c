// SPDX-License-Identifier: GPL-2.0
/* Test iterator with a map: writes the local port (u16, host order) of the TCP sockets bound to the port in
 * it_port[0], and counts them in it_seen[0]. */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct seq_file;
struct bpf_iter_meta {
	struct seq_file *seq;
} __attribute__((preserve_access_index));
struct sock_common {
	__u16 skc_num;
} __attribute__((preserve_access_index));
struct bpf_iter__tcp {
	struct bpf_iter_meta *meta;
	struct sock_common *sk_common;
} __attribute__((preserve_access_index));

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} it_port SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} it_seen SEC(".maps");

SEC("iter/tcp")
int it_tcp_port(struct bpf_iter__tcp *ctx)
{
	struct sock_common *sk = ctx->sk_common;
	__u32 zero = 0;
	__u32 *want = bpf_map_lookup_elem(&it_port, &zero);
	__u64 *seen = bpf_map_lookup_elem(&it_seen, &zero);
	__u16 port;

	if (!sk || !want || !seen)
		return 0;
	port = sk->skc_num;
	if (port != *want)
		return 0;
	__sync_fetch_and_add(seen, 1);
	bpf_seq_write(ctx->meta->seq, &port, sizeof(port));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
