import dev.bpfgit.compile.DesiredState;
import dev.bpfgit.diff.Differ;
import dev.bpfgit.diff.Plan;
import dev.bpfgit.kernel.linux.LinuxKernel;
import dev.bpfgit.observe.LiveState;
import dev.bpfgit.run.Pipeline;

import java.nio.file.Path;
import java.time.Clock;
import java.util.Arrays;
import java.util.List;

/**
 * The warm diff alone, in a loop: observes the two states of ReconcileBench once each (write them first with
 * {@code ReconcileBench --write DIR N}), then diffs B against what A left in the kernel and A against what B left,
 * alternately, with no kernel call between diffs. Prints the median (p10, p90) of the thread's CPU per diff over
 * RUNS diffs after WARMUP, and the plans' entry changes (so that a tree that plans something else shows).
 * For profiling the diff (JFR) and for quick A/B of diff changes; stages-ab measures it inside the real loop.
 * Run inside a network namespace with an interface named {@code bench0} (nsenter --net=...), as root:
 *
 *   java --enable-native-access=ALL-UNNAMED -cp CLASSPATH bench/src/DiffLoop.java ROOT DIR [WARMUP] [RUNS]
 *
 * The pin root ROOT is destroyed at the end with bpfgit's own destroy plan.
 */
public class DiffLoop {
    public static void main(String[] args) throws Exception {
        Path root = Path.of(args[0]);
        Path dir = Path.of(args[1]);
        int warmup = args.length > 2 ? Integer.parseInt(args[2]) : 500;
        int runs = args.length > 3 ? Integer.parseInt(args[3]) : 1000;
        // FRESH=1: observe again (untimed) before each diff, as a reconcile does: fresh live objects, and the
        // dump's traffic through the caches; the kernel is left in state B, so every diff is A against B's kernel
        boolean fresh = "1".equals(System.getenv("FRESH"));
        LinuxKernel real = new LinuxKernel();
        Pipeline pipe = new Pipeline(real, root, Clock.systemUTC());
        DesiredState a = ReconcileBench.compile(pipe, dir.resolve("a"));
        DesiredState b = ReconcileBench.compile(pipe, dir.resolve("b"));
        try {
            pipe.apply(Differ.diff(a, pipe.observe(a)));
            LiveState liveA = pipe.observe(b);
            pipe.apply(Differ.diff(b, liveA));
            LiveState liveB = pipe.observe(a);
            var cpu = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
            long allocated = 0;
            double[] t = new double[runs];
            double[] user = new double[runs];
            long changes = 0;
            for (int r = 0; r < warmup + runs; r++) {
                boolean toB = r % 2 == 0;
                if (fresh) {
                    liveB = pipe.observe(a);
                    toB = false;
                }
                long a0 = cpu.getCurrentThreadAllocatedBytes();
                long u0 = cpu.getCurrentThreadUserTime();
                long c0 = cpu.getCurrentThreadCpuTime();
                Plan plan = toB ? Differ.diff(b, liveA) : Differ.diff(a, liveB);
                long c1 = cpu.getCurrentThreadCpuTime();
                long a1 = cpu.getCurrentThreadAllocatedBytes();
                long u1 = cpu.getCurrentThreadUserTime();
                if (r >= warmup) {
                    t[r - warmup] = (c1 - c0) / 1e6;
                    allocated += a1 - a0;
                    user[r - warmup] = (u1 - u0) / 1e6;
                    changes += plan.units().stream().mapToLong(u -> u.changes().size()).sum();
                }
            }
            Arrays.sort(t);
            // the thread's user time ticks in 10 ms steps: only its mean tells user from system time (page faults)
            System.out.printf("diff CPU median %.3f ms  p10 %.3f  p90 %.3f  (n=%d, steps per plan %.1f, %.0f KB"
                            + " allocated per diff; user CPU mean %.3f ms)%n",
                    t[runs / 2], t[runs / 10], t[runs * 9 / 10], runs, changes / (double) runs,
                    allocated / 1024.0 / runs, Arrays.stream(user).average().orElse(0));
        } finally {
            LiveState live = pipe.observe(List.of());
            dev.bpfgit.apply.Applier.apply(real, Differ.destroy(live), Clock.systemUTC());
        }
    }
}
