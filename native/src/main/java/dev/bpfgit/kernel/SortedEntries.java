package dev.bpfgit.kernel;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.security.MessageDigest;
import java.util.AbstractMap;
import java.util.AbstractSet;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Set;

/**
 * The entries of a map, sorted by key ({@link Bytes} order, unsigned lexicographic), kept in two flat byte
 * arrays: an immutable {@code Map<Bytes, Bytes>} whose iteration order is the key order.
 *
 * <p>It exists for speed. A policy map holds up to a million entries, and every reconcile reads all of them
 * from the kernel, compares them with the desired ones and digests both. With one pair of arrays per map
 * instead of five objects per entry, those passes are sequential reads (a merge of two sorted runs, a digest
 * fed in large blocks) rather than a pointer chase per entry and per hash lookup, and the heap holds a few
 * arrays instead of millions of objects. Keys of one size (every BPF map) are sorted with a radix sort.
 *
 * <p>{@link #get} binary-searches; the {@link Bytes} it and the iterators return are fresh copies.
 */
public final class SortedEntries extends AbstractMap<Bytes, Bytes> {
    private static final SortedEntries EMPTY = new SortedEntries(0, new byte[0], new int[]{0}, new byte[0], new int[]{0});
    private static final int BLOCK = 64 * 1024;
    private static final VarHandle LONG_BE = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.BIG_ENDIAN);
    /** For copying eight bytes as they are: no byte swap on the way in and out (the order does not matter). */
    private static final VarHandle LONG_NATIVE = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.nativeOrder());
    private static final VarHandle LONG_LE = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    private final int size;
    private final byte[] keys;
    private final int[] keyOff;     // size + 1 offsets into keys
    private final byte[] values;
    private final int[] valueOff;   // size + 1 offsets into values
    private int hash;               // 0: not computed
    private int fixedKey = -2;      // uniformKeySize(), -2: not computed
    private int fixedValue = -2;    // uniformValueSize(), -2: not computed
    private Set<Map.Entry<Bytes, Bytes>> entrySet;
    private final KeyChecksums keySums;   // shared by the maps with these keys (withValues)

    private SortedEntries(int size, byte[] keys, int[] keyOff, byte[] values, int[] valueOff) {
        this(size, keys, keyOff, values, valueOff, new KeyChecksums());
    }

    private SortedEntries(int size, byte[] keys, int[] keyOff, byte[] values, int[] valueOff, KeyChecksums keySums) {
        this.size = size;
        this.keys = keys;
        this.keyOff = keyOff;
        this.values = values;
        this.valueOff = valueOff;
        this.keySums = keySums;
    }

    /** {@link #keyChecksums} once computed: a Long, so that another thread sees it whole or not at all. */
    private static final class KeyChecksums {
        private volatile Long sums;
    }

    public static SortedEntries empty() {
        return EMPTY;
    }

    /** The map itself if it is one already, else its entries sorted. Null keys or values: NullPointerException. */
    public static SortedEntries copyOf(Map<Bytes, Bytes> map) {
        if (map instanceof SortedEntries s) {
            return s;
        }
        Bytes[] k = new Bytes[map.size()];
        Bytes[] v = new Bytes[k.length];
        int n = 0;
        for (Map.Entry<Bytes, Bytes> e : map.entrySet()) {
            if (n == k.length) {
                throw new java.util.ConcurrentModificationException();
            }
            k[n] = java.util.Objects.requireNonNull(e.getKey());
            v[n] = java.util.Objects.requireNonNull(e.getValue());
            n++;
        }
        return build(k, v, n);
    }

    /** Entries as read from a map, in any order; of entries with one key, the last wins (as {@code Map.put}). */
    public static SortedEntries of(List<dev.bpfgit.kernel.Entry> entries) {
        Bytes[] k = new Bytes[entries.size()];
        Bytes[] v = new Bytes[k.length];
        int n = 0;
        for (dev.bpfgit.kernel.Entry e : entries) {
            k[n] = e.key();
            v[n] = e.value();
            n++;
        }
        return build(k, v, n);
    }

    /**
     * {@code n} entries packed in two arrays ({@code keySize} and {@code valueSize} bytes each), in any
     * order; of entries with one key, the last wins. Takes ownership of the arrays.
     */
    public static SortedEntries ofPacked(byte[] keys, int keySize, byte[] values, int valueSize, int n) {
        if ((long) n * keySize > keys.length || (long) n * valueSize > values.length) {
            throw new IllegalArgumentException(n + " entries do not fit the arrays");
        }
        SortedEntries s = sorted(n, keys, uniform(n, keySize), values, uniform(n, valueSize));
        if (s != EMPTY) {
            s.fixedKey = keySize;     // of one size each by construction: no pass over the offsets to find out
            s.fixedValue = valueSize;
        }
        return s;
    }

    private static SortedEntries build(Bytes[] k, Bytes[] v, int n) {
        if (n == 0) {
            return EMPTY;
        }
        int[] ko = new int[n + 1];
        int[] vo = new int[n + 1];
        for (int i = 0; i < n; i++) {
            ko[i + 1] = Math.addExact(ko[i], k[i].size());
            vo[i + 1] = Math.addExact(vo[i], v[i].size());
        }
        byte[] kb = new byte[ko[n]];
        byte[] vb = new byte[vo[n]];
        for (int i = 0; i < n; i++) {
            k[i].copyTo(kb, ko[i]);
            v[i].copyTo(vb, vo[i]);
        }
        return sorted(n, kb, ko, vb, vo);
    }

    private static int[] uniform(int n, int width) {
        int[] off = new int[n + 1];
        for (int i = 1; i <= n; i++) {
            off[i] = Math.addExact(off[i - 1], width);
        }
        return off;
    }

    /** Sorts n unsorted entries (stable), drops all but the last of equal keys, and lays them out in order. */
    private static SortedEntries sorted(int n, byte[] kb, int[] ko, byte[] vb, int[] vo) {
        if (n == 0) {
            return EMPTY;
        }
        if (increasing(n, kb, ko)) {
            return new SortedEntries(n, kb, ko, vb, vo);   // already in order (an LPM trie of one prefix length)
        }
        int width = uniform(n, ko);
        long[] sortedKeys = width > 0 && width <= Long.BYTES ? new long[n] : null;
        int[] order = sortedKeys != null ? orderShort(n, kb, ko[0], width, sortedKeys) : order(n, kb, ko);
        int valueWidth = sortedKeys != null ? uniform(n, vo) : -1;
        if (valueWidth >= 0) {
            return sortedShort(n, order, sortedKeys, width, vb, vo[0], valueWidth, kb, ko, vo);
        }
        int kept = 0;
        int keyBytes = 0;
        int valueBytes = 0;
        boolean inOrder = true;
        for (int r = 0; r < n; r++) {
            int i = order[r];
            if (r + 1 < n && (sortedKeys != null ? sortedKeys[r] == sortedKeys[r + 1]
                    : compare(kb, ko, i, kb, ko, order[r + 1]) == 0)) {
                inOrder = false;   // a later entry with the same key replaces this one
                continue;
            }
            inOrder &= i == kept;
            order[kept++] = i;
            keyBytes += ko[i + 1] - ko[i];
            valueBytes += vo[i + 1] - vo[i];
        }
        if (inOrder && kept == n) {
            return new SortedEntries(n, kb, ko, vb, vo);
        }
        byte[] k2 = new byte[keyBytes];
        byte[] v2 = new byte[valueBytes];
        int[] ko2 = new int[kept + 1];
        int[] vo2 = new int[kept + 1];
        for (int r = 0; r < kept; r++) {
            int i = order[r];
            int kl = ko[i + 1] - ko[i];
            int vl = vo[i + 1] - vo[i];
            System.arraycopy(kb, ko[i], k2, ko2[r], kl);
            System.arraycopy(vb, vo[i], v2, vo2[r], vl);
            ko2[r + 1] = ko2[r] + kl;
            vo2[r + 1] = vo2[r] + vl;
        }
        return new SortedEntries(kept, k2, ko2, v2, vo2);
    }

    /**
     * The end of {@link #sorted} for keys of one size of at most 8 bytes and values of one size (an LPM trie's IPv4
     * keys and its rules, u32/u64 indices): the keys are written from {@code sortedKeys} (big-endian, in the final
     * order already) and each entry's place is computed from the widths, so the copy reads only each value where
     * it is (one random access per entry instead of the key, the value and both offsets: the copy loop was about
     * 30 ms of a cold compile of 100k rules).
     */
    private static SortedEntries sortedShort(int n, int[] order, long[] sortedKeys, int width, byte[] vb, int vbase,
                                             int valueWidth, byte[] kb, int[] ko, int[] vo) {
        int kept = 0;
        boolean inOrder = true;
        for (int r = 0; r < n; r++) {
            long x = sortedKeys[r];
            if (r + 1 < n && x == sortedKeys[r + 1]) {
                inOrder = false;   // a later entry with the same key replaces this one
                continue;
            }
            int i = order[r];
            inOrder &= i == kept;
            order[kept] = i;
            sortedKeys[kept++] = x;
        }
        if (inOrder && kept == n) {
            return new SortedEntries(n, kb, ko, vb, vo);
        }
        byte[] k2 = new byte[Math.multiplyExact(kept, width)];
        byte[] v2 = new byte[Math.multiplyExact(kept, valueWidth)];
        for (int r = 0, at = 0; r < kept; r++, at += width) {
            long x = sortedKeys[r];
            for (int b = width - 1; b >= 0; b--, x >>>= 8) {
                k2[at + b] = (byte) x;
            }
        }
        if (valueWidth > 0) {
            for (int r = 0, at = 0; r < kept; r++, at += valueWidth) {
                System.arraycopy(vb, vbase + order[r] * valueWidth, v2, at, valueWidth);
            }
        }
        return new SortedEntries(kept, k2, uniform(kept, width), v2, uniform(kept, valueWidth));
    }

    /** A stable sort of the entry indices by key: LSD radix for keys of one size, else comparisons. */
    private static int[] order(int n, byte[] kb, int[] ko) {
        int width = ko[1] - ko[0];
        boolean same = true;
        for (int i = 1; i < n && same; i++) {
            same = ko[i + 1] - ko[i] == width;
        }
        if (!same) {
            Integer[] boxed = new Integer[n];
            for (int i = 0; i < n; i++) {
                boxed[i] = i;
            }
            Arrays.sort(boxed, (a, b) -> compare(kb, ko, a, kb, ko, b));
            int[] order = new int[n];
            for (int i = 0; i < n; i++) {
                order[i] = boxed[i];
            }
            return order;
        }
        int[] order = new int[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        int[] next = new int[n];
        int[] count = new int[257];
        int base = ko[0];
        for (int p = width - 1; p >= 0; p--) {
            Arrays.fill(count, 0);
            for (int i = 0, at = base + p; i < n; i++, at += width) {
                count[(kb[at] & 0xff) + 1]++;
            }
            if (count[(kb[base + p] & 0xff) + 1] == n) {
                continue;   // every key has this byte here: the pass would move nothing
            }
            for (int b = 0; b < 256; b++) {
                count[b + 1] += count[b];
            }
            for (int r = 0; r < n; r++) {
                int i = order[r];
                next[count[kb[base + i * width + p] & 0xff]++] = i;
            }
            int[] t = order;
            order = next;
            next = t;
        }
        return order;
    }

    /**
     * {@link #order} for keys of one size of at most 8 bytes (an IPv4 LPM key, a u32 or u64 index): each key read
     * once into a long (big-endian, so its unsigned order is the bytes' order), then an LSD radix sort of 11-bit
     * digits over only the bits in which the keys differ, the key moved along with its index. The passes read
     * both arrays in order instead of each key's byte through the order array (at 100k keys 3 passes instead of
     * 4, and a cold JVM's C1 code about half the time). {@code sorted} receives the keys in the returned order.
     */
    private static int[] orderShort(int n, byte[] kb, int base, int width, long[] sorted) {
        long[] key = new long[n];
        long first = 0;
        long differ = 0;
        for (int i = 0, at = base; i < n; i++, at += width) {
            long x;
            if (width == Long.BYTES) {
                x = (long) (kb[at] & 0xff) << 56 | (long) (kb[at + 1] & 0xff) << 48 | (long) (kb[at + 2] & 0xff) << 40
                        | (long) (kb[at + 3] & 0xff) << 32 | (long) (kb[at + 4] & 0xff) << 24
                        | (kb[at + 5] & 0xff) << 16 | (kb[at + 6] & 0xff) << 8 | kb[at + 7] & 0xff;
            } else {
                x = 0;
                for (int b = 0; b < width; b++) {
                    x = x << 8 | (kb[at + b] & 0xff);
                }
            }
            key[i] = x;
            if (i == 0) {
                first = x;
            }
            differ |= x ^ first;
        }
        int[] order = new int[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        int lo = Long.numberOfTrailingZeros(differ);
        int hi = Long.SIZE - Long.numberOfLeadingZeros(differ);
        long[] key2 = new long[n];
        int[] order2 = new int[n];
        int passes = differ == 0 ? 0 : (hi - lo + 10) / 11;   // none when every key is the same
        int[][] counts = new int[passes][(1 << 11) + 1];
        for (int i = 0; i < n && passes > 0; i++) {   // every pass's digit counts in one read of the keys
            long x = key[i] >>> lo;
            for (int p = 0; p < passes; p++, x >>>= 11) {
                counts[p][(int) (x & 0x7ff) + 1]++;
            }
        }
        for (int p = 0; p < passes; p++) {
            int shift = lo + 11 * p;
            int[] count = counts[p];
            for (int d = 0; d < 1 << 11; d++) {
                count[d + 1] += count[d];
            }
            for (int r = 0; r < n; r++) {
                long x = key[r];
                int to = count[(int) (x >>> shift & 0x7ff)]++;
                key2[to] = x;
                order2[to] = order[r];
            }
            long[] tk = key;
            key = key2;
            key2 = tk;
            int[] to = order;
            order = order2;
            order2 = to;
        }
        System.arraycopy(key, 0, sorted, 0, n);
        return order;
    }

    private static int compare(byte[] a, int[] ao, int i, byte[] b, int[] bo, int j) {
        return Arrays.compareUnsigned(a, ao[i], ao[i + 1], b, bo[j], bo[j + 1]);
    }

    // ---- by index, for passes over all entries

    public Bytes key(int i) {
        return Bytes.wrap(Arrays.copyOfRange(keys, keyOff[i], keyOff[i + 1]));
    }

    public Bytes value(int i) {
        return Bytes.wrap(Arrays.copyOfRange(values, valueOff[i], valueOff[i + 1]));
    }

    public int keySize(int i) {
        return keyOff[i + 1] - keyOff[i];
    }

    public int valueSize(int i) {
        return valueOff[i + 1] - valueOff[i];
    }

    /** The little-endian u32 at {@code at} of key {@code i}, read in place (no copy of the key). */
    public long keyU32(int i, int at) {
        java.util.Objects.checkFromIndexSize(at, 4, keySize(i));
        int o = keyOff[i] + at;
        return (keys[o] & 0xffL) | (keys[o + 1] & 0xffL) << 8 | (keys[o + 2] & 0xffL) << 16
                | (keys[o + 3] & 0xffL) << 24;
    }

    /** Byte {@code at} of value {@code i}. */
    public byte valueByte(int i, int at) {
        return values[valueOff[i] + java.util.Objects.checkIndex(at, valueSize(i))];
    }

    /** The little-endian u32 at {@code at} of value {@code i}. */
    public long valueU32(int i, int at) {
        java.util.Objects.checkFromIndexSize(at, 4, valueSize(i));
        int o = valueOff[i] + at;
        return (values[o] & 0xffL) | (values[o + 1] & 0xffL) << 8 | (values[o + 2] & 0xffL) << 16
                | (values[o + 3] & 0xffL) << 24;
    }

    /** Value {@code i} of this and value {@code j} of {@code other} have the same bytes. */
    public boolean sameValue(int i, SortedEntries other, int j) {
        return Arrays.equals(values, valueOff[i], valueOff[i + 1], other.values, other.valueOff[j], other.valueOff[j + 1]);
    }

    /** Like {@link #sameValue}, but bytes {@code from} (inclusive) to {@code to} (exclusive) may differ. */
    public boolean sameValueBeside(int i, SortedEntries other, int j, int from, int to) {
        int size = valueSize(i);
        if (size != other.valueSize(j)) {
            return false;
        }
        int a = valueOff[i];
        int b = other.valueOff[j];
        int cut = Math.clamp(from, 0, size);
        int resume = Math.clamp(to, cut, size);
        return Arrays.equals(values, a, a + cut, other.values, b, b + cut)
                && Arrays.equals(values, a + resume, a + size, other.values, b + resume, b + size);
    }

    /** The index of every key of this map in {@code other}, or -1: one merge of the two sorted runs. */
    public int[] indexIn(SortedEntries other) {
        int[] at = new int[size];
        int k = uniformKeySize();
        if (k >= Long.BYTES && other.uniformKeySize() == k) {
            return indexInFixed(other, k, at);
        }
        int j = 0;
        for (int i = 0; i < size; i++) {
            int c = -1;
            while (j < other.size && (c = compare(keys, keyOff, i, other.keys, other.keyOff, j)) > 0) {
                j++;
            }
            at[i] = j < other.size && c == 0 ? j : -1;
        }
        return at;
    }

    /** {@link #indexIn} for keys of one size on both sides: compared as big-endian longs, same order. */
    private int[] indexInFixed(SortedEntries other, int k, int[] at) {
        byte[] a = keys;
        byte[] b = other.keys;
        int base = keyOff[0];
        int otherBase = other.keyOff[0];
        int j = 0;
        int m = other.size;
        for (int i = 0; i < size; i++) {
            int ai = base + i * k;
            int c = -1;
            while (j < m && (c = compareFixed(a, ai, b, otherBase + j * k, k)) > 0) {
                j++;
            }
            at[i] = j < m && c == 0 ? j : -1;
        }
        return at;
    }

    /**
     * {@link #indexIn}, telling also whether the values of each key found are the same but for bytes {@code from}
     * (inclusive) to {@code to} (exclusive), as {@link #sameValueBeside}: {@code at[i]} is {@code j} when key
     * {@code i} is {@code other}'s key {@code j} and the values are the same beside that range, {@code -2 - j} when
     * they differ beside it, {@code -1} when {@code other} has no key {@code i}. One merge of the two sorted runs;
     * keys and values of one size each (a rule trie's) are compared a long at a time.
     */
    public int[] matchIn(SortedEntries other, int from, int to) {
        int[] at = new int[size];
        int k = uniformKeySize();
        int v = uniformValueSize();
        boolean longs = v > 0 && other.uniformValueSize() == v && v % Long.BYTES == 0
                && from >= 0 && from % Long.BYTES == 0 && to >= from && to % Long.BYTES == 0;
        if (k == Long.BYTES && other.uniformKeySize() == k && longs) {
            return matchLongs(other, Math.min(from, v), Math.min(to, v), v, at);
        }
        int[] index = indexIn(other);
        for (int i = 0; i < size; i++) {
            int j = index[i];
            at[i] = j < 0 || sameValueBeside(i, other, j, from, to) ? j : -2 - j;
        }
        return at;
    }

    /** {@link #matchIn} for 8-byte keys and values of one size, a multiple of 8, as the range's ends are. */
    private int[] matchLongs(SortedEntries other, int from, int to, int v, int[] at) {
        byte[] a = keys;
        byte[] b = other.keys;
        byte[] av = values;
        byte[] bv = other.values;
        int ka = keyOff[0];
        int kb = other.keyOff[0];
        int va = valueOff[0];
        int vb = other.valueOff[0];
        int m = other.size;
        int j = 0;
        long y = m > 0 ? (long) LONG_BE.get(b, kb) : 0;
        for (int i = 0; i < size; i++) {
            long x = (long) LONG_BE.get(a, ka + i * Long.BYTES);
            while (j < m && Long.compareUnsigned(x, y) > 0) {
                if (++j < m) {
                    y = (long) LONG_BE.get(b, kb + j * Long.BYTES);
                }
            }
            if (j < m && x == y) {
                int p = va + i * v;
                int q = vb + j * v;
                boolean same = true;
                for (int o = 0; o < v && same; o += Long.BYTES) {
                    same = o >= from && o < to || (long) LONG_NATIVE.get(av, p + o) == (long) LONG_NATIVE.get(bv, q + o);
                }
                at[i] = same ? j : -2 - j;
            } else {
                at[i] = -1;
            }
        }
        return at;
    }

    /**
     * What {@link #claimIn} found: {@code at} as {@link #indexIn}; {@code values}, a copy of this map's packed values
     * (as {@link #copyOfValues}) in which each entry that claimed its id holds the other map's u64 field; the entries
     * of this map, in key order, that claimed no id ({@code unclaimed}) and that may change ({@code candidates}: a
     * key the other map lacks, a value that differs beside the field, or no id claimed); and the other map's entries
     * whose key this map lacks ({@code gone}), in key order.
     */
    public record Claimed(int[] at, byte[] values, int[] unclaimed, int[] candidates, int[] gone) {
    }

    /**
     * One merge of this map's entries (the desired) with {@code other}'s (the live) that carries over a u64 field:
     * a table's counter slot (the little-endian u32 at {@code field}) and its generation (the u32 after it). Every
     * entry of {@code other} marks its slot in {@code seen}; an entry of this map whose key {@code other} has, and whose
     * slot there is in 1..{@code capacity} and not yet set in {@code claimed}, claims it (sets it in {@code claimed}) and
     * takes the other entry's eight bytes at {@code field}. The bit arrays hold bit {@code s} at
     * {@code [s >>> 6] & 1L << s}, and are shared by the maps of one slot space: call it for each of them in turn.
     *
     * <p>The same results as {@link #valueLongsLE}, then {@link #matchIn}{@code (other, field, field + 8)}, then a
     * pass over the matches, in one pass that reads each key and value once: a rule trie's slot assignment and entry
     * diff. Only for 8-byte keys and values of one size, a multiple of 8, with {@code field} a multiple of 8 inside
     * them (null otherwise, and when this map is empty): {@code other}'s keys and values must have the same sizes when
     * it has entries.
     */
    public Claimed claimIn(SortedEntries other, int field, int capacity, long[] claimed, long[] seen) {
        int v = uniformValueSize();
        int m = other.size;
        if (size == 0 || uniformKeySize() != Long.BYTES || v <= 0 || v % Long.BYTES != 0 || field < 0
                || field % Long.BYTES != 0 || field + Long.BYTES > v
                || m > 0 && (other.uniformKeySize() != Long.BYTES || other.uniformValueSize() != v)) {
            return null;
        }
        int n = size;
        byte[] a = keys;
        byte[] b = other.keys;
        byte[] av = values;
        byte[] bv = other.values;
        int ka = keyOff[0];
        int kb = other.keyOff[0];
        int va = valueOff[0];
        int vb = other.valueOff[0];
        long cap = capacity;
        int[] at = new int[n];
        byte[] merged = values.clone();
        IndexRun unclaimed = new IndexRun(n);
        IndexRun candidates = new IndexRun(n);
        IndexRun gone = new IndexRun(m);
        int j = 0;
        long y = m > 0 ? (long) LONG_BE.get(b, kb) : 0;
        for (int i = 0; i < n; i++) {
            long x = (long) LONG_BE.get(a, ka + i * Long.BYTES);
            while (j < m && Long.compareUnsigned(x, y) > 0) {   // a live key not desired
                long s = (long) LONG_LE.get(bv, vb + j * v + field) & 0xffffffffL;
                if (s >= 1 && s <= cap) {
                    seen[(int) (s >>> 6)] |= 1L << s;
                }
                gone.add(j);
                if (++j < m) {
                    y = (long) LONG_BE.get(b, kb + j * Long.BYTES);
                }
            }
            boolean candidate;
            boolean claims = false;
            if (j < m && x == y) {
                int p = va + i * v;
                int q = vb + j * v;
                boolean same = true;
                for (int o = 0; o < v; o += Long.BYTES) {
                    if (o != field && (long) LONG_NATIVE.get(av, p + o) != (long) LONG_NATIVE.get(bv, q + o)) {
                        same = false;
                        break;
                    }
                }
                long sg = (long) LONG_LE.get(bv, q + field);
                long s = sg & 0xffffffffL;
                at[i] = j;
                if (s >= 1 && s <= cap) {
                    int word = (int) (s >>> 6);
                    long bit = 1L << s;
                    seen[word] |= bit;
                    if ((claimed[word] & bit) == 0) {
                        claimed[word] |= bit;
                        LONG_LE.set(merged, p + field, sg);
                        claims = true;
                    }
                }
                candidate = !claims || !same;
                if (++j < m) {
                    y = (long) LONG_BE.get(b, kb + j * Long.BYTES);
                }
            } else {
                at[i] = -1;
                candidate = true;
            }
            if (!claims) {
                unclaimed.add(i);
            }
            if (candidate) {
                candidates.add(i);
            }
        }
        for (; j < m; j++) {
            long s = (long) LONG_LE.get(bv, vb + j * v + field) & 0xffffffffL;
            if (s >= 1 && s <= cap) {
                seen[(int) (s >>> 6)] |= 1L << s;
            }
            gone.add(j);
        }
        return new Claimed(at, merged, unclaimed.toArray(), candidates.toArray(), gone.toArray());
    }

    /**
     * The little-endian u64 at byte {@code at} of every value, in key order, in one pass (a table's slot and
     * generation fields); a value too short for it: IndexOutOfBoundsException.
     */
    public long[] valueLongsLE(int at) {
        long[] out = new long[size];
        for (int i = 0; i < size; i++) {
            int o = valueOff[i];
            java.util.Objects.checkFromIndexSize(at, Long.BYTES, valueOff[i + 1] - o);
            out[i] = (long) LONG_LE.get(values, o + at);
        }
        return out;
    }

    /** Whether every key is greater than the one before (so: sorted, no key twice); stops at the first that is not. */
    private static boolean increasing(int n, byte[] kb, int[] ko) {
        for (int i = 0; i + 1 < n; i++) {
            int k = ko[i + 1] - ko[i];
            int c = k >= Long.BYTES && ko[i + 2] - ko[i + 1] == k
                    ? compareFixed(kb, ko[i], kb, ko[i + 1], k) : compare(kb, ko, i, kb, ko, i + 1);
            if (c >= 0) {
                return false;
            }
        }
        return true;
    }

    private static int compareFixed(byte[] a, int ai, byte[] b, int bi, int k) {
        int o = 0;
        for (; o + Long.BYTES <= k; o += Long.BYTES) {
            long x = (long) LONG_BE.get(a, ai + o);
            long y = (long) LONG_BE.get(b, bi + o);
            if (x != y) {
                return Long.compareUnsigned(x, y);
            }
        }
        return o == k ? 0 : Arrays.compareUnsigned(a, ai + o, ai + k, b, bi + o, bi + k);
    }

    /** The size of every key when all have the same one (and are packed from keyOff[0] on), else -1. */
    private int uniformKeySize() {
        int f = fixedKey;
        if (f == -2) {
            fixedKey = f = uniform(size, keyOff);
        }
        return f;
    }

    /** The one width of every slice that {@code off} delimits, or -1 (none, or several); a pass over the offsets. */
    private static int uniform(int size, int[] off) {
        if (size == 0) {
            return -1;
        }
        int w = off[1] - off[0];
        for (int i = 1; i < size; i++) {
            if (off[i + 1] - off[i] != w) {
                return -1;
            }
        }
        return w;
    }

    /** A copy of the packed values, to edit and pass to {@link #withValues}. */
    public byte[] copyOfValues() {
        return values.clone();
    }

    /** Where value {@code i} starts in the packed values. */
    public int valueOffset(int i) {
        return valueOff[i];
    }

    /** The same keys with other values of the same sizes (packed as by {@link #copyOfValues}). Takes ownership. */
    public SortedEntries withValues(byte[] packed) {
        if (packed.length != values.length) {
            throw new IllegalArgumentException("values of " + packed.length + " bytes, not " + values.length);
        }
        SortedEntries s = new SortedEntries(size, keys, keyOff, packed, valueOff, keySums);
        s.fixedKey = fixedKey;       // the same offsets: the same sizes
        s.fixedValue = fixedValue;
        return s;
    }

    /**
     * Feeds every key's bytes, in key order, to {@code keys} and every value's bytes, in the same order, to
     * {@code values}: the packed arrays as they are, in one call each, with no interleaving copy. The entries' sizes
     * are not fed ({@link #keySize}, {@link #valueSize}). The checksums only read the arrays.
     */
    public void checksum(java.util.zip.Checksum keys, java.util.zip.Checksum values) {
        keys.update(this.keys, keyOff[0], keyOff[size] - keyOff[0]);
        values.update(this.values, valueOff[0], valueOff[size] - valueOff[0]);
    }

    /**
     * The CRC-32C (high half) and the CRC-32 (low half) of every key's bytes in key order, as {@link #checksum} feeds
     * them. Computed once, and kept for every map with the same keys ({@link #withValues}): a compiled revision's
     * desired entries take their counter slots through withValues on every diff, and keep their keys.
     */
    public long keyChecksums() {
        Long kept = keySums.sums;
        if (kept == null) {
            keySums.sums = kept = checksums(keys, keyOff[0], keyOff[size] - keyOff[0]);
        }
        return kept;
    }

    /** {@link #keyChecksums} of the values' bytes, computed on every call. */
    public long valueChecksums() {
        return checksums(values, valueOff[0], valueOff[size] - valueOff[0]);
    }

    private static long checksums(byte[] b, int from, int length) {
        java.util.zip.CRC32C c = new java.util.zip.CRC32C();
        c.update(b, from, length);
        java.util.zip.CRC32 d = new java.util.zip.CRC32();
        d.update(b, from, length);
        return c.getValue() << 32 | d.getValue();
    }

    /** Feeds every entry to the digest in key order, as key bytes then value bytes. */
    public void digest(MessageDigest md) {
        int k = uniformKeySize();
        int v = uniformValueSize();
        if (k > 0 && v >= 0 && k % Long.BYTES == 0 && v % Long.BYTES == 0 && k + v <= BLOCK) {
            digestFixed(md, k, v);
            return;
        }
        byte[] block = new byte[BLOCK];
        int pos = 0;
        for (int i = 0; i < size; i++) {
            int kl = keySize(i);
            int vl = valueSize(i);
            if (pos + kl + vl > BLOCK) {
                md.update(block, 0, pos);
                pos = 0;
            }
            if (kl + vl > BLOCK) {
                md.update(keys, keyOff[i], kl);
                md.update(values, valueOff[i], vl);
                continue;
            }
            System.arraycopy(keys, keyOff[i], block, pos, kl);
            System.arraycopy(values, valueOff[i], block, pos + kl, vl);
            pos += kl + vl;
        }
        md.update(block, 0, pos);
    }

    /**
     * {@link #digest} for keys and values of one size each, multiples of 8 bytes (a rule trie's): the same bytes,
     * interleaved a long at a time; two small arraycopy calls per entry cost more than the SHA-256 of the bytes.
     */
    private void digestFixed(MessageDigest md, int k, int v) {
        byte[] block = new byte[BLOCK];
        int perBlock = BLOCK / (k + v);
        int keyBase = keyOff[0];
        int valueBase = valueOff[0];
        for (int start = 0; start < size; start += perBlock) {
            int end = Math.min(size, start + perBlock);
            int pos = 0;
            for (int i = start; i < end; i++) {
                int ko = keyBase + i * k;
                for (int b = 0; b < k; b += Long.BYTES) {
                    LONG_NATIVE.set(block, pos + b, (long) LONG_NATIVE.get(keys, ko + b));
                }
                pos += k;
                int vo = valueBase + i * v;
                for (int b = 0; b < v; b += Long.BYTES) {
                    LONG_NATIVE.set(block, pos + b, (long) LONG_NATIVE.get(values, vo + b));
                }
                pos += v;
            }
            md.update(block, 0, pos);
        }
    }

    private int uniformValueSize() {
        int f = fixedValue;
        if (f == -2) {
            fixedValue = f = uniform(size, valueOff);
        }
        return f;
    }

    /** The size of every key when all have the same one, else -1 (also when empty). Computed once. */
    public int fixedKeySize() {
        return uniformKeySize();
    }

    /** The size of every value when all have the same one, else -1 (also when empty). Computed once. */
    public int fixedValueSize() {
        return uniformValueSize();
    }

    /**
     * This map with the entries of {@code put} put in (replacing those of the same keys) and the keys of
     * {@code removed} taken out (its values are not looked at; a key in both is put). One pass that copies the runs
     * of this map between changed keys as blocks and finds each changed key by binary search: about a copy of the
     * packed arrays, however many changes (the write counter's kept contents, observe/EntryCache, fold the
     * sidecar's own writes in with it).
     */
    public SortedEntries with(SortedEntries put, SortedEntries removed) {
        if (put.size == 0 && removed.size == 0) {
            return this;
        }
        int cap = size + put.size;
        int[] ko = new int[cap + 1];
        int[] vo = new int[cap + 1];
        byte[] kb = new byte[keyOff[size] - keyOff[0] + put.keyOff[put.size] - put.keyOff[0]];
        byte[] vb = new byte[valueOff[size] - valueOff[0] + put.valueOff[put.size] - put.valueOff[0]];
        int n = 0;
        int at = 0;
        int p = 0;
        int r = 0;
        while (p < put.size || r < removed.size) {
            boolean isPut;
            if (r >= removed.size) {
                isPut = true;
            } else if (p >= put.size) {
                isPut = false;
            } else {
                int c = compare(put.keys, put.keyOff, p, removed.keys, removed.keyOff, r);
                if (c == 0) {
                    r++;   // put wins
                    continue;
                }
                isPut = c < 0;
            }
            SortedEntries src = isPut ? put : removed;
            int i = isPut ? p : r;
            int j = lowerBound(at, src.keys, src.keyOff[i], src.keyOff[i + 1]);
            n = copyRun(at, j, kb, ko, vb, vo, n);
            at = j;
            if (at < size && compare(keys, keyOff, at, src.keys, src.keyOff, i) == 0) {
                at++;   // replaced or removed
            }
            if (isPut) {
                n = put.copyRun(p, p + 1, kb, ko, vb, vo, n);
                p++;
            } else {
                r++;
            }
        }
        n = copyRun(at, size, kb, ko, vb, vo, n);
        if (n == 0) {
            return EMPTY;
        }
        if (n < cap) {
            ko = Arrays.copyOf(ko, n + 1);
            vo = Arrays.copyOf(vo, n + 1);
        }
        if (kb.length > ko[n]) {
            kb = Arrays.copyOf(kb, ko[n]);
        }
        if (vb.length > vo[n]) {
            vb = Arrays.copyOf(vb, vo[n]);
        }
        return new SortedEntries(n, kb, ko, vb, vo);
    }

    /** The first index from {@code from} on whose key is not below {@code key[kFrom, kTo)}, or {@link #size}. */
    private int lowerBound(int from, byte[] key, int kFrom, int kTo) {
        int lo = from;
        int hi = size;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (Arrays.compareUnsigned(keys, keyOff[mid], keyOff[mid + 1], key, kFrom, kTo) < 0) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo;
    }

    /** Appends entries {@code from} to {@code to} (exclusive) to the arrays holding {@code n} entries; the new n. */
    private int copyRun(int from, int to, byte[] kb, int[] ko, byte[] vb, int[] vo, int n) {
        if (to <= from) {
            return n;
        }
        int kBase = ko[n];
        int vBase = vo[n];
        System.arraycopy(keys, keyOff[from], kb, kBase, keyOff[to] - keyOff[from]);
        System.arraycopy(values, valueOff[from], vb, vBase, valueOff[to] - valueOff[from]);
        int kShift = kBase - keyOff[from];
        int vShift = vBase - valueOff[from];
        for (int i = from + 1; i <= to; i++) {
            ko[++n] = keyOff[i] + kShift;
            vo[n] = valueOff[i] + vShift;
        }
        return n;
    }

    // ---- Map

    private int find(Object o) {
        if (!(o instanceof Bytes k)) {
            return -1;
        }
        byte[] kb = k.toArray();
        int lo = 0;
        int hi = size - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            int c = Arrays.compareUnsigned(keys, keyOff[mid], keyOff[mid + 1], kb, 0, kb.length);
            if (c < 0) {
                lo = mid + 1;
            } else if (c > 0) {
                hi = mid - 1;
            } else {
                return mid;
            }
        }
        return -1;
    }

    @Override
    public int size() {
        return size;
    }

    @Override
    public boolean containsKey(Object key) {
        return find(key) >= 0;
    }

    @Override
    public Bytes get(Object key) {
        int i = find(key);
        return i < 0 ? null : value(i);
    }

    @Override
    public Set<Map.Entry<Bytes, Bytes>> entrySet() {
        if (entrySet == null) {
            entrySet = new AbstractSet<>() {
                @Override
                public Iterator<Map.Entry<Bytes, Bytes>> iterator() {
                    return new Iterator<>() {
                        private int next;

                        @Override
                        public boolean hasNext() {
                            return next < size;
                        }

                        @Override
                        public Map.Entry<Bytes, Bytes> next() {
                            if (next >= size) {
                                throw new NoSuchElementException();
                            }
                            int i = next++;
                            return Map.entry(key(i), value(i));
                        }
                    };
                }

                @Override
                public int size() {
                    return size;
                }
            };
        }
        return entrySet;
    }

    @Override
    public boolean equals(Object o) {
        if (o instanceof SortedEntries s) {
            return s == this || size == s.size && Arrays.equals(keyOff, s.keyOff) && Arrays.equals(valueOff, s.valueOff)
                    && Arrays.equals(keys, keyOff[0], keyOff[size], s.keys, s.keyOff[0], s.keyOff[size])
                    && Arrays.equals(values, valueOff[0], valueOff[size], s.values, s.valueOff[0], s.valueOff[size]);
        }
        return super.equals(o);
    }

    /** As {@link Map#hashCode}: the sum over entries of key hash XOR value hash (each {@link Bytes#hashCode}). */
    @Override
    public int hashCode() {
        int h = hash;
        if (h == 0 && size > 0) {
            for (int i = 0; i < size; i++) {
                h += arrayHash(keys, keyOff[i], keyOff[i + 1]) ^ arrayHash(values, valueOff[i], valueOff[i + 1]);
            }
            hash = h;
        }
        return h;
    }

    private static int arrayHash(byte[] a, int from, int to) {
        int h = 1;
        for (int i = from; i < to; i++) {
            h = 31 * h + a[i];
        }
        return h;
    }

    // immutable, as Map.copyOf
    @Override
    public Bytes put(Bytes key, Bytes value) {
        throw new UnsupportedOperationException();
    }

    @Override
    public Bytes remove(Object key) {
        throw new UnsupportedOperationException();
    }

    @Override
    public void putAll(Map<? extends Bytes, ? extends Bytes> m) {
        throw new UnsupportedOperationException();
    }

    @Override
    public void clear() {
        throw new UnsupportedOperationException();
    }
}
