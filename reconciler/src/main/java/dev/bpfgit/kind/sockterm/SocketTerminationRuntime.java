package dev.bpfgit.kind.sockterm;

import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;
import dev.bpfgit.compile.DesiredState;
import dev.bpfgit.compile.Unit;
import dev.bpfgit.kernel.Bytes;
import dev.bpfgit.kernel.Entry;
import dev.bpfgit.kernel.Feature;
import dev.bpfgit.kernel.InetSocket;
import dev.bpfgit.kernel.Kernel;
import dev.bpfgit.kernel.KernelException;
import dev.bpfgit.kernel.SocketOwner;
import dev.bpfgit.kind.PolicyKind;
import dev.bpfgit.kind.sockterm.SocketTerminationSpec.Mode;
import dev.bpfgit.observe.Meta;
import dev.bpfgit.policy.Policy;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Terminates the matching sockets of each SocketTermination policy. {@code mode: once} does it when a policy's
 * digest (this revision of the policy) has not been done yet and then records the digest as
 * {@code runtime/<unit>/once} in the bookkeeping map, so a restart or a later apply of the same policy does not
 * repeat it; {@code mode: continuous} does it on every pass ({@code apply}: once after the plan; {@code run}:
 * every {@link PolicyKind.Runtime#INTERVAL}).
 *
 * <p>How: when the kernel has the bpf_sock_destroy kfunc ({@link Feature#SOCK_DESTROY}, from the kernel's
 * feature probes) the iter/tcp and iter/udp programs of sockterm.bpf.o, loaded for the
 * pass (and kept loaded for the next while the maps are the same) and run in the policy's namespace, do the
 * match and the destroy and count into {@code st_counters}. Otherwise, or when forced with the system
 * property {@value #FORCE_PROPERTY}=true or the environment variable {@value #FORCE_ENV}=1, a sock_diag dump
 * matched here ({@link SocketMatcher}) and netlink SOCK_DESTROY, counting the sockets the kernel acknowledged
 * as destroyed into the same counters.
 */
final class SocketTerminationRuntime implements PolicyKind.Runtime {
    private static final Logger LOG = LoggerFactory.getLogger(SocketTerminationRuntime.class);
    static final String FORCE_PROPERTY = "bpfgit.sockterm.netlink";
    static final String FORCE_ENV = "BPFGIT_SOCKTERM_NETLINK";

    record Target(Policy policy, Unit unit, SocketTerminationSpec spec) {
    }

    /** A socket a pass would terminate, with its owners. */
    record Planned(InetSocket socket, List<SocketOwner> owners) {
    }

    private final Kernel kernel;
    private final Path root;
    private final List<Target> targets = new ArrayList<>();

    SocketTerminationRuntime(Kernel kernel, DesiredState enforced, String kind) {
        this.kernel = kernel;
        this.root = enforced.root();
        Map<String, Policy> byId = new HashMap<>();
        for (Policy p : enforced.policies()) {   // a loop: a lambda here was spun at every cold apply
            byId.put(p.id(), p);
        }
        for (Unit u : enforced.units()) {
            if (u.kind().equals(kind) && byId.containsKey(u.policies().getFirst())) {
                Policy p = byId.get(u.policies().getFirst());
                targets.add(new Target(p, u, (SocketTerminationSpec) p.spec()));
            }
        }
    }

    boolean isEmpty() {
        return targets.isEmpty();
    }

    /** The iterators destroy when the kernel has the kfunc (probed once per process with the other features). */
    private boolean kfunc() {
        return !forcedNetlink() && kernel.features().has(Feature.SOCK_DESTROY);
    }

    static boolean forcedNetlink() {
        String env = System.getenv(FORCE_ENV);
        return Boolean.getBoolean(FORCE_PROPERTY) || "1".equals(env) || "true".equalsIgnoreCase(env);
    }

    @Override
    public void reconcile() {
        for (Target t : targets) {
            try {
                pass(t);
            } catch (RuntimeException e) {
                LOG.warn("SocketTermination {}: {}", t.policy().name(), e.getMessage());
                record(t, "error", Meta.fit(Instant.now() + " " + e.getMessage()));
            }
        }
    }

    static String onceKey(String unitRel) {
        return Meta.RUNTIME + unitRel + "/once";
    }

    static String lastKey(String unitRel) {
        return Meta.RUNTIME + unitRel + "/last";
    }

    private String rel(Target t) {
        return root.relativize(t.unit().dir()).toString();
    }

    /** With mode once: whether this revision of the policy was done already. */
    boolean done(Target t) {
        if (t.spec().mode() != Mode.ONCE) {
            return false;
        }
        Path metaPin = Meta.pin(root);
        if (kernel.mapInfo(metaPin).isEmpty()) {
            return false;
        }
        return kernel.lookup(metaPin, Meta.encodeKey(Meta.stored(onceKey(rel(t)))))
                .map(Meta::decode).filter(t.policy().digest()::equals).isPresent();
    }

    /** @return the sockets terminated in this pass */
    int pass(Target t) {
        Path dir = t.unit().dir();
        if (kernel.mapInfo(dir.resolve(SocketTerminationCompiler.COUNTERS)).isEmpty() || done(t)) {
            return 0;   // not applied (its failure is recorded) or done for this revision
        }
        long started = System.nanoTime();
        Set<Long> cgroups = cgroups(t);
        int terminated = 0;
        int failed = 0;
        Optional<List<byte[]>> records = Optional.empty();
        SocketTerminationStatus.Counts before = null;
        if (kfunc()) {
            Optional<Path> netns = t.spec().netns().map(Path::of);
            List<dev.bpfgit.kernel.ProgramSpec> programs = List.of(
                    SocketTerminationCompiler.program(dir, SocketTerminationCompiler.TCP_PROGRAM),
                    SocketTerminationCompiler.program(dir, SocketTerminationCompiler.UDP_PROGRAM));
            before = SocketTerminationStatus.counts(kernel, dir);
            records = Optional.of(kernel.runIterators(programs, netns));
        }
        String method = records.isPresent() ? "kfunc" : "netlink";
        if (records.isPresent()) {
            SocketTerminationStatus.Counts after = SocketTerminationStatus.counts(kernel, dir);
            // from the programs' counters, not the records: when the iterator's buffer fills, the kernel drops
            // the record being written and calls the program again on that socket, which is destroyed by then
            // (and skipped): the destroy is counted once, its record is lost
            terminated = (int) (after.total() - before.total());
            failed = (int) (after.failed() - before.failed());
            if (LOG.isDebugEnabled()) {   // 10,000 records take longer to decode than to read
                records.get().forEach(b -> SocketTerminationLayout.records(b).forEach(r -> LOG.debug(
                        "SocketTermination {}: {} {}", t.policy().name(), r.socket().tuple(),
                        r.err() == 0 ? "terminated" : "not terminated: errno " + -r.err())));
            }
        } else {
            List<InetSocket> matched = matching(t, cgroups);
            int[] results = kernel.destroySockets(t.spec().netns().map(Path::of), matched);
            long tcp = 0;
            long udp = 0;
            for (int i = 0; i < results.length; i++) {
                InetSocket k = matched.get(i);
                if (results[i] == 0) {
                    terminated++;
                    if (k.protocol() == dev.bpfgit.kernel.SocketProtocol.TCP) {
                        tcp++;
                    } else {
                        udp++;
                    }
                    LOG.debug("SocketTermination {}: {} terminated", t.policy().name(), k.tuple());
                }
            }
            // ENOENT: it closed on its own between the dump and the destroy; not a failure of ours
            failed = (int) java.util.Arrays.stream(results).filter(r -> r != 0 && r != 2).count();
            add(dir, tcp, udp, failed);
        }
        long micros = (System.nanoTime() - started) / 1000;
        if (terminated > 0 || failed > 0) {
            // the figure bench/sockterm reads: the whole pass, cgroup refresh and probe included
            LOG.info("SocketTermination {}: {} terminated, {} failed in {} us ({})", t.policy().name(), terminated,
                    failed, micros, method);
        }
        if (t.spec().mode() == Mode.ONCE) {
            record(t, "once", t.policy().digest());
        }
        if (terminated > 0 || failed > 0 || t.spec().mode() == Mode.ONCE) {
            record(t, "last", Meta.fit(Instant.now() + " " + method + ": " + terminated + " terminated"
                    + (failed > 0 ? ", " + failed + " failed" : "")));
        }
        return terminated;
    }

    /** The counters as the programs keep them, for the netlink path. */
    private void add(Path dir, long tcp, long udp, long failed) {
        if (tcp == 0 && udp == 0 && failed == 0) {
            return;
        }
        Path pin = dir.resolve(SocketTerminationCompiler.COUNTERS);
        List<Entry> updates = new ArrayList<>();
        long[] by = new long[SocketTerminationLayout.CNT_SLOTS];
        by[SocketTerminationLayout.CNT_TCP] = tcp;
        by[SocketTerminationLayout.CNT_UDP] = udp;
        by[SocketTerminationLayout.CNT_FAILED] = failed;
        for (int slot = 0; slot < by.length; slot++) {
            if (by[slot] == 0) {
                continue;
            }
            Bytes key = SocketTerminationLayout.u32(slot);
            long now = kernel.lookup(pin, key).map(SocketTerminationLayout::u64).orElse(0L);
            updates.add(new Entry(key, SocketTerminationLayout.u64(now + by[slot])));
        }
        kernel.update(pin, updates);
    }

    /** The ids of the policy's cgroup and those below it, also written to st_cgroups for the programs. */
    private Set<Long> cgroups(Target t) {
        if (t.spec().cgroup().isEmpty()) {
            return Set.of();
        }
        Set<Long> ids = kernel.cgroupIds(t.spec().cgroup().get());
        Path pin = t.unit().dir().resolve(SocketTerminationCompiler.CGROUPS);
        Set<Bytes> want = new HashSet<>();
        ids.forEach(id -> want.add(SocketTerminationLayout.u64(id)));
        List<Bytes> stale = kernel.entries(pin).stream().map(Entry::key).filter(k -> !want.contains(k)).toList();
        if (!stale.isEmpty()) {
            kernel.delete(pin, stale);
        }
        Bytes one = Bytes.wrap(new byte[]{1});
        kernel.update(pin, want.stream().map(k -> new Entry(k, one)).toList());
        return ids;
    }

    private List<InetSocket> matching(Target t, Set<Long> cgroups) {
        return kernel.connectedSockets(t.spec().netns().map(Path::of)).stream()
                .filter(k -> SocketMatcher.matches(t.spec(), k, cgroups)).toList();
    }

    /** What a pass would terminate now: the matching sockets and their owners; empty when once is done. */
    List<Planned> planned(Target t) {
        if (done(t)) {
            return List.of();
        }
        Set<Long> cgroups = t.spec().cgroup().isEmpty() ? Set.of() : kernel.cgroupIds(t.spec().cgroup().get());
        List<InetSocket> matched = matching(t, cgroups);
        Map<Long, List<SocketOwner>> owners = kernel.socketOwners(matched.stream().map(InetSocket::inode)
                .filter(i -> i != 0).toList());
        return matched.stream().map(k -> new Planned(k, owners.getOrDefault(k.inode(), List.of()))).toList();
    }

    private void record(Target t, String what, String value) {
        Path metaPin = Meta.pin(root);
        try {
            if (kernel.mapInfo(metaPin).isPresent()) {
                kernel.update(metaPin, Meta.encode(Meta.RUNTIME + rel(t) + "/" + what, value));
            }
        } catch (KernelException e) {
            LOG.warn("SocketTermination {}: cannot record {}: {}", t.policy().name(), what, e.getMessage());
        }
    }

    static String owners(List<SocketOwner> owners) {
        return owners.isEmpty() ? "no process" : owners.stream().map(o -> "pid " + o.pid() + " " + o.command())
                .collect(Collectors.joining(", "));
    }

    @Override
    public List<String> describe() {
        List<String> out = new ArrayList<>();
        for (Target t : targets) {
            String head = t.policy().id() + " (" + t.unit().label() + ")";
            try {
                if (done(t)) {
                    out.add(head + ": done for this revision of the policy (mode once); nothing to terminate");
                    continue;
                }
                List<Planned> planned = planned(t);
                out.add(head + ": " + planned.size() + " socket" + (planned.size() == 1 ? "" : "s")
                        + " to terminate" + (planned.isEmpty() ? "" : ":"));
                for (Planned p : planned) {
                    out.add("  " + owners(p.owners()) + ": " + p.socket().tuple());
                }
            } catch (KernelException e) {
                out.add(head + ": cannot list its sockets: " + e.getMessage());
            }
        }
        return out;
    }

    @Override
    public void describe(ObjectNode plan) {
        ArrayNode all = plan.has("terminations") ? (ArrayNode) plan.get("terminations") : plan.putArray("terminations");
        for (Target t : targets) {
            ObjectNode o = all.addObject();
            o.put("policy", t.policy().id()).put("unit", rel(t)).put("mode", t.spec().mode().yaml);
            try {
                boolean done = done(t);
                List<Planned> planned = done ? List.of() : planned(t);
                o.put("done", done).put("count", planned.size()).putNull("error");
                ArrayNode sockets = o.putArray("sockets");
                for (Planned p : planned) {
                    ObjectNode s = sockets.addObject();
                    s.put("protocol", p.socket().protocol().name().toLowerCase())
                            .put("local", p.socket().local().getAddress().getHostAddress())
                            .put("localPort", p.socket().local().getPort())
                            .put("remote", p.socket().remote().getAddress().getHostAddress())
                            .put("remotePort", p.socket().remote().getPort())
                            .put("state", p.socket().state());
                    ArrayNode owners = s.putArray("owners");
                    p.owners().forEach(w -> owners.addObject().put("pid", w.pid()).put("command", w.command()));
                }
            } catch (KernelException e) {
                o.put("done", false).put("count", 0).put("error", e.getMessage());
                o.putArray("sockets");
            }
        }
    }
}
