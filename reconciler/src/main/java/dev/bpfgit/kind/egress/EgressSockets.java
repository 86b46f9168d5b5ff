package dev.bpfgit.kind.egress;

import dev.bpfgit.kind.LpmMaps;
import dev.bpfgit.policy.Policy;
import dev.bpfgit.policy.Prefix;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** The lines the iterator programs write (ET_LINE in bpf/egresstimeout.bpf.c), and the match of a socket. */
final class EgressSockets {
    private EgressSockets() {
    }

    /**
     * One socket a walk considered.
     *
     * @param verdict 0 within its limit, 1 past it, 2 destroyed, negative: the errno of bpf_sock_destroy
     */
    record Socket(String protocol, int state, int policy, long idleMs, long limitMs, int verdict,
                  InetAddress destination, int port, int localPort) {
        boolean closing() {
            return protocol.equals("tcp") && state != 1;
        }

        String label() {
            String a = destination instanceof java.net.Inet6Address
                    ? new Prefix(destination.getAddress(), 128).toString().replace("/128", "") : destination.getHostAddress();
            return protocol + " :" + localPort + " -> " + (a.contains(":") ? "[" + a + "]" : a) + ":" + port
                    + (closing() ? " (closing)" : "");
        }
    }

    static List<Socket> parse(byte[] output) {
        List<Socket> out = new ArrayList<>();
        for (String line : new String(output, StandardCharsets.US_ASCII).split("\n")) {
            String[] f = line.trim().split(" ");
            if (f.length != 10) {
                continue;
            }
            try {
                out.add(new Socket(f[0], Integer.parseInt(f[1]), (int) Long.parseLong(f[2]), Long.parseLong(f[3]),
                        Long.parseLong(f[4]), Integer.parseInt(f[5]), InetAddress.getByName(f[7]),
                        Integer.parseInt(f[8]), Integer.parseInt(f[9])));
            } catch (NumberFormatException | UnknownHostException e) {
                // not a line of ours: the format is fixed by the program
            }
        }
        return out;
    }

    /** The destination a socket's address matches among the policies: longest prefix, as the tries decide. */
    record Match(Policy policy, Prefix prefix) {
        EgressSpec.Timeouts timeouts() {
            return ((EgressSpec) policy.spec()).timeouts();
        }
    }

    static Optional<Match> match(List<Policy> policies, InetAddress address) {
        byte[] a = address.getAddress();
        Match best = null;
        for (Policy p : policies) {
            for (EgressSpec.Destination d : ((EgressSpec) p.spec()).destinations()) {
                if (LpmMaps.contains(d.prefix(), a) && (best == null || d.prefix().length() > best.prefix().length())) {
                    best = new Match(p, d.prefix());
                }
            }
        }
        return Optional.ofNullable(best);
    }
}
