package dev.bpfgit.kernel;

/**
 * A live bpf_link. {@code ifindex} is 0 for a device link whose device is gone (a defunct link that only
 * its pin keeps alive) and for links that are not device-bound; for a cgroup link it holds the low 32 bits of
 * the cgroup's id (its inode in cgroup2fs), which identifies the cgroup the same way. {@code attachType} is the kernel's
 * enum bpf_attach_type (BPF_XDP = 37, BPF_TCX_INGRESS = 46, BPF_TCX_EGRESS = 47).
 *
 * <p>A legacy tc filter has no bpf_link: bpfgit pins a small record of it where the link would be, and
 * describes it with {@link #TYPE_LEGACY_TC} (not a kernel link type), {@code id} the record's map id,
 * {@code progId} the program the filter runs now (0 when the filter is gone) and {@code attachType} 46 or
 * 47 for its direction, as tcx.
 */
public record LinkInfo(int id, int type, int progId, int ifindex, int attachType) {
    public static final int TYPE_XDP = 6;
    public static final int TYPE_TCX = 11;
    /** BPF_LINK_TYPE_ITER; its attach type is BPF_TRACE_ITER (28). */
    public static final int TYPE_ITER = 4;
    public static final int TYPE_LEGACY_TC = 1000;

    public boolean defunct() {
        return (type == TYPE_XDP || type == TYPE_TCX || type == TYPE_LEGACY_TC) && ifindex == 0;
    }
}
