package dev.bpfgit.kind.sockterm;

import tools.jackson.databind.node.ObjectNode;
import dev.bpfgit.compile.DesiredState;
import dev.bpfgit.compile.HostFacts;
import dev.bpfgit.compile.Unit;
import dev.bpfgit.kernel.Kernel;
import dev.bpfgit.kernel.MapInfo;
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
import java.util.function.BiFunction;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * {@code kind: SocketTermination}: terminate the connected sockets to destinations that are gone, once per
 * revision of the policy or continuously. Units: {@code sockterm/<policy>}.
 */
public final class SocketTerminationKind implements PolicyKind {
    @Override
    public String name() {
        return "SocketTermination";
    }

    @Override
    public String directory() {
        return SocketTerminationCompiler.DIRECTORY;
    }

    @Override
    public PolicySpec read(ObjectNode spec, String pointer, BiFunction<String, String, PolicyError> error,
                           Consumer<PolicyError> errors) {
        return SocketTerminationReader.read(spec, pointer, error, errors);
    }

    @Override
    public List<PolicyError> check(List<Policy> policies) {
        return SocketTerminationReader.check(policies);
    }

    @Override
    public List<Unit> compile(Path root, List<Policy> policies, HostFacts host, List<PolicyError> errors) {
        return SocketTerminationCompiler.compile(root, policies);
    }

    /** It acts on sockets, not interfaces. */
    /** The counters are the kernel's and the cgroup ids the runtime's (read from the host): neither is policy. */
    @Override
    public boolean statistics(MapInfo map) {
        return map.name().equals(SocketTerminationCompiler.COUNTERS) || map.name().equals(SocketTerminationCompiler.CGROUPS);
    }

    @Override
    public Function<String, UnitReport> report(Kernel kernel, LiveState live, Path unitDir) {
        return SocketTerminationStatus.report(kernel, live, unitDir);
    }

    @Override
    public Optional<MultiCollector> metrics(Kernel kernel, Supplier<DesiredState> enforced, int maxSeries) {
        return Optional.of(SocketTerminationStatus.metrics(kernel, enforced, name()));
    }

    @Override
    public Optional<Runtime> runtime(Kernel kernel, DesiredState enforced) {
        SocketTerminationRuntime r = new SocketTerminationRuntime(kernel, enforced, name());
        return r.isEmpty() ? Optional.empty() : Optional.of(r);
    }
}
