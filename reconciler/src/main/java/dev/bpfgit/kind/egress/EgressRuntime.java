package dev.bpfgit.kind.egress;

import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;
import dev.bpfgit.compile.DesiredState;
import dev.bpfgit.compile.PolicyIds;
import dev.bpfgit.compile.Unit;
import dev.bpfgit.kernel.Bytes;
import dev.bpfgit.kernel.Entry;
import dev.bpfgit.kernel.Kernel;
import dev.bpfgit.kernel.KernelException;
import dev.bpfgit.kind.PolicyKind;
import dev.bpfgit.observe.Meta;
import dev.bpfgit.policy.Policy;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The idle reaper: every {@link #PERIOD} it runs each cgroup's reaper iterators ({@code reap_tcp}, and
 * {@code reap_udp} when a policy sets {@code any}) in every network namespace its policies name; the kernel
 * program destroys the sockets idle past their timeout and counts them per policy. A socket is therefore
 * terminated at most PERIOD (plus one walk) after its timeout. Records {@code runtime/<unit>/reaper} (its pid)
 * so that {@code status} can say whether a reaper runs.
 */
final class EgressRuntime implements PolicyKind.Runtime {
    private static final Logger LOG = LoggerFactory.getLogger(EgressRuntime.class);
    /** How often the sockets are walked: the most a termination overshoots its timeout, plus one walk. */
    static final Duration PERIOD = Duration.ofSeconds(1);

    private record Cgroup(Unit unit, List<Policy> policies) {
        boolean tcp() {
            return policies.stream().map(p -> ((EgressSpec) p.spec()).timeouts())
                    .anyMatch(t -> t.establishedMs() > 0 || t.finMs() > 0);
        }

        boolean udp() {
            return policies.stream().anyMatch(p -> ((EgressSpec) p.spec()).timeouts().anyMs() > 0);
        }

        /** Each namespace its policies name; empty: bpfgit's own. */
        Set<Optional<Path>> netns() {
            Set<Optional<Path>> out = new LinkedHashSet<>();
            policies.forEach(p -> out.add(((EgressSpec) p.spec()).netns().map(Path::of)));
            return out;
        }
    }

    private final Kernel kernel;
    private final Path root;
    private final List<Cgroup> cgroups = new ArrayList<>();
    private final Map<String, String> written = new HashMap<>();
    private long lastPass = Long.MIN_VALUE;
    private boolean pruned;

    EgressRuntime(Kernel kernel, DesiredState enforced, String kind) {
        this.kernel = kernel;
        this.root = enforced.root();
        Map<String, Policy> byId = new HashMap<>();
        for (Policy p : enforced.policies()) {   // a loop: a lambda here was spun at every cold apply
            byId.put(p.id(), p);
        }
        for (Unit u : enforced.units()) {
            if (u.kind().equals(kind)) {
                cgroups.add(new Cgroup(u, u.policies().stream().map(byId::get).filter(java.util.Objects::nonNull).toList()));
            }
        }
    }

    boolean isEmpty() {
        return cgroups.isEmpty();
    }

    static String metaKey(String unitRel) {
        return Meta.RUNTIME + unitRel + "/reaper";
    }

    @Override
    public void reconcile() {
        long now = System.nanoTime();
        if (lastPass != Long.MIN_VALUE && now - lastPass < PERIOD.toNanos() - Duration.ofMillis(50).toNanos()) {
            return;
        }
        lastPass = now;
        for (Cgroup c : cgroups) {
            try {
                reap(c);
            } catch (RuntimeException e) {
                LOG.warn("EgressTimeout {}: reaper: {}", c.unit().label(), e.getMessage());
            }
        }
        pruned = true;
    }

    private void reap(Cgroup c) {
        Path dir = c.unit().dir();
        Path tcp = EgressCompiler.program(dir, "et_reap_tcp");
        if (kernel.programInfo(tcp).isEmpty()) {
            return;   // the unit failed to apply: its failure is recorded already
        }
        if (!pruned) {
            prune(c);
            record(c);
        }
        for (Optional<Path> ns : c.netns()) {
            if (c.tcp()) {
                report(c, kernel.runIterator(tcp, ns));
            }
            if (c.udp()) {
                report(c, kernel.runIterator(EgressCompiler.program(dir, "et_reap_udp"), ns));
            }
        }
    }

