import dev.bpfgit.apply.ApplyResult;
import dev.bpfgit.compile.DesiredState;
import dev.bpfgit.diff.Differ;
import dev.bpfgit.diff.Plan;
import dev.bpfgit.kernel.Kernel;
import dev.bpfgit.kernel.MapInfo;
import dev.bpfgit.kernel.linux.LinuxKernel;
import dev.bpfgit.observe.LiveState;
import dev.bpfgit.run.Pipeline;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Where a warm observe spends its time, beyond the dump of the rule trie: every Kernel call observe makes is
 * timed through a proxy, the rest of observe (sorting, digest, collections) is what remains. Flips between the
 * two states of ReconcileBench (write them first with {@code ReconcileBench --write DIR N}) as the warm bench
 * does, observing, diffing and applying; reports medians per stage over the measured flips. Run inside a
 * network namespace with an interface named {@code bench0} (nsenter --net=...), as root:
 *
 *   java --enable-native-access=ALL-UNNAMED -cp CLASSPATH bench/src/ObserveStages.java ROOT DIR [WARMUP] [RUNS]
 *
 * The pin root ROOT is destroyed at the end with bpfgit's own destroy plan.
 */
public class ObserveStages {
    static final Map<String, long[]> calls = new TreeMap<>();   // method -> {ns, count} of this observe
    static volatile long awaited;   // when the pins' reads' await returned
    static volatile long handedOver;   // when the rule trie was accepted for a dump (startReadPins' predicate)

