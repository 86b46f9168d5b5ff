package dev.bpfgit.kind.traffic;

import tools.jackson.databind.node.ObjectNode;
import dev.bpfgit.compile.DesiredState;
import dev.bpfgit.compile.HostFacts;
import dev.bpfgit.compile.PolicyIds;
import dev.bpfgit.compile.Unit;
import dev.bpfgit.kernel.AttachPoint;
import dev.bpfgit.kernel.Feature;
import dev.bpfgit.kernel.Features;
import dev.bpfgit.kernel.Kernel;
import dev.bpfgit.kind.PolicyKind;
import dev.bpfgit.kind.UnitReport;
import dev.bpfgit.observe.LiveState;
import dev.bpfgit.policy.Policy;
import dev.bpfgit.policy.PolicyError;
import dev.bpfgit.policy.PolicySpec;
import io.prometheus.metrics.model.registry.MultiCollector;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.BiFunction;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;

/** {@code kind: TrafficPolicy}: filter and steer packets by prefix at XDP or tc. Units: traffic/<if>/<hook>. */
public final class TrafficKind implements PolicyKind {
    @Override
    public String name() {
        return "TrafficPolicy";
    }

    @Override
    public String directory() {
        return "traffic";
    }

    @Override
    public PolicySpec read(ObjectNode spec, String pointer, BiFunction<String, String, PolicyError> error,
                           Consumer<PolicyError> errors) {
        return TrafficPolicyReader.read(spec, pointer, error, errors);
    }

    @Override
    public Optional<ItemCheck> itemCheck() {
        return Optional.of(TrafficRuleCheck.itemCheck());
    }

    @Override
    public List<PolicyError> check(List<Policy> policies) {
        return TrafficPolicyChecks.check(policies);
    }

    @Override
    public boolean passesAcross(List<Policy> policies) {
        return TrafficPolicyChecks.passesAcross(policies);
    }

    @Override
    public List<Unit> compile(Path root, List<Policy> policies, HostFacts host, List<PolicyError> errors) {
        return TrafficCompiler.compile(root, policies, host, errors);
    }

    /** The interfaces it acts on and those it redirects to. */
    @Override
    public Set<String> assumedInterfaces(Policy policy) {
        TrafficPolicySpec t = (TrafficPolicySpec) policy.spec();
        Set<String> names = new TreeSet<>(t.interfaces());
        t.rules().forEach(r -> r.to().ifPresent(names::add));
        return names;
    }

    @Override
    public List<AttachPoint> exportedAttachPoints(Collection<String> interfaces) {
        List<AttachPoint> points = new ArrayList<>();
        for (String i : interfaces) {
            points.add(new AttachPoint.Xdp(i));
            points.add(new AttachPoint.Tcx(i, AttachPoint.Direction.INGRESS));
            points.add(new AttachPoint.Tcx(i, AttachPoint.Direction.EGRESS));
        }
        return points;
    }

    /**
     * XDP needs XDP links; tc needs tcx links, or where the kernel has none, legacy tc. A {@code mark} at
     * tc-egress re-routes through a FIB lookup with the mark, which older kernels refuse: there the policy
     * would set a mark nothing routes by.
     */
    @Override
    public Set<Feature> features(Policy policy, Features kernel) {
        TrafficPolicySpec t = (TrafficPolicySpec) policy.spec();
        Feature tc = kernel.has(Feature.TCX_LINK) ? Feature.TCX_LINK : Feature.LEGACY_TC;
        return switch (t.hook()) {
            case XDP -> Set.of(Feature.XDP_LINK);
            case TC_INGRESS -> Set.of(tc);
            case TC_EGRESS -> t.rules().stream().anyMatch(r -> r.action() == TrafficPolicySpec.Action.MARK)
                    ? Set.of(tc, Feature.FIB_LOOKUP_MARK) : Set.of(tc);
        };
    }

