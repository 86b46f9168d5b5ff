package dev.bpfgit.kernel.linux;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * The dump of a large LPM trie on several cursors at once (issue 10: at 10k rules the trie's dump was ~11.5 ms of
 * a ~15 ms warm reconcile, all of it kernel time in the generic BPF_MAP_LOOKUP_BATCH, which calls the trie's
 * get_next_key, a walk from the root, for every entry).
 *
 * <h2>What the kernel does</h2>
 * A batch lookup started at key K (its in_batch token) returns K's successor and the entries after it, each found
 * by get_next_key of the one before. The trie's iteration order is a fixed total order of all possible keys,
 * {@link #compare}: of two prefixes, where their bits differ the one with a 0 comes first; when one contains the
 * other, the longer (more specific) comes first (the post-order of the binary trie). get_next_key of a key that
 * is not in the trie returns the trie's FIRST key: a cursor whose key was deleted meanwhile restarts from the
 * beginning (a single-cursor dump then returns keys twice; a dump started at a missing key starts over).
 *
 * <h2>The split</h2>
 * The last dump of the same map (pin and map id: {@link #remember}) leaves k-1 split keys K_1 &lt; ... &lt; K_{k-1}
 * (the keys at positions j*n/k-1 of that dump) and the entry count of each segment. Segment j runs from after K_j
 * (segment 0: from the start) up to and including K_{j+1} (the last: to the end), on its own thread. Its first call
 * asks for exactly last time's count, so when the map did not change it ends exactly at K_{j+1}; it goes on with
 * calls of growing size while it has not reached K_{j+1}, and keeps only, the rule of {@link #run}:
 * <ul>
 * <li>keys strictly after the last key it kept (at first: after its start key);</li>
 * <li>keys up to and including its end key: the first key past it ends the segment (the overrun is dropped).</li>
 * </ul>
 * A key at or before the key the kernel continued from is a restart (that key was deleted meanwhile; the rest of
 * the call walks from the first key): the segment asks again from one of the last few keys it kept, newest first
 * (a key it kept is still there but for another deletion), and skips what it read before. With none left it lets the
 * restarted walk run and skips it until it passes the last key kept: from there it returns successors again, so
 * every key present throughout is kept once, as after a single cursor's restart.
 * A segment whose very first key is at or before its start key started at a missing split key (deleted since
 * the last dump): it is <b>lost</b>, stops at once and keeps nothing. After all segments have finished, each lost
 * segment is dumped again on the calling thread, from the last key of the spliced output before it up to its own
 * end, with the same rule (a deleted start key there just means a skipped restart). The splice appends each
 * segment's keys that are strictly after the output's last key: segments meet at their split keys, never
 * overlap, and the output is strictly increasing in the kernel's order.
 *
 * <p>So: when the map does not change during the dump, the output is the single-cursor dump (the same entries in
 * the same order). Under concurrent foreign writes it gives at least what the single cursor does: no key twice,
 * every key present for the whole dump once (each segment covers its range; a lost segment is covered by the
 * re-dump, which starts at or before its split key). The split keys are only hints: wrong, stale, equal or
 * unordered keys cost time, never a wrong dump. The rare case (a deleted split key) costs the lost segment's first
 * call and that segment's length again on the calling thread; the common case pays one key comparison per entry.
 */
final class SplitDump {
    /** Cursors at most, whatever the CPUs. */
    static final int MAX_CURSORS = 4;
    /** Entries per cursor at least: a map of fewer than twice this many is dumped on one cursor. */
    static final int PER_CURSOR = 2048;
    /** The first count asked for past a segment's expected end, doubled per call. */
    private static final int GROW_FROM = 16;
    /** Kept keys a segment asks again from after a restart before it walks the restart through. */
    private static final int PROBES = 4;
    /** Remembered maps at most (a process observes a few large tries; the memory is dropped beyond this). */
    private static final int REMEMBERED = 64;

    private static final VarHandle INT_NATIVE = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.nativeOrder());

    private SplitDump() {
    }

    /**
     * The LPM trie's iteration order of two keys ({@code struct bpf_lpm_trie_key}: a host-order u32 prefix length,
     * then the data, most significant bit first): negative when {@code a} comes first, 0 for the same trie node
     * (same length and same bits within it).
     */
    static int compare(byte[] a, int ao, byte[] b, int bo, int keySize) {
        int la = (int) INT_NATIVE.get(a, ao);
        int lb = (int) INT_NATIVE.get(b, bo);
        int m = Math.min(Math.min(la, lb), (keySize - 4) * 8);
        int full = m >>> 3;
        int i = Arrays.mismatch(a, ao + 4, ao + 4 + full, b, bo + 4, bo + 4 + full);
        if (i >= 0) {
            return Integer.compare(a[ao + 4 + i] & 0xff, b[bo + 4 + i] & 0xff);
        }
        int rest = m & 7;
        if (rest != 0) {
            int mask = (0xff << (8 - rest)) & 0xff;
            int x = a[ao + 4 + full] & mask;
            int y = b[bo + 4 + full] & mask;
            if (x != y) {
                return Integer.compare(x, y);
            }
        }
        return Integer.compare(lb, la);   // one contains the other: the longer first
    }

    /** One BPF_MAP_LOOKUP_BATCH of the map: may be called by several threads at once. */
    interface Source {
        /**
         * At most {@code count} entries after {@code from} (null: from the first), written packed into
         * {@code keys}/{@code values} from entry {@code at} on; the number written, with bit 32 set when the
         * kernel said the map ended (ENOENT). Throws the dump's failure.
         */
        long lookup(byte[] from, int count, byte[] keys, byte[] values, int at);
    }

    /** What one segment kept: {@code count} entries, strictly increasing; {@code lost}: its start key was missing. */
    static final class Part {
        byte[] keys;
        byte[] values;
        int count;
        boolean lost;
        /** Entries the kernel returned for it (kept or not): the work it cost. */
        int returned;

        Part(int keySize, int valueSize, int capacity) {
            keys = new byte[Math.multiplyExact(capacity, keySize)];
            values = new byte[Math.multiplyExact(capacity, valueSize)];
        }
    }

    /**
     * One segment: the keys after {@code start} (exclusive, null: from the first) up to {@code end} (inclusive,
     * null: to the last) by the rule in the class comment. {@code expected}: its entries last time (the first
     * call's count); {@code dropIfStartMissing}: a first key at or before {@code start} makes it lost (else the
     * restarted walk is skipped through like any other restart).
     */
    static Part run(Source src, int keySize, int valueSize, byte[] start, byte[] end, int expected, int maxChunk,
                    boolean dropIfStartMissing) {
        int tail = end == null ? 1 : 0;   // the last segment asks one more, so that its first call sees the end
        Part p = new Part(keySize, valueSize, Math.max(1, Math.min(expected + tail, maxChunk)));
        byte[] from = start;
        int lastAt = -1;   // the last key kept, an entry of p; -1: start
        int grow = GROW_FROM;
        int probes = 0;   // calls asked again from an earlier key since the last key kept
        boolean reissued = false;
        while (true) {
            int want;
            if (p.returned < expected) {
                want = expected - p.returned + tail;
            } else {
                want = grow;
                grow = Math.min(grow * 2, maxChunk);
            }
            want = Math.max(1, Math.min(want, maxChunk));
            int capacity = p.keys.length / keySize;
            if (p.count + want > capacity) {
                int grown = Math.max(p.count + want, capacity * 2);
                p.keys = Arrays.copyOf(p.keys, Math.multiplyExact(grown, keySize));
                p.values = Arrays.copyOf(p.values, Math.multiplyExact(grown, valueSize));
            }
            byte[] token = from;
            long r = src.lookup(token, want, p.keys, p.values, p.count);
            int n = (int) r;
            boolean atEnd = (r >>> 32) != 0;
            int base = p.count;
            if (n > 0) {
                // the kernel's token: its last key, kept or not
                from = Arrays.copyOfRange(p.keys, (base + n - 1) * keySize, (base + n) * keySize);
            }
            boolean first = p.returned == 0;
            p.returned += n;
            for (int i = 0; i < n; i++) {
                int at = base + i;
                // the key before it in the kernel's walk: the call's token, or the entry returned before (that
                // slot is intact here: keys kept are moved down to p.count, which is below it when they move)
                int afterPrevious = i > 0 ? compare(p.keys, at * keySize, p.keys, (at - 1) * keySize, keySize)
                        : token == null ? 1 : compare(p.keys, at * keySize, token, 0, keySize);
                if (afterPrevious <= 0) {
                    // a restart: the key the kernel continued from was gone, the walk starts over at the first key
                    if (first && i == 0 && start != null && dropIfStartMissing) {
                        p.lost = true;   // its start key is gone
                        p.count = 0;
                        return p;
                    }
                    // asked again from a key kept before the last (the newest first, up to PROBES of them): what
                    // comes up to the last kept is skipped below. None left: the restarted walk goes on and is
                    // skipped through until it passes the last key kept.
                    if (probes < PROBES && lastAt - 1 - probes >= 0) {
                        int again = lastAt - 1 - probes++;
                        from = Arrays.copyOfRange(p.keys, again * keySize, (again + 1) * keySize);
                        reissued = true;
                        grow = GROW_FROM;   // small calls from here: another restart wastes little
                        break;
                    }
                }
                int afterLast = i > 0 && lastAt == at - 1 ? afterPrevious   // the common case: one comparison
                        : lastAt >= 0 ? compare(p.keys, at * keySize, p.keys, lastAt * keySize, keySize)
                        : start == null ? 1 : compare(p.keys, at * keySize, start, 0, keySize);
                if (afterLast <= 0) {
                    continue;   // read before, or before the segment's start
                }
                probes = 0;
                int toEnd = end == null ? -1 : compare(p.keys, at * keySize, end, 0, keySize);
                if (toEnd > 0) {
                    return p;   // past the end: the next segment's
                }
                if (at != p.count) {
                    System.arraycopy(p.keys, at * keySize, p.keys, p.count * keySize, keySize);
                    System.arraycopy(p.values, at * valueSize, p.values, p.count * valueSize, valueSize);
                }
                lastAt = p.count++;
                if (toEnd == 0) {
                    return p;
                }
            }
            if (reissued) {
                reissued = false;
                continue;
            }
            if (atEnd || n == 0) {
                return p;
            }
        }
    }

    /** The split keys and counts of a map's last dump. */
    record Plan(byte[][] splits, int[] counts) {
        int cursors() {
            return counts.length;
        }
    }

    /** {@code count} entries, keys and values packed in the kernel's order. */
    record Packed(byte[] keys, byte[] values, int count) {
    }

    /**
     * The whole map on {@code plan.cursors()} cursors, run by {@code runner} (the first task on the calling thread),
     * spliced by the rule in the class comment.
     */
    static Packed dump(Source src, int keySize, int valueSize, Plan plan, int maxChunk,
                       Function<List<Callable<Part>>, List<Part>> runner) {
        int k = plan.cursors();
        List<Callable<Part>> tasks = new ArrayList<>(k);
        for (int j = 0; j < k; j++) {
            byte[] start = j == 0 ? null : plan.splits()[j - 1];
            byte[] end = j == k - 1 ? null : plan.splits()[j];
            int expected = plan.counts()[j];
            tasks.add(() -> run(src, keySize, valueSize, start, end, expected, maxChunk, true));
        }
        List<Part> parts = new ArrayList<>(runner.apply(tasks));
        for (int j = 0; j < k; j++) {
            if (parts.get(j).lost) {
                // from the last key before it, on this thread, after all the others are done
                byte[] start = lastKey(parts, j, keySize);
                byte[] end = j == k - 1 ? null : plan.splits()[j];
                parts.set(j, run(src, keySize, valueSize, start, end, plan.counts()[j], maxChunk, false));
            }
        }
        return splice(parts, keySize, valueSize);
    }

    /** The last key of the parts before {@code j}; null when they hold nothing. */
    private static byte[] lastKey(List<Part> parts, int j, int keySize) {
        for (int i = j - 1; i >= 0; i--) {
            Part p = parts.get(i);
            if (p.count > 0) {
                return Arrays.copyOfRange(p.keys, (p.count - 1) * keySize, p.count * keySize);
            }
        }
        return null;
    }

    /** The parts in order, each from its first key strictly after the output's last (they never overlap but by a bad plan). */
    static Packed splice(List<Part> parts, int keySize, int valueSize) {
        if (parts.size() == 1) {
            Part p = parts.getFirst();
            return new Packed(p.keys, p.values, p.count);
        }
        int total = 0;
        for (Part p : parts) {
            total += p.count;
        }
        byte[] keys = new byte[Math.multiplyExact(total, keySize)];
        byte[] values = new byte[Math.multiplyExact(total, valueSize)];
        int n = 0;
        for (Part p : parts) {
            int from = 0;
            while (n > 0 && from < p.count && compare(p.keys, from * keySize, keys, (n - 1) * keySize, keySize) <= 0) {
                from++;
            }
            int m = p.count - from;
            System.arraycopy(p.keys, from * keySize, keys, n * keySize, m * keySize);
            System.arraycopy(p.values, from * valueSize, values, n * valueSize, m * valueSize);
            n += m;
        }
        return new Packed(keys, values, n);
    }

    // ---- the memory of the last dumps

    private record Key(Path pin, int mapId) {
    }

    private static final ConcurrentHashMap<Key, Plan> LAST = new ConcurrentHashMap<>();

    /** How many cursors a dump of {@code n} entries gets, with {@code cpus} CPUs. */
    static int cursors(int n, int cpus) {
        return Math.max(1, Math.min(Math.min(cpus, MAX_CURSORS), n / PER_CURSOR));
    }

    /**
     * The plan for the next dump of the map at {@code pin} with id {@code mapId}: null (one cursor) when it was
     * not dumped before, was small, or only one CPU is available now.
     */
    static Plan plan(Path pin, int mapId) {
        Plan p = LAST.get(new Key(pin, mapId));
        if (p == null || Runtime.getRuntime().availableProcessors() < 2) {
            return null;
        }
        return p;
    }

    /**
     * Remembers, from this dump of {@code n} entries in the kernel's order, the split keys of the next: k-1 keys
     * and k counts, k by {@link #cursors}; forgets the map when k is 1 or the keys are not strictly increasing (a
     * single-cursor dump that restarted).
     */
    static void remember(Path pin, int mapId, byte[] keys, int n, int keySize) {
        Key key = new Key(pin, mapId);
        Plan plan = planOf(keys, n, keySize, cursors(n, Runtime.getRuntime().availableProcessors()));
        if (plan == null) {
            LAST.remove(key);
            return;
        }
        if (LAST.size() >= REMEMBERED && !LAST.containsKey(key)) {
            LAST.clear();   // many maps: start over rather than keep a list of old ones
        }
        LAST.put(key, plan);
    }

    /**
     * The plan of {@code k} cursors for the next dump, from this one of {@code n} entries in the kernel's order:
     * the keys at positions j*n/k-1 and the segments' counts; null when k is 1 or the keys are not strictly
     * increasing (a single-cursor dump that restarted).
     */
    static Plan planOf(byte[] keys, int n, int keySize, int k) {
        if (k < 2 || n < k) {
            return null;
        }
        byte[][] splits = new byte[k - 1][];
        int[] counts = new int[k];
        int before = 0;
        for (int j = 1; j <= k; j++) {
            int b = (int) ((long) j * n / k);
            counts[j - 1] = b - before;
            before = b;
            if (j < k) {
                splits[j - 1] = Arrays.copyOfRange(keys, (b - 1) * keySize, b * keySize);
                if (j > 1 && compare(splits[j - 2], 0, splits[j - 1], 0, keySize) >= 0) {
                    return null;
                }
            }
        }
        return new Plan(splits, counts);
    }

    /** The plan of the next dump of that map, as if its last dump had left it (tests). */
    static void use(Path pin, int mapId, Plan plan) {
        LAST.put(new Key(pin, mapId), plan);
    }

    /** Forgets every map (tests). */
    static void forgetAll() {
        LAST.clear();
    }

    static boolean remembers(Path pin, int mapId) {
        return LAST.containsKey(new Key(Objects.requireNonNull(pin), mapId));
    }
}