    public static void main(String[] args) throws Exception {
        Path root = Path.of(args[0]);
        Path dir = Path.of(args[1]);
        int warmup = args.length > 2 ? Integer.parseInt(args[2]) : 200;
        int runs = args.length > 3 ? Integer.parseInt(args[3]) : 200;
        LinuxKernel real = new LinuxKernel();
        Kernel timed = (Kernel) Proxy.newProxyInstance(Kernel.class.getClassLoader(), new Class<?>[]{Kernel.class},
                (proxy, method, a) -> {
                    if (method.getName().equals("startReadPins")) {
                        @SuppressWarnings("unchecked")
                        java.util.function.BiPredicate<Path, MapInfo> w = (java.util.function.BiPredicate<Path, MapInfo>) a[1];
                        a[1] = (java.util.function.BiPredicate<Path, MapInfo>) (p, i) -> {
                            if (p.getFileName().toString().equals("rules_v4")) {
                                handedOver = System.nanoTime();
                            }
                            return w.test(p, i);
                        };
                    }
                    long t0 = System.nanoTime();
                    try {
                        Object result = method.invoke(real, a);
                        if (result instanceof Kernel.PendingReads pending) {
                            return (Kernel.PendingReads) () -> {
                                Kernel.PinReads reads = pending.await();
                                awaited = System.nanoTime();
                                return reads;
                            };
                        }
                        return result;
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    } finally {
                        String name = method.getName().equals("readMap") || method.getName().equals("update")
                                || method.getName().equals("delete") ? method.getName() + " " + ((Path) a[0]).getFileName()
                                : method.getName();
                        long[] c = calls.computeIfAbsent(name, k -> new long[2]);
                        c[0] += System.nanoTime() - t0;
                        c[1]++;
                    }
                });
        Pipeline pipe = new Pipeline(real, root, Clock.systemUTC());
        Pipeline timedPipe = pipe.withKernel(timed);
        DesiredState a = ReconcileBench.compile(pipe, dir.resolve("a"));
        DesiredState b = ReconcileBench.compile(pipe, dir.resolve("b"));
        try {
            pipe.apply(Differ.diff(a, pipe.observe(a)));
            Map<String, List<Double>> per = new TreeMap<>();
            Path trie = root.resolve("traffic/bench0/xdp/rules_v4");
            boolean toB = true;
            for (int r = 0; r < warmup + runs; r++) {
                DesiredState want = toB ? b : a;
                toB = !toB;
                calls.clear();
                long gc0 = ReconcileBench.gcMillis();
                long[] helpers = helperThreads();
                long h0 = cpuOf(helpers);
                long c0 = CPU.getCurrentThreadCpuTime();
                long t0 = System.nanoTime();
                LiveState live = timedPipe.observe(want);
                long t1 = System.nanoTime();
                long handed = handedOver - t0;
                long c1 = CPU.getCurrentThreadCpuTime();
                long h1 = cpuOf(helpers);
                long gc1 = ReconcileBench.gcMillis();
                Map<String, long[]> observed = new TreeMap<>(calls);
                calls.clear();
                long c2a = CPU.getCurrentThreadCpuTime();
                Plan plan = Differ.diff(want, live);
                long t2 = System.nanoTime();
                long c2 = CPU.getCurrentThreadCpuTime();
                ApplyResult res = timedPipe.apply(plan);
                long t3 = System.nanoTime();
                long c3 = CPU.getCurrentThreadCpuTime();
                Map<String, long[]> applied = new TreeMap<>(calls);
                // the trie's dump alone, right after (the C floor's "dump")
                long h4 = cpuOf(helpers);
                long c4 = CPU.getCurrentThreadCpuTime();
                long t4 = System.nanoTime();
                real.readMap(trie, (MapInfo i) -> true).orElseThrow();
                long t5 = System.nanoTime();
                long c5 = CPU.getCurrentThreadCpuTime();
                long h5 = cpuOf(helpers);
                Path v6 = root.resolve("traffic/bench0/xdp/rules_v6");
                long t6 = System.nanoTime();
                real.mapInfo(v6).orElseThrow();
                long t7 = System.nanoTime();
                real.readMap(v6, (MapInfo i) -> true).orElseThrow();
                long t8 = System.nanoTime();
                if (r < warmup) {
                    continue;
                }
                per.computeIfAbsent("v6 mapInfo alone", k -> new ArrayList<>()).add((t7 - t6) / 1e6);
                per.computeIfAbsent("v6 readMap alone", k -> new ArrayList<>()).add((t8 - t7) / 1e6);
                for (var e : applied.entrySet()) {
                    per.computeIfAbsent("  apply: kernel." + e.getKey() + " x" + e.getValue()[1], k -> new ArrayList<>())
                            .add(e.getValue()[0] / 1e6);
                }
                per.computeIfAbsent("diff, CPU of this thread", k -> new ArrayList<>()).add((c2 - c2a) / 1e6);
                per.computeIfAbsent("apply, CPU of this thread", k -> new ArrayList<>()).add((c3 - c2) / 1e6);
                per.computeIfAbsent("observe+diff+apply, CPU of this thread", k -> new ArrayList<>())
                        .add((c1 - c0 + c3 - c2a) / 1e6);
                long inKernel = 0;
                for (var e : observed.entrySet()) {
                    per.computeIfAbsent("  kernel." + e.getKey() + " x" + e.getValue()[1], k -> new ArrayList<>())
                            .add(e.getValue()[0] / 1e6);
                    inKernel += e.getValue()[0];
                }
                per.computeIfAbsent("observe", k -> new ArrayList<>()).add((t1 - t0) / 1e6);
                per.computeIfAbsent("observe: the trie accepted for its dump, from observe's start", k -> new ArrayList<>())
                        .add(handed / 1e6);
                per.computeIfAbsent("observe: after the pins' reads were awaited", k -> new ArrayList<>())
                        .add((t1 - awaited) / 1e6);
                per.computeIfAbsent("  rest of observe (Java)", k -> new ArrayList<>()).add((t1 - t0 - inKernel) / 1e6);
                per.computeIfAbsent("observe, CPU of this thread", k -> new ArrayList<>()).add((c1 - c0) / 1e6);
                // with a second thread dumping maps (bpfgit-dump), the stage's CPU is both threads' together
                per.computeIfAbsent("observe, CPU of all threads involved", k -> new ArrayList<>())
                        .add((c1 - c0 + h1 - h0) / 1e6);
                // the wall observe would take on two idle cores: the longer of the two threads' CPU
                per.computeIfAbsent("observe, critical path CPU (the longer thread)", k -> new ArrayList<>())
                        .add(Math.max(c1 - c0, h1 - h0) / 1e6);
                per.computeIfAbsent("observe+diff+apply, critical path CPU", k -> new ArrayList<>())
                        .add((Math.max(c1 - c0, h1 - h0) + c3 - c2a) / 1e6);
                per.computeIfAbsent("observe+diff+apply, CPU of all threads involved", k -> new ArrayList<>())
                        .add((c1 - c0 + h1 - h0 + c3 - c2a) / 1e6);
                per.computeIfAbsent("observe+diff+apply, wall", k -> new ArrayList<>())
                        .add((t1 - t0 + t3 - t1) / 1e6);
                per.computeIfAbsent("observe, GC pauses", k -> new ArrayList<>()).add((double) (gc1 - gc0));
                per.computeIfAbsent("diff", k -> new ArrayList<>()).add((t2 - t1) / 1e6);
                per.computeIfAbsent("apply", k -> new ArrayList<>()).add((t3 - t2) / 1e6);
                per.computeIfAbsent("trie readMap alone, CPU", k -> new ArrayList<>()).add((c5 - c4) / 1e6);
                // a split dump's other cursors run on bpfgit-dump-cursor threads
                per.computeIfAbsent("trie readMap alone, CPU of all threads", k -> new ArrayList<>())
                        .add((c5 - c4 + h5 - h4) / 1e6);
                per.computeIfAbsent("trie readMap alone", k -> new ArrayList<>()).add((t5 - t4) / 1e6);
                if (res.entriesWritten() == 0) {
                    throw new IllegalStateException("a flip wrote nothing");
                }
            }
            for (var e : per.entrySet()) {
                double[] v = e.getValue().stream().mapToDouble(Double::doubleValue).sorted().toArray();
                System.out.printf("%-44s median %8.3f ms  p10 %8.3f  p90 %8.3f  (n=%d)%n", e.getKey(),
                        v[v.length / 2], v[v.length / 10], v[v.length * 9 / 10], v.length);
            }
            String cdump = System.getenv("CDUMP");   // a C dump of the same trie, for comparison
            if (cdump != null) {
                new ProcessBuilder(cdump, trie.toString()).inheritIO().start().waitFor();
            }
        } finally {
            LiveState live = pipe.observe(List.of());
            dev.bpfgit.apply.Applier.apply(real, Differ.destroy(live), Clock.systemUTC());
        }
    }

    /**
     * The threads, other than the caller's, that observe may hand work to (a tree without them: none): the dump
     * worker and, from the twelfth session on, the cursor threads of a large trie's split dump (bpfgit-dump-cursor,
     * summed in with the worker: the "critical path" rows then take the two as one thread).
     */
    static long[] helperThreads() {
        return Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().startsWith("bpfgit-dump"))
                .mapToLong(Thread::threadId).toArray();
    }

    static long cpuOf(long[] threads) {
        long sum = 0;
        for (long id : threads) {
            long c = CPU.getThreadCpuTime(id);
            sum += Math.max(c, 0);   // -1: ended
        }
        return sum;
    }

    static final java.lang.management.ThreadMXBean CPU = java.lang.management.ManagementFactory.getThreadMXBean();
}
