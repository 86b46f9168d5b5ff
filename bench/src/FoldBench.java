import dev.bpfgit.kernel.*;
import dev.bpfgit.kind.Kinds;
import dev.bpfgit.observe.*;
import dev.bpfgit.observe.Observer;
import dev.bpfgit.state.MemoryKernel;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.*;

/**
 * What the write counter's kept contents (observe/EntryCache) cost the sidecar around its own writes: thread CPU of
 * an apply's two write calls to a rule trie of N entries (200 values changed or added, 100 keys deleted) through
 * {@link EntryCache#recording}, and of the next observation, which takes the map from the cache (the writes
 * folded in). On the in-memory kernel with a counter that counts as the kernel does, so that only the cache's
 * work differs between two builds (the in-memory kernel's own writes are in the first figure of both). Run the
 * same file against two built trees for an A/B:
 *
 *   javac -d OUT -cp CLASSPATH bench/src/FoldBench.java && java -XX:+UseSerialGC -cp OUT:CLASSPATH FoldBench N ROUNDS WARMUP
 *
 * CLASSPATH: TREE/reconciler/target/bpfgit-reconciler-0.1.0-SNAPSHOT.jar, TREE/native/target/bpfgit-native-0.1.0-SNAPSHOT.jar
 * and the entries of TREE/reconciler/target/classpath.txt.
 */
public class FoldBench {
    static final Path ROOT = Path.of("/sys/fs/bpf/t");
    static final Path MAP = ROOT.resolve("traffic/eth0/xdp/rules_v4");
    static final class Counter implements MapWriteCounter {
        final Map<Integer, Long> counts = new HashMap<>();
        public void watch(int id) { counts.putIfAbsent(id, 0L); }
        public void unwatch(int id) { counts.remove(id); }
        public OptionalLong writes(int id) { Long c = counts.get(id); return c == null ? OptionalLong.empty() : OptionalLong.of(c); }
        public long unresolved() { return 0; }
        public void close() {}
    }
    static Bytes key(int i) { byte[] k = new byte[8]; k[0] = 32; k[4] = (byte) (i >>> 24 | 10); k[5] = (byte) (i >>> 16); k[6] = (byte) (i >>> 8); k[7] = (byte) i; return Bytes.wrap(k); }
    static Bytes value(int i, int gen) { byte[] v = new byte[24]; v[0] = (byte) i; v[8] = (byte) gen; return Bytes.wrap(v); }
    public static void main(String[] a) throws Exception {
        int n = Integer.parseInt(a[0]), rounds = Integer.parseInt(a[1]), warm = Integer.parseInt(a[2]);
        var bean = ManagementFactory.getThreadMXBean();
        MemoryKernel memory = new MemoryKernel(Map.of("eth0", 2), 2);
        memory.makeDirs(MAP.getParent());
        memory.createMap(MAP, new MapSpec("rules_v4", MapType.LPM_TRIE, 8, 24, n * 2, 1, Optional.empty()));
        List<Entry> init = new ArrayList<>();
        for (int i = 0; i < n; i++) init.add(new Entry(key(i), value(i, 0)));
        memory.update(MAP, init);
        int id = memory.mapInfo(MAP).orElseThrow().id();
        Counter counter = new Counter();
        Kernel counting = (Kernel) java.lang.reflect.Proxy.newProxyInstance(Kernel.class.getClassLoader(), new Class<?>[]{Kernel.class}, (p, m, args) -> {
            Object r;
            try { r = m.invoke(memory, args); } catch (java.lang.reflect.InvocationTargetException e) { throw e.getCause(); }
            if ((m.getName().equals("update") || m.getName().equals("delete")) && args[1] instanceof Collection<?> c) counter.counts.computeIfPresent(id, (k, v) -> v + c.size());
            return r;
        });
        EntryCache cache = new EntryCache(counter);
        Kernel ours = EntryCache.recording(counting, () -> cache);
        Observer.observe(Kinds.BUILT_IN, ours, ROOT, List.of(), cache);
        long[] write = new long[rounds], observe = new long[rounds];
        int extra = n;   // keys added and removed: 200 changed values + 100 added, 100 removed per round
        for (int r = 0; r < warm + rounds; r++) {
            List<Entry> put = new ArrayList<>();
            for (int i = 0; i < 200; i++) put.add(new Entry(key((r * 211 + i * 37) % n), value(i, r + 1)));
            for (int i = 0; i < 100; i++) put.add(new Entry(key(extra + r * 100 + i), value(i, r)));
            List<Bytes> del = new ArrayList<>();
            if (r > 0) for (int i = 0; i < 100; i++) del.add(key(extra + (r - 1) * 100 + i));
            long t0 = bean.getCurrentThreadCpuTime();
            ours.update(MAP, put);
            if (!del.isEmpty()) ours.delete(MAP, del);
            long t1 = bean.getCurrentThreadCpuTime();
            LiveState live = Observer.observe(Kinds.BUILT_IN, ours, ROOT, List.of(), cache);
            long t2 = bean.getCurrentThreadCpuTime();
            if (cache.read() != 0 || live.maps().get(MAP).entries().orElseThrow().size() != memory.entries(MAP).size()) throw new AssertionError("read " + cache.read());
            if (r >= warm) { write[r - warm] = t1 - t0; observe[r - warm] = t2 - t1; }
        }
        Arrays.sort(write); Arrays.sort(observe);
        System.out.printf("N=%d rounds=%d: fold (2 write calls) CPU ms median %.3f p10 %.3f p90 %.3f; next observe CPU ms median %.3f p10 %.3f p90 %.3f%n", n, rounds,
            write[rounds / 2] / 1e6, write[rounds / 10] / 1e6, write[rounds * 9 / 10] / 1e6, observe[rounds / 2] / 1e6, observe[rounds / 10] / 1e6, observe[rounds * 9 / 10] / 1e6);
    }
}
