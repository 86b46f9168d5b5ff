package dev.bpfgit.kernel.linux;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The splice of {@link SplitDump} against a model of the kernel's LPM trie batch lookup: a sorted map in the
 * trie's order whose lookup, like the kernel's, finds each entry by the successor of the one before and restarts
 * from the first key when that one is gone; a hook may change the map after every entry returned.
 */
class SplitDumpTest {
    static final int K = 8;    // u32 prefix length + IPv4
    static final int V = 4;
    static final int CHUNK = 1 << 14;

    private final ThreadPoolExecutor pool = Beside.cursors(3, 200, TimeUnit.MILLISECONDS);

    @AfterEach
    void stop() throws InterruptedException {
        pool.shutdownNow();
        assertTrue(pool.awaitTermination(5, TimeUnit.SECONDS));
    }

    static byte[] key(int prefixLen, int addr) {
        int masked = prefixLen == 0 ? 0 : addr & (-1 << (32 - prefixLen));
        return ByteBuffer.allocate(K).order(ByteOrder.nativeOrder()).putInt(prefixLen)
                .order(ByteOrder.BIG_ENDIAN).putInt(masked).array();
    }

    static String show(byte[] k) {
        ByteBuffer b = ByteBuffer.wrap(k);
        int len = b.order(ByteOrder.nativeOrder()).getInt(0);
        int a = b.order(ByteOrder.BIG_ENDIAN).getInt(4);
        return (a >>> 24) + "." + (a >>> 16 & 255) + "." + (a >>> 8 & 255) + "." + (a & 255) + "/" + len;
    }

    /** The kernel's generic batch lookup over an LPM trie, in a model. */
    static final class Trie implements SplitDump.Source {
        final TreeMap<byte[], byte[]> map = new TreeMap<>((a, b) -> SplitDump.compare(a, 0, b, 0, K));
        Consumer<byte[]> afterEach = k -> { };
        int calls;
        int returned;

        @Override
        public synchronized long lookup(byte[] from, int count, byte[] keys, byte[] values, int at) {
            calls++;
            byte[] prev = from;
            int cp = 0;
            while (cp < count) {
                Map.Entry<byte[], byte[]> e = prev == null || !map.containsKey(prev) ? map.firstEntry() : map.higherEntry(prev);
                if (e == null) {
                    returned += cp;
                    return cp | 1L << 32;
                }
                System.arraycopy(e.getKey(), 0, keys, (at + cp) * K, K);
                System.arraycopy(e.getValue(), 0, values, (at + cp) * V, V);
                prev = e.getKey();
                cp++;
                afterEach.accept(prev);
            }
            returned += cp;
            return cp;
        }

        synchronized List<String> now() {
            return map.keySet().stream().map(SplitDumpTest::show).toList();
        }

        synchronized SplitDump.Packed single() {
            byte[] keys = new byte[map.size() * K];
            byte[] values = new byte[map.size() * V];
            int n = 0;
            for (var e : map.entrySet()) {
                System.arraycopy(e.getKey(), 0, keys, n * K, K);
                System.arraycopy(e.getValue(), 0, values, n * V, V);
                n++;
            }
            return new SplitDump.Packed(keys, values, n);
        }
    }

    /** Mixed prefix lengths (8-32), nested and apart. */
    static Trie trie(int n, long seed) {
        Trie t = new Trie();
        Random r = new Random(seed);
        while (t.map.size() < n) {
            int len = 8 + r.nextInt(25);
            byte[] k = key(len, r.nextInt(1 << 20) << 12 | r.nextInt(4096));
            t.map.put(k, ByteBuffer.allocate(V).putInt(r.nextInt()).array());
        }
        return t;
    }

