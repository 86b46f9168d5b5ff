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

    enum Direction { INGRESS, EGRESS }
}
