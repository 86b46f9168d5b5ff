package dev.bpfgit.kernel.linux;

import dev.bpfgit.kernel.Bytes;
import dev.bpfgit.kernel.Entry;
import dev.bpfgit.kernel.MapSpec;
import dev.bpfgit.kernel.MapType;
import dev.bpfgit.kernel.testing.KernelTest;
import dev.bpfgit.kernel.testing.PinRoot;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The dump of a large LPM trie on several cursors ({@link SplitDump}) against the kernel's single-cursor dump of
 * the same trie: 20,000 keys of prefix lengths 8 to 32, nested and apart.
 */
@KernelTest
class SplitDumpIT {
    static final int N = 20_000;
    final LinuxKernel kernel = new LinuxKernel();
    PinRoot root;
    Path pin;
    int id;

    @BeforeEach
    void trie() {
        root = PinRoot.create();
        pin = root.resolve("rules");
        kernel.createMap(pin, new MapSpec("rules", MapType.LPM_TRIE, 8, 8, 2 * N, MapSpec.BPF_F_NO_PREALLOC,
                Optional.empty()));
        id = kernel.mapInfo(pin).orElseThrow().id();
        Random r = new Random(42);
        Map<Bytes, Bytes> all = new HashMap<>();
        while (all.size() < N) {
            all.put(key(8 + r.nextInt(25), r.nextInt()), value(r.nextLong()));
        }
        List<Entry> entries = new ArrayList<>();
        all.forEach((k, v) -> entries.add(new Entry(k, v)));
        kernel.update(pin, entries);
    }

    @AfterEach
    void cleanUp() {
        SplitDump.forgetAll();
        root.close();
    }

    static Bytes key(int len, int addr) {
        int masked = addr & (int) (0xffffffffL << (32 - len));
        return Bytes.wrap(ByteBuffer.allocate(8).order(ByteOrder.nativeOrder()).putInt(len)
                .order(ByteOrder.BIG_ENDIAN).putInt(masked).array());
    }

    static Bytes value(long v) {
        return Bytes.wrap(ByteBuffer.allocate(8).putLong(v).array());
    }

    /** The map on one cursor, as before this change. */
    List<Entry> single() {
        SplitDump.forgetAll();
        List<Entry> e = kernel.entries(pin);
        SplitDump.forgetAll();
        return e;
    }

    /** The map on {@code k} cursors split at the keys of {@code by} (a dump of it at some time). */
    List<Entry> split(List<Entry> by, int k) {
        SplitDump.use(pin, id, plan(by, k));
        return kernel.entries(pin);
    }

    static SplitDump.Plan plan(List<Entry> by, int k) {
        byte[] keys = new byte[by.size() * 8];
        for (int i = 0; i < by.size(); i++) {
            by.get(i).key().copyTo(keys, i * 8);
        }
        return SplitDump.planOf(keys, by.size(), 8, k);
    }

    static void assertStrictlyIncreasing(List<Entry> dump) {
        for (int i = 1; i < dump.size(); i++) {
            byte[] a = dump.get(i - 1).key().toArray();
            byte[] b = dump.get(i).key().toArray();
            assertTrue(SplitDump.compare(a, 0, b, 0, 8) < 0, "entry " + i + ": " + dump.get(i - 1).key() + " then "
                    + dump.get(i).key());
        }
    }

    @Test
    void theSplitDumpIsTheSingleCursorDump() {
        List<Entry> one = single();
        assertEquals(N, one.size());
        assertStrictlyIncreasing(one);   // the order SplitDump assumes is the kernel's
        for (int k = 2; k <= 4; k++) {
            assertEquals(one, split(one, k), k + " cursors");
        }
        // the production path: the first dump leaves the plan of the next (two or more CPUs here)
        assertTrue(Runtime.getRuntime().availableProcessors() >= 2, "this test needs two CPUs");
        assertEquals(one, kernel.entries(pin));
        assertTrue(SplitDump.remembers(pin, id));
        assertEquals(one, kernel.entries(pin));
        assertEquals(one, kernel.sortedEntries(pin).entrySet().stream().map(x -> new Entry(x.getKey(), x.getValue()))
                .sorted((a, b) -> SplitDump.compare(a.key().toArray(), 0, b.key().toArray(), 0, 8)).toList());
        // another map pinned there: not split with the old map's keys (it is dumped on one cursor first)
        kernel.unpin(pin);
        kernel.createMap(pin, new MapSpec("rules", MapType.LPM_TRIE, 8, 8, 16, MapSpec.BPF_F_NO_PREALLOC,
                Optional.empty()));
        int other = kernel.mapInfo(pin).orElseThrow().id();
        assertEquals(List.of(), kernel.entries(pin));
        assertTrue(!SplitDump.remembers(pin, other));
    }

