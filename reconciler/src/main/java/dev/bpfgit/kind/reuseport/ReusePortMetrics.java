package dev.bpfgit.kind.reuseport;

import dev.bpfgit.compile.DesiredState;
import dev.bpfgit.compile.Unit;
import dev.bpfgit.kernel.Kernel;
import dev.bpfgit.kind.reuseport.ReusePortSpec.Member;
import dev.bpfgit.policy.Policy;
import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.CounterSnapshot.CounterDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot.GaugeDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricMetadata;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Per member of each group of the enforced revision: the connections the datapath gave it and the queued
 * ones it took over (per-CPU counters summed at scrape time), whether the runtime's last pass found it
 * degraded, and how many sockets it adopted for it since this process started.
 */
final class ReusePortMetrics implements MultiCollector {
    private static final Logger LOG = LoggerFactory.getLogger(ReusePortMetrics.class);
    private static final String[] LABELS = {"policy", "member"};

    private final Kernel kernel;
    private final Supplier<DesiredState> enforced;
    private final String kind;
    private final ReusePortStats stats;

    ReusePortMetrics(Kernel kernel, Supplier<DesiredState> enforced, String kind, ReusePortStats stats) {
        this.kernel = kernel;
        this.enforced = enforced;
        this.kind = kind;
        this.stats = stats;
    }

    @Override
    public MetricSnapshots collect() {
        List<CounterDataPointSnapshot> given = new ArrayList<>();
        List<CounterDataPointSnapshot> migrated = new ArrayList<>();
        List<CounterDataPointSnapshot> adoptions = new ArrayList<>();
        List<GaugeDataPointSnapshot> degraded = new ArrayList<>();
        DesiredState desired = enforced.get();
        if (desired != null) {
            Map<String, Policy> byId = new HashMap<>();
            desired.policies().forEach(p -> byId.put(p.id(), p));
            for (Unit u : desired.units()) {
                Policy p = byId.get(u.policies().getFirst());
                if (!u.kind().equals(kind) || p == null) {
                    continue;
                }
                Map<Long, long[]> counts;
                try {
                    counts = ReusePortStatus.counts(kernel, u.dir());
                } catch (RuntimeException e) {
                    LOG.debug("counters of {}: {}", u.dir(), e.toString());
                    continue;
                }
                for (Member m : ((ReusePortSpec) p.spec()).members()) {
                    Labels l = Labels.of(LABELS, new String[]{p.id(), m.name()});
                    long[] c = counts.getOrDefault((long) m.index(), new long[2]);
                    given.add(new CounterDataPointSnapshot(c[0], l, null, 0));
                    migrated.add(new CounterDataPointSnapshot(c[1], l, null, 0));
                    adoptions.add(new CounterDataPointSnapshot(stats.adoptions(p.id(), m.name()), l, null, 0));
                    Boolean d = stats.degraded(p.id(), m.name());
                    if (d != null) {
                        degraded.add(new GaugeDataPointSnapshot(d ? 1 : 0, l, null));
                    }
                }
            }
        }
        return MetricSnapshots.of(
                new CounterSnapshot(new MetricMetadata("bpfgit_reuseport_member_connections",
                        "New connections (TCP) or flows (UDP) the ReusePortGroup program gave each member."), given),
                new CounterSnapshot(new MetricMetadata("bpfgit_reuseport_member_migrated",
                        "Connections queued on a closing listener that the program moved to each member."), migrated),
                new CounterSnapshot(new MetricMetadata("bpfgit_reuseport_member_adoptions",
                        "Listening sockets of each member bpfgit took and put in the group's map (a restart adds one)."),
                        adoptions),
                new GaugeSnapshot(new MetricMetadata("bpfgit_reuseport_member_degraded",
                        "1 when the last pass found the member without a process or listener, 0 when it serves."),
                        degraded));
    }
}
