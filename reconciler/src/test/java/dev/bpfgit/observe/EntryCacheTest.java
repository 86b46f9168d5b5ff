package dev.bpfgit.observe;

import dev.bpfgit.kernel.Bytes;
import dev.bpfgit.kernel.Entry;
import dev.bpfgit.kernel.Kernel;
import dev.bpfgit.kernel.MapSpec;
import dev.bpfgit.kernel.MapType;
import dev.bpfgit.kernel.MapWriteCounter;
import dev.bpfgit.kind.Kinds;
import dev.bpfgit.state.MemoryKernel;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The kept map contents against a counter the test drives as the kernel would (a write counted after it is
 * in the map), on the in-memory kernel. The real counter is exercised by DriftCounterIT.
 */
class EntryCacheTest {
    private static final Path ROOT = Path.of("/sys/fs/bpf/t");
    private static final Path MAP = ROOT.resolve("traffic/eth0/xdp/rules_v4");

    /** Counts what the test says was written; watch/unwatch as the real one. */
    static final class Counter implements MapWriteCounter {
        final Map<Integer, Long> counts = new HashMap<>();
        long unresolved;

        void count(int id, long n) {
            counts.computeIfPresent(id, (k, v) -> v + n);
        }

        @Override
        public void watch(int mapId) {
            counts.putIfAbsent(mapId, 0L);
        }

        @Override
        public void unwatch(int mapId) {
            counts.remove(mapId);
        }

        @Override
        public OptionalLong writes(int mapId) {
            Long c = counts.get(mapId);
            return c == null ? OptionalLong.empty() : OptionalLong.of(c);
        }

        @Override
        public long unresolved() {
            return unresolved;
        }

        @Override
        public void close() {
        }
    }

    private static Entry entry(int i, int v) {
        return new Entry(Bytes.of(new byte[]{32, 0, 0, 0, 10, 0, 0, (byte) i}), Bytes.of(new byte[]{(byte) v, 0, 0, 0}));
    }

    private static Map<Bytes, Bytes> contents(LiveState s) {
        return s.maps().get(MAP).entries().orElseThrow();
    }

    @Test
    void readsAMapAgainOnlyWhenItsCountMoved() {
        MemoryKernel kernel = new MemoryKernel(Map.of("eth0", 2), 2);
        kernel.makeDirs(MAP.getParent());
        kernel.createMap(MAP, new MapSpec("rules_v4", MapType.LPM_TRIE, 8, 4, 64, 1, Optional.empty()));
        kernel.update(MAP, List.of(entry(1, 1), entry(2, 1)));
        int id = kernel.mapInfo(MAP).orElseThrow().id();
        Counter counter = new Counter();
        EntryCache cache = new EntryCache(counter);
        Kernel ours = EntryCache.recording(kernel, () -> cache);

        LiveState first = Observer.observe(Kinds.BUILT_IN, ours, ROOT, List.of(), cache);
        assertEquals(1, cache.read());
        assertEquals(2, contents(first).size());

        Observer.observe(Kinds.BUILT_IN, ours, ROOT, List.of(), cache);
        assertEquals(0, cache.read(), "nothing wrote: nothing read");
        assertEquals(1, cache.reused());

        // a foreign write (past the recording kernel), counted by the kernel
        kernel.update(MAP, List.of(entry(3, 1)));
        counter.count(id, 1);
        LiveState after = Observer.observe(Kinds.BUILT_IN, ours, ROOT, List.of(), cache);
        assertEquals(1, cache.read());
        assertEquals(3, contents(after).size());

        // our own writes are folded in: the next observation reads nothing and sees them
        ours.update(MAP, List.of(entry(4, 1), entry(1, 0)));
        counter.count(id, 2);
        ours.delete(MAP, List.of(entry(2, 1).key()));
        counter.count(id, 1);
        LiveState folded = Observer.observe(Kinds.BUILT_IN, ours, ROOT, List.of(), cache);
        assertEquals(0, cache.read());
        assertEquals(Map.copyOf(kernel.entries(MAP).stream().collect(java.util.stream.Collectors.toMap(Entry::key,
                Entry::value))), Map.copyOf(contents(folded)));

        // a foreign write on top of ours: the count does not match, read again
        ours.update(MAP, List.of(entry(5, 1)));
        kernel.update(MAP, List.of(entry(6, 1)));
        counter.count(id, 2);
        LiveState both = Observer.observe(Kinds.BUILT_IN, ours, ROOT, List.of(), cache);
        assertEquals(1, cache.read());
        assertEquals(5, contents(both).size());

        // a write the counter could not attribute: everything is read again
        counter.unresolved++;
        Observer.observe(Kinds.BUILT_IN, ours, ROOT, List.of(), cache);
        assertEquals(1, cache.read());

        // forget(): the periodic full verification
        cache.forget();
        Observer.observe(Kinds.BUILT_IN, ours, ROOT, List.of(), cache);
        assertEquals(1, cache.read());
        Observer.observe(Kinds.BUILT_IN, ours, ROOT, List.of(), cache);
        assertEquals(0, cache.read());
    }

