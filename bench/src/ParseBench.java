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
 * --threads 1,2: loaders reading one large file on that many threads (PolicyLoader.splitting), interleaved
 * run by run, a row each (the form column says /tN), the first the reference of the last column's ratio.
 * Or --dir DIR: the *.yaml files of a real directory (e.g. the geo-routing example's 1.16M-prefix table),
 * per prefix (a line "- a.b.c.d/n" of a list or a "prefix:" field), N being their count.
 */
public class ParseBench {
    public static void main(String[] args) {
        List<Integer> sizes = new ArrayList<>();
        int runs = 5, warmup = 3, files = 1;
        String form = "rules";
        List<Integer> threadCounts = new ArrayList<>();
        java.nio.file.Path dir = null;
        for (int i = 0; i < args.length; i += 2) {
            switch (args[i]) {
                case "--sizes" -> { for (String s : args[i + 1].split(",")) sizes.add(Integer.parseInt(s)); }
                case "--runs" -> runs = Integer.parseInt(args[i + 1]);
                case "--warmup" -> warmup = Integer.parseInt(args[i + 1]);
                case "--form" -> form = args[i + 1];
                case "--files" -> files = Integer.parseInt(args[i + 1]);
                case "--dir" -> dir = java.nio.file.Path.of(args[i + 1]);
                case "--threads" -> { for (String s : args[i + 1].split(",")) threadCounts.add(Integer.parseInt(s)); }
                default -> throw new IllegalArgumentException(args[i]);
            }
        }
        if (threadCounts.isEmpty()) threadCounts.add(Math.min(8, Runtime.getRuntime().availableProcessors()));
        List<PolicyLoader> loaders = new ArrayList<>();
        for (int t : threadCounts) loaders.add(new PolicyLoader().splitting(t));
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
            int k = loaders.size();
            double[][] ms = new double[k][runs], cpu = new double[k][runs], alloc = new double[k][runs];
            var threads = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
            for (int i = 0; i < warmup + runs; i++) {
                for (int l = 0; l < k; l++) {
                    // all threads' allocation: a split load allocates on its helper threads too
                    long a0 = allocated(threads);
                    long c0 = os.getProcessCpuTime(), t0 = System.nanoTime();
                    int count = loaders.get(l).load(s).size();
                    long t1 = System.nanoTime(), c1 = os.getProcessCpuTime();
                    long a1 = allocated(threads);
                    if (count != files) throw new IllegalStateException(count + " policies");
                    if (i >= warmup) {
                        ms[l][i - warmup] = (t1 - t0) / 1e6;
                        cpu[l][i - warmup] = (c1 - c0) / 1e6;
                        alloc[l][i - warmup] = (a1 - a0) / 1e6;
                    }
                }
            }
            double reference = 0;
            for (int l = 0; l < k; l++) {
                // the ratio: this row's median wall time over the first row's, and the spread of the run-by-run
                // ratios (runs are interleaved, so run i of both saw the same machine)
                double[] ratio = new double[runs];
                for (int i = 0; i < runs; i++) ratio[i] = ms[l][i] / ms[0][i];
                java.util.Arrays.sort(ms[l]);
                java.util.Arrays.sort(cpu[l]);
                java.util.Arrays.sort(alloc[l]);
                java.util.Arrays.sort(ratio);
                double med = ms[l][runs / 2];
                if (l == 0) reference = med;
                // CPU time of the whole process (collector and compiler threads included): on a loaded machine it
                // moves less than the wall time, which includes waiting for a core
                // then: bytes allocated per rule (prefix), median of the runs; the ratio to the first row
                System.out.printf("| %d | %s | %d | %.1f | %.1f-%.1f | %.2f | %.1f | %.1f-%.1f | %.2f | %.0f |%s%n", n,
                        form + (threadCounts.size() > 1 || threadCounts.get(0) != 1 ? "/t" + threadCounts.get(l) : ""),
                        bytes / 1024, med, ms[l][0], ms[l][runs - 1], med * 1000 / n, cpu[l][runs / 2], cpu[l][0],
                        cpu[l][runs - 1], cpu[l][runs / 2] * 1000 / n, alloc[l][runs / 2] * 1e6 / n,
                        k > 1 ? String.format(" %.2f (%.2f-%.2f) |", med / reference, ratio[0], ratio[runs - 1]) : "");
            }
        }
    }

    /** Bytes allocated by every thread of the process so far, ended ones included. */
    static long allocated(com.sun.management.ThreadMXBean threads) {
        return threads.getTotalThreadAllocatedBytes();
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