    @Test
    void deletedSplitKeysAndKeysAddedAroundThem() {
        List<Entry> before = single();
        for (int k = 2; k <= 4; k++) {
            SplitDump.Plan p = plan(before, k);
            List<Bytes> gone = new ArrayList<>();
            for (byte[] s : p.splits()) {
                gone.add(Bytes.wrap(s));
            }
            kernel.delete(pin, gone.subList(0, 1));   // the first split key
            assertEquals(single(), split(before, k), k + " cursors, a split key deleted");
            kernel.delete(pin, gone);   // all of them
            assertEquals(single(), split(before, k), k + " cursors, all split keys deleted");
            List<Entry> back = new ArrayList<>();
            for (Entry e : before) {
                if (gone.contains(e.key())) {
                    back.add(e);
                }
            }
            kernel.update(pin, back);
            assertEquals(before, split(before, k));
        }
        // keys inserted right before and after each split key (more specific inside it come before it)
        SplitDump.Plan p = plan(before, 4);
        List<Entry> added = new ArrayList<>();
        for (byte[] s : p.splits()) {
            ByteBuffer b = ByteBuffer.wrap(s);
            int len = b.order(ByteOrder.nativeOrder()).getInt(0);
            int addr = b.order(ByteOrder.BIG_ENDIAN).getInt(4);
            for (int i = 0; i < 300; i++) {
                added.add(new Entry(key(Math.min(32, len + 1 + i % 8), addr + i), value(i)));       // inside: before
                added.add(new Entry(key(32, addr + (int) (0xffffffffL >>> len) + 1 + i), value(i)));   // after
            }
        }
        kernel.update(pin, added);
        List<Entry> now = single();
        assertTrue(now.size() > N + 1000, "keys were added: " + now.size());
        assertEquals(now, split(before, 4));
        assertEquals(now, split(before, 2));
    }

    /**
     * A writer thread updates and deletes keys outside a protected set (the split keys among them) while the
     * map is dumped on several cursors: every protected key appears exactly once with its value, no key twice.
     */
    @Test
    void aConcurrentWriterNeverCostsAProtectedKeyOrDuplicatesOne() throws Exception {
        List<Entry> before = single();
        Random r = new Random(7);
        Map<Bytes, Bytes> protectedKeys = new HashMap<>();
        List<Bytes> free = new ArrayList<>();
        Set<Bytes> splitKeys = new HashSet<>();
        for (int k = 2; k <= 4; k++) {
            for (byte[] s : plan(before, k).splits()) {
                splitKeys.add(Bytes.wrap(s));
            }
        }
        for (Entry e : before) {
            if (!splitKeys.contains(e.key()) && r.nextInt(2) == 0) {
                protectedKeys.put(e.key(), e.value());
            } else {
                free.add(e.key());
            }
        }
        List<Bytes> extra = new ArrayList<>();   // keys not in the map at first, put and deleted
        while (extra.size() < 5000) {
            Bytes k = key(8 + r.nextInt(25), r.nextInt());
            if (!protectedKeys.containsKey(k) && !free.contains(k) && !extra.contains(k)) {
                extra.add(k);
            }
        }
        AtomicBoolean stop = new AtomicBoolean();
        AtomicReference<Throwable> failed = new AtomicReference<>();
        AtomicInteger writes = new AtomicInteger();
        Thread writer = Thread.ofPlatform().name("split-it-writer").start(() -> {
            Random w = new Random(11);
            List<Bytes> split = new ArrayList<>(splitKeys);
            try {
                while (!stop.get()) {
                    List<Bytes> del = new ArrayList<>();
                    List<Entry> put = new ArrayList<>();
                    for (int i = 0; i < 20; i++) {
                        Bytes f = free.get(w.nextInt(free.size()));
                        if (w.nextBoolean()) {
                            del.add(f);
                        } else {
                            put.add(new Entry(f, value(w.nextLong())));
                        }
                        Bytes fresh = extra.get(w.nextInt(extra.size()));
                        if (w.nextBoolean()) {
                            put.add(new Entry(fresh, value(1)));
                        } else {
                            del.add(fresh);
                        }
                    }
                    del.add(split.get(w.nextInt(split.size())));
                    kernel.delete(pin, del);
                    kernel.update(pin, put);
                    if (w.nextBoolean()) {
                        Bytes s = split.get(w.nextInt(split.size()));
                        kernel.update(pin, List.of(new Entry(s, value(2))));
                    }
                    writes.incrementAndGet();
                }
            } catch (Throwable t) {
                failed.set(t);
            }
        });
        try {
            for (int round = 0; round < 60; round++) {
                List<Entry> dump = split(before, 2 + round % 3);
                assertStrictlyIncreasing(dump);
                Map<Bytes, Bytes> seen = new HashMap<>();
                for (Entry e : dump) {
                    seen.put(e.key(), e.value());
                }
                for (var e : protectedKeys.entrySet()) {
                    assertEquals(e.getValue(), seen.get(e.getKey()), "round " + round + ", key " + e.getKey());
                }
            }
        } finally {
            stop.set(true);
            writer.join();
        }
        assertNull(failed.get());
        assertTrue(writes.get() > 10, "the writer wrote while the dumps ran: " + writes.get());
    }
}
