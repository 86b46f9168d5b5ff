package dev.bpfgit.kind.reuseport;

import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;
import dev.bpfgit.compile.Le;
import dev.bpfgit.kernel.Entry;
import dev.bpfgit.kernel.Kernel;
import dev.bpfgit.kind.UnitReport;
import dev.bpfgit.observe.LiveState;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

/**
 * {@code status} of a group: per member, what the runtime last found (its listeners, or why it is
 * degraded) and the connections the datapath gave it.
 */
final class ReusePortStatus {
    private ReusePortStatus() {
    }

    /** @param state the runtime's record: {@code <name> ok <listeners>} or {@code <name> degraded <reason>} */
    record MemberStatus(int index, String name, boolean degraded, String detail, long selected, long migrated) {
    }

    static Function<String, UnitReport> report(Kernel kernel, LiveState live, Path dir) {
        List<MemberStatus> members = read(kernel, live, dir);
        Optional<String> program = live.meta().get(ReusePortRuntime.programKey(live.root().relativize(dir).toString()));
        List<String> lines = new ArrayList<>();
        program.ifPresent(p -> lines.add("program " + p));
        for (MemberStatus m : members) {
            String what = m.index() == ReusePortLayout.NO_MEMBER ? "(left to the kernel)"
                    : m.degraded() ? "degraded: " + m.detail() : m.detail();
            lines.add(String.format("%-12s %10d selected %8d migrated  %s", m.name(), m.selected(), m.migrated(), what));
        }
        UnitReport r = new UnitReport(lines, un -> {
            program.ifPresent(p -> un.put("program", p));
            ArrayNode a = un.putArray("members");
            for (MemberStatus m : members) {
                ObjectNode o = a.addObject().put("index", m.index()).put("name", m.name());
                if (m.index() != ReusePortLayout.NO_MEMBER) {
                    o.put("degraded", m.degraded()).put(m.degraded() ? "reason" : "listeners", m.detail());
                }
                o.put("selected", m.selected()).put("migrated", m.migrated());
            }
        });
        return id -> r;
    }

    /** Per counter key, {selected, migrated} summed over the CPUs; empty when the unit has no counters map. */
    static Map<Long, long[]> counts(Kernel kernel, Path dir) {
        Map<Long, long[]> counts = new HashMap<>();
        Path counters = dir.resolve("rp_counters");
        if (kernel.mapInfo(counters).isPresent()) {
            int cpus = kernel.possibleCpus();
            for (Entry e : kernel.entries(counters)) {
                byte[] v = e.value().toArray();
                long[] sum = new long[2];
                for (int c = 0; c < cpus && (c + 1) * ReusePortLayout.COUNTER_SIZE <= v.length; c++) {
                    sum[0] += Le.u64(v, c * ReusePortLayout.COUNTER_SIZE);
                    sum[1] += Le.u64(v, c * ReusePortLayout.COUNTER_SIZE + 8);
                }
                counts.put(Le.u32(e.key().toArray(), 0), sum);
            }
        }
        return counts;
    }

    static List<MemberStatus> read(Kernel kernel, LiveState live, Path dir) {
        String rel = live.root().relativize(dir).toString();
        Map<Long, long[]> counts = live.maps().containsKey(dir.resolve("rp_counters")) ? counts(kernel, dir)
                : new HashMap<>();
        List<MemberStatus> out = new ArrayList<>();
        for (int i = 0; i < ReusePortLayout.MAX; i++) {
            Optional<String> state = live.meta().get(ReusePortRuntime.metaKey(rel, i));
            if (state.isEmpty()) {
                continue;
            }
            String[] parts = state.get().split(" ", 3);
            long[] c = counts.getOrDefault((long) i, new long[2]);
            out.add(new MemberStatus(i, parts[0], parts.length > 1 && parts[1].equals("degraded"),
                    parts.length > 2 ? parts[2] : "", c[0], c[1]));
        }
        long[] none = counts.getOrDefault((long) ReusePortLayout.NO_MEMBER, new long[2]);
        out.add(new MemberStatus(ReusePortLayout.NO_MEMBER, "none", false, "", none[0], none[1]));
        return out;
    }
}