    private void report(Cgroup c, byte[] output) {
        for (EgressSockets.Socket s : EgressSockets.parse(output)) {
            if (s.verdict() == 2 || s.verdict() < 0) {
                String policy = c.policies().stream().filter(p -> PolicyIds.of(p.id()) == s.policy())
                        .map(Policy::id).findFirst().orElse("?");
                if (s.verdict() == 2) {
                    LOG.info("{} {}: terminated {} idle {} ms > {} ms", policy, c.unit().label(), s.label(),
                            s.idleMs(), s.limitMs());
                } else {
                    LOG.warn("{} {}: could not terminate {}: errno {}", policy, c.unit().label(), s.label(), -s.verdict());
                }
            }
        }
    }

    /** Counters of policies no longer in the unit would fill the map: the kernel makes entries, never removes. */
    private void prune(Cgroup c) {
        Path counters = c.unit().dir().resolve("et_counters");
        if (kernel.mapInfo(counters).isEmpty()) {
            return;
        }
        Set<Long> keep = new java.util.HashSet<>();
        c.unit().policies().forEach(id -> keep.add(PolicyIds.of(id) & 0xffffffffL));
        List<Bytes> stale = new ArrayList<>();
        for (Entry e : kernel.entries(counters)) {
            if (!keep.contains(dev.bpfgit.compile.Le.u32(e.key().toArray(), 0))) {
                stale.add(e.key());
            }
        }
        if (!stale.isEmpty()) {
            kernel.delete(counters, stale);
        }
    }

    private void record(Cgroup c) {
        String key = metaKey(root.relativize(c.unit().dir()).toString());
        String value = ProcessHandle.current().pid() + " " + PERIOD.toMillis() + "ms";
        Path metaPin = Meta.pin(root);
        if (!value.equals(written.get(key)) && kernel.mapInfo(metaPin).isPresent()) {
            kernel.update(metaPin, Meta.encode(key, value));
            written.put(key, value);
        }
    }

    /** What holds with {@code apply} alone and what needs {@code bpfgit run}, for plans of the cgroup. */
    static String enforcement(Cgroup c) {
        if (!c.tcp() && !c.udp()) {
            return "tcpSyn and tcpUser are set by the kernel on every new connection: apply alone enforces them";
        }
        return "tcpSyn, tcpUser and tcpFin's TCP_USER_TIMEOUT are set by the kernel on every new connection;"
                + " tcpEstablished, any and the termination after tcpFin hold only while 'bpfgit run' runs (it walks"
                + " the sockets every " + PERIOD.toSeconds() + "s)";
    }

    /**
     * Per cgroup: which timeouts need {@code bpfgit run}, and the sockets the new timeouts would terminate at
     * once ({@link EgressListing}: the kernel matches them against the desired maps, applied or not).
     */
    @Override
    public List<String> describe() {
        List<String> out = new ArrayList<>();
        for (Cgroup c : cgroups) {
            out.add("EgressTimeout " + c.unit().label() + ": " + enforcement(c));
            if (!c.tcp() && !c.udp()) {
                continue;
            }
            try {
                List<EgressListing.Doomed> all = new ArrayList<>();
                for (Optional<Path> ns : c.netns()) {
                    all.addAll(EgressListing.list(kernel, c.unit(), c.policies(), ns));
                }
                out.addAll(EgressListing.lines(all));
            } catch (KernelException e) {
                out.add("  cannot list its sockets: " + EgressListing.error(e));
            }
        }
        return out;
    }

    @Override
    public void describe(ObjectNode plan) {
        ArrayNode all = plan.has("idleTerminations") ? (ArrayNode) plan.get("idleTerminations")
                : plan.putArray("idleTerminations");
        for (Cgroup c : cgroups) {
            ObjectNode o = all.addObject();
            o.put("unit", root.relativize(c.unit().dir()).toString())
                    .put("cgroup", ((EgressSpec) c.policies().getFirst().spec()).cgroup())
                    .put("needsRun", c.tcp() || c.udp())
                    .put("enforcement", enforcement(c));
            ArrayNode policies = o.putArray("policies");
            c.policies().forEach(p -> policies.add(p.id()));
            List<EgressListing.Doomed> doomed = new ArrayList<>();
            try {
                if (c.tcp() || c.udp()) {
                    for (Optional<Path> ns : c.netns()) {
                        doomed.addAll(EgressListing.list(kernel, c.unit(), c.policies(), ns));
                    }
                }
                EgressListing.json(o, doomed);
            } catch (KernelException e) {
                o.put("count", 0).put("error", EgressListing.error(e));
                o.putArray("sockets");
            }
        }
    }
}
