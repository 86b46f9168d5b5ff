package dev.bpfgit.kind.traffic;

import dev.bpfgit.compile.DesiredState;
import dev.bpfgit.compile.PolicyIds;
import dev.bpfgit.kind.traffic.TrafficLayout;
import dev.bpfgit.compile.Unit;
import dev.bpfgit.kernel.Kernel;
import dev.bpfgit.observe.LiveMap;
import dev.bpfgit.observe.LiveState;
import dev.bpfgit.observe.Meta;
import dev.bpfgit.kind.traffic.TrafficCounters;
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

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Supplier;

/**
 * TrafficPolicy's per-rule packet and byte counters, read from the kernel at scrape time (per-CPU slots
 * summed, see {@link TrafficCounters}) for the units of the enforced revision. A scrape reads only those
 * units' rule and counter maps, never the whole root. At most {@code maxSeries} rules are exported per
 * scrape ({@code metrics.maxRuleSeries}); {@code bpfgit_traffic_rule_series_omitted} says how many were not.
 */
final class TrafficMetrics implements MultiCollector {
    private static final Logger LOG = LoggerFactory.getLogger(TrafficMetrics.class);
    private static final String[] LABELS = {"policy", "unit", "prefix", "action"};

    private final Kernel kernel;
    private final Supplier<DesiredState> enforced;
    private final int maxSeries;

    private final String kind;

    TrafficMetrics(Kernel kernel, Supplier<DesiredState> enforced, int maxSeries, String kind) {
        this.kind = kind;
        this.kernel = kernel;
        this.enforced = enforced;
        this.maxSeries = maxSeries;
    }

    @Override
    public MetricSnapshots collect() {
        List<CounterDataPointSnapshot> packets = new ArrayList<>();
        List<CounterDataPointSnapshot> bytes = new ArrayList<>();
        long omitted = 0;
        DesiredState desired = enforced.get();
        if (desired != null) {
            Map<Integer, String> names = new HashMap<>();
            for (Policy p : desired.policies()) {
                names.put(PolicyIds.of(p.id()), p.id());
            }
            for (Unit u : desired.units()) {
                if (!u.kind().equals(kind)) {
                    continue;
                }
                TrafficCounters.Page page;
                try {
                    page = TrafficCounters.read(kernel, live(desired.root(), u.dir()), u.dir(), maxSeries - packets.size());
                } catch (RuntimeException e) {
                    LOG.debug("counters of {}: {}", u.dir(), e.toString());
                    continue;
                }
                String unit = desired.root().relativize(u.dir()).toString();
                omitted += page.total() - page.counts().size();
                for (TrafficCounters.Count c : page.counts()) {
                    String action = c.rule() == null ? "default" : TrafficLayout.rule(c.rule()).action().yaml;
                    Labels l = Labels.of(LABELS, new String[]{names.getOrDefault(c.policy(), ""), unit,
                            c.prefix(), action});
                    packets.add(new CounterDataPointSnapshot(c.packets(), l, null, 0));
                    bytes.add(new CounterDataPointSnapshot(c.bytes(), l, null, 0));
                }
            }
        }
        return MetricSnapshots.of(
                new CounterSnapshot(new MetricMetadata("bpfgit_traffic_rule_packets",
                        "Packets matched per TrafficPolicy rule (prefix \"default\": no rule matched)."), packets),
                new CounterSnapshot(new MetricMetadata("bpfgit_traffic_rule_bytes",
                        "Bytes matched per TrafficPolicy rule."), bytes),
                new GaugeSnapshot(new MetricMetadata("bpfgit_traffic_rule_series_omitted",
                        "Rules whose counters this scrape left out (over metrics.maxRuleSeries)."),
                        List.of(new GaugeDataPointSnapshot(omitted, Labels.EMPTY, null))));
    }

    /** Just what {@link TrafficCounters#read} looks at: the unit's rule maps with entries, its counters map. */
    private LiveState live(Path root, Path dir) {
        Map<Path, LiveMap> maps = new TreeMap<>();
        for (String name : List.of("rules_v4", "rules_v6", "counters")) {
            Path pin = dir.resolve(name);
            boolean entries = !name.equals("counters");
            kernel.readMap(pin, i -> entries).ifPresent(r ->
                    maps.put(pin, new LiveMap(pin, r.info(), r.entries().map(e -> e))));
        }
        return new LiveState(root, maps, Map.of(), Map.of(), Set.of(), Meta.EMPTY, Map.of(), Map.of(), "");
    }
}
