package dev.bpfgit.kind.egress;

import dev.bpfgit.compile.Le;
import dev.bpfgit.compile.PolicyIds;
import dev.bpfgit.kernel.Entry;
import dev.bpfgit.kernel.Kernel;
import dev.bpfgit.kind.UnitReport;
import dev.bpfgit.observe.LiveState;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

/**
 * {@code status} of a cgroup's unit, per policy: the connections given timeouts and the sockets terminated
 * (counted by the kernel programs), and whether a reaper ({@code bpfgit run}) enforces the idle timeouts.
 */
final class EgressStatus {
    private EgressStatus() {
    }

    /** The counters of one policy: struct et_counter. */
    record Counts(long applied, long idleTcp, long idleUdp, long closing, long failed) {
        static final Counts ZERO = new Counts(0, 0, 0, 0, 0);
    }

    static Map<Integer, Counts> counts(Kernel kernel, Path dir) {
        Map<Integer, Counts> out = new HashMap<>();
        Path pin = dir.resolve("et_counters");
        if (kernel.mapInfo(pin).isEmpty()) {
            return out;
        }
        for (Entry e : kernel.entries(pin)) {
            byte[] v = e.value().toArray();
            if (v.length < EgressLayout.COUNTER_SIZE) {
                continue;
            }
            out.put((int) Le.u32(e.key().toArray(), 0), new Counts(Le.u64(v, 0), Le.u64(v, 8), Le.u64(v, 16),
                    Le.u64(v, 24), Le.u64(v, 32)));
        }
        return out;
    }

    /** The pid of the reaper recorded for the unit, when that process still runs. */
    static Optional<String> reaper(LiveState live, Path dir) {
        return live.meta().get(EgressRuntime.metaKey(live.root().relativize(dir).toString())).filter(v -> {
            String pid = v.split(" ")[0];
            return pid.matches("\\d+") && Files.isDirectory(Path.of("/proc", pid));
        });
    }

    /** Whether an applied destination has a timeout that only the reaper enforces (read from the live tries). */
    static boolean needsReaper(Kernel kernel, Path dir) {
        for (String trie : List.of("et_dest_v4", "et_dest_v6")) {
            Path pin = dir.resolve(trie);
            if (kernel.mapInfo(pin).isEmpty()) {
                continue;
            }
            for (Entry e : kernel.entries(pin)) {
                byte[] v = e.value().toArray();
                if (v.length >= EgressLayout.TIMEOUTS_SIZE && (Le.u32(v, 8) > 0 || Le.u32(v, 12) > 0 || Le.u32(v, 20) > 0)) {
                    return true;
                }
            }
        }
        return false;
    }

    static Function<String, UnitReport> report(Kernel kernel, LiveState live, Path dir) {
        Map<Integer, Counts> counts = counts(kernel, dir);
        Optional<String> reaper = reaper(live, dir);
        boolean needed = needsReaper(kernel, dir);
        String enforcement = !needed ? "only socket-layer timeouts (tcpSyn, tcpUser): apply alone enforces them"
                : reaper.map(r -> "idle timeouts enforced by bpfgit run (pid " + r.split(" ")[0]
                        + ", every " + r.split(" ")[1] + ")")
                .orElse("no bpfgit run reaper: only the socket-layer timeouts hold (tcpSyn, tcpUser, tcpFin's"
                        + " TCP_USER_TIMEOUT); tcpEstablished, any and the termination after tcpFin need 'bpfgit run'");
        return id -> {
            Counts c = counts.getOrDefault(PolicyIds.of(id), Counts.ZERO);
            List<String> lines = new ArrayList<>();
            lines.add(String.format("%d connections given timeouts; terminated for idleness: %d tcp, %d udp;"
                    + " %d closing; %d failures", c.applied(), c.idleTcp(), c.idleUdp(), c.closing(), c.failed()));
            lines.add(enforcement);
            return new UnitReport(lines, n -> n.putObject("egress")
                    .put("connectionsApplied", c.applied())
                    .put("terminatedIdleTcp", c.idleTcp())
                    .put("terminatedIdleUdp", c.idleUdp())
                    .put("terminatedClosing", c.closing())
                    .put("failures", c.failed())
                    .put("reaper", reaper.isPresent())
                    .put("reaperNeeded", needed));
        };
    }
}
