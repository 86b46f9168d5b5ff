import dev.bpfgit.policy.PolicyLoader;
import dev.bpfgit.source.Snapshot;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Parse and validate (PolicyLoader.load) of N /32 rules, warm: prints one line per size with the median and
 * spread of RUNS runs after WARM warm-ups, and µs per rule; then the same for the process's CPU time; then the bytes
 * the loading thread allocated per rule (prefix). Args: --sizes 10000,100000 --runs 5 --warmup 3
 * --form rules|list (one rule per prefix, or one rule with prefixes: [...]) --files F (files per size).
 * Or --dir DIR: the *.yaml files of a real directory (e.g. the geo-routing example's 1.16M-prefix table),
 * per prefix (a line "- a.b.c.d/n" of a list or a "prefix:" field), N being their count.
 */
public class ParseBench {
    public static void main(String[] args) {
        List<Integer> sizes = new ArrayList<>();
        int runs = 5, warmup = 3, files = 1;
        String form = "rules";
        java.nio.file.Path dir = null;
        for (int i = 0; i < args.length; i += 2) {
            switch (args[i]) {
                case "--sizes" -> { for (String s : args[i + 1].split(",")) sizes.add(Integer.parseInt(s)); }
                case "--runs" -> runs = Integer.parseInt(args[i + 1]);
                case "--warmup" -> warmup = Integer.parseInt(args[i + 1]);
                case "--form" -> form = args[i + 1];
                case "--files" -> files = Integer.parseInt(args[i + 1]);
                case "--dir" -> dir = java.nio.file.Path.of(args[i + 1]);
                default -> throw new IllegalArgumentException(args[i]);
            }
        }
        PolicyLoader loader = new PolicyLoader();
        var os = (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        if (dir != null) {
            Map<String, String> texts = read(dir);
            files = texts.size();
            form = "dir";
            sizes = List.of(prefixes(texts));
        }
        for (int n : sizes) {
            Snapshot s = dir != null ? new Snapshot("r", read(dir)) : new Snapshot("r", policies(n, files, form));
            long bytes = s.files().values().stream().mapToLong(String::length).sum();
            double[] ms = new double[runs], cpu = new double[runs], alloc = new double[runs];
            var threads = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
            for (int i = 0; i < warmup + runs; i++) {
                long a0 = threads.getCurrentThreadAllocatedBytes();
                long c0 = os.getProcessCpuTime(), t0 = System.nanoTime();
                int count = loader.load(s).size();
                long t1 = System.nanoTime(), c1 = os.getProcessCpuTime();
                long a1 = threads.getCurrentThreadAllocatedBytes();
                if (count != files) throw new IllegalStateException(count + " policies");
                if (i >= warmup) {
                    ms[i - warmup] = (t1 - t0) / 1e6;
                    cpu[i - warmup] = (c1 - c0) / 1e6;
                    alloc[i - warmup] = (a1 - a0) / 1e6;
                }
            }
            java.util.Arrays.sort(ms);
            java.util.Arrays.sort(cpu);
            java.util.Arrays.sort(alloc);
            double med = ms[runs / 2];
            // CPU time of the whole process (collector and compiler threads included): on a loaded machine it
            // moves less than the wall time, which includes waiting for a core
            // the last column: bytes this thread allocated per rule (prefix), median of the runs
            System.out.printf("| %d | %s | %d | %.1f | %.1f-%.1f | %.2f | %.1f | %.1f-%.1f | %.2f | %.0f |%n", n, form,
                    bytes / 1024, med, ms[0], ms[runs - 1], med * 1000 / n, cpu[runs / 2], cpu[0], cpu[runs - 1],
                    cpu[runs / 2] * 1000 / n, alloc[runs / 2] * 1e6 / n);
        }
    }

    static Map<String, String> read(java.nio.file.Path dir) {
        Map<String, String> out = new TreeMap<>();
        try (var list = java.nio.file.Files.list(dir)) {
            for (java.nio.file.Path f : list.filter(x -> x.toString().endsWith(".yaml")).toList()) {
                out.put(f.getFileName().toString(), java.nio.file.Files.readString(f));
            }
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return out;
    }

    /** Prefixes written in the files: list items and prefix fields (one-line YAML, as the generator writes). */
    static int prefixes(Map<String, String> texts) {
        java.util.regex.Pattern p = java.util.regex.Pattern.compile("(?m)^\\s*- [0-9a-fA-F:.]+/\\d+\\s*$|prefix: ");
        int n = 0;
        for (String t : texts.values()) {
            n += (int) p.matcher(t).results().count();
        }
        return n;
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