    /**
     * XDP runs one program per interface: bpfgit never takes it over. tcx and legacy tc run several, but one
     * that decides a packet before bpfgit's program bypasses the policy, so a foreign one is refused too
     * unless every policy at the hook says {@code foreignPrograms: coexist}.
     */
    @Override
    public Foreign foreign(AttachPoint at) {
        return foreign(at, List.of());
    }

    @Override
    public Foreign foreign(AttachPoint at, List<Policy> acting) {
        List<String> refusing = acting.stream()
                .filter(p -> !(p.spec() instanceof TrafficPolicySpec t)
                        || t.foreignPrograms() != TrafficPolicySpec.ForeignPrograms.COEXIST)
                .map(Policy::id).toList();
        boolean coexist = !acting.isEmpty() && refusing.isEmpty();
        String optIn = " or, if it is meant to run there, set spec.foreignPrograms: coexist in "
                + (refusing.isEmpty() ? "the policy" : String.join(", ", refusing)) + ".";
        return switch (at) {
            case AttachPoint.Xdp x -> new Foreign(true, "bpfgit does not replace it. Detach it (ip link set dev "
                    + x.ifname() + " xdp off) or remove the interface from the policy.");
            case AttachPoint.Cgroup c -> new Foreign(false, "a cgroup runs several programs.");
            case AttachPoint.Tcx t -> coexist
                    ? new Foreign(false, "tcx runs several programs, bpfgit's runs after it;"
                            + " a legacy tc filter runs after every tcx program.")
                    : new Foreign(true, "it may decide packets before bpfgit's program does, so bpfgit does not"
                            + " attach beside it. Detach it (its tcx link's owner, or tc filter del dev " + t.ifname()
                            + " " + t.direction().name().toLowerCase(java.util.Locale.ROOT)
                            + " pref PREF for a legacy filter), remove the interface from the policy," + optIn);
            case AttachPoint.LegacyTc t -> coexist
                    ? new Foreign(false, "legacy tc runs its filters by priority (bpfgit's is pref " + 0xb9f
                            + "): one with a lower pref that returns a verdict decides before bpfgit's.")
                    : new Foreign(true, "it may decide packets before bpfgit's filter (pref " + 0xb9f + ") does, so"
                            + " bpfgit does not attach beside it. Detach it (tc filter del dev " + t.ifname() + " "
                            + t.direction().name().toLowerCase(java.util.Locale.ROOT) + " pref PREF), remove the"
                            + " interface from the policy," + optIn);
        };
    }

    /** Per rule of the policy, and the unit's default verdict: packets and bytes. */
    @Override
    public Function<String, UnitReport> report(Kernel kernel, LiveState live, Path unitDir) {
        List<TrafficCounters.Count> all = TrafficCounters.read(kernel, live, unitDir);
        return id -> {
            int pid = PolicyIds.of(id);
            List<TrafficCounters.Count> counts = all.stream()
                    .filter(c -> c.policy() == pid || c.policy() == 0).toList();
            List<String> lines = new ArrayList<>();
            int width = counts.stream().mapToInt(c -> c.prefix().length()).max().orElse(7);
            for (TrafficCounters.Count c : counts) {
                String action = c.rule() == null ? "" : TrafficLayout.rule(c.rule()).action().yaml;
                lines.add(String.format("%-" + width + "s  %-8s %12d packets %14d bytes", c.prefix(), action,
                        c.packets(), c.bytes()));
            }
            return new UnitReport(lines, un -> un.putPOJO("rules", new TrafficRulesJson(counts)));
        };
    }

    @Override
    public Optional<MultiCollector> metrics(Kernel kernel, Supplier<DesiredState> enforced, int maxSeries) {
        return metrics(kernel, dev.bpfgit.observe.MapReader.of(kernel), enforced, maxSeries);
    }

    @Override
    public Optional<MultiCollector> metrics(Kernel kernel, dev.bpfgit.observe.MapReader maps,
                                            Supplier<DesiredState> enforced, int maxSeries) {
        return Optional.of(new TrafficMetrics(kernel, maps, enforced, maxSeries, name()));
    }
}
