package dev.bpfgit.kernel.linux;

import dev.bpfgit.kernel.Bytes;
import dev.bpfgit.kernel.Entry;
import dev.bpfgit.kernel.MapSpec;
import dev.bpfgit.kernel.MapType;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;

/**
 * Not a test: the wall and the CPU (this thread's and the cursor threads') of one dump of an LPM trie of N mixed-prefix /8-/32 keys, on one
 * cursor and on two, alternating (the split's threshold). As root:
 * {@code java -cp native/target/classes:native/target/test-classes:DEPS dev.bpfgit.kernel.linux.SplitDumpMicro PINDIR N...}
 */
public final class SplitDumpMicro {
    static final java.lang.management.ThreadMXBean CPU = java.lang.management.ManagementFactory.getThreadMXBean();

    /** This thread and the cursor threads. */
    static long[] dumping() {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t == Thread.currentThread() || t.getName().equals(Beside.CURSOR_THREAD))
                .mapToLong(Thread::threadId).toArray();
    }

    static long cpu(long[] ids) {
        long sum = 0;
        for (long id : ids) {
            sum += Math.max(0, CPU.getThreadCpuTime(id));
        }
        return sum;
    }

    public static void main(String[] args) throws Exception {
        LinuxKernel kernel = new LinuxKernel();
        Path dir = Path.of(args[0]);
        for (int a = 1; a < args.length; a++) {
            int n = Integer.parseInt(args[a]);
            Path pin = dir.resolve("micro" + n);
            kernel.createMap(pin, new MapSpec("micro", MapType.LPM_TRIE, 8, 24, 2 * n, MapSpec.BPF_F_NO_PREALLOC,
                    Optional.empty()));
            try {
                int id = kernel.mapInfo(pin).orElseThrow().id();
                Random r = new Random(n);
                Map<Bytes, Bytes> all = new HashMap<>();
                while (all.size() < n) {
                    all.put(SplitDumpIT.key(8 + r.nextInt(25), r.nextInt()), Bytes.wrap(new byte[24]));
                }
                List<Entry> e = new ArrayList<>();
                all.forEach((k, v) -> e.add(new Entry(k, v)));
                kernel.update(pin, e);
                List<Entry> one = kernel.entries(pin);
                SplitDump.Plan plan = SplitDumpIT.plan(one, 2);
                int runs = Math.max(200, 2_000_000 / n);
                double[][] wall = new double[2][runs];
                double[][] cpu = new double[2][runs];
                for (int i = 0; i < 2 * runs + 100; i++) {
                    int way = i % 2;
                    if (way == 0) {
                        SplitDump.forgetAll();
                    } else {
                        SplitDump.use(pin, id, plan);
                    }
                    long[] ids = dumping();
                    long c0 = cpu(ids);
                    long t0 = System.nanoTime();
                    kernel.sortedEntries(pin);
                    long t1 = System.nanoTime();
                    long c1 = cpu(ids);
                    if (i >= 100) {
                        wall[way][(i - 100) / 2] = (t1 - t0) / 1e6;
                        cpu[way][(i - 100) / 2] = (c1 - c0) / 1e6;
                    }
                }
                for (int way = 0; way < 2; way++) {
                    Arrays.sort(wall[way]);
                    Arrays.sort(cpu[way]);
                }
                System.out.printf("n=%6d  one cursor: wall %.3f (p10 %.3f) ms, CPU of all threads %.3f   two cursors: wall %.3f (p10 %.3f) ms, CPU of all threads %.3f%n",
                        n, wall[0][runs / 2], wall[0][runs / 10], cpu[0][runs / 2],
                        wall[1][runs / 2], wall[1][runs / 10], cpu[1][runs / 2]);
            } finally {
                Files.deleteIfExists(pin);
            }
        }
        SplitDump.forgetAll();
    }
}
