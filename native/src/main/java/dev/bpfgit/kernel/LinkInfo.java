package dev.bpfgit.kernel;

/**
 * A live bpf_link. {@code ifindex} is 0 for a device link whose device is gone (a defunct link that only
 * its pin keeps alive) and for links that are not device-bound; for a cgroup link it holds the low 32 bits of
 * the cgroup's id (its inode in cgroup2fs), which identifies the cgroup the same way. {@code attachType} is the kernel's
 * enum bpf_attach_type (BPF_XDP = 37, BPF_TCX_INGRESS = 46, BPF_TCX_EGRESS = 47).
 */
public record LinkInfo(int id, int type, int progId, int ifindex, int attachType) {
    public static final int TYPE_XDP = 6;
    public static final int TYPE_TCX = 11;
    /** BPF_LINK_TYPE_ITER; its attach type is BPF_TRACE_ITER (28). */
    public static final int TYPE_ITER = 4;

    public boolean defunct() {
        return (type == TYPE_XDP || type == TYPE_TCX) && ifindex == 0;
    }
}
