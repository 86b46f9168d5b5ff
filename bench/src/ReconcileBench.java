import dev.bpfgit.apply.Applier;
import dev.bpfgit.apply.ApplyResult;
import dev.bpfgit.compile.Compiler;
import dev.bpfgit.compile.DesiredState;
import dev.bpfgit.compile.HostFacts;
import dev.bpfgit.diff.Change;
import dev.bpfgit.diff.Differ;
import dev.bpfgit.diff.Plan;
import dev.bpfgit.diff.UnitPlan;
import dev.bpfgit.kernel.Entry;
import dev.bpfgit.kernel.TestRun;
import dev.bpfgit.kernel.linux.LinuxKernel;
import dev.bpfgit.kernel.linux.Netns;
import dev.bpfgit.kernel.MapWriteCounter;
import dev.bpfgit.observe.EntryCache;
import dev.bpfgit.observe.LiveState;
import dev.bpfgit.policy.Policy;
import dev.bpfgit.run.Pipeline;
import dev.bpfgit.source.DirectorySource;
import dev.bpfgit.source.Snapshot;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * bpfgit's side of bench/run (see bench/README.md): reconcile of a 1% change (N/100 rules added, N/100 removed,
 * N/100 changed) of TrafficPolicies with N /32 IPv4 rules, attached with XDP to a veth inside a throwaway
 * network namespace (this thread enters it with {@link Netns#call}), under its own pin root. The keys are
 * mapbench's: address i * 2654435761.
 *
 * <p>Per N: optionally mapbench first (the C floor, right before, so that both see the same machine); then the
 * initial state A is applied (untimed) and the policies flip between A and B, each flip a 1% change like
 * mapbench's s0 -> s1 -> s0: warm-up reconciles; timed warm reconciles of policies compiled beforehand
 * (observe, diff, apply); timed full-pipeline runs from the files (read, parse+validate, compile, observe,
 * diff, apply); cold runs, a new JVM through the launcher running `bpfgit apply` under nsenter. Every timed run
 * is checked, untimed: the counts written and deleted, a re-plan in sync, and the trie's contents read raw from
 * the kernel. Then BPF_PROG_TEST_RUN of the attached program (hit and miss) and of an empty XDP program, and
 * bpfgit's destroy plan. Progress on stderr, Markdown on stdout.
 *
 * <p>Run by bench/run; by hand: {@code java --source 25 -cp CLASSPATH bench/src/ReconcileBench.java --netns
 * /run/netns/X --root /sys/fs/bpf/DIR --work DIR [--sizes 10000,100000] [--runs 5] [--warmup 50] [--cold-runs 5]
 * [--launcher ./bpfgit] [--empty-prog PIN] [--mapbench PATH [--mapbench-bpftool]]}, or {@code --write DIR N}
 * to only write the two states' policy files.
 */
public final class ReconcileBench {
    static final PrintStream ERR = System.err;

    // options
    static List<Integer> sizes = List.of(10000, 100000);
    static int runs = 5;
    static int warmup = 50;
    static int coldRuns = 5;
    static Path writeCounter;           // the pinned counter map of bench/src/map_writes.bpf.c, if loaded
    static LinuxKernel kernel;
    static Path netns;
    static String ifname = "bench0";
    static Path root;
    static Path work;
    static Path launcher;
    static Path emptyProg;
    static int repeat = 1_000_000;
    static int rulesPerFile = 50000;
    static Path mapbench;
    static boolean mapbenchBpftool;
    static int pairRounds = -1;         // paired rounds per N (default: --runs)
    /** Paired rounds run first and not counted: the pairing code's own first runs (JIT) and the first subprocesses. */
    static final int PAIR_WARMUP = 2;
    static Path triedump;               // bench/src/triedump.c, built: the C dump of bpfgit's own trie
    /** --settle: before bpfgit's half of a paired round, wait until the JIT's compiler threads are idle. */
    static boolean settle;
    static final List<Double> settled = new ArrayList<>();   // ms waited per paired round
    static Map<Integer, double[]> cRef = new TreeMap<>();   // N -> dump, diff, apply, total (ms)
    static Map<Integer, double[]> cOne = new TreeMap<>();   // N -> per-entry reconcile total (ms)
    static Map<Integer, double[]> bpftool = new TreeMap<>(); // N -> bpftool -j dump ms, batch-file ns/entry
    // N -> per counted cold run: {cold apply wall ms, bpftool estimate ms of a mapbench -B run made beside it}
    static Map<Integer, List<double[]>> coldPaired = new TreeMap<>();

    /** One reconcile; read, parse and compile are 0 when the policies were compiled before. */
    record Sample(double read, double parse, double compile, double observe, double diff, double apply,
                  double gc, int written, int deleted, int planned, KW kw, double cpu) {
        double warm() {
            return observe + diff + apply;
        }

        double full() {
            return read + parse + compile + warm();
        }
    }

    /**
     * One paired round (bench/README.md, "The warm ratio paired with the C floor"): mapbench's batch reconcile
     * ({@code c}: dump, diff, apply, total ms, from one {@code mapbench -t lpm -n N -r 1}, whose whole process took
     * {@code cWall} ms of wall and {@code cCpu} ms of CPU, user + sys) and one warm reconcile of bpfgit ({@code b}),
     * C first when {@code cFirst} (ABBA over the rounds); {@code own}: triedump's LOOKUP_BATCH dump of bpfgit's own
     * rules_v4 right after bpfgit's reconcile, median wall and CPU ms of 3 dumps (null without --triedump).
     */
    record Pair(boolean cFirst, double[] c, double cWall, double cCpu, Sample b, double[] own) {
        double ratio() {
            return b.warm() / c[3];
        }

        double cpuRatio() {
            return b.cpu / c[3];
        }

        /** Against an estimate of the floor's CPU: its reconcile's wall × its whole process's CPU / wall. */
        double cpuRatioEst() {
            return b.cpu / (c[3] * Math.min(1, cCpu / cWall));
        }
    }

    record Cold(double wallMs, int written, int deleted, int exit, KW kw) {
    }

    /**
     * Map writes counted by the kernel (bench/src/map_writes.bpf.c) during one reconcile: elements updated and
     * deleted through bpf(2) in the unit's rule tries (rules_v4, rules_v6) and in every other map under the pin
     * root (bookkeeping: meta, config, ...). Null fields when no counter is loaded.
     */
    record KW(long ruleW, long ruleD, long bookW, long bookD) {
        boolean none() {
            return ruleW == 0 && ruleD == 0 && bookW == 0 && bookD == 0;
        }
    }

    record Result(int n, List<Sample> warm, List<Sample> full, List<Cold> cold, double hitNs, double missNs, double emptyNs,
                  int hitRet, int missRet, int emptyRet, KW inSyncWarm, KW inSyncCold, Cached cached, List<Pair> pairs) {
    }

    /**
     * The warm reconciles of the sidecar's path (null: the kernel has no map write counter): observe through an
     * {@link EntryCache}, with {@code read} maps read from the kernel and {@code kept} taken from the cache in all.
     */
    record Cached(List<Sample> samples, int read, int kept, int fullReads) {
    }

    /** As the sidecar (run/Sidecar.FULL_EVERY): every this many observations, the cache is dropped and every map read. */
    static final int SIDECAR_FULL_EVERY = 10;

    public static void main(String[] args) throws Exception {
        if (args.length == 3 && args[0].equals("--write")) {
            // only write the policies: --write DIR N gives DIR/a and DIR/b (for profiling by hand)
            writePolicy(Path.of(args[1], "a"), Integer.parseInt(args[2]), false);
            writePolicy(Path.of(args[1], "b"), Integer.parseInt(args[2]), true);
            return;
        }
        parse(args);
        kernel = new LinuxKernel();
        List<Result> results = new ArrayList<>();
        Netns.call(netns, () -> {
            for (int n : sizes) {
                if (mapbench != null) {
                    runMapbench(n);   // the C floor right before bpfgit, so that both see the same machine
                }
                results.add(benchSize(kernel, n));
            }
            return null;
        });
        report(results);
    }

    // ------------------------------------------------------------------ one N

    static Result benchSize(LinuxKernel kernel, int n) throws Exception {
        Path pinRoot = root.resolve("n" + n);
        Pipeline pipe = new Pipeline(kernel, pinRoot, Clock.systemUTC());
        Path dirA = work.resolve(n + "/a");
        Path dirB = work.resolve(n + "/b");
        writePolicy(dirA, n, false);
        writePolicy(dirB, n, true);
        int written = removedOf(n) + changedOf(n);   // A <-> B adds as many keys as it removes
        int deleted = removedOf(n);
        try {
            progress("N=%d: initial fill (apply of A, untimed)", n);
            Sample fill = reconcile(pipe, dirA, null, -1, -1);
            progress("N=%d: filled, %d entries written in %.0f ms (apply)", n, fill.written, fill.apply);
            Map<Path, DesiredState> compiled = Map.of(dirA, compile(pipe, dirA), dirB, compile(pipe, dirB));
            requireState(kernel, pinRoot, n, false);
            // warm-up: the JIT compiles the reconcile path; the policies are parsed once, not per warm-up
            boolean toB = true;
            for (int r = 0; r < warmup; r++) {
                Path dir = toB ? dirB : dirA;
                toB = !toB;
                long t0 = System.nanoTime();
                DesiredState desired = compiled.get(dir);
                Plan plan = Differ.diff(desired, pipe.observe(desired));
                ApplyResult a = pipe.apply(plan);
                if (a.entriesWritten() != written || a.entriesDeleted() != deleted) {
                    throw new IllegalStateException("warm-up apply wrote " + a.entriesWritten() + " and deleted "
                            + a.entriesDeleted() + ", expected " + written + " and " + deleted);
                }
                if (r == 0 || r == warmup - 1 || (r + 1) % 10 == 0) {
                    progress("N=%d warm-up %d/%d (observe+diff+apply of compiled policies): %.1f ms", n, r + 1,
                            warmup, ms(System.nanoTime() - t0));
                }
            }
            // warm: a 1% change of policies already compiled, as mapbench's desired state is built before it times
            List<Sample> samples = new ArrayList<>();
            Trace.phase = "warm " + n;
            for (int r = 0; r < runs; r++) {
                Path dir = toB ? dirB : dirA;
                Sample s = reconcile(pipe, dir, compiled.get(dir), written, deleted);
                requireState(kernel, pinRoot, n, toB);
                toB = !toB;
                progress("N=%d warm run %d/%d: observe %.1f diff %.1f apply %.1f = %.1f ms (GC %.0f ms);"
                                + " written %d deleted %d", n, r + 1, runs, s.observe, s.diff, s.apply, s.warm(), s.gc,
                        s.written, s.deleted);
                samples.add(s);
            }
            // paired rounds: mapbench's batch reconcile (one `mapbench -r 1`) and one warm reconcile of bpfgit,
            // C first in rounds 0 and 3 of every 4 (ABBA), so that a drift of the machine within a round cancels
            List<Pair> pairs = new ArrayList<>();
            Path trie = pinRoot.resolve("traffic").resolve(ifname).resolve("xdp").resolve("rules_v4");
            for (int r = -PAIR_WARMUP; mapbench != null && r < pairRounds; r++) {
                Trace.phase = (r < 0 ? "pairwarm " : "pair ") + n;
                boolean cFirst = Math.floorMod(r, 4) == 0 || Math.floorMod(r, 4) == 3;
                double[][] c = null;
                Sample s = null;
                double[] own = null;
                for (int half = 0; half < 2; half++) {
                    if ((half == 0) == cFirst) {
                        c = mapbenchOnce(n);
                    } else {
                        Path dir = toB ? dirB : dirA;
                        if (settle) {
                            double waited = settleJit();
                            if (r >= 0) {
                                settled.add(waited);
                            }
                        }
                        s = reconcile(pipe, dir, compiled.get(dir), written, deleted);
                        own = triedump == null ? null : ownDump(trie);
                        requireState(kernel, pinRoot, n, toB);
                        toB = !toB;
                    }
                }
                Pair pr = new Pair(cFirst, c[0], c[1][0], c[1][1], s, own);
                progress("N=%d %s %d/%d (%s): C %.2f ms (dump %.2f), bpfgit %.1f ms wall (observe %.1f), %.1f ms CPU:"
                                + " %.2f× wall, %.2f× CPU%s", n, r < 0 ? "warm-up pair" : "pair",
                        r < 0 ? r + PAIR_WARMUP + 1 : r + 1, r < 0 ? PAIR_WARMUP : pairRounds, cFirst ? "C first" : "bpfgit first",
                        pr.c[3], pr.c[0], s.warm(), s.observe, s.cpu, pr.ratio(), pr.cpuRatio(),
                        own == null ? "" : f("; C dump of bpfgit's trie %.2f ms", own[0]));
                if (r >= 0) {
                    pairs.add(pr);
                }
            }
            Trace.phase = "other " + n;
            Cached cached = cached(kernel, pipe, compiled, dirA, dirB, toB, written, deleted, n);
            if (cached != null && (warmup + runs) % 2 == 1) {   // the flips it made
                toB = !toB;
            }
            // the full pipeline of a new revision: read the files, parse and validate, compile, then reconcile
            List<Sample> full = new ArrayList<>();
            for (int r = 0; r < runs; r++) {
                Path dir = toB ? dirB : dirA;
                Sample s = reconcile(pipe, dir, null, written, deleted);
                requireState(kernel, pinRoot, n, toB);
                toB = !toB;
                progress("N=%d full run %d/%d: read %.1f parse+validate %.1f compile %.1f | observe %.1f diff %.1f"
                                + " apply %.1f = %.1f ms (GC in observe..apply %.0f ms)",
                        n, r + 1, runs, s.read, s.parse, s.compile, s.observe, s.diff, s.apply, s.full(), s.gc);
                full.add(s);
            }
            List<Cold> colds = new ArrayList<>();
            if (launcher != null && coldRuns > 0) {
                for (int r = 0; r < coldRuns + 1; r++) {
                    // with -B, each counted run gets its own bpftool estimate, made right before it in odd rounds
                    // and right after it in even ones: the machine's drift over the minutes between mapbench's
                    // first run and the cold runs moved the ratio by more than the code did (bench/README.md,
                    // "Quiet-machine figures at the end of the fourteenth session")
                    boolean paired = mapbenchBpftool && mapbench != null && r > 0;
                    double before = paired && r % 2 == 1 ? bpftoolEstimateOnce(n) : Double.NaN;
                    Cold c = cold(pinRoot, toB ? dirB : dirA);
                    double est = paired && r % 2 == 0 ? bpftoolEstimateOnce(n) : before;
                    if (paired) {
                        coldPaired.computeIfAbsent(n, k -> new ArrayList<>()).add(new double[]{c.wallMs, est});
                        progress("N=%d cold run %d beside a bpftool estimate of %.0f ms (%s): %.2f×", n, r, est,
                                r % 2 == 1 ? "before" : "after", c.wallMs / est);
                    }
                    toB = !toB;
                    if (c.written != written || c.deleted != deleted || c.exit != 0) {
                        throw new IllegalStateException("cold apply wrote " + c.written + " deleted " + c.deleted
                                + " (exit " + c.exit + "), expected " + written + " and " + deleted);
                    }
                    requireInSync(pipe, compiled.get(toB ? dirA : dirB), "cold apply");
                    requireState(kernel, pinRoot, n, !toB);
                    progress("N=%d cold %s %d: %.0f ms wall, written %d deleted %d", n,
                            r == 0 ? "warm-up" : "run", r == 0 ? 1 : r, c.wallMs, c.written, c.deleted);
                    if (r > 0) {
                        colds.add(c);
                    }
                }
            }
            // the state now is A when toB, else B; index 5 (i % 100 == 5) is a drop rule in both
            Path prog = pinRoot.resolve("traffic").resolve(ifname).resolve("xdp").resolve("prog");
            byte[] hit = packet(addr(5));
            byte[] miss = packet(missAddress(n));
            double[] h = testRun(kernel, prog, hit);
            double[] m = testRun(kernel, prog, miss);
            double[] e = emptyProg == null ? new double[]{Double.NaN, -1} : testRun(kernel, emptyProg, hit);
            progress("N=%d test run: hit %.1f ns (ret %d), miss %.1f ns (ret %d), empty %.1f ns (ret %d)",
                    n, h[0], (int) h[1], m[0], (int) m[1], e[0], (int) e[1]);
            if ((int) h[1] != 1 /* XDP_DROP */ || (int) m[1] != 2 /* XDP_PASS */) {
                throw new IllegalStateException("XDP verdicts: hit " + (int) h[1] + " (want 1 XDP_DROP), miss "
                        + (int) m[1] + " (want 2 XDP_PASS)");
            }
            // an apply of the state that is already live: nothing may be written, to any map, bookkeeping included
            KW syncWarm = null, syncCold = null;
            if (writeCounter != null) {
                Path now = toB ? dirA : dirB;
                Sample s = reconcile(pipe, now, compiled.get(now), 0, 0);
                syncWarm = s.kw;
                progress("N=%d in-sync apply (warm): kernel counted %s", n, syncWarm);
                if (launcher != null) {
                    Cold c = cold(pinRoot, now);
                    syncCold = c.kw;
                    progress("N=%d in-sync `bpfgit apply --yes` (cold): kernel counted %s", n, syncCold);
                }
                for (KW k : java.util.Arrays.asList(syncWarm, syncCold)) {
                    if (k != null && !k.none()) {
                        throw new IllegalStateException("an in-sync apply made map writes, counted by the kernel: " + k);
                    }
                }
            }
            return new Result(n, samples, full, colds, h[0], m[0], e[0], (int) h[1], (int) m[1], (int) e[1],
                    syncWarm, syncCold, cached, pairs);
        } finally {
            progress("N=%d: destroy (bpfgit's own destroy plan) and remove the policy files", n);
            try {
                LiveState live = pipe.observe(List.of());
                Applier.apply(kernel, Differ.destroy(live), Clock.systemUTC());
            } catch (RuntimeException ex) {
                progress("destroy failed: %s (bench/run removes the pin root)", ex);
            }
            deleteTree(work.resolve(Integer.toString(n)));
        }
    }

    /**
     * The pipeline on one directory, stage by stage: from the files, or from {@code compiled} policies (then
     * read, parse and compile are 0). Checks the counts when expected >= 0, and that a re-plan is in sync.
     */
    static Sample reconcile(Pipeline pipe, Path dir, DesiredState compiled, int expectWritten, int expectDeleted) {
        return reconcile(pipe, dir, compiled, expectWritten, expectDeleted, null);
    }

    /**
     * The sidecar's warm path on a new revision: observe through the EntryCache the sidecar builds (run/Sidecar:
     * the kernel's map write counter from mapwrites.bpf.o, the pipeline's kernel wrapped by
     * {@link EntryCache#recording} so that this process's own writes are folded into the kept contents), diff and
     * apply. A map's contents are taken from the cache only while the kernel's write counter shows no write since
     * they were read (or since ours); as the sidecar, every {@link #SIDECAR_FULL_EVERY}th observation drops the
     * cache and reads every map. Null when the kernel has no write counter. The same warm-ups, runs, checks and
     * flips as the full-read warm runs; ends with the state it started with when the runs are even.
     */
    static Cached cached(LinuxKernel kernel, Pipeline pipe, Map<Path, DesiredState> compiled, Path dirA, Path dirB,
                         boolean toB, int written, int deleted, int n) {
        MapWriteCounter counter;
        try {
            counter = kernel.mapWriteCounter(dev.bpfgit.compile.Objects.get("mapwrites.bpf.o")).orElse(null);
        } catch (RuntimeException x) {
            progress("N=%d: no map write counter (%s): no EntryCache row", n, x.getMessage());
            return null;
        }
        if (counter == null) {
            progress("N=%d: no map write counter: no EntryCache row", n);
            return null;
        }
        try (counter) {
            EntryCache cache = new EntryCache(counter);
            Pipeline sidecar = pipe.withKernel(EntryCache.recording(pipe.kernel(), () -> cache));
            Path pinRoot = pipe.root();
            int observations = 0;
            int read = 0;
            int kept = 0;
            int full = 0;
            List<Sample> samples = new ArrayList<>();
            for (int r = 0; r < warmup + runs; r++) {
                Path dir = toB ? dirB : dirA;
                if (++observations % SIDECAR_FULL_EVERY == 0) {
                    cache.forget();
                    if (r >= warmup) {
                        full++;
                    }
                }
                Sample s = reconcile(sidecar, dir, compiled.get(dir), written, deleted, cache);
                requireState(kernel, pinRoot, n, toB);
                toB = !toB;
                if (r < warmup) {
                    continue;
                }
                read += cache.read();
                kept += cache.reused();
                progress("N=%d warm run with the EntryCache %d/%d: observe %.1f diff %.1f apply %.1f = %.1f ms;"
                                + " maps read %d, kept %d", n, r + 1 - warmup, runs, s.observe, s.diff, s.apply,
                        s.warm(), cache.read(), cache.reused());
                samples.add(s);
            }
            return new Cached(samples, read, kept, full);
        }
    }

    static Sample reconcile(Pipeline pipe, Path dir, DesiredState compiled, int expectWritten, int expectDeleted,
                            EntryCache cache) {
        long t0 = System.nanoTime();
        DesiredState desired = compiled;
        long t1 = t0, t2 = t0;
        if (desired == null) {
            Snapshot snap = DirectorySource.read(dir);
            t1 = System.nanoTime();
            List<Policy> policies = Pipeline.validate(snap);
            t2 = System.nanoTime();
            HostFacts host = pipe.host("bench", Map.of());
            desired = Compiler.compile(pipe.root(), snap.revision(), policies, host);
        }
        long tc = System.nanoTime();
        Map<Integer, long[]> before = counters();   // untimed; observe and diff write nothing
        long gc0 = gcMillis();
        Trace.Snap before0 = Trace.snap();   // null unless BPFGIT_BENCH_TRACE names a file (untimed)
        long cpu0 = processCpuNs();
        long t3 = System.nanoTime();
        LiveState live = cache == null ? pipe.observe(desired) : pipe.observe(desired, cache);
        long t4 = System.nanoTime();
        Plan plan = Differ.diff(desired, live);
        long t5 = System.nanoTime();
        ApplyResult r = pipe.apply(plan);
        long t6 = System.nanoTime();
        long cpu1 = processCpuNs();
        Trace.window(before0, t3, t4, t5, t6, cpu1 - cpu0);   // untimed
        long gc = gcMillis() - gc0;
        KW kw = kernelWrites(pipe.root(), before);   // untimed
        int planned = 0;
        for (UnitPlan u : plan.units()) {
            for (Change c : u.changes()) {
                if (c instanceof Change.PutEntries p) {
                    planned += p.changes().size();
                } else if (c instanceof Change.DeleteEntries d) {
                    planned += d.changes().size();
                }
            }
        }
        if (expectWritten >= 0 && (r.entriesWritten() != expectWritten || r.entriesDeleted() != expectDeleted)) {
            throw new IllegalStateException("apply wrote " + r.entriesWritten() + " and deleted " + r.entriesDeleted()
                    + " entries, the change is " + expectWritten + " written + " + expectDeleted + " deleted");
        }
        requireKernelCount(kw, expectWritten, expectDeleted, "apply of " + dir);
        requireInSync(pipe, desired, "apply of " + dir);   // untimed
        return new Sample(ms(t1 - t0), ms(t2 - t1), ms(tc - t2), ms(t4 - t3), ms(t5 - t4), ms(t6 - t5), gc,
                r.entriesWritten(), r.entriesDeleted(), planned, kw, ms(cpu1 - cpu0));
    }

    /** Milliseconds spent in GC pauses so far, all collectors. */
    static long gcMillis() {
        long t = 0;
        for (var gc : java.lang.management.ManagementFactory.getGarbageCollectorMXBeans()) {
            t += Math.max(0, gc.getCollectionTime());
        }
        return t;
    }

    static DesiredState compile(Pipeline pipe, Path dir) {
        Snapshot snap = DirectorySource.read(dir);
        return Compiler.compile(pipe.root(), snap.revision(), Pipeline.validate(snap), pipe.host("bench", Map.of()));
    }

    static void requireInSync(Pipeline pipe, DesiredState desired, String after) {
        if (!Differ.diff(desired, pipe.observe(desired)).inSync()) {
            throw new IllegalStateException("not in sync after " + after);
        }
    }

    /**
     * Untimed, independent of bpfgit's diff: the IPv4 trie holds exactly the rules of state A (or B), read
     * raw from the kernel and decoded by hand (key: u32 prefixlen, 4 address bytes; rule.action at byte 20).
     */
    static void requireState(LinuxKernel kernel, Path pinRoot, int n, boolean b) {
        Map<Integer, Integer> want = new HashMap<>();
        for (int i = 0; i < n; i++) {
            if (!(b && i % 100 == 0)) {
                want.put(addr(i), b && i % 100 == 1 ? 0 /* pass */ : 1 /* drop */);
            }
        }
        for (int a = 0; b && a < removedOf(n); a++) {
            want.put(addr((long) n + a), 1);
        }
        Path trie = pinRoot.resolve("traffic").resolve(ifname).resolve("xdp").resolve("rules_v4");
        List<Entry> live = kernel.entries(trie);
        Map<Integer, Integer> have = new HashMap<>();
        for (Entry e : live) {
            byte[] k = e.key().toArray();
            if (k[0] != 32 || k[1] != 0 || k[2] != 0 || k[3] != 0) {
                throw new IllegalStateException("unexpected prefix length in " + e.key());
            }
            have.put((k[4] & 0xff) << 24 | (k[5] & 0xff) << 16 | (k[6] & 0xff) << 8 | (k[7] & 0xff),
                    (int) e.value().get(20));
        }
        if (live.size() != want.size() || !have.equals(want)) {
            throw new IllegalStateException("rules_v4 holds " + live.size() + " entries, not the " + want.size()
                    + " of state " + (b ? "B" : "A"));
        }
    }

    static final Pattern APPLIED = Pattern.compile("Applied revision \\S+: \\d+ steps, (\\d+) entries written, (\\d+) deleted");

    /** `bpfgit apply DIR --yes` in a fresh JVM through the launcher, in the namespace. */
    static Cold cold(Path pinRoot, Path dir) throws Exception {
        for (int attempt = 0; ; attempt++) {
            Path out = Files.createTempFile(work, "cold", ".out");
            Path err = Files.createTempFile(work, "cold", ".err");
            try {
                ProcessBuilder pb = new ProcessBuilder("nsenter", "--net=" + netns, launcher.toString(), "apply",
                        dir.toString(), "--root", pinRoot.toString(), "--host", "bench", "--yes")
                        .redirectOutput(out.toFile()).redirectError(err.toFile()).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
                Map<Integer, long[]> before = counters();
                long t0 = System.nanoTime();
                Process p = pb.start();
                if (!p.waitFor(300, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                    throw new IllegalStateException("cold apply did not finish in 300 s");
                }
                long t1 = System.nanoTime();
                String stderr = Files.readString(err);
                if (stderr.contains("bpfgit: building") && attempt < 3) {
                    progress("cold run rebuilt the project first (sources changed): not counted, again");
                    continue;
                }
                String stdout = Files.readString(out);
                KW kw = kernelWrites(pinRoot, before);
                Matcher m = APPLIED.matcher(stdout);
                if (p.exitValue() == 0 && !m.find() && stdout.contains("No changes: the host is in sync")) {
                    return new Cold(ms(t1 - t0), 0, 0, 0, kw);   // in sync
                }
                if (p.exitValue() != 0 || !m.find(0)) {
                    throw new IllegalStateException("cold apply exit " + p.exitValue() + "\n" + tail(stderr) + tail(stdout));
                }
                int written = Integer.parseInt(m.group(1)), deleted = Integer.parseInt(m.group(2));
                requireKernelCount(kw, written, deleted, "cold apply of " + dir);
                return new Cold(ms(t1 - t0), written, deleted, p.exitValue(), kw);
            } finally {
                Files.deleteIfExists(out);
                Files.deleteIfExists(err);
            }
        }
    }

    static String tail(String s) {
        String[] lines = s.split("\n");
        return String.join("\n", Arrays.asList(lines).subList(Math.max(0, lines.length - 20), lines.length)) + "\n";
    }

    /** Median of 5 BPF_PROG_TEST_RUNs of `repeat` runs each: {ns per packet, retval}. */
    static double[] testRun(LinuxKernel kernel, Path prog, byte[] packet) {
        kernel.testRun(prog, packet, repeat); // warm-up
        double[] ns = new double[5];
        int ret = -1;
        for (int i = 0; i < ns.length; i++) {
            TestRun t = kernel.testRun(prog, packet, repeat);
            ns[i] = t.durationNs();
            ret = t.retval();
        }
        return new double[]{median(ns), ret};
    }

    // --------------------------------------------------------------- policies

    /** mapbench's LPM key i: the /32 host (u32) i * 2654435761, in network order. */
    static int addr(long i) {
        return (int) (i * 2654435761L);
    }

    static String dotted(int a) {
        return (a >>> 24) + "." + (a >>> 16 & 255) + "." + (a >>> 8 & 255) + "." + (a & 255);
    }

    /**
     * Keys i &lt; N with i % 100 == 0, which B removes (and adds as many new ones): N/100 rounded up, so any N works,
     * not only multiples of 100.
     */
    static int removedOf(int n) {
        return (n + 99) / 100;
    }

    /** Keys 1 &lt;= i &lt; N with i % 100 == 1, whose action B changes. */
    static int changedOf(int n) {
        return (n + 98) / 100;
    }

    /** An address that is none of the 1.02 N keys either state uses. */
    static int missAddress(int n) {
        java.util.Set<Integer> used = new java.util.HashSet<>();
        for (long i = 0; i < n + removedOf(n) + 1; i++) {
            used.add(addr(i));
        }
        for (long i = 10L * n; ; i++) {
            if (!used.contains(addr(i))) {
                return addr(i);
            }
        }
    }

    /**
     * A: keys 0..N-1, all drop. B (mapbench's s1): keys i % 100 == 0 removed, i % 100 == 1 changed to pass,
     * N/100 new keys N, N+1, ... (drop). A -> B and B -> A are both N/100 added, removed and changed.
     * The rules are split over ceil(N / rulesPerFile) policies (files) sharing the interface; key i always
     * belongs to policy i % P, so a flip never moves a rule between policies (its value names its policy).
     */
    static void writePolicy(Path dir, int n, boolean b) throws IOException {
        Files.createDirectories(dir);
        int files = (n + rulesPerFile - 1) / rulesPerFile;
        StringBuilder[] sb = new StringBuilder[files];
        for (int f = 0; f < files; f++) {
            sb[f] = new StringBuilder(n / files * 48 + 512);
            sb[f].append("apiVersion: bpfgit.dev/v1\nkind: TrafficPolicy\nmetadata: {name: bench-").append(f)
                    .append("}\nspec:\n")
                    .append("  interfaces: [").append(ifname).append("]\n")
                    .append("  hook: xdp\n  match: source\n  default: pass\n")
                    .append("  capacity: ").append(capacity(n)).append('\n')
                    .append("  rules:\n");
        }
        int count = 0;
        for (int i = 0; i < n; i++) {
            if (b && i % 100 == 0) {
                continue;
            }
            String action = b && i % 100 == 1 ? "pass" : "drop";
            sb[i % files].append("    - {prefix: ").append(dotted(addr(i))).append("/32, action: ").append(action)
                    .append("}\n");
            count++;
        }
        for (int a = 0; count < n; a++, count++) {
            sb[(n + a) % files].append("    - {prefix: ").append(dotted(addr((long) n + a)))
                    .append("/32, action: drop}\n");
        }
        for (int f = 0; f < files; f++) {
            Files.writeString(dir.resolve(String.format("policy-%02d.yaml", f)), sb[f].toString(),
                    StandardCharsets.UTF_8);
        }
    }

    /** Room for the adds, which are written before the removals. */
    static int capacity(int n) {
        return n + n / 50 + 64;
    }

    /** Ethernet + IPv4 + UDP, 64 bytes, from {@code src}. */
    static byte[] packet(int src) {
        byte[] p = new byte[64];
        for (int i = 0; i < 6; i++) {
            p[i] = (byte) 0x02;        // dst MAC
            p[6 + i] = (byte) 0x04;    // src MAC
        }
        p[12] = 0x08; // IPv4
        p[13] = 0x00;
        int ip = 14;
        p[ip] = 0x45;
        int total = 64 - 14;
        p[ip + 2] = (byte) (total >> 8);
        p[ip + 3] = (byte) total;
        p[ip + 8] = 64;   // ttl
        p[ip + 9] = 17;   // udp
        putBe32(p, ip + 12, src);
        putBe32(p, ip + 16, 0x0a000001);
        int sum = 0;
        for (int i = 0; i < 20; i += 2) {
            sum += (p[ip + i] & 0xff) << 8 | (p[ip + i + 1] & 0xff);
        }
        while (sum >> 16 != 0) {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        sum = ~sum & 0xffff;
        p[ip + 10] = (byte) (sum >> 8);
        p[ip + 11] = (byte) sum;
        int udp = ip + 20;
        p[udp] = 0x30; p[udp + 1] = 0x39;       // 12345
        p[udp + 2] = 0x00; p[udp + 3] = 0x35;   // 53
        p[udp + 5] = (byte) (64 - udp);
        return p;
    }

    static void putBe32(byte[] b, int off, int v) {
        b[off] = (byte) (v >>> 24);
        b[off + 1] = (byte) (v >>> 16);
        b[off + 2] = (byte) (v >>> 8);
        b[off + 3] = (byte) v;
    }

    // ----------------------------------------------------------------- report

    // ------------------------------------------------------- kernel-counted writes

    /** The counter map: map id -> {elements updated, elements deleted} through bpf(2), since it was loaded. */
    static Map<Integer, long[]> counters() {
        Map<Integer, long[]> m = new HashMap<>();
        if (writeCounter == null) {
            return m;
        }
        for (Entry e : kernel.entries(writeCounter)) {
            ByteBuffer k = ByteBuffer.wrap(e.key().toArray()).order(ByteOrder.LITTLE_ENDIAN);
            ByteBuffer v = ByteBuffer.wrap(e.value().toArray()).order(ByteOrder.LITTLE_ENDIAN);
            m.put(k.getInt(0), new long[]{v.getLong(0), v.getLong(8)});
        }
        return m;
    }

    /** The ids of the maps pinned under the root, true for the rule tries. */
    static Map<Integer, Boolean> mapIds(Path pinRoot) {
        Map<Integer, Boolean> ids = new HashMap<>();
        try (var walk = Files.walk(pinRoot)) {
            for (Path p : walk.filter(Files::isRegularFile).toList()) {
                try {
                    kernel.mapInfo(p).ifPresent(i -> ids.put(i.id(),
                            p.getFileName().toString().equals("rules_v4") || p.getFileName().toString().equals("rules_v6")));
                } catch (RuntimeException notAMap) {
                    // a program or link pin
                }
            }
        } catch (IOException ex) {
            throw new java.io.UncheckedIOException(ex);
        }
        return ids;
    }

    /** The kernel's count since {@code before}, for the maps now pinned under the root. */
    static KW kernelWrites(Path pinRoot, Map<Integer, long[]> before) {
        if (writeCounter == null) {
            return null;
        }
        Map<Integer, long[]> after = counters();
        long rw = 0, rd = 0, bw = 0, bd = 0;
        for (var id : mapIds(pinRoot).entrySet()) {
            long[] a = after.getOrDefault(id.getKey(), new long[2]);
            long[] b = before.getOrDefault(id.getKey(), new long[2]);
            if (id.getValue()) {
                rw += a[0] - b[0];
                rd += a[1] - b[1];
            } else {
                bw += a[0] - b[0];
                bd += a[1] - b[1];
            }
        }
        return new KW(rw, rd, bw, bd);
    }

    static void requireKernelCount(KW kw, int expectWritten, int expectDeleted, String what) {
        if (kw != null && expectWritten >= 0 && (kw.ruleW != expectWritten || kw.ruleD != expectDeleted)) {
            throw new IllegalStateException("the kernel counted " + kw.ruleW + " rule entries written and " + kw.ruleD
                    + " deleted by the " + what + ", expected " + expectWritten + " and " + expectDeleted + " (" + kw + ")");
        }
    }

    static void report(List<Result> results) {
        PrintStream o = System.out;
        o.println("## Reconcile of a 1% change: bpfgit against the C batch floor");
        o.println();
        o.printf(Locale.ROOT, "N /32 rules; the change adds N/100 rules, removes N/100 and changes the action of N/100 (rounded up)."
                + " Medians of %d runs. Warm: one JVM, after %d warm-up reconciles, policies compiled beforehand (as"
                + " mapbench builds its desired state before timing). Full pipeline: the same JVM from the policy files"
                + " on. Cold: `bpfgit apply DIR --yes` through the launcher in the namespace, a new JVM each time"
                + " (median of %d, after 1 more). XDP: BPF_PROG_TEST_RUN of the attached program, 64-byte IPv4/UDP"
                + " frame, median of 5 × %d repeats.%n%n", runs, warmup, coldRuns, repeat);
        o.println("| N | C batch floor: dump + diff + apply ms | bpfgit warm: observe + diff + apply ms | warm / C"
                + " | bpfgit full pipeline: read + parse&validate + compile + observe + diff + apply ms"
                + " | cold CLI apply ms | map writes per reconcile | XDP ns/packet: hit / miss / empty program |");
        o.println("|---:|---|---|---:|---|---:|---|---|");
        for (Result r : results) {
            double[] c = cRef.get(r.n);
            Sample w = medians(r.warm);
            Sample f = medians(r.full);
            double warmTotal = median(r.warm.stream().mapToDouble(Sample::warm).toArray());
            double fullTotal = median(r.full.stream().mapToDouble(Sample::full).toArray());
            String cs = c == null ? "n/a" : f("%.1f + %.1f + %.1f = **%.1f**", c[0], c[1], c[2], c[3]);
            String ratio = c == null ? "n/a" : f("**%.2f×**", warmTotal / c[3]);
            String cold = r.cold.isEmpty() ? "n/a" : f("%.0f", median(r.cold.stream().mapToDouble(Cold::wallMs).toArray()));
            int n = r.n;
            String counts = f("%d written (%d added + %d changed) + %d deleted %s", w.written, removedOf(n), changedOf(n),
                    w.deleted, allExact(r) ? "= the " + (2 * removedOf(n) + changedOf(n)) + " changed entries, in every run"
                            : "**MISMATCH**");
            o.printf(Locale.ROOT, "| %d | %s | %.1f + %.1f + %.1f = **%.1f** | %s | %.1f + %.0f + %.1f + %.1f + %.1f + %.1f = %.0f"
                            + " | %s | %s | %.0f / %.0f / %.0f |%n",
                    n, cs, w.observe, w.diff, w.apply, warmTotal, ratio, f.read, f.parse, f.compile, f.observe, f.diff,
                    f.apply, fullTotal, cold, counts, r.hitNs, r.missNs, r.emptyNs);
        }
        if (results.stream().anyMatch(r -> !r.pairs.isEmpty())) {
            reportPairs(o, results);
        }
        if (results.stream().anyMatch(r -> r.cached != null)) {
            o.println();
            o.println("The sidecar's warm path on a new revision (`bpfgit run`), beside the full read above: the same flips,"
                    + " observed through the sidecar's EntryCache (observe/EntryCache: a map's contents kept from the last"
                    + " read are used only while the kernel's map write counter shows no write to it since; this process's"
                    + " own writes are folded in; every " + SIDECAR_FULL_EVERY + "th observation reads every map, as the"
                    + " sidecar does). The C floor dumps the map every time, and the issue's 1.2× target is the full-read"
                    + " row (`warm / C` above); this row is not comparable to it, it shows what the sidecar pays.");
            o.println();
            o.println("| N | C batch floor ms (dumps every time) | bpfgit warm, every map read: observe + diff + apply ms"
                    + " | bpfgit warm, sidecar's EntryCache: observe + diff + apply ms (min-max) | cached / C"
                    + " | maps read from the kernel / kept, over the runs (runs with every map read) |");
            o.println("|---:|---|---|---|---:|---|");
            for (Result r : results) {
                if (r.cached == null) {
                    o.printf(Locale.ROOT, "| %d | no map write counter in this kernel | | | | |%n", r.n);
                    continue;
                }
                double[] c = cRef.get(r.n);
                Sample w = medians(r.cached.samples());
                double total = median(r.cached.samples().stream().mapToDouble(Sample::warm).toArray());
                double warmTotal = median(r.warm.stream().mapToDouble(Sample::warm).toArray());
                o.printf(Locale.ROOT, "| %d | %s | %.1f | %.1f + %.1f + %.1f = **%.1f** (%s) | %s | %d / %d (%d of %d) |%n",
                        r.n, c == null ? "n/a" : f("%.1f", c[3]), warmTotal, w.observe, w.diff, w.apply, total,
                        range(r.cached.samples(), Sample::warm).replaceFirst("^[^(]*", "").replaceAll("[()]", ""),
                        c == null ? "n/a" : f("%.2f×", total / c[3]), r.cached.read(), r.cached.kept(),
                        r.cached.fullReads(), r.cached.samples().size());
            }
        }
        if (writeCounter != null) {
            o.println();
            o.println("Map writes per reconcile as the kernel counted them (tracepoints on bpf(2), bench/src/map_writes.bpf.c:"
                    + " elements updated and deleted per map id, read before and after each apply), next to bpfgit's own"
                    + " count (ApplyResult). Rule tries: rules_v4 + rules_v6; bookkeeping: every other map under the pin"
                    + " root. Over all warm, full-pipeline and cold runs (min-max when they differ); the bench fails when"
                    + " the kernel's rule count is not the change's (N/100 + N/100 written and N/100 deleted), or when an in-sync apply"
                    + " writes anything.");
            o.println();
            o.println("| N | bpfgit's count: written / deleted | kernel: rule tries written / deleted | kernel: bookkeeping"
                    + " maps written / deleted | in-sync apply, kernel, every map: warm / cold `bpfgit apply --yes` |");
            o.println("|---:|---|---|---|---|");
            for (Result r : results) {
                List<KW> all = new ArrayList<>();
                List<int[]> own = new ArrayList<>();
                for (Sample x : r.warm) { all.add(x.kw); own.add(new int[]{x.written, x.deleted}); }
                for (Sample x : r.full) { all.add(x.kw); own.add(new int[]{x.written, x.deleted}); }
                for (Cold x : r.cold) { all.add(x.kw); own.add(new int[]{x.written, x.deleted}); }
                o.printf(Locale.ROOT, "| %d | %s / %s | %s / %s | %s / %s | %s / %s |%n", r.n,
                        span(own.stream().mapToLong(a -> a[0]).toArray()), span(own.stream().mapToLong(a -> a[1]).toArray()),
                        span(all.stream().mapToLong(KW::ruleW).toArray()), span(all.stream().mapToLong(KW::ruleD).toArray()),
                        span(all.stream().mapToLong(KW::bookW).toArray()), span(all.stream().mapToLong(KW::bookD).toArray()),
                        inSyncText(r.inSyncWarm), inSyncText(r.inSyncCold));
            }
        }
        o.println();
        o.println("Spread: median (min-max) ms over the measured runs; GC: pause time inside observe + diff + apply.");
        o.println();
        o.println("| N | warm observe | warm diff | warm apply | warm total | GC in warm | full: parse&validate | full: compile"
                + " | full: observe + diff + apply | full total | cold CLI apply |");
        o.println("|---:|---|---|---|---|---|---|---|---|---|---|");
        for (Result r : results) {
            o.printf(Locale.ROOT, "| %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |%n", r.n,
                    range(r.warm, Sample::observe), range(r.warm, Sample::diff), range(r.warm, Sample::apply),
                    range(r.warm, Sample::warm), range(r.warm, Sample::gc), range(r.full, Sample::parse),
                    range(r.full, Sample::compile), range(r.full, Sample::warm), range(r.full, Sample::full),
                    r.cold.isEmpty() ? "n/a" : range(r.cold.stream().mapToDouble(Cold::wallMs).toArray()));
        }
        if (!cOne.isEmpty() || !bpftool.isEmpty()) {
            o.println();
            o.println("Other references from the same mapbench runs (bpftool columns need `bench/run -B`):");
            o.println();
            o.println("| N | C one-by-one (get_next_key + lookup, update/delete_elem) reconcile ms | bpfgit warm / C one-by-one"
                    + " | bpftool -j map dump ms | bpftool batch file ns/entry written | bpftool reconcile estimate ms"
                    + " (its dump + C diff + 3% of N × its batch file) | bpftool estimate / C batch floor"
                    + " | cold CLI apply / bpftool estimate, median (min-max) |");
            o.println("|---:|---:|---:|---:|---:|---:|---:|---:|");
            for (Result r : results) {
                double[] one = cOne.get(r.n);
                double[] bt = bpftool.get(r.n);
                double[] c = cRef.get(r.n);
                double warmTotal = median(r.warm.stream().mapToDouble(Sample::warm).toArray());
                String est = "n/a", estRatio = "n/a", btd = "n/a", btb = "n/a", coldRatio = "n/a";
                if (bt != null && c != null && bt[0] > 0 && bt[1] > 0) {
                    double e = bpftoolEstimate(r.n, bt[0], c[1], bt[1]);
                    if (!r.cold.isEmpty()) {
                        double[] ratios = r.cold.stream().mapToDouble(x -> x.wallMs / e).toArray();
                        coldRatio = f("%.2f×", median(ratios)) + " (" + f("%.2f", Arrays.stream(ratios).min().orElse(0))
                                + "-" + f("%.2f", Arrays.stream(ratios).max().orElse(0)) + ")";
                    }
                    est = f("%.1f", e);
                    estRatio = f("%.1f×", e / c[3]);
                    btd = f("%.1f", bt[0]);
                    btb = f("%.0f", bt[1]);
                }
                o.printf(Locale.ROOT, "| %d | %s | %s | %s | %s | %s | %s | %s |%n", r.n,
                        one == null ? "n/a" : f("%.1f", one[0]), one == null ? "n/a" : f("%.2f×", warmTotal / one[0]),
                        btd, btb, est, estRatio, coldRatio);
            }
        }
        if (!coldPaired.isEmpty()) {
            o.println();
            o.println("The cold CLI apply paired with the bpftool estimate, round by round: beside each counted cold"
                    + " run, one `mapbench -t lpm -n N -r 1 -B` (its bpftool -j dump, its C diff, its batch file's"
                    + " ns/entry × 3% of N), made right before the cold run in odd rounds and right after it in even"
                    + " ones; the ratio is taken per pair. The column above divides by one estimate made minutes"
                    + " earlier, before the warm runs.");
            o.println();
            o.println("| N | pairs | bpftool estimate ms, median (min-max) | cold CLI apply ms, median (min-max)"
                    + " | **cold / bpftool estimate, per pair**: median (min-max) | per pair, in round order |");
            o.println("|---:|---:|---|---|---|---|");
            for (Map.Entry<Integer, List<double[]>> e : coldPaired.entrySet()) {
                double[] cold = e.getValue().stream().mapToDouble(x -> x[0]).toArray();
                double[] est = e.getValue().stream().mapToDouble(x -> x[1]).toArray();
                double[] ratio = e.getValue().stream().mapToDouble(x -> x[0] / x[1]).toArray();
                StringBuilder order = new StringBuilder();
                for (double x : ratio) {
                    order.append(order.isEmpty() ? "" : ", ").append(f("%.2f", x));
                }
                o.printf(Locale.ROOT, "| %d | %d | %s | %s | **%s** | %s |%n", e.getKey(), ratio.length, range(est),
                        range(cold), f("%.2f×", median(ratio)) + " (" + f("%.2f", Arrays.stream(ratio).min().orElse(0))
                                + "-" + f("%.2f", Arrays.stream(ratio).max().orElse(0)) + ")", order);
            }
        }
    }

    /** The paired rounds: per-pair ratios with their spread, wall and CPU, and the dump on the same trie. */
    static void reportPairs(PrintStream o, List<Result> results) {
        o.println();
        o.println("### The warm reconcile paired with the C floor, round by round");
        o.println();
        o.println("Each round: one `mapbench -t lpm -n N -r 1` (its batch reconcile row, the official floor) and one warm"
                + " reconcile of bpfgit (one flip in the same warm JVM), in the order C-bpfgit, bpfgit-C, bpfgit-C,"
                + " C-bpfgit, ... (ABBA), so that a drift of the machine cancels; the ratio is taken per pair. The row"
                + " above divides medians of runs made one after the other (mapbench's R runs first), which follow the"
                + " machine's drift. bpfgit's CPU: CLOCK_PROCESS_CPUTIME_ID of its JVM over observe + diff + apply, every"
                + " thread (a second dump cursor, JIT and GC threads included). The floor is one thread: its CPU is its"
                + " wall while it is not descheduled; `CPU / C wall` takes it so, which favours bpfgit when the machine"
                + " is loaded; `CPU / C CPU est.` scales the floor's wall by its whole process's CPU over wall in that"
                + " round (mapbench's user + sys over wall from /usr/bin/time; 0.97-0.99 on a machine with a free core).");
        if (settle && !settled.isEmpty()) {
            o.println();
            o.printf(Locale.ROOT, "With --settle: before bpfgit's reconcile in each round the bench waited until the JIT's"
                            + " compiler threads were idle (30 ms without 0.1 ms of their CPU, at most 3 s; untimed): %s ms"
                            + " waited, median (min-max). The compilations the reconcile itself starts still run in its"
                            + " window.%n", range(settled.stream().mapToDouble(Double::doubleValue).toArray()));
        } else {
            o.println();
            o.println("Without --settle: the JIT may still be compiling what the bench's own code (mapbench's output"
                    + " read, the checks between reconciles) queued when bpfgit's reconcile starts; that CPU is in the"
                    + " window (bench/README.md, wip/warm16).");
        }
        o.println();
        o.println("| N | pairs | C floor: dump + diff + apply ms, medians | bpfgit warm wall: observe + diff + apply ms, medians"
                + " | **bpfgit / C, wall, per pair**: median (p10-p90) [min-max] | bpfgit warm CPU ms, all threads, median"
                + " (min-max) | **bpfgit CPU / C wall, per pair**: median (p10-p90) [min-max] | bpfgit CPU / C CPU est., per"
                + " pair: median (p10-p90) [min-max] | ratio of the medians, wall / CPU | mapbench process: CPU / wall,"
                + " median (min-max) |");
        o.println("|---:|---:|---|---|---|---|---|---|---|---|");
        for (Result r : results) {
            if (r.pairs.isEmpty()) {
                continue;
            }
            List<Pair> ps = r.pairs;
            double cd = median(ps.stream().mapToDouble(x -> x.c[0]).toArray());
            double cf = median(ps.stream().mapToDouble(x -> x.c[1]).toArray());
            double ca = median(ps.stream().mapToDouble(x -> x.c[2]).toArray());
            double ct = median(ps.stream().mapToDouble(x -> x.c[3]).toArray());
            List<Sample> bs = ps.stream().map(Pair::b).toList();
            Sample w = medians(bs);
            double bt = median(bs.stream().mapToDouble(Sample::warm).toArray());
            o.printf(Locale.ROOT, "| %d | %d | %.2f + %.2f + %.2f = %.2f (%s) | %.1f + %.1f + %.1f = %.1f (%s) | **%s** | %s | **%s** | %s | %.2f× / %.2f× | %s |%n",
                    r.n, ps.size(), cd, cf, ca, ct, minMax(ps.stream().mapToDouble(x -> x.c[3]).toArray()),
                    w.observe, w.diff, w.apply, bt, minMax(bs.stream().mapToDouble(Sample::warm).toArray()),
                    spread(ps.stream().mapToDouble(Pair::ratio).toArray(), "×"), range(bs, Sample::cpu),
                    spread(ps.stream().mapToDouble(Pair::cpuRatio).toArray(), "×"),
                    spread(ps.stream().mapToDouble(Pair::cpuRatioEst).toArray(), "×"), bt / ct, w.cpu / ct,
                    range(ps.stream().mapToDouble(x -> x.cCpu / x.cWall).toArray(), "%.2f"));
        }
        if (results.stream().anyMatch(r -> r.pairs.stream().anyMatch(x -> x.own != null))) {
            o.println();
            o.println("The dump part on the very same kernel object (additional evidence; the floor stays mapbench's):"
                    + " in the bpfgit half of each round, right after bpfgit's reconcile, bench/src/triedump.c (our own C)"
                    + " dumps bpfgit's pinned rules_v4 with LOOKUP_BATCH in chunks of 10000 as mapbench does (median of 3"
                    + " dumps, after an untimed one). mapbench dumps a trie it has just created and filled.");
            o.println();
            o.println("| N | mapbench's dump of its own trie ms | triedump: C dump of bpfgit's rules_v4, wall / CPU ms"
                    + " | bpfgit observe ms (wall) | observe / mapbench's dump, per pair | **observe / C dump of the same trie,"
                    + " per pair** | C dump of bpfgit's trie / mapbench's dump, per pair |");
            o.println("|---:|---|---|---|---|---|---|");
            for (Result r : results) {
                List<Pair> ps = r.pairs.stream().filter(x -> x.own != null).toList();
                if (ps.isEmpty()) {
                    continue;
                }
                o.printf(Locale.ROOT, "| %d | %s | %s / %s | %s | %s | **%s** | %s |%n", r.n,
                        range(ps.stream().mapToDouble(x -> x.c[0]).toArray()),
                        range(ps.stream().mapToDouble(x -> x.own[0]).toArray()),
                        range(ps.stream().mapToDouble(x -> x.own[1]).toArray()),
                        range(ps.stream().mapToDouble(x -> x.b.observe).toArray()),
                        spread(ps.stream().mapToDouble(x -> x.b.observe / x.c[0]).toArray(), "×"),
                        spread(ps.stream().mapToDouble(x -> x.b.observe / x.own[0]).toArray(), "×"),
                        spread(ps.stream().mapToDouble(x -> x.own[0] / x.c[0]).toArray(), "×"));
            }
        }
        o.println();
        for (Result r : results) {
            if (!r.pairs.isEmpty()) {
                StringBuilder sb = new StringBuilder();
                for (Pair x : r.pairs) {
                    sb.append(sb.isEmpty() ? "" : ", ").append(x.cFirst ? "C-b " : "b-C ")
                            .append(f("%.2f/%.2f", x.ratio(), x.cpuRatio()));
                }
                double[] cf = r.pairs.stream().filter(Pair::cFirst).mapToDouble(Pair::ratio).toArray();
                double[] bf = r.pairs.stream().filter(x -> !x.cFirst).mapToDouble(Pair::ratio).toArray();
                o.printf(Locale.ROOT, "N=%d, per pair in round order (order, wall ratio / CPU ratio): %s; after %d"
                                + " warm-up pairs not counted. Median wall ratio of the pairs with C first %.2f×, with"
                                + " bpfgit first %.2f×.%n%n", r.n, sb, PAIR_WARMUP, median(cf), median(bf));
            }
        }
    }

    /** median (p10-p90) [min-max] with the unit after each figure; p10 and p90 interpolated. */
    static String spread(double[] v, String unit) {
        double[] c = v.clone();
        Arrays.sort(c);
        return f("%.2f%s (%.2f-%.2f) [%.2f-%.2f]", median(c), unit, pct(c, 0.1), pct(c, 0.9), c[0], c[c.length - 1]);
    }

    static String minMax(double[] v) {
        return f("%.1f-%.1f", Arrays.stream(v).min().orElse(0), Arrays.stream(v).max().orElse(0));
    }

    static double pct(double[] sorted, double q) {
        double x = q * (sorted.length - 1);
        int i = (int) Math.floor(x);
        return i + 1 < sorted.length ? sorted[i] + (x - i) * (sorted[i + 1] - sorted[i]) : sorted[i];
    }

    static String span(long[] v) {
        long lo = Arrays.stream(v).min().orElse(0), hi = Arrays.stream(v).max().orElse(0);
        return lo == hi ? Long.toString(lo) : lo + "-" + hi;
    }

    static String inSyncText(KW k) {
        return k == null ? "n/a" : k.none() ? "**0**" : f("%d/%d rules, %d/%d bookkeeping", k.ruleW, k.ruleD, k.bookW, k.bookD);
    }

    static boolean allExact(Result r) {
        int w = removedOf(r.n) + changedOf(r.n), d = removedOf(r.n);
        return java.util.stream.Stream.concat(r.warm.stream(), r.full.stream())
                .allMatch(s -> s.written == w && s.deleted == d && s.planned == w + d)
                && r.cold.stream().allMatch(s -> s.written == w && s.deleted == d);
    }

    static Sample medians(List<Sample> s) {
        return new Sample(med(s, Sample::read), med(s, Sample::parse), med(s, Sample::compile), med(s, Sample::observe),
                med(s, Sample::diff), med(s, Sample::apply), med(s, Sample::gc), s.getFirst().written,
                s.getFirst().deleted, s.getFirst().planned, s.getFirst().kw, med(s, Sample::cpu));
    }

    static double med(List<Sample> s, java.util.function.ToDoubleFunction<Sample> f) {
        return median(s.stream().mapToDouble(f).toArray());
    }

    static String range(List<Sample> s, java.util.function.ToDoubleFunction<Sample> f) {
        return range(s.stream().mapToDouble(f).toArray());
    }

    static String range(double[] v) {
        return range(v, "%.1f");
    }

    /** median (min-max), each in {@code fmt}. */
    static String range(double[] v, String fmt) {
        double[] c = v.clone();
        Arrays.sort(c);
        return f(fmt + " (" + fmt + "-" + fmt + ")", median(c), c[0], c[c.length - 1]);
    }

    static double median(double[] v) {
        double[] c = v.clone();
        Arrays.sort(c);
        int n = c.length;
        return n == 0 ? Double.NaN : n % 2 == 1 ? c[n / 2] : (c[n / 2 - 1] + c[n / 2]) / 2;
    }

    static String f(String fmt, Object... a) {
        return String.format(Locale.ROOT, fmt, a);
    }

    static double ms(long ns) {
        return ns / 1e6;
    }

    static void progress(String fmt, Object... a) {
        ERR.println("bench: " + f(fmt, a));
    }

    static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) {
            return;
        }
        try (var w = Files.walk(p)) {
            for (Path x : w.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(x);
            }
        }
    }

    // ---------------------------------------------------------------- options

    static void parse(String[] args) {
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            String v = i + 1 < args.length ? args[i + 1] : null;
            switch (a) {
                case "--sizes" -> sizes = Arrays.stream(v.split(",")).map(Integer::parseInt).toList();
                case "--runs" -> runs = Integer.parseInt(v);
                case "--warmup" -> warmup = Integer.parseInt(v);
                case "--cold-runs" -> coldRuns = Integer.parseInt(v);
                case "--netns" -> netns = Path.of(v);
                case "--ifname" -> ifname = v;
                case "--root" -> root = Path.of(v);
                case "--work" -> work = Path.of(v);
                case "--launcher" -> launcher = Path.of(v);
                case "--write-counter" -> writeCounter = Path.of(v);
                case "--empty-prog" -> emptyProg = Path.of(v);
                case "--repeat" -> repeat = Integer.parseInt(v);
                case "--rules-per-file" -> rulesPerFile = Integer.parseInt(v);
                case "--mapbench" -> mapbench = Path.of(v).toAbsolutePath();
                case "--pairs" -> pairRounds = Integer.parseInt(v);
                case "--triedump" -> triedump = Path.of(v).toAbsolutePath();
                case "--mapbench-bpftool" -> {
                    mapbenchBpftool = true;
                    i--;   // a flag: takes no value
                }
                case "--settle" -> {
                    settle = true;
                    i--;   // a flag: takes no value
                }
                // N:dump:diff:apply:total[,...] from mapbench's reconcile breakdown (lpm_trie, batch)
                case "--c-batch" -> parseRef(v, cRef);
                // N:total[,...] lpm_trie per-entry reconcile
                case "--c-one" -> parseRef(v, cOne);
                // N:bpftool -j dump ms:bpftool batch file ns/entry[,...]
                case "--bpftool" -> parseRef(v, bpftool);
                default -> throw new IllegalArgumentException("unknown option " + a);
            }
            i++;
        }
        if (pairRounds < 0) {
            pairRounds = runs;
        }
        if (netns == null || root == null || work == null) {
            throw new IllegalArgumentException("--netns, --root and --work are required");
        }
    }

    /**
     * Runs mapbench for the LPM trie at one size (stdout saved as {@code work/mapbench-N.md}, progress on
     * stderr) and reads its reconcile breakdown (and, with -B, bpftool's dump and batch-file figures).
     */
    static void runMapbench(int n) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(mapbench.toString(), "-t", "lpm", "-n", Integer.toString(n),
                "-r", Integer.toString(runs)));
        if (mapbenchBpftool) {
            cmd.addAll(List.of("-B", "-w", work.toString()));
        }
        progress("C reference: %s", String.join(" ", cmd));
        Path out = work.resolve("mapbench-" + n + ".md");
        Process p = new ProcessBuilder(cmd).directory(mapbench.getParent().toFile())
                .redirectOutput(out.toFile()).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        if (p.waitFor() != 0) {
            throw new IllegalStateException("mapbench failed (exit " + p.exitValue() + ")");
        }
        for (String line : Files.readAllLines(out)) {
            String[] c = Arrays.stream(line.split("\\|", -1)).map(String::strip).toArray(String[]::new);
            // | lpm_trie | N | batch | dump | diff | apply | total | written | ns/change |
            double[] batch = batchRow(c, n);
            if (batch != null) {
                cRef.put(n, batch);
            } else if (c.length == 11 && c[1].equals("lpm_trie") && c[2].equals(Integer.toString(n))) {
                if (c[3].equals("per-entry")) {
                    cOne.put(n, new double[]{num(c[7])});
                }
            }
            if (bpftoolDump(c, n) > 0) {
                bpftool.computeIfAbsent(n, k -> new double[2])[0] = bpftoolDump(c, n);
            }
            if (bpftoolBatchNs(c, n) > 0) {
                bpftool.computeIfAbsent(n, k -> new double[2])[1] = bpftoolBatchNs(c, n);
            }
        }
        if (!cRef.containsKey(n)) {
            throw new IllegalStateException("no lpm_trie batch reconcile row for N=" + n + " in " + out);
        }
    }

    /**
     * One {@code mapbench -t lpm -n N -r 1} under /usr/bin/time: {{dump, diff, apply, total} ms of its batch
     * reconcile, {wall, user + sys CPU} ms of the whole process}.
     */
    /**
     * mapbench's batch reconcile row for the LPM trie at N, {@code | lpm_trie | N | batch | dump | diff | apply | total
     * | written | ns/change |} split on '|': {dump, diff, apply, total} ms; null for any other row.
     */
    static double[] batchRow(String[] c, int n) {
        if (c.length == 11 && c[1].equals("lpm_trie") && c[2].equals(Integer.toString(n)) && c[3].equals("batch")) {
            return new double[]{num(c[4]), num(c[5]), num(c[6]), num(c[7])};
        }
        return null;
    }

    /** mapbench -B's {@code | lpm_trie | N | C one ms | C batch ms | bpftool dump ms | bpftool -j dump ms | ratio | ratio |}: the -j dump ms, else -1. */
    static double bpftoolDump(String[] c, int n) {
        return c.length == 10 && c[1].equals("lpm_trie") && c[2].equals(Integer.toString(n)) && isNum(c[6]) ? num(c[6]) : -1;
    }

    /** mapbench -B's {@code | lpm_trie | N | fill: bpftool batch file | ms | ns/entry | rate | min-max |}: ns/entry, else -1. */
    static double bpftoolBatchNs(String[] c, int n) {
        return c.length == 9 && c[1].equals("lpm_trie") && c[2].equals(Integer.toString(n))
                && c[3].equals("fill: bpftool batch file") ? num(c[5]) : -1;
    }

    /** bpftool's reconcile of the 1% change, estimated: its -j dump + the C diff + its batch file's ns/entry × the changes. */
    static double bpftoolEstimate(int n, double dumpMs, double cDiffMs, double batchNsPerEntry) {
        return dumpMs + cDiffMs + batchNsPerEntry * (2.0 * removedOf(n) + changedOf(n)) / 1e6;
    }

    /** One {@code mapbench -t lpm -n N -r 1 -B}: the bpftool estimate of that moment, ms. */
    static double bpftoolEstimateOnce(int n) throws Exception {
        Path out = work.resolve("mapbench-bpftool-" + n + ".md");
        Path err = work.resolve("mapbench-bpftool-" + n + ".err");
        Process p = new ProcessBuilder(mapbench.toString(), "-t", "lpm", "-n", Integer.toString(n), "-r", "1", "-B",
                "-w", work.toString()).directory(mapbench.getParent().toFile()).redirectOutput(out.toFile())
                .redirectError(err.toFile()).start();
        if (p.waitFor() != 0) {
            ERR.print(Files.readString(err));
            throw new IllegalStateException("mapbench -r 1 -B failed (exit " + p.exitValue() + ")");
        }
        double dump = -1, ns = -1, diff = -1;
        for (String line : Files.readAllLines(out)) {
            String[] c = Arrays.stream(line.split("\\|", -1)).map(String::strip).toArray(String[]::new);
            double[] batch = batchRow(c, n);
            if (batch != null) {
                diff = batch[1];
            }
            dump = Math.max(dump, bpftoolDump(c, n));
            ns = Math.max(ns, bpftoolBatchNs(c, n));
        }
        if (dump <= 0 || ns <= 0 || diff < 0) {
            throw new IllegalStateException("no bpftool -j dump, batch file or batch reconcile row for N=" + n + " in " + out);
        }
        return bpftoolEstimate(n, dump, diff, ns);
    }

    static double[][] mapbenchOnce(int n) throws Exception {
        Path out = work.resolve("mapbench-pair-" + n + ".md");
        Path time = work.resolve("mapbench-pair-" + n + ".time");
        Process p = new ProcessBuilder("/usr/bin/time", "-o", time.toString(), "-f", "%e %U %S", mapbench.toString(),
                "-t", "lpm", "-n", Integer.toString(n), "-r", "1").directory(mapbench.getParent().toFile())
                .redirectOutput(out.toFile()).redirectError(work.resolve("mapbench-pair-" + n + ".err").toFile()).start();
        if (p.waitFor() != 0) {
            ERR.print(Files.readString(work.resolve("mapbench-pair-" + n + ".err")));
            throw new IllegalStateException("mapbench -r 1 failed (exit " + p.exitValue() + ")");
        }
        double[] c = null;
        for (String line : Files.readAllLines(out)) {
            double[] batch = batchRow(Arrays.stream(line.split("\\|", -1)).map(String::strip).toArray(String[]::new), n);
            if (batch != null) {
                c = batch;
            }
        }
        if (c == null) {
            throw new IllegalStateException("no lpm_trie batch reconcile row for N=" + n + " in " + out);
        }
        String[] t = Files.readString(time).strip().split("\\s+");
        double[] proc = {num(t[t.length - 3]) * 1000, (num(t[t.length - 2]) + num(t[t.length - 1])) * 1000};
        return new double[][]{c, proc};
    }

    /** triedump (bench/src/triedump.c) on bpfgit's pinned trie: median {wall, CPU} ms of 3 LOOKUP_BATCH dumps. */
    static double[] ownDump(Path trie) throws Exception {
        Process p = new ProcessBuilder(triedump.toString(), trie.toString(), "3")
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IllegalStateException("triedump failed (exit " + p.exitValue() + ")");
        }
        List<double[]> d = new ArrayList<>();
        for (String line : out.split("\n")) {
            String[] x = line.strip().split(" ");
            if (x.length == 4 && x[0].equals("dump")) {
                d.add(new double[]{num(x[1]) / 1e6, num(x[2]) / 1e6});
            }
        }
        if (d.isEmpty()) {
            throw new IllegalStateException("triedump printed no dump: " + out);
        }
        return new double[]{median(d.stream().mapToDouble(a -> a[0]).toArray()),
                median(d.stream().mapToDouble(a -> a[1]).toArray())};
    }

    /**
     * Waits until the JVM's JIT compiler threads (C1, C2: "C1 CompilerThre", "C2 CompilerThre" in
     * /proc/self/task/TID/comm) have run for no more than 0.1 ms over the last 30 ms, at most 3 s; the ms waited.
     * What the bench's own code queued for compilation (mapbench's output read, the checks after a reconcile) is
     * then compiled before bpfgit's reconcile starts, not during it; the compilations the reconcile itself starts
     * still run in its window.
     */
    static double settleJit() throws Exception {
        long t0 = System.nanoTime();
        List<Path> compilers = new ArrayList<>();
        try (var dir = Files.newDirectoryStream(Path.of("/proc/self/task"))) {
            for (Path t : dir) {
                try {
                    String comm = Files.readString(t.resolve("comm"));
                    if (comm.startsWith("C1 Compiler") || comm.startsWith("C2 Compiler")) {
                        compilers.add(t.resolve("schedstat"));
                    }
                } catch (IOException gone) {
                    // the thread ended
                }
            }
        }
        long last = compilerNs(compilers);
        while (System.nanoTime() - t0 < 3_000_000_000L) {
            Thread.sleep(30);
            long now = compilerNs(compilers);
            if (now - last <= 100_000) {
                break;
            }
            last = now;
        }
        return ms(System.nanoTime() - t0);
    }

    static long compilerNs(List<Path> schedstats) {
        long sum = 0;
        for (Path p : schedstats) {
            try {
                sum += Long.parseLong(Files.readString(p).split(" ")[0]);
            } catch (IOException | RuntimeException gone) {
                // a compiler thread ended (the JVM stops idle ones)
            }
        }
        return sum;
    }

    /**
     * An opt-in trace of every timed reconcile's window (environment BPFGIT_BENCH_TRACE=FILE; off otherwise, and
     * then nothing is read): one line per reconcile with its phase, the window's System.nanoTime() bounds (the
     * clock of -Xlog's {@code timenanos} decorator, so that JIT, GC and safepoint log lines can be placed in or
     * out of it), the process CPU, the CPU of each group of the JVM's threads from /proc/self/task/TID/schedstat
     * (ns; read right before and after the window, outside it) and the bytes the Java threads allocated.
     */
    static final class Trace {
        static final String FILE = System.getenv("BPFGIT_BENCH_TRACE");
        static String phase = "?";
        static int seq;

        record Snap(Map<String, Long> cpu, long allocated, int threads) {
        }

        static Snap snap() {
            if (FILE == null) {
                return null;
            }
            Map<String, Long> cpu = new TreeMap<>();
            int threads = 0;
            try (var dir = Files.newDirectoryStream(Path.of("/proc/self/task"))) {
                for (Path t : dir) {
                    try {
                        String comm = Files.readString(t.resolve("comm")).strip();
                        long ns = Long.parseLong(Files.readString(t.resolve("schedstat")).split(" ")[0]);
                        cpu.merge(group(comm), ns, Long::sum);
                        threads++;
                    } catch (IOException | RuntimeException gone) {
                        // the thread ended
                    }
                }
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
            var mx = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
            long alloc = 0;
            for (long b : mx.getThreadAllocatedBytes(mx.getAllThreadIds())) {
                alloc += Math.max(0, b);
            }
            return new Snap(cpu, alloc, threads);
        }

        static String group(String comm) {
            if (comm.startsWith("C2 Compiler")) return "C2";
            if (comm.startsWith("C1 Compiler")) return "C1";
            if (comm.startsWith("VM Thread")) return "VMThread";
            if (comm.startsWith("bpfgit-dump-cu")) return "cursor";
            if (comm.startsWith("bpfgit-dump")) return "dump";
            if (comm.equals("java") || comm.startsWith("main")) return "main";
            return "other";
        }

        static void window(Snap before, long t3, long t4, long t5, long t6, long processCpu) {
            if (before == null) {
                return;
            }
            Snap after = snap();
            StringBuilder b = new StringBuilder();
            b.append(String.format(Locale.ROOT, "%d %s t0=%d obs=%d diff=%d apply=%d wall=%d pcpu=%d alloc=%d thr=%d",
                    seq++, phase.replace(' ', ':'), t3, t4 - t3, t5 - t4, t6 - t5, t6 - t3, processCpu,
                    after.allocated - before.allocated, after.threads));
            for (var e : after.cpu.entrySet()) {
                b.append(' ').append(e.getKey()).append('=').append(e.getValue() - before.cpu.getOrDefault(e.getKey(), 0L));
            }
            try {
                Files.writeString(Path.of(FILE), b.append('\n'), java.nio.file.StandardOpenOption.CREATE,
                        java.nio.file.StandardOpenOption.APPEND);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }
    }

    /**
     * CPU time of this whole process so far, every thread (clock_gettime(CLOCK_PROCESS_CPUTIME_ID), ns): JIT and
     * GC threads and any helper thread of the dump included.
     */
    static long processCpuNs() {
        try {
            int rc = (int) CLOCK_GETTIME.invokeExact(2 /* CLOCK_PROCESS_CPUTIME_ID */, TIMESPEC);
            if (rc != 0) {
                throw new IllegalStateException("clock_gettime failed");
            }
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
        return TIMESPEC.get(java.lang.foreign.ValueLayout.JAVA_LONG, 0) * 1_000_000_000L
                + TIMESPEC.get(java.lang.foreign.ValueLayout.JAVA_LONG, 8);
    }

    static final java.lang.foreign.MemorySegment TIMESPEC = java.lang.foreign.Arena.global().allocate(16, 8);
    static final java.lang.invoke.MethodHandle CLOCK_GETTIME = java.lang.foreign.Linker.nativeLinker().downcallHandle(
            java.lang.foreign.Linker.nativeLinker().defaultLookup().findOrThrow("clock_gettime"),
            java.lang.foreign.FunctionDescriptor.of(java.lang.foreign.ValueLayout.JAVA_INT,
                    java.lang.foreign.ValueLayout.JAVA_INT, java.lang.foreign.ValueLayout.ADDRESS));

    static boolean isNum(String s) {
        return s.matches("[0-9.]+");
    }

    static double num(String s) {
        return Double.parseDouble(s);
    }

    static void parseRef(String v, Map<Integer, double[]> into) {
        if (v == null || v.isBlank()) {
            return;
        }
        for (String part : v.split(",")) {
            String[] f = part.split(":");
            double[] d = new double[f.length - 1];
            for (int i = 1; i < f.length; i++) {
                d[i - 1] = Double.parseDouble(f[i]);
            }
            into.put(Integer.parseInt(f[0]), d);
        }
    }
}
