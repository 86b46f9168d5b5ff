package dev.bpfgit.kind.traffic;

import dev.bpfgit.compile.DesiredState;
import dev.bpfgit.compile.PolicyIds;
import dev.bpfgit.kind.traffic.TrafficLayout;
import dev.bpfgit.compile.Unit;
import dev.bpfgit.kernel.Bytes;
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

import java.lang.ref.WeakReference;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import java.util.stream.IntStream;

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
    private final dev.bpfgit.observe.MapReader maps;
    private final Supplier<DesiredState> enforced;
    private final int maxSeries;

    private final String kind;

    TrafficMetrics(Kernel kernel, dev.bpfgit.observe.MapReader maps, Supplier<DesiredState> enforced, int maxSeries,
                   String kind) {
        this.kind = kind;
        this.kernel = kernel;
        this.maps = maps;
        this.enforced = enforced;
        this.maxSeries = maxSeries;
    }

    /**
     * What one unit's series were made of at the last scrape: the rules it showed and their label sets, in the
     * order the exposition sorts them. Kept while the enforced revision is the same object (held weakly: a view
     * does not keep a replaced revision in memory) and the unit's rule maps read the same, entry for entry (then
     * the same rules count in the same slots), so a scrape of an unchanged unit reads the counters and makes no
     * label set; any other scrape makes them anew.
     */
    private record View(WeakReference<DesiredState> desired, TrafficCounters.Shown shown, Labels[] labels,
                        int[] order) {
    }

    private final Map<Path, View> views = new ConcurrentHashMap<>();

    @Override
    public MetricSnapshots collect() {
        List<CounterDataPointSnapshot> packets = new ArrayList<>();
        List<CounterDataPointSnapshot> bytes = new ArrayList<>();
        long omitted = 0;
        DesiredState desired = enforced.get();
        Set<Path> units = new HashSet<>();
        if (desired != null) {
            Map<Integer, String> names = null;
            for (Unit u : desired.units()) {
                if (!u.kind().equals(kind)) {
                    continue;
                }
                units.add(u.dir());
                View view;
                long[] counts;
                try {
                    TrafficCounters.Shown shown = TrafficCounters.shown(live(desired.root(), u.dir()), u.dir(),
                            maxSeries - packets.size());
                    if (shown == null) {
                        views.remove(u.dir());
                        continue;
                    }
                    view = views.get(u.dir());
                    if (view == null || view.desired().get() != desired || !shown.sameRules(view.shown())) {
                        if (names == null) {
                            names = names(desired);
                        }
                        view = view(desired, shown, desired.root().relativize(u.dir()).toString(), names);
                        views.put(u.dir(), view);
                    }
                    counts = TrafficCounters.counts(kernel, u.dir(), view.shown());
                } catch (RuntimeException e) {
                    LOG.debug("counters of {}: {}", u.dir(), e.toString());
                    continue;
                }
                omitted += view.shown().total() - view.shown().size();
                for (int i : view.order()) {
                    packets.add(new CounterDataPointSnapshot(counts[2 * i], view.labels()[i], null, 0));
                    bytes.add(new CounterDataPointSnapshot(counts[2 * i + 1], view.labels()[i], null, 0));
                }
            }
        }
        views.keySet().retainAll(units);
        return MetricSnapshots.of(
                new CounterSnapshot(new MetricMetadata("bpfgit_traffic_rule_packets",
                        "Packets matched per TrafficPolicy rule (prefix \"default\": no rule matched)."), packets),
                new CounterSnapshot(new MetricMetadata("bpfgit_traffic_rule_bytes",
                        "Bytes matched per TrafficPolicy rule."), bytes),
                new GaugeSnapshot(new MetricMetadata("bpfgit_traffic_rule_series_omitted",
                        "Rules whose counters this scrape left out (over metrics.maxRuleSeries)."),
                        List.of(new GaugeDataPointSnapshot(omitted, Labels.EMPTY, null))));
    }

    private static Map<Integer, String> names(DesiredState desired) {
        Map<Integer, String> names = new HashMap<>();
        for (Policy p : desired.policies()) {
            names.put(PolicyIds.of(p.id()), p.id());
        }
        return names;
    }

    /**
     * The label sets of what {@code shown} shows, and their order by label set: the order the snapshot sorts its
     * data points in, so that its sort finds them sorted.
     */
    private static View view(DesiredState desired, TrafficCounters.Shown shown, String unit, Map<Integer, String> names) {
        Labels[] labels = new Labels[shown.size()];
        for (int i = 0; i < labels.length; i++) {
            Bytes rule = shown.rule(i);
            String policy = names.getOrDefault(rule == null ? 0 : TrafficLayout.rule(rule).policy(), "");
            String action = rule == null ? "default" : TrafficLayout.rule(rule).action().yaml;
            labels[i] = Labels.of(LABELS, new String[]{policy, unit, shown.prefix(i), action});
        }
        int[] order = IntStream.range(0, labels.length).boxed()
                .sorted(Comparator.comparing(i -> labels[i])).mapToInt(Integer::intValue).toArray();
        return new View(new WeakReference<>(desired), shown, labels, order);
    }

    /** Just what {@link TrafficCounters#read} looks at: the unit's rule maps with entries, its counters map. */
    private LiveState live(Path root, Path dir) {
        Map<Path, LiveMap> maps = new TreeMap<>();
        for (String name : List.of("rules_v4", "rules_v6", "counters")) {
            Path pin = dir.resolve(name);
            boolean entries = !name.equals("counters");
            this.maps.readMap(pin, i -> entries).ifPresent(r ->
                    maps.put(pin, new LiveMap(pin, r.info(), r.entries().map(e -> e))));
        }
        return new LiveState(root, maps, Map.of(), Map.of(), Set.of(), Meta.EMPTY, Map.of(), Map.of(), "");
    }
}
