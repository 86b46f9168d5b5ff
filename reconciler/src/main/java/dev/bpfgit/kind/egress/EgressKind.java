package dev.bpfgit.kind.egress;

import tools.jackson.databind.node.ObjectNode;
import dev.bpfgit.compile.DesiredState;
import dev.bpfgit.compile.HostFacts;
import dev.bpfgit.compile.Unit;
import dev.bpfgit.kernel.AttachPoint;
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
 * {@code kind: EgressTimeout}: per-destination timeouts of a cgroup's egress connections. Units:
 * {@code egress/<cgroup>}, one per cgroup however many policies name it.
 */
public final class EgressKind implements PolicyKind {
    @Override
    public String name() {
        return "EgressTimeout";
    }

    @Override
    public String directory() {
        return EgressCompiler.DIRECTORY;
    }

    @Override
    public PolicySpec read(ObjectNode spec, String pointer, BiFunction<String, String, PolicyError> error,
                           Consumer<PolicyError> errors) {
        return EgressReader.read(spec, pointer, error, errors);
    }

    @Override
    public List<PolicyError> check(List<Policy> policies) {
        return EgressChecks.check(policies);
    }

    @Override
    public List<Unit> compile(Path root, List<Policy> policies, HostFacts host, List<PolicyError> errors) {
        return EgressCompiler.compile(root, policies, host, errors);
    }

    /** It acts on cgroups, not interfaces. */
    /** The counters and the per-socket storage are the datapath's (and storage cannot be listed). */
    @Override
    public boolean statistics(MapInfo map) {
        return map.type() == MapType.SK_STORAGE.id || map.name().equals("et_counters");
    }

    /** A cgroup runs several programs at a hook; bpfgit's runs with the others. */
    /**
     * The sock_ops program and its bpf_setsockopt calls are the policy; the idle reaper (iterators and
     * bpf_sock_destroy) is what {@code run} adds on top, so only where the policy has idle timeouts.
     */
    @Override
    public Set<dev.bpfgit.kernel.Feature> features(Policy policy, dev.bpfgit.kernel.Features kernel) {
        Set<dev.bpfgit.kernel.Feature> need = java.util.EnumSet.of(dev.bpfgit.kernel.Feature.SOCK_OPS_SETSOCKOPT);
        EgressSpec spec = (EgressSpec) policy.spec();
        if (spec.timeouts().needsReaper()) {
            need.add(dev.bpfgit.kernel.Feature.ITER_TCP);
            need.add(dev.bpfgit.kernel.Feature.ITER_UDP);
            need.add(dev.bpfgit.kernel.Feature.SOCK_DESTROY);
        }
        return need;
    }

    @Override
    public Foreign foreign(AttachPoint at) {
        return new Foreign(false, "a cgroup runs several programs at one hook; bpfgit's runs with it.");
    }

    @Override
    public Function<String, UnitReport> report(Kernel kernel, LiveState live, Path unitDir) {
        return EgressStatus.report(kernel, live, unitDir);
    }

    @Override
    public Optional<Runtime> runtime(Kernel kernel, DesiredState enforced) {
        EgressRuntime r = new EgressRuntime(kernel, enforced, name());
        return r.isEmpty() ? Optional.empty() : Optional.of(r);
    }

    @Override
    public Optional<MultiCollector> metrics(Kernel kernel, Supplier<DesiredState> enforced, int maxSeries) {
        return Optional.of(new EgressMetrics(kernel, enforced, name()));
    }
}