    static List<String> keys(SplitDump.Packed p) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < p.count(); i++) {
            out.add(show(Arrays.copyOfRange(p.keys(), i * K, (i + 1) * K)));
        }
        return out;
    }

    Function<List<Callable<SplitDump.Part>>, List<SplitDump.Part>> parallel() {
        return tasks -> Beside.all(pool, tasks);
    }

    /** Runs the segments one after the other, the last first (the order the threads may take). */
    static Function<List<Callable<SplitDump.Part>>, List<SplitDump.Part>> backwards(Runnable afterAll) {
        return tasks -> {
            SplitDump.Part[] out = new SplitDump.Part[tasks.size()];
            for (int j = tasks.size() - 1; j >= 0; j--) {
                try {
                    out[j] = tasks.get(j).call();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }
            afterAll.run();
            return Arrays.asList(out);
        };
    }

    static SplitDump.Plan planOf(Trie t, int k) {
        SplitDump.Packed p = t.single();
        return SplitDump.planOf(p.keys(), p.count(), K, k);
    }

    static void assertStrictlyIncreasing(SplitDump.Packed p) {
        for (int i = 1; i < p.count(); i++) {
            assertTrue(SplitDump.compare(p.keys(), (i - 1) * K, p.keys(), i * K, K) < 0, "entry " + i);
        }
    }

    @Test
    void theOrderIsTheTriesPostOrder() {
        // the kernel's own example (kernel/bpf/lpm_trie.c, trie_get_next_key): more specific first
        List<byte[]> kernelOrder = List.of(key(24, 0xc0a80000), key(24, 0xc0a80100), key(24, 0xc0a88000),
                key(16, 0xc0a80000));
        for (int i = 0; i + 1 < kernelOrder.size(); i++) {
            assertTrue(SplitDump.compare(kernelOrder.get(i), 0, kernelOrder.get(i + 1), 0, K) < 0, "pair " + i);
            assertTrue(SplitDump.compare(kernelOrder.get(i + 1), 0, kernelOrder.get(i), 0, K) > 0, "pair " + i);
        }
        // apart: the first differing bit decides, whatever the lengths
        assertTrue(SplitDump.compare(key(16, 0x0a000000), 0, key(24, 0x0a010000), 0, K) < 0);
        assertTrue(SplitDump.compare(key(9, 0x0a000000), 0, key(32, 0x0a800001), 0, K) < 0);
        assertTrue(SplitDump.compare(key(32, 0x0a7fffff), 0, key(9, 0x0a800000), 0, K) < 0);
        // host bits beyond the prefix do not count: the same trie node
        byte[] hostBits = key(24, 0x0a000000);
        hostBits[7] = 9;
        assertEquals(0, SplitDump.compare(key(24, 0x0a000000), 0, hostBits, 0, K));
        assertEquals(0, SplitDump.compare(key(0, 0), 0, key(0, 0), 0, K));
        assertTrue(SplitDump.compare(key(1, 0), 0, key(0, 0), 0, K) < 0);
    }

    @Test
    void anUnchangedMapIsTheSingleCursorDumpWithOneCallPerSegment() throws Exception {
        for (int n : new int[]{2, 3, 7, 100, 5000}) {
            for (int k = 2; k <= 4; k++) {
                Trie t = trie(n, n * 31L + k);
                SplitDump.Plan plan = planOf(t, k);
                if (n < k) {
                    assertNull(plan);
                    continue;
                }
                assertNotNull(plan, n + " " + k);
                SplitDump.Packed single = t.single();
                t.calls = 0;
                t.returned = 0;
                SplitDump.Packed split = SplitDump.dump(t, K, V, plan, CHUNK, parallel());
                assertEquals(keys(single), keys(split), n + " entries, " + k + " cursors");
                assertArrayEquals(Arrays.copyOf(single.values(), n * V), Arrays.copyOf(split.values(), split.count() * V));
                assertEquals(k, t.calls, "one call per segment: the first ends exactly at the next split key");
                assertEquals(n, t.returned, "nothing read twice");
            }
        }
    }

    @Test
    void segmentsLongerThanAChunkTakeSeveralCalls() {
        Trie t = trie(5000, 7);
        SplitDump.Packed split = SplitDump.dump(t, K, V, planOf(t, 2), 300, parallel());
        assertEquals(keys(t.single()), keys(split));
        assertEquals(5000, t.returned);
    }

    @Test
    void aDeletedSplitKeyLosesItsSegmentAndTheSegmentBeforeCoversIt() {
        for (int k = 2; k <= 4; k++) {
            for (int gone = 0; gone < k - 1; gone++) {
                Trie t = trie(4000, k * 10L + gone);
                SplitDump.Plan plan = planOf(t, k);
                t.map.remove(plan.splits()[gone]);
                // and the key just before it (the one the segment before would have ended at)
                t.map.remove(t.map.lowerKey(plan.splits()[gone]));
                t.returned = 0;
                SplitDump.Packed split = SplitDump.dump(t, K, V, plan, CHUNK, parallel());
                assertEquals(t.now(), keys(split), k + " cursors, split key " + gone + " gone");
                // the segment before stopped past the missing key: the rare case costs the lost segment twice
                assertTrue(t.returned <= t.map.size() + 2 * plan.counts()[gone + 1] + 64,
                        k + " cursors, split key " + gone + " gone: read " + t.returned + " of " + t.map.size());
            }
        }
        // every split key gone: each segment but the first lost
        Trie t = trie(4000, 99);
        SplitDump.Plan plan = planOf(t, 4);
        for (byte[] s : plan.splits()) {
            t.map.remove(s);
        }
        assertEquals(t.now(), keys(SplitDump.dump(t, K, V, plan, CHUNK, parallel())));
    }

    @Test
    void aLostSegmentWhoseStartBeforeIsGoneToo() {
        // segment 1 lost; before the re-dump the last key segment 0 kept is deleted: the re-dump restarts and skips
        Trie t = trie(3000, 5);
        SplitDump.Plan plan = planOf(t, 3);
        byte[] lastOfZero = t.map.lowerKey(plan.splits()[0]);
        t.map.remove(plan.splits()[0]);
        SplitDump.Packed split = SplitDump.dump(t, K, V, plan, CHUNK, backwards(() -> t.map.remove(lastOfZero)));
        List<String> want = new ArrayList<>(t.now());
        want.add(want.indexOf(show(t.map.lowerKey(lastOfZero))) + 1, show(lastOfZero));   // read before it went
        assertEquals(want, keys(split));
    }

    @Test
    void equalUnorderedOrForeignSplitKeysCostTimeNotEntries() {
        Trie t = trie(3000, 11);
        SplitDump.Plan good = planOf(t, 3);
        List<String> want = t.now();
        byte[][] s = good.splits();
        List<SplitDump.Plan> bad = List.of(
                new SplitDump.Plan(new byte[][]{s[0], s[0]}, new int[]{1000, 0, 2000}),
                new SplitDump.Plan(new byte[][]{s[1], s[0]}, new int[]{2000, 10, 1000}),
                new SplitDump.Plan(new byte[][]{key(8, 0x0a000000), key(32, 0x0a0000ff)}, new int[]{5, 5, 5}),
                new SplitDump.Plan(new byte[][]{s[0], s[1]}, new int[]{0, 0, 0}),
                new SplitDump.Plan(new byte[][]{s[0], s[1]}, new int[]{100_000, 100_000, 100_000}));
        for (SplitDump.Plan p : bad) {
            SplitDump.Packed split = SplitDump.dump(t, K, V, p, CHUNK, parallel());
            assertEquals(want, keys(split), Arrays.toString(p.counts()));
            split = SplitDump.dump(t, K, V, p, 64, backwards(() -> { }));
            assertEquals(want, keys(split), Arrays.toString(p.counts()));
        }
    }

    @Test
    void segmentsThatOverrunOrFallShortOfTheirEnd() {
        Trie t = trie(4000, 13);
        SplitDump.Plan plan = planOf(t, 2);
        // segment 0 grows by 500 keys (its first call falls short), segment 1 shrinks by 1000
        Random r = new Random(1);
        byte[] mid = plan.splits()[0];
        int added = 0;
        while (added < 500) {
            byte[] k = key(32, r.nextInt());
            if (SplitDump.compare(k, 0, mid, 0, K) < 0 && t.map.put(k, new byte[V]) == null) {
                added++;
            }
        }
        List<byte[]> after = new ArrayList<>(t.map.tailMap(mid, false).keySet());
        after.subList(0, 1000).forEach(t.map::remove);
        t.returned = 0;
        SplitDump.Packed split = SplitDump.dump(t, K, V, plan, CHUNK, parallel());
        assertEquals(t.now(), keys(split));
        // segment 0 went on in calls of 16, 32, ... and stopped at its end: it did not read segment 1 through
        assertTrue(t.returned < t.map.size() + 600, "read " + t.returned + " of " + t.map.size());
        // the other way: segment 0 shrinks (its first call overruns into segment 1)
        List<byte[]> before = new ArrayList<>(t.map.headMap(mid, false).keySet());
        before.subList(0, 1200).forEach(t.map::remove);
        plan = new SplitDump.Plan(plan.splits(), new int[]{3000, 1000});
        assertEquals(t.now(), keys(SplitDump.dump(t, K, V, plan, CHUNK, parallel())));
    }

    /**
     * Foreign writes while the segments run: keys outside a protected set are inserted and deleted, the key just
     * returned among them (the cursor then restarts from the first key), split keys included.
     */
    @Test
    void concurrentWritesKeepEveryProtectedKeyOnceAndNoKeyTwice() {
        for (int round = 0; round < 40; round++) {
            Trie t = trie(3000, 1000 + round);
            Random r = new Random(round);
            Set<String> protectedKeys = new HashSet<>();
            for (byte[] k : t.map.keySet()) {
                if (r.nextInt(3) == 0) {
                    protectedKeys.add(show(k));
                }
            }
            int k = 2 + round % 3;
            SplitDump.Plan plan = planOf(t, k);
            Set<String> ever = new HashSet<>(t.now());
            Random w = new Random(round * 7L);
            t.afterEach = returned -> {
                if (w.nextInt(300) == 0 && !protectedKeys.contains(show(returned))) {
                    t.map.remove(returned);   // the cursor's own key: a restart
                }
                if (w.nextInt(60) == 0) {
                    byte[] fresh = key(8 + w.nextInt(25), w.nextInt());
                    if (!t.map.containsKey(fresh)) {
                        t.map.put(fresh, new byte[V]);
                        ever.add(show(fresh));
                    }
                }
                if (w.nextInt(60) == 0) {
                    byte[] any = t.map.ceilingKey(key(32, w.nextInt()));
                    if (any != null && !protectedKeys.contains(show(any))) {
                        t.map.remove(any);
                    }
                }
            };
            SplitDump.Packed split = SplitDump.dump(t, K, V, plan, round % 2 == 0 ? CHUNK : 97,
                    round % 4 < 2 ? parallel() : backwards(() -> { }));
            assertStrictlyIncreasing(split);   // so no key twice
            List<String> got = keys(split);
            assertTrue(got.containsAll(protectedKeys), "round " + round);
            assertTrue(ever.containsAll(got), "round " + round);
        }
    }

    @Test
    void aFailureIsThrownAfterEverySegmentFinished() {
        Trie t = trie(3000, 3);
        SplitDump.Plan plan = planOf(t, 3);
        SplitDump.Source failing = (from, count, keys, values, at) -> {
            if (from != null && SplitDump.compare(from, 0, plan.splits()[0], 0, K) == 0) {
                throw new IllegalStateException("dump map x: EINTR");
            }
            return t.lookup(from, count, keys, values, at);
        };
        IllegalStateException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class,
                () -> SplitDump.dump(failing, K, V, plan, CHUNK, parallel()));
        assertEquals("dump map x: EINTR", e.getMessage());
        assertEquals(plan.counts()[0] + plan.counts()[2], t.returned, "the other segments ran to their ends");
    }

    @Test
    void thePlanIsFromTheLastDumpAndOnlyForLargeMaps() {
        assertEquals(1, SplitDump.cursors(SplitDump.PER_CURSOR * 2 - 1, 8));
        assertEquals(2, SplitDump.cursors(SplitDump.PER_CURSOR * 2, 8));
        assertEquals(1, SplitDump.cursors(100_000, 1));
        assertEquals(SplitDump.MAX_CURSORS, SplitDump.cursors(100_000, 64));
        Trie t = trie(10, 1);
        SplitDump.Packed p = t.single();
        SplitDump.Plan plan = SplitDump.planOf(p.keys(), 10, K, 3);
        assertEquals(List.of(3, 3, 4), Arrays.stream(plan.counts()).boxed().toList());
        assertEquals(List.of(t.now().get(2), t.now().get(5)), Arrays.stream(plan.splits()).map(SplitDumpTest::show).toList());
        // a dump that restarted (not increasing at a split position) leaves no plan
        byte[] restarted = Arrays.copyOf(p.keys(), 20 * K);
        System.arraycopy(p.keys(), 0, restarted, 10 * K, 10 * K);
        assertNull(SplitDump.planOf(restarted, 20, K, 4));
        assertNotNull(SplitDump.planOf(Arrays.copyOf(restarted, 10 * K), 10, K, 4));
    }
}
