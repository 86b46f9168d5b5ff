package dev.bpfgit.kind.reuseport;

import tools.jackson.databind.node.ObjectNode;
import dev.bpfgit.compile.DesiredState;
import dev.bpfgit.compile.HostFacts;
import dev.bpfgit.compile.Unit;
import dev.bpfgit.kernel.Kernel;
import dev.bpfgit.kernel.MapInfo;
import dev.bpfgit.kernel.MapType;
import dev.bpfgit.kind.PolicyKind;
import dev.bpfgit.kind.UnitReport;
import dev.bpfgit.observe.LiveState;
import dev.bpfgit.policy.Policy;
import dev.bpfgit.policy.PolicyError;
import dev.bpfgit.policy.PolicySpec;
import io.prometheus.metrics.model.registry.MultiCollector;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.BiFunction;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * {@code kind: ReusePortGroup}: which process gets new connections on a port shared with SO_REUSEPORT.
 * Units: {@code reuseport/<group>}.
 */
public final class ReusePortKind implements PolicyKind {
    private final ReusePortStats stats = new ReusePortStats();

    @Override
    public String name() {
        return "ReusePortGroup";
    }

    @Override
    public String directory() {
        return ReusePortCompiler.DIRECTORY;
    }

    @Override
    public PolicySpec read(ObjectNode spec, String pointer, BiFunction<String, String, PolicyError> error,
                           Consumer<PolicyError> errors) {
        return ReusePortReader.read(spec, pointer, error, errors);
    }

    @Override
    public List<PolicyError> check(List<Policy> policies) {
        return ReusePortChecks.check(policies);
    }

    @Override
    public List<Unit> compile(Path root, List<Policy> policies, HostFacts host, List<PolicyError> errors) {
        return ReusePortCompiler.compile(root, policies);
    }

    /**
     * Besides the per-CPU counters, the SOCKMAP: it holds the members' live sockets, which the runtime keeps
     * (and a lookup returns cookies, not what was written).
     */
    @Override
    public boolean statistics(MapInfo map) {
        return PolicyKind.super.statistics(map) || map.type() == MapType.SOCKMAP.id;
    }

    /** Moving queued connections off a closing listener needs the select-or-migrate program type. */
    @Override
    public Set<dev.bpfgit.kernel.Feature> features(Policy policy, dev.bpfgit.kernel.Features kernel) {
        return ((ReusePortSpec) policy.spec()).migrate() ? Set.of(dev.bpfgit.kernel.Feature.REUSEPORT_MIGRATE)
                : Set.of();
    }

    @Override
    public Function<String, UnitReport> report(Kernel kernel, LiveState live, Path unitDir) {
        return ReusePortStatus.report(kernel, live, unitDir);
    }

    @Override
    public Optional<Runtime> runtime(Kernel kernel, DesiredState enforced) {
        ReusePortRuntime r = new ReusePortRuntime(kernel, enforced, name(), stats);
        return r.isEmpty() ? Optional.empty() : Optional.of(r);
    }

    @Override
    public Optional<Runtime> runtime(Kernel kernel, Path root) {
        ReusePortRuntime r = new ReusePortRuntime(kernel, root, name(), stats);
        return r.isEmpty() ? Optional.empty() : Optional.of(r);
    }

    @Override
    public void release(Kernel kernel, Path unitDir) {
        ReusePortRuntime.release(kernel, unitDir);
    }

    @Override
    public Optional<MultiCollector> metrics(Kernel kernel, Supplier<DesiredState> enforced, int maxSeries) {
        return Optional.of(new ReusePortMetrics(kernel, enforced, name(), stats));
    }
}
