package dev.bpfgit.kind.sockterm;

import dev.bpfgit.compile.DesiredState;
import dev.bpfgit.compile.Unit;
import dev.bpfgit.kernel.Kernel;
import dev.bpfgit.kind.UnitReport;
import dev.bpfgit.observe.LiveState;
import dev.bpfgit.observe.Meta;
import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.CounterSnapshot.CounterDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricMetadata;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * {@code status} and metrics of a policy: the sockets terminated, as the kernel counted them (the programs'
 * counters, or the netlink acknowledgements on the netlink path), and the runtime's last pass.
 */
final class SocketTerminationStatus {
    private SocketTerminationStatus() {
    }

    /** @param tcp TCP sockets terminated; @param failed destroys the kernel refused */
    record Counts(long tcp, long udp, long failed) {
        long total() {
            return tcp + udp;
        }
    }

    static Counts counts(Kernel kernel, Path dir) {
        Path pin = dir.resolve(SocketTerminationCompiler.COUNTERS);
        if (kernel.mapInfo(pin).isEmpty()) {
            return new Counts(0, 0, 0);
        }
        long[] v = new long[SocketTerminationLayout.CNT_SLOTS];
        for (int slot = 0; slot < v.length; slot++) {
            v[slot] = kernel.lookup(pin, SocketTerminationLayout.u32(slot)).map(SocketTerminationLayout::u64).orElse(0L);
        }
        return new Counts(v[SocketTerminationLayout.CNT_TCP], v[SocketTerminationLayout.CNT_UDP],
                v[SocketTerminationLayout.CNT_FAILED]);
    }

    static Function<String, UnitReport> report(Kernel kernel, LiveState live, Path dir) {
        Counts c = counts(kernel, dir);
        String rel = live.root().relativize(dir).toString();
        Optional<String> last = live.meta().get(SocketTerminationRuntime.lastKey(rel));
        Optional<String> error = live.meta().get(Meta.RUNTIME + rel + "/error");
        List<String> lines = new ArrayList<>();
        lines.add(String.format("terminated %d (tcp %d, udp %d)%s", c.total(), c.tcp(), c.udp(),
                c.failed() > 0 ? ", " + c.failed() + " failed" : ""));
        last.ifPresent(l -> lines.add("last pass: " + l));
        error.ifPresent(e -> lines.add("last error: " + e));
        UnitReport r = new UnitReport(lines, un -> {
            un.put("terminated", c.total()).put("terminatedTcp", c.tcp()).put("terminatedUdp", c.udp())
                    .put("terminateFailed", c.failed());
            un.put("lastPass", last.orElse(null));
        });
        return id -> r;
    }

    /** {@code bpfgit_sockterm_terminated_total{policy, protocol}} and {@code bpfgit_sockterm_failed_total{policy}}. */
    static MultiCollector metrics(Kernel kernel, Supplier<DesiredState> enforced, String kind) {
        return () -> {
            List<CounterDataPointSnapshot> terminated = new ArrayList<>();
            List<CounterDataPointSnapshot> failed = new ArrayList<>();
            DesiredState desired = enforced.get();
            if (desired != null) {
                for (Unit u : desired.units()) {
                    if (!u.kind().equals(kind)) {
                        continue;
                    }
                    Counts c;
                    try {
                        c = counts(kernel, u.dir());
                    } catch (RuntimeException e) {
                        continue;
                    }
                    String policy = u.policies().getFirst();
                    terminated.add(new CounterDataPointSnapshot(c.tcp(),
                            Labels.of("policy", policy, "protocol", "tcp"), null, 0));
                    terminated.add(new CounterDataPointSnapshot(c.udp(),
                            Labels.of("policy", policy, "protocol", "udp"), null, 0));
                    failed.add(new CounterDataPointSnapshot(c.failed(), Labels.of("policy", policy), null, 0));
                }
            }
            return MetricSnapshots.of(
                    new CounterSnapshot(new MetricMetadata("bpfgit_sockterm_terminated",
                            "Sockets a SocketTermination policy terminated, as the kernel counted them."), terminated),
                    new CounterSnapshot(new MetricMetadata("bpfgit_sockterm_failed",
                            "Sockets a SocketTermination policy matched but the kernel did not destroy."), failed));
        };
    }
}