    /**
     * Generated runs of reconciles, each a few write calls of ours (puts and deletes, keys put twice, deleted and
     * put again, absent keys deleted) with now and then a foreign write or a call of ours that fails half-way,
     * against the map itself: whatever the cache serves must be the map's contents, never stale ones. The kernel
     * below counts each element written after it is in the map, as mapwrites.bpf.c; a reader looking between
     * the count and the fold ({@link EntryCache#unchanged}, a scrape) must find nothing kept.
     */
    @Test
    void keptContentsFollowGeneratedWritesAndNeverServeStaleOnes() {
        java.util.Random r = new java.util.Random(7);
        for (int run = 0; run < 30; run++) {
            MemoryKernel memory = new MemoryKernel(Map.of("eth0", 2), 2);
            memory.makeDirs(MAP.getParent());
            memory.createMap(MAP, new MapSpec("rules_v4", MapType.LPM_TRIE, 8, 4, 4096, 1, Optional.empty()));
            List<Entry> initial = new java.util.ArrayList<>();
            for (int i = 0; i < r.nextInt(200); i++) {
                initial.add(entry(r, 256));
            }
            memory.update(MAP, initial);
            int id = memory.mapInfo(MAP).orElseThrow().id();
            Counter counter = new Counter();
            EntryCache cache = new EntryCache(counter);
            int[] failAfter = {-1};   // the next write call of ours puts or deletes this many elements, then fails
            int[] betweenServed = {0};
            Kernel below = (Kernel) java.lang.reflect.Proxy.newProxyInstance(Kernel.class.getClassLoader(),
                    new Class<?>[]{Kernel.class}, (proxy, method, args) -> {
                        boolean write = method.getName().equals("update") || method.getName().equals("delete");
                        if (!write) {
                            try {
                                return method.invoke(memory, args);
                            } catch (java.lang.reflect.InvocationTargetException e) {
                                throw e.getCause();
                            }
                        }
                        List<?> items = List.copyOf((java.util.Collection<?>) args[1]);
                        int n = failAfter[0] >= 0 ? Math.min(failAfter[0], items.size()) : items.size();
                        for (Object item : items.subList(0, n)) {   // one element at a time, each counted once in
                            if (item instanceof Entry e) {
                                memory.update(MAP, List.of(e));
                            } else {
                                memory.delete(MAP, List.of((Bytes) item));
                            }
                            counter.count(id, 1);
                            if (cache.unchanged(MAP, id).isPresent()) {
                                betweenServed[0]++;
                            }
                        }
                        if (failAfter[0] >= 0) {
                            failAfter[0] = -1;
                            throw new IllegalStateException("the write failed half-way");
                        }
                        return null;
                    });
            Kernel ours = EntryCache.recording(below, () -> cache);
            for (int reconcile = 0; reconcile < 12; reconcile++) {
                LiveState live = Observer.observe(Kinds.BUILT_IN, ours, ROOT, List.of(), cache);
                assertEquals(model(memory), contents(live), "run " + run + " reconcile " + reconcile);
                if (cache.unchanged(MAP, id).isPresent()) {
                    assertEquals(model(memory), cache.unchanged(MAP, id).get(), "what a scrape would be served");
                }
                int calls = 1 + r.nextInt(6);
                for (int c = 0; c < calls; c++) {
                    boolean fail = r.nextInt(10) == 0;
                    if (fail) {
                        failAfter[0] = r.nextInt(4);
                    }
                    try {
                        if (r.nextBoolean()) {
                            List<Entry> put = new java.util.ArrayList<>();
                            for (int i = 0, m = r.nextInt(40); i < m; i++) {
                                put.add(entry(r, 256));
                            }
                            ours.update(MAP, put);
                        } else {
                            List<Bytes> keys = new java.util.ArrayList<>();
                            for (int i = 0, m = r.nextInt(40); i < m; i++) {
                                keys.add(entry(r, 256).key());   // some absent: the kernel counts those too here
                            }
                            ours.delete(MAP, keys);
                        }
                    } catch (IllegalStateException expected) {
                        // the kept contents must not take it in
                    }
                    failAfter[0] = -1;
                }
                if (r.nextInt(8) == 0) {   // a foreign write, counted
                    memory.update(MAP, List.of(entry(r, 256)));
                    counter.count(id, 1);
                }
            }
            LiveState last = Observer.observe(Kinds.BUILT_IN, ours, ROOT, List.of(), cache);
            assertEquals(model(memory), contents(last));
            assertEquals(0, betweenServed[0], "a reader between a write and its fold is never served the kept contents");
        }
    }

