package dev.bpfgit.kind.egress;

import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;
import dev.bpfgit.compile.MapDesire;
import dev.bpfgit.compile.Objects;
import dev.bpfgit.compile.PolicyIds;
import dev.bpfgit.compile.Unit;
import dev.bpfgit.kernel.InetSocket;
import dev.bpfgit.kernel.Kernel;
import dev.bpfgit.kernel.KernelException;
import dev.bpfgit.kernel.MapSource;
import dev.bpfgit.kernel.SocketOwner;
import dev.bpfgit.policy.Policy;

import java.net.InetAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * What {@code plan} shows of a cgroup's unit: the sockets the new timeouts would terminate at once. The listing
 * iterators ({@code et_list_*}, which destroy and write nothing) run with temporary maps filled from the desired
 * state, so the kernel matches the sockets against the new timeouts, applied or not; only the per-socket storage
 * is the pinned one when the unit exists (it holds the UDP activity and closing times the programs recorded).
 * Nothing is pinned or attached. Owners and local addresses come from a sock_diag dump and /proc.
 */
final class EgressListing {
    static final List<String> PROGRAMS = List.of("et_list_tcp", "et_list_udp");
    private static final String STORAGE = "et_socks";

    private EgressListing() {
    }

    /** A socket past its new timeout: which timeout, the policy and prefix that set it, and who has it open. */
    record Doomed(EgressSockets.Socket socket, Optional<Path> netns, String timeout, Policy policy, String prefix,
                  Optional<InetSocket> live, List<SocketOwner> owners) {
        String owner() {
            return owners.isEmpty() ? "no process" : owners.stream().map(o -> "pid " + o.pid() + " " + o.command())
                    .collect(Collectors.joining(", "));
        }

        String tuple() {
            String local = live.map(k -> address(k.local().getAddress()) + ":" + k.local().getPort())
                    .orElse(":" + socket.localPort());
            return socket.protocol() + " " + local + " -> " + address(socket.destination()) + ":" + socket.port();
        }
    }

    static String address(InetAddress a) {
        String s = a.getHostAddress();
        return s.contains(":") ? "[" + s + "]" : s;
    }

    /** The maps of the listing programs: the unit's desired ones, made for the run; the storage if pinned. */
    static Map<String, MapSource> maps(Kernel kernel, Unit unit) {
        Map<String, MapSource> out = new TreeMap<>();
        for (MapDesire m : unit.maps()) {
            if (m.name().equals(STORAGE) && kernel.mapInfo(m.pin()).isPresent()) {
                out.put(m.name(), new MapSource.Pinned(m.pin()));
            } else {
                out.put(m.name(), new MapSource.Temporary(m.spec(), m.entries().orElse(Map.of())));
            }
        }
        return out;
    }

    static List<Doomed> list(Kernel kernel, Unit unit, List<Policy> policies, Optional<Path> netns) {
        List<byte[]> out = kernel.runIterators(Objects.get(EgressCompiler.OBJECT), PROGRAMS, maps(kernel, unit), netns);
        List<EgressSockets.Socket> past = new ArrayList<>();
        out.forEach(b -> EgressSockets.parse(b).stream().filter(s -> s.verdict() == 1).forEach(past::add));
        if (past.isEmpty()) {
            return List.of();
        }
        Map<String, InetSocket> live = new HashMap<>();
        kernel.connectedSockets(netns).forEach(k -> live.put(key(k.protocol().name().toLowerCase(), k.local().getPort(),
                k.remote().getAddress(), k.remote().getPort()), k));
        List<Optional<InetSocket>> found = past.stream().map(s -> Optional.ofNullable(
                live.get(key(s.protocol(), s.localPort(), s.destination(), s.port()))).filter(k -> k.inode() != 0))
                .toList();
        Map<Long, List<SocketOwner>> owners = kernel.socketOwners(found.stream().flatMap(Optional::stream)
                .map(InetSocket::inode).toList());
        List<Doomed> doomed = new ArrayList<>();
        for (int i = 0; i < past.size(); i++) {
            EgressSockets.Socket s = past.get(i);
            Optional<EgressSockets.Match> m = EgressSockets.match(policies, s.destination());
            Policy policy = policies.stream().filter(p -> PolicyIds.of(p.id()) == s.policy()).findFirst()
                    .orElse(m.map(EgressSockets.Match::policy).orElse(policies.getFirst()));
            String timeout = s.protocol().equals("udp") ? "any" : s.closing() ? "tcpFin" : "tcpEstablished";
            doomed.add(new Doomed(s, netns, timeout, policy, m.map(x -> x.prefix().toString()).orElse("?"),
                    found.get(i), found.get(i).map(k -> owners.getOrDefault(k.inode(), List.of())).orElse(List.of())));
        }
        return doomed;
    }

    private static String key(String protocol, int localPort, InetAddress remote, int remotePort) {
        InetAddress r = remote;
        byte[] a = remote.getAddress();
        if (a.length == 16 && java.util.Arrays.equals(a, 0, 12, new byte[]{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -1, -1}, 0, 12)) {
            try {
                r = InetAddress.getByAddress(java.util.Arrays.copyOfRange(a, 12, 16));
            } catch (java.net.UnknownHostException e) {
                throw new IllegalStateException(e);
            }
        }
        return protocol + " " + localPort + " " + r.getHostAddress() + " " + remotePort;
    }

    /** The text lines of one unit's listing, after its enforcement line. */
    static List<String> lines(List<Doomed> doomed) {
        List<String> out = new ArrayList<>();
        if (doomed.isEmpty()) {
            out.add("  no socket of the cgroup is idle past the new timeouts");
            return out;
        }
        out.add("  " + doomed.size() + " socket" + (doomed.size() == 1 ? "" : "s") + " idle past the new timeouts"
                + " ('bpfgit run' ends them on its next walk):");
        for (Doomed d : doomed) {
            long limit = d.socket().limitMs();
            out.add("  terminated at once: " + d.owner() + ": " + d.tuple() + (d.socket().closing() ? " (closing)" : "")
                    + d.netns().map(p -> " in " + p).orElse("") + ", idle " + EgressReader.human(d.socket().idleMs())
                    + " > " + d.timeout() + " " + EgressReader.human(limit) + " (" + d.policy().id() + ", "
                    + d.prefix() + ")");
        }
        return out;
    }

    static void json(ObjectNode o, List<Doomed> doomed) {
        o.put("count", doomed.size()).putNull("error");
        ArrayNode sockets = o.putArray("sockets");
        for (Doomed d : doomed) {
            ObjectNode s = sockets.addObject();
            s.put("protocol", d.socket().protocol())
                    .put("local", d.live().map(k -> k.local().getAddress().getHostAddress()).orElse(""))
                    .put("localPort", d.socket().localPort())
                    .put("remote", d.socket().destination().getHostAddress())
                    .put("remotePort", d.socket().port())
                    .put("state", d.socket().state())
                    .put("idleMs", d.socket().idleMs())
                    .put("timeout", d.timeout())
                    .put("timeoutMs", d.socket().limitMs())
                    .put("policy", d.policy().id())
                    .put("prefix", d.prefix());
            d.netns().ifPresentOrElse(p -> s.put("netns", p.toString()), () -> s.putNull("netns"));
            ArrayNode owners = s.putArray("owners");
            d.owners().forEach(w -> owners.addObject().put("pid", w.pid()).put("command", w.command()));
        }
    }

    /** For {@code error}: a kernel failure of the listing, in one line. */
    static String error(KernelException e) {
        return e.getMessage().lines().findFirst().orElse(e.toString());
    }
}
