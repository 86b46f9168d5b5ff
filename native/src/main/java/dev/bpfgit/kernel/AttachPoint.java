package dev.bpfgit.kernel;

/**
 * Where a program is attached. Device-bound attach points name the interface as seen from the network
 * namespace of the calling thread.
 */
public sealed interface AttachPoint {

    /** A short label for plans and errors, e.g. {@code "eth0 xdp"}. */
    String label();

    record Xdp(String ifname) implements AttachPoint {
        public String label() {
            return ifname + " xdp";
        }
    }

    record Tcx(String ifname, Direction direction) implements AttachPoint {
        public String label() {
            return ifname + " tcx-" + direction.name().toLowerCase();
        }
    }

    /**
     * Legacy tc, where the kernel has no tcx (before 6.6): a clsact qdisc and one cls_bpf direct-action filter
     * at bpfgit's own handle and priority; replacing its program is an atomic {@code tc filter replace}.
     */
    record LegacyTc(String ifname, Direction direction) implements AttachPoint {
        public String label() {
            return ifname + " tc-" + direction.name().toLowerCase() + " (legacy tc)";
        }
    }

    /** The interface of a device-bound attach point. */
    default String ifname() {
        return switch (this) {
            case Xdp x -> x.ifname();
            case Tcx t -> t.ifname();
            case LegacyTc t -> t.ifname();
            case Cgroup c -> throw new IllegalArgumentException(c.label() + " has no interface");
        };
    }

    enum Direction { INGRESS, EGRESS }

    /**
     * A cgroup v2 hook. The programs run for the sockets of the cgroup and of every cgroup below it; a
     * cgroup runs several programs at one hook (bpf_link attachments are multi).
     *
     * @param path the cgroup below the cgroup v2 root ({@link CgroupRoot}), starting with {@code /}
     */
    record Cgroup(String path, CgroupHook hook) implements AttachPoint {
        public String label() {
            return "cgroup " + path + " " + hook.label;
        }
    }

    /** The cgroup attach types bpfgit uses, with their kernel numbers (enum bpf_attach_type). */
    enum CgroupHook {
        INET_INGRESS(0, "ingress"), INET_EGRESS(1, "egress"), SOCK_OPS(3, "sock_ops");

        public final int attachType;
        public final String label;

        CgroupHook(int attachType, String label) {
            this.attachType = attachType;
            this.label = label;
        }

        public static CgroupHook of(String label) {
            for (CgroupHook h : values()) {
                if (h.label.equals(label)) {
                    return h;
                }
            }
            throw new IllegalArgumentException("unknown cgroup hook " + label);
        }
    }
}
