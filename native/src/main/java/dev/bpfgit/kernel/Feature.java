package dev.bpfgit.kernel;

/**
 * A kernel mechanism bpfgit depends on, with the upstream release that brought it. Whether the running
 * kernel has it is probed ({@link Features}), never read from the version string: distribution kernels
 * backport features, and a feature can be configured out.
 *
 * <p>{@code fallback} names what bpfgit does without it, or is empty when a policy that needs it cannot
 * work at all (then planning it is a {@link KernelException.NotSupported}).
 */
public enum Feature {
    TCX_LINK("tcx links", "6.6", "legacy tc: a clsact qdisc and a cls_bpf direct-action filter"),
    LEGACY_TC("clsact qdisc with cls_bpf direct-action filters", "4.5", ""),
    XDP_LINK("XDP links", "5.9", ""),
    FIB_LOOKUP_MARK("bpf_fib_lookup with BPF_FIB_LOOKUP_MARK (re-routing by mark at tc-egress)", "6.10", ""),
    SOCK_DESTROY("the bpf_sock_destroy kfunc", "6.5", "netlink SOCK_DESTROY (sock_diag)"),
    ITER_TCP("BPF iterators over TCP sockets (iter/tcp)", "5.9", ""),
    ITER_UDP("BPF iterators over UDP sockets (iter/udp)", "5.9", ""),
    SOCK_OPS_SETSOCKOPT("bpf_setsockopt from sock_ops programs", "4.13", ""),
    REUSEPORT_MIGRATE("sk_reuseport select-or-migrate programs", "5.14", ""),
    BATCH_HASH("batch operations on HASH maps", "5.6", "one syscall per entry"),
    BATCH_PERCPU_HASH("batch operations on PERCPU_HASH maps", "5.6", "one syscall per entry"),
    BATCH_ARRAY("batch operations on ARRAY maps", "5.6", "one syscall per entry"),
    BATCH_PERCPU_ARRAY("batch operations on PERCPU_ARRAY maps", "5.6", "one syscall per entry"),
    BATCH_LPM_TRIE("batch operations on LPM_TRIE maps", "5.13", "one syscall per entry");

    private final String description;
    private final String minKernel;
    private final String fallback;

    Feature(String description, String minKernel, String fallback) {
        this.description = description;
        this.minKernel = minKernel;
        this.fallback = fallback;
    }

    public String description() {
        return description;
    }

    /** The first upstream release with the feature, e.g. {@code "6.6"}. */
    public String minKernel() {
        return minKernel;
    }

    /** What bpfgit uses without it; empty when nothing can stand in. */
    public String fallback() {
        return fallback;
    }

    /** The name in state files and JSON: lower case with dashes, e.g. {@code tcx-link}. */
    public String key() {
        return name().toLowerCase().replace('_', '-');
    }

    public static Feature ofKey(String key) {
        return valueOf(key.toUpperCase().replace('-', '_'));
    }

    /** The batch-operations feature of a map type, if the kernel has batch operations for it at all. */
    public static java.util.Optional<Feature> batch(MapType type) {
        return switch (type) {
            case HASH -> java.util.Optional.of(BATCH_HASH);
            case PERCPU_HASH -> java.util.Optional.of(BATCH_PERCPU_HASH);
            case ARRAY -> java.util.Optional.of(BATCH_ARRAY);
            case PERCPU_ARRAY -> java.util.Optional.of(BATCH_PERCPU_ARRAY);
            case LPM_TRIE -> java.util.Optional.of(BATCH_LPM_TRIE);
            default -> java.util.Optional.empty();
        };
    }

    /** The error a plan or an apply reports when a policy needs this feature and the kernel lacks it. */
    public KernelException.NotSupported notSupported(String operation, String detail) {
        return new KernelException.NotSupported(operation, "", Errno.of(95), detail, description, minKernel);
    }
}
