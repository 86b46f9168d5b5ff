package dev.bpfgit.kernel.linux;

import dev.bpfgit.kernel.Bytes;
import dev.bpfgit.kernel.Entry;
import dev.bpfgit.kernel.MapInfo;
import dev.bpfgit.kernel.SortedEntries;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Optional;

import static dev.bpfgit.kernel.linux.Failures.ENOENT;
import static dev.bpfgit.kernel.linux.Failures.ENOSPC;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * Reads and writes the entries of one open map, batched. The batch buffers are native and reused across
 * chunks and, up to {@link Scratch#RETAIN}, across calls on the same thread, so a dump costs one bpf(2) call per
 * chunk plus two array copies per entry, and nothing is allocated or zeroed natively per dump.
 */
final class MapAccess {
    private static final int MAX_CHUNK = 16384;
    private static final long CHUNK_BYTES = 4 << 20;
    private static final long BPF_ANY = 0; // create or overwrite

    private final int fd;
    private final Path pin;
    private final int keySize;
    private final int valueSize;
    private final int maxEntries;
    private final int mapId;
    private final boolean lpmTrie;

    MapAccess(int fd, Path pin, MapInfo info, int cpus) {
        this.fd = fd;
        this.pin = pin;
        this.keySize = info.keySize();
        this.valueSize = Info.userValueSize(info, cpus);
        this.maxEntries = info.maxEntries();
        this.mapId = info.id();
        this.lpmTrie = info.type() == dev.bpfgit.kernel.MapType.LPM_TRIE.id && keySize > 4;
    }

    private int chunk(int wanted) {
        long byBytes = CHUNK_BYTES / (keySize + valueSize);
        return (int) Math.max(1, Math.min(Math.min(byBytes, MAX_CHUNK), Math.min(wanted, maxEntries)));
    }

    /**
     * The entries per dump call: as {@link #chunk}, but no more than the buffer {@link Scratch} keeps holds with
     * the tokens and the count. The bookkeeping map (4,096 entries of 96 + 160 bytes) needed a few bytes more than
     * that, so every observe allocated, zeroed and freed a 1 MiB buffer for it (12% of a warm observe's Java
     * samples at 10k, JFR). The chunk only sets how many calls a dump takes.
     */
    private int dumpChunk(long tokenSize) {
        long fixed = 2 * align(tokenSize) + JAVA_INT.byteSize() + 8 + 2 * 7;   // tokens, count, alignment
        long fits = (Scratch.RETAIN - fixed) / (keySize + valueSize);
        return (int) Math.max(1, Math.min(chunk(maxEntries), fits));
    }

    /** Batch ops are missing for this map type (ENOTSUPP) or for this kernel (EINVAL before 5.6). */
    private static boolean noBatch(int errno) {
        return Failures.notSupported(errno) || errno == Failures.EINVAL;
    }

    List<Entry> entries() {
        Packed p = dump();
        if (p == null) {
            try (Arena arena = Arena.ofConfined()) {
                return entriesOneByOne(arena);
            }
        }
        List<Entry> out = new ArrayList<>(p.count);
        for (int i = 0; i < p.count; i++) {
            out.add(new Entry(Bytes.wrap(Arrays.copyOfRange(p.keys, i * keySize, (i + 1) * keySize)),
                    Bytes.wrap(Arrays.copyOfRange(p.values, i * valueSize, (i + 1) * valueSize))));
        }
        return out;
    }

    /** All entries, sorted and packed: no object per entry on the way (see SortedEntries). */
    SortedEntries sortedEntries() {
        Packed p = dump();
        if (p == null) {
            try (Arena arena = Arena.ofConfined()) {
                return SortedEntries.of(entriesOneByOne(arena));
            }
        }
        return SortedEntries.ofPacked(p.keys, keySize, p.values, valueSize, p.count);
    }

    /** All entries in dump order, packed (see PackedEntries). */
    dev.bpfgit.kernel.PackedEntries packedEntries() {
        Packed p = dump();
        if (p == null) {
            try (Arena arena = Arena.ofConfined()) {
                return dev.bpfgit.kernel.PackedEntries.of(entriesOneByOne(arena));
            }
        }
        return new dev.bpfgit.kernel.PackedEntries(p.count, keySize, p.keys, valueSize, p.values);
    }

    /** {@code count} entries, keys and values packed in dump order. */
    private record Packed(byte[] keys, byte[] values, int count) {
    }

    /**
     * The whole map with BPF_MAP_LOOKUP_BATCH; null if the map type or kernel lacks it. A large LPM trie dumped
     * before is dumped on several cursors at once ({@link SplitDump}: the same entries in the same order as one
     * cursor when the map does not change meanwhile), and every LPM trie's dump leaves the split keys of its next.
     */
    private Packed dump() {
        if (!lpmTrie) {
            return dumpOneCursor();
        }
        SplitDump.Plan plan = SplitDump.plan(pin, mapId);
        Packed p;
        if (plan == null) {
            p = dumpOneCursor();
        } else {
            long tokenSize = Math.max(8, keySize);
            SplitDump.Packed s = SplitDump.dump(this::lookupInto, keySize, valueSize, plan, dumpChunk(tokenSize),
                    Beside::all);
            p = new Packed(s.keys(), s.values(), s.count());
        }
        if (p != null) {
            SplitDump.remember(pin, mapId, p.keys, p.count, keySize);
        }
        return p;
    }

    /**
     * One BPF_MAP_LOOKUP_BATCH of at most {@code n} entries (at most {@link #dumpChunk}) after {@code from}
     * (null: from the first) into {@code keys}/{@code values} from entry {@code at}, through this thread's
     * {@link Scratch} buffer ({@link SplitDump.Source}: several threads call it at once).
     */
    private long lookupInto(byte[] from, int n, byte[] keys, byte[] values, int at) {
        long tokenSize = Math.max(8, keySize);
        try (Arena arena = Arena.ofConfined()) {
            Batch b = batch(Scratch.get(bufferBytes(n, tokenSize), arena), n, tokenSize);
            MemorySegment in = MemorySegment.NULL;
            if (from != null) {
                MemorySegment.copy(from, 0, b.inToken, JAVA_BYTE, 0, keySize);
                in = b.inToken;
            }
            b.count.set(JAVA_INT, 0, n);
            int r = Libbpf.lookupBatch(fd, in, b.outToken, b.keys, b.values, b.count, MemorySegment.NULL);
            if (r < 0 && -r != ENOENT) {
                throw Failures.of("dump map", pin, -r, null);
            }
            int got = b.count.get(JAVA_INT, 0);
            MemorySegment.copy(b.keys, JAVA_BYTE, 0, keys, at * keySize, got * keySize);
            MemorySegment.copy(b.values, JAVA_BYTE, 0, values, at * valueSize, got * valueSize);
            return got | (r < 0 ? 1L << 32 : 0);
        }
    }

    /** The whole map with BPF_MAP_LOOKUP_BATCH on one cursor, chunk by chunk; null if the map type or kernel lacks it. */
    private Packed dumpOneCursor() {
        try (Arena arena = Arena.ofConfined()) {
            // the resume token is a u32 bucket for hash maps and a key for the generic implementation
            long tokenSize = Math.max(8, keySize);
            int chunk = dumpChunk(tokenSize);
            Batch b = batch(Scratch.get(bufferBytes(chunk, tokenSize), arena), chunk, tokenSize);
            MemorySegment keys = b.keys;
            MemorySegment values = b.values;
            MemorySegment inToken = b.inToken;
            MemorySegment outToken = b.outToken;
            MemorySegment count = b.count;
            MemorySegment in = MemorySegment.NULL;
            byte[] allKeys = new byte[0];
            byte[] allValues = new byte[0];
            int capacity = 0;
            int total = 0;
            while (true) {
                count.set(JAVA_INT, 0, chunk);
                int r = Libbpf.lookupBatch(fd, in, outToken, keys, values, count, MemorySegment.NULL);
                int n = count.get(JAVA_INT, 0);
                if (r < 0 && -r != ENOENT) {
                    // a missing batch op leaves count as it was passed in: only the errno tells
                    if (in.equals(MemorySegment.NULL) && noBatch(-r)) {
                        return null;
                    }
                    if (-r == ENOSPC && n == 0 && chunk < maxEntries) {
                        // a hash bucket holds more entries than fit in one chunk
                        chunk = Math.min(maxEntries, chunk * 2);
                        Batch bigger = batch(arena.allocate(bufferBytes(chunk, tokenSize), 8), chunk, tokenSize);
                        MemorySegment.copy(inToken, 0, bigger.inToken, 0, tokenSize);
                        keys = bigger.keys;
                        values = bigger.values;
                        inToken = bigger.inToken;
                        outToken = bigger.outToken;
                        count = bigger.count;
                        in = in.equals(MemorySegment.NULL) ? in : inToken;
                        continue;
                    }
                    throw Failures.of("dump map", pin, -r, null);
                }
                if (total + n > capacity) {
                    // the last chunk (ENOENT) sizes the arrays exactly: one chunk is the whole of most maps
                    capacity = r < 0 ? total + n : 2 * (total + n);
                    allKeys = Arrays.copyOf(allKeys, Math.multiplyExact(capacity, keySize));
                    allValues = Arrays.copyOf(allValues, Math.multiplyExact(capacity, valueSize));
                }
                // one bulk copy per chunk from the native buffers
                MemorySegment.copy(keys, JAVA_BYTE, 0, allKeys, total * keySize, n * keySize);
                MemorySegment.copy(values, JAVA_BYTE, 0, allValues, total * valueSize, n * valueSize);
                total += n;
                if (r < 0) {
                    return new Packed(allKeys, allValues, total); // ENOENT: the last chunk, consumed above
                }
                MemorySegment.copy(outToken, 0, inToken, 0, tokenSize);
                in = inToken;
            }
        }
    }

    /** The slices of one dump buffer of {@code chunk} entries: keys, values, the two resume tokens and the count. */
    private record Batch(MemorySegment keys, MemorySegment values, MemorySegment inToken, MemorySegment outToken,
                         MemorySegment count) {
    }

    private Batch batch(MemorySegment buf, int chunk, long tokenSize) {
        long tokens = tokensAt(chunk);
        return new Batch(buf.asSlice(0, (long) chunk * keySize),
                buf.asSlice(align((long) chunk * keySize), (long) chunk * valueSize),
                buf.asSlice(tokens, tokenSize), buf.asSlice(tokens + align(tokenSize), tokenSize),
                buf.asSlice(tokens + 2 * align(tokenSize), JAVA_INT.byteSize()));
    }

    private static long align(long bytes) {
        return (bytes + 7) & ~7L;
    }

    /** Where the two resume tokens and the count start in a dump buffer of {@code chunk} entries. */
    private long tokensAt(int chunk) {
        return align((long) chunk * keySize) + align((long) chunk * valueSize);
    }

    private long bufferBytes(int chunk, long tokenSize) {
        return tokensAt(chunk) + 2 * align(tokenSize) + 8;
    }

    private static Bytes copy(MemorySegment buf, int index, int size) {
        byte[] b = new byte[size];
        MemorySegment.copy(buf, JAVA_BYTE, (long) index * size, b, 0, size);
        return Bytes.wrap(b);
    }

    private List<Entry> entriesOneByOne(Arena arena) {
        MemorySegment cur = arena.allocate(keySize, 8);
        MemorySegment next = arena.allocate(keySize, 8);
        MemorySegment value = arena.allocate(valueSize, 8);
        MemorySegment prev = MemorySegment.NULL;
        List<Entry> out = new ArrayList<>();
        while (true) {
            int r = Libbpf.mapNextKey(fd, prev, next);
            if (r == -ENOENT) {
                return out;
            }
            Failures.check(r, "dump map", pin);
            int l = Libbpf.mapLookup(fd, next, value);
            if (l == 0) {
                out.add(new Entry(copy(next, 0, keySize), copy(value, 0, valueSize)));
            } else if (l != -ENOENT) { // empty slots of socket arrays read as ENOENT
                throw Failures.of("dump map", pin, -l, "key " + copy(next, 0, keySize));
            }
            MemorySegment.copy(next, 0, cur, 0, keySize);
            prev = cur;
        }
    }

    Optional<Bytes> lookup(Bytes key) {
        checkSize("look up in map", key, keySize, "key", 0);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment value = arena.allocate(valueSize, 8);
            int r = Libbpf.mapLookup(fd, arena.allocateFrom(JAVA_BYTE, key.toArray()), value);
            if (r == -ENOENT) {
                return Optional.empty();
            }
            Failures.check(r, "look up in map", pin);
            return Optional.of(copy(value, 0, valueSize));
        }
    }

    void update(Collection<Entry> entries) {
        Entry[] all = entries.toArray(Entry[]::new);
        for (int i = 0; i < all.length; i++) {
            checkSize("update map", all[i].key(), keySize, "key", i);
            checkSize("update map", all[i].value(), valueSize, "value", i);
        }
        if (all.length == 0) {
            return;
        }
        try (Arena arena = Arena.ofConfined()) {
            int chunk = chunk(all.length);
            MemorySegment keys = arena.allocate((long) chunk * keySize, 8);
            MemorySegment values = arena.allocate((long) chunk * valueSize, 8);
            MemorySegment count = arena.allocate(JAVA_INT);
            MemorySegment opts = Structs.opts(arena, Structs.BATCH_OPTS);
            Structs.setLong(opts, Structs.BATCH_OPTS, "elem_flags", BPF_ANY);
            byte[] scratchK = new byte[chunk * keySize];
            byte[] scratchV = new byte[chunk * valueSize];
            for (int start = 0; start < all.length; start += chunk) {
                int n = Math.min(chunk, all.length - start);
                for (int i = 0; i < n; i++) {
                    all[start + i].key().copyTo(scratchK, i * keySize);
                    all[start + i].value().copyTo(scratchV, i * valueSize);
                }
                MemorySegment.copy(scratchK, 0, keys, JAVA_BYTE, 0, n * keySize);
                MemorySegment.copy(scratchV, 0, values, JAVA_BYTE, 0, n * valueSize);
                count.set(JAVA_INT, 0, n);
                int r = Libbpf.updateBatch(fd, keys, values, count, opts);
                if (r < 0) {
                    if (start == 0 && noBatch(-r)) {
                        updateOneByOne(arena, all); // rewriting what the batch wrote is harmless
                        return;
                    }
                    int done = Math.min(count.get(JAVA_INT, 0), n - 1);
                    throw Failures.of("update map", pin, -r, "at key " + all[start + done].key());
                }
            }
        }
    }

    private void updateOneByOne(Arena arena, Entry[] all) {
        MemorySegment key = arena.allocate(keySize, 8);
        MemorySegment value = arena.allocate(valueSize, 8);
        for (Entry e : all) {
            MemorySegment.copy(e.key().toArray(), 0, key, JAVA_BYTE, 0, keySize);
            MemorySegment.copy(e.value().toArray(), 0, value, JAVA_BYTE, 0, valueSize);
            int r = Libbpf.mapUpdate(fd, key, value, BPF_ANY);
            if (r < 0) {
                throw Failures.of("update map", pin, -r, "at key " + e.key());
            }
        }
    }

    /** Deletes keys; a key that is not in the map is skipped, as the contract asks. */
    void delete(Collection<Bytes> toDelete) {
        Bytes[] all = toDelete.toArray(Bytes[]::new);
        for (int i = 0; i < all.length; i++) {
            checkSize("delete from map", all[i], keySize, "key", i);
        }
        if (all.length == 0) {
            return;
        }
        try (Arena arena = Arena.ofConfined()) {
            int chunk = chunk(all.length);
            MemorySegment keys = arena.allocate((long) chunk * keySize, 8);
            MemorySegment count = arena.allocate(JAVA_INT);
            byte[] scratch = new byte[chunk * keySize];
            for (int start = 0; start < all.length; start += chunk) {
                int n = Math.min(chunk, all.length - start);
                for (int i = 0; i < n; i++) {
                    all[start + i].copyTo(scratch, i * keySize);
                }
                MemorySegment.copy(scratch, 0, keys, JAVA_BYTE, 0, n * keySize);
                // the kernel stops at the first absent key and reports how many it deleted before it:
                // skip that key and go on with the rest of the chunk already in the buffer
                int pos = 0;
                while (pos < n) {
                    count.set(JAVA_INT, 0, n - pos);
                    int r = Libbpf.deleteBatch(fd, keys.asSlice((long) pos * keySize), count, MemorySegment.NULL);
                    int done = count.get(JAVA_INT, 0);
                    if (r == 0) {
                        break;
                    }
                    if (-r == ENOENT) {
                        pos += done + 1;
                        continue;
                    }
                    if (start == 0 && pos == 0 && noBatch(-r)) {
                        deleteOneByOne(arena, all);
                        return;
                    }
                    throw Failures.of("delete from map", pin, -r, "at key " + all[start + Math.min(pos + done, n - 1)]);
                }
            }
        }
    }

    private void deleteOneByOne(Arena arena, Bytes[] all) {
        MemorySegment key = arena.allocate(keySize, 8);
        for (Bytes k : all) {
            MemorySegment.copy(k.toArray(), 0, key, JAVA_BYTE, 0, keySize);
            int r = Libbpf.mapDelete(fd, key);
            if (r < 0 && r != -ENOENT) {
                throw Failures.of("delete from map", pin, -r, "at key " + k);
            }
        }
    }

    private void checkSize(String operation, Bytes b, int expected, String what, int index) {
        if (b.size() != expected) {
            throw Failures.of(operation, pin, Failures.EINVAL,
                    what + " #" + index + " has " + b.size() + " bytes, the map's " + what + " size is " + expected);
        }
    }
}