    @Test
    void aWriteOfOursThatFailsDropsTheKeptContents() {
        MemoryKernel kernel = new MemoryKernel(Map.of("eth0", 2), 2);
        kernel.makeDirs(MAP.getParent());
        kernel.createMap(MAP, new MapSpec("rules_v4", MapType.LPM_TRIE, 8, 4, 64, 1, Optional.empty()));
        kernel.update(MAP, List.of(entry(1, 1)));
        int id = kernel.mapInfo(MAP).orElseThrow().id();
        Counter counter = new Counter();
        EntryCache cache = new EntryCache(counter);
        Kernel failing = (Kernel) java.lang.reflect.Proxy.newProxyInstance(Kernel.class.getClassLoader(),
                new Class<?>[]{Kernel.class}, (proxy, method, args) -> {
                    if (method.getName().equals("update")) {
                        throw new IllegalStateException("no space");   // nothing went in: the count does not move
                    }
                    try {
                        return method.invoke(kernel, args);
                    } catch (java.lang.reflect.InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
        Kernel ours = EntryCache.recording(failing, () -> cache);
        Observer.observe(Kinds.BUILT_IN, ours, ROOT, List.of(), cache);
        assertTrue(cache.unchanged(MAP, id).isPresent());
        org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class,
                () -> ours.update(MAP, List.of(entry(2, 1))));
        assertTrue(cache.unchanged(MAP, id).isEmpty(), "a failed write of ours: nothing kept is trusted");
        Observer.observe(Kinds.BUILT_IN, ours, ROOT, List.of(), cache);
        assertEquals(1, cache.read(), "read again");
    }

    private static Entry entry(java.util.Random r, int keys) {
        return entry(r.nextInt(keys), r.nextInt(100));
    }

    private static Map<Bytes, Bytes> model(MemoryKernel kernel) {
        Map<Bytes, Bytes> m = new HashMap<>();
        kernel.entries(MAP).forEach(e -> m.put(e.key(), e.value()));
        return m;
    }
}
