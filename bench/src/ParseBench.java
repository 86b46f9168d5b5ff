import dev.bpfgit.policy.PolicyLoader;
import dev.bpfgit.source.Snapshot;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Parse and validate (PolicyLoader.load) of N /32 rules, warm: prints one line per size with the median and
 * spread of RUNS runs after WARM warm-ups, and µs per rule; then the same for the process's CPU time. Args: --sizes 10000,100000 --runs 5 --warmup 3
 * --form rules|list (one rule per prefix, or one rule with prefixes: [...]) --files F (files per size).
 */
public class ParseBench {
    public static void main(String[] args) {
        List<Integer> sizes = new ArrayList<>();
        int runs = 5, warmup = 3, files = 1;
        String form = "rules";
        for (int i = 0; i < args.length; i += 2) {
            switch (args[i]) {
                case "--sizes" -> { for (String s : args[i + 1].split(",")) sizes.add(Integer.parseInt(s)); }
                case "--runs" -> runs = Integer.parseInt(args[i + 1]);
                case "--warmup" -> warmup = Integer.parseInt(args[i + 1]);
                case "--form" -> form = args[i + 1];
                case "--files" -> files = Integer.parseInt(args[i + 1]);
                default -> throw new IllegalArgumentException(args[i]);
            }
        }
        PolicyLoader loader = new PolicyLoader();
        var os = (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        for (int n : sizes) {
            Snapshot s = new Snapshot("r", policies(n, files, form));
            long bytes = s.files().values().stream().mapToLong(String::length).sum();
            double[] ms = new double[runs], cpu = new double[runs];
            for (int i = 0; i < warmup + runs; i++) {
                long c0 = os.getProcessCpuTime(), t0 = System.nanoTime();
                int count = loader.load(s).size();
                long t1 = System.nanoTime(), c1 = os.getProcessCpuTime();
                if (count != files) throw new IllegalStateException(count + " policies");
                if (i >= warmup) {
                    ms[i - warmup] = (t1 - t0) / 1e6;
                    cpu[i - warmup] = (c1 - c0) / 1e6;
                }
            }
            java.util.Arrays.sort(ms);
            java.util.Arrays.sort(cpu);
            double med = ms[runs / 2];
            // CPU time of the whole process (collector and compiler threads included): on a loaded machine it
            // moves less than the wall time, which includes waiting for a core
            System.out.printf("| %d | %s | %d | %.1f | %.1f-%.1f | %.2f | %.1f | %.1f-%.1f | %.2f |%n", n, form,
                    bytes / 1024, med, ms[0], ms[runs - 1], med * 1000 / n, cpu[runs / 2], cpu[0], cpu[runs - 1],
                    cpu[runs / 2] * 1000 / n);
        }
    }

    /** N /32 rules spread over the IPv4 space, as bench/run writes them. */
    static Map<String, String> policies(int n, int files, String form) {
        Map<String, String> out = new TreeMap<>();
        for (int f = 0; f < files; f++) {
            StringBuilder sb = new StringBuilder("apiVersion: bpfgit.dev/v1\nkind: TrafficPolicy\nmetadata: {name: p")
                    .append(f).append("}\nspec:\n  interfaces: [bench0]\n  hook: xdp\n  capacity: 1048576\n  rules:\n");
            if (form.equals("list")) sb.append("    - action: drop\n      prefixes:\n");
            for (int i = f; i < n; i += files) {
                long a = (i * 2654435761L) & 0xffffffffL;
                String p = (a >>> 24) + "." + ((a >>> 16) & 255) + "." + ((a >>> 8) & 255) + "." + (a & 255) + "/32";
                if (form.equals("list")) sb.append("        - ").append(p).append('\n');
                else sb.append("    - {prefix: ").append(p).append(", action: drop}\n");
            }
            out.put("p" + f + ".yaml", sb.toString());
        }
        return out;
    }
}
