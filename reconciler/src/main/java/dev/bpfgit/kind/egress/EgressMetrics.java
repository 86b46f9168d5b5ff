package dev.bpfgit.kind.egress;

import dev.bpfgit.compile.DesiredState;
import dev.bpfgit.compile.PolicyIds;
import dev.bpfgit.compile.Unit;
import dev.bpfgit.kernel.Kernel;
import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.CounterSnapshot.CounterDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricMetadata;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/** EgressTimeout's counters per policy, read from each unit's et_counters at scrape time. */
final class EgressMetrics implements MultiCollector {
    private static final Logger LOG = LoggerFactory.getLogger(EgressMetrics.class);

    private final Kernel kernel;
    private final Supplier<DesiredState> enforced;
    private final String kind;

    EgressMetrics(Kernel kernel, Supplier<DesiredState> enforced, String kind) {
        this.kernel = kernel;
        this.enforced = enforced;
        this.kind = kind;
    }

    @Override
    public MetricSnapshots collect() {
        List<CounterDataPointSnapshot> terminated = new ArrayList<>();
        List<CounterDataPointSnapshot> applied = new ArrayList<>();
        List<CounterDataPointSnapshot> failures = new ArrayList<>();
        DesiredState desired = enforced.get();
        if (desired != null) {
            for (Unit u : desired.units()) {
                if (!u.kind().equals(kind)) {
                    continue;
                }
                Map<Integer, EgressStatus.Counts> counts;
                try {
                    counts = EgressStatus.counts(kernel, u.dir());
                } catch (RuntimeException e) {
                    LOG.debug("counters of {}: {}", u.dir(), e.toString());
                    continue;
                }
                String unit = desired.root().relativize(u.dir()).toString();
                for (String id : u.policies()) {
                    EgressStatus.Counts c = counts.getOrDefault(PolicyIds.of(id), EgressStatus.Counts.ZERO);
                    terminated.add(point(c.idleTcp(), id, unit, "idle_tcp"));
                    terminated.add(point(c.idleUdp(), id, unit, "idle_udp"));
                    terminated.add(point(c.closing(), id, unit, "closing"));
                    applied.add(new CounterDataPointSnapshot(c.applied(), Labels.of("policy", id, "unit", unit), null, 0));
                    failures.add(new CounterDataPointSnapshot(c.failed(), Labels.of("policy", id, "unit", unit), null, 0));
                }
            }
        }
        return MetricSnapshots.of(
                new CounterSnapshot(new MetricMetadata("bpfgit_egress_terminated_sockets",
                        "Sockets an EgressTimeout policy terminated: reason idle_tcp (tcpEstablished), idle_udp (any)"
                                + " or closing (tcpFin)."), terminated),
                new CounterSnapshot(new MetricMetadata("bpfgit_egress_connections",
                        "Connections an EgressTimeout policy gave its timeouts to (sock_ops)."), applied),
                new CounterSnapshot(new MetricMetadata("bpfgit_egress_failures",
                        "bpf_setsockopt or bpf_sock_destroy failures of an EgressTimeout policy."), failures));
    }

    private static CounterDataPointSnapshot point(long v, String policy, String unit, String reason) {
        return new CounterDataPointSnapshot(v, Labels.of("policy", policy, "unit", unit, "reason", reason), null, 0);
    }
}
