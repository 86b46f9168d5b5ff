/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the build's uapi headers (linux-libc-dev 6.1) lack but the kernels we
 * run on have. Everything here is checked against the running kernel's BTF
 * (bpftool btf dump file /sys/kernel/btf/vmlinux format c) on Linux 6.18.
 * Our own names are used so nothing clashes once the headers catch up.
 */
#ifndef BPFGIT_COMPAT_H
#define BPFGIT_COMPAT_H

#include <linux/types.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#ifndef AF_INET
#define AF_INET  2
#endif
#ifndef AF_INET6
#define AF_INET6 10
#endif

/* tcx verdicts (Linux 6.6, enum tcx_action_base). TCX_NEXT is TC_ACT_UNSPEC. */
#define BPFGIT_TCX_NEXT  TC_ACT_UNSPEC  /* -1 */

/* bpf_fib_lookup() flag BPF_FIB_LOOKUP_MARK (Linux 6.10), missing from 6.1: use params->mark. */
#define BPFGIT_FIB_LOOKUP_MARK (1U << 5)

/*
 * struct bpf_fib_lookup as of Linux 6.10: the input `mark` is a union member
 * at the offset of smac[0..3] (offset 52), which the 6.1 header does not have.
 * Same size (64), so the helper's plen check passes; we cast when calling.
 */
struct fib_params {
	__u8   family;
	__u8   l4_protocol;
	__be16 sport;
	__be16 dport;
	union {
		__u16 tot_len;          /* input: L3 length, 0 = check MTU against skb */
		__u16 mtu_result;       /* output */
	};
	__u32  ifindex;                 /* input: device; output: egress device */
	union {
		__u8   tos;             /* AF_INET input */
		__be32 flowinfo;        /* AF_INET6 input */
		__u32  rt_metric;       /* output */
	};
	union {
		__be32 ipv4_src;
		__u32  ipv6_src[4];
	};
	union {
		__be32 ipv4_dst;        /* input: destination; output: next hop */
		__u32  ipv6_dst[4];
	};
	union {
		struct {
			__be16 h_vlan_proto;
			__be16 h_vlan_TCI;
		};
		__u32 tbid;
	};
	union {
		struct {
			__u32 mark;     /* input, with BPFGIT_FIB_LOOKUP_MARK */
		};
		struct {
			__u8 smac[6];   /* output */
			__u8 dmac[6];
		};
	};
};

_Static_assert(sizeof(struct fib_params) == sizeof(struct bpf_fib_lookup), "fib_params size");
_Static_assert(sizeof(struct fib_params) == 64, "fib_params is 64 bytes");
_Static_assert(__builtin_offsetof(struct fib_params, ifindex) == __builtin_offsetof(struct bpf_fib_lookup, ifindex), "ifindex");
_Static_assert(__builtin_offsetof(struct fib_params, ipv6_dst) == __builtin_offsetof(struct bpf_fib_lookup, ipv6_dst), "ipv6_dst");
_Static_assert(__builtin_offsetof(struct fib_params, mark) == __builtin_offsetof(struct bpf_fib_lookup, smac), "mark overlays smac");
_Static_assert(__builtin_offsetof(struct fib_params, mark) == 52, "mark at 52");
_Static_assert(__builtin_offsetof(struct fib_params, dmac) == __builtin_offsetof(struct bpf_fib_lookup, dmac), "dmac");

/* 802.1Q / 802.1ad tag as it sits in the frame (the uapi has no vlan_hdr). */
struct vlan_tag {
	__be16 tci;
	__be16 encap_proto;
};

#endif /* BPFGIT_COMPAT_H */
