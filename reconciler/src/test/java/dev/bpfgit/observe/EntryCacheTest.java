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
}
