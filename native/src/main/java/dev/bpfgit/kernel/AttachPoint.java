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
        };
    }

    enum Direction { INGRESS, EGRESS }
}
