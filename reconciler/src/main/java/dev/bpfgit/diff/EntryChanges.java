package dev.bpfgit.diff;

import dev.bpfgit.compile.EntryCodec;
import dev.bpfgit.kernel.Bytes;
import dev.bpfgit.kernel.Entry;
import dev.bpfgit.kernel.SortedEntries;

import java.util.AbstractList;
import java.util.Arrays;
import java.util.Optional;
import java.util.RandomAccess;
import java.util.function.IntFunction;

/**
 * The entry changes of one map step as references into the desired and the live entries ({@link SortedEntries}),
 * two ints per change: an immutable {@code List<EntryChange>} whose elements are made when they are read.
 *
 * <p>It exists for memory. The first plan of a map of a million entries (a new map, or one replaced to
 * resize it) changes every entry: with one {@link EntryChange} each, its keys, values and texts, the plan
 * alone held about 450 MB at the geo-routing table's 1.16M prefixes, more than the desired state it was
 * made from. Here it holds 8 bytes per entry; the desired and live entries it points into are held anyway.
 * Apply, the summary and the text plan read it through {@link #entry}, {@link #symbol} and {@link #owner},
 * which make no {@link EntryChange}; other readers get one per {@link #get}, for as long as they keep it.
 */
public final class EntryChanges extends AbstractList<EntryChange> implements RandomAccess {
    private final SortedEntries want;
    private final SortedEntries have;
    private final int[] wanted;   // index in want, or -1: a removal
    private final int[] had;      // index in have, or -1: an add
    private final EntryCodec codec;
    private final IntFunction<String> owners;

    private EntryChanges(SortedEntries want, SortedEntries have, int[] wanted, int[] had, EntryCodec codec,
                         IntFunction<String> owners) {
        this.want = want;
        this.have = have;
        this.wanted = wanted;
        this.had = had;
        this.codec = codec;
        this.owners = owners;
    }

    /**
     * Changes in the given order: change {@code i} turns entry {@code had[i]} of {@code have} (-1: none) into
     * entry {@code wanted[i]} of {@code want} (-1: removed). Takes ownership of the arrays.
     *
     * @param owners the name of a policy id ({@link EntryCodec#owner}), "" for 0
     */
    static EntryChanges of(SortedEntries want, SortedEntries have, int[] wanted, int[] had, EntryCodec codec,
                           IntFunction<String> owners) {
        if (wanted.length != had.length) {
            throw new IllegalArgumentException(wanted.length + " wanted, " + had.length + " had");
        }
        for (int i = 0; i < wanted.length; i++) {
            if (wanted[i] < 0 && had[i] < 0) {
                throw new IllegalArgumentException("change " + i + " has neither side");
            }
        }
        return new EntryChanges(want, have, wanted, had, codec, owners);
    }

    /**
     * Puts {@code wanted[i]}/{@code had[i]} in the order of the diff: by specificity of the key (most specific
     * first when {@code mostFirst}, for adds; least specific first for removals), then by key. The arrays
     * must be in key order (as a merge of two sorted runs leaves them); the sort is then stable by rank only.
     */
    static void bySpecificity(SortedEntries want, SortedEntries have, int[] wanted, int[] had, EntryCodec codec,
                              boolean mostFirst) {
        int n = wanted.length;
        long[] ranked = new long[n];
        boolean same = true;
        int first = 0;
        for (int i = 0; i < n; i++) {
            // read in place: a copy of each changed key was 4% of a warm diff at 10k (JFR)
            int s = wanted[i] >= 0 ? codec.specificity(want, wanted[i]) : codec.specificity(have, had[i]);
            int rank = (mostFirst ? -s : s) + (1 << 30);   // non-negative, ranks compare as unsigned
            if (i == 0) {
                first = rank;
            }
            same &= rank == first;
            ranked[i] = (long) rank << 32 | i;
        }
        if (same) {
            return;   // one prefix length: key order is the order
        }
        Arrays.sort(ranked);
        int[] w = wanted.clone();
        int[] h = had.clone();
        for (int r = 0; r < n; r++) {
            int i = (int) ranked[r];
            wanted[r] = w[i];
            had[r] = h[i];
        }
    }

    @Override
    public int size() {
        return wanted.length;
    }

    @Override
    public EntryChange get(int i) {
        Bytes key = rawKey(i);
        Bytes before = had[i] < 0 ? null : have.value(had[i]);
        Bytes after = wanted[i] < 0 ? null : want.value(wanted[i]);
        Bytes shown = after != null ? after : before;
        return new EntryChange(key, Optional.ofNullable(before), Optional.ofNullable(after),
                owners.apply(codec.owner(shown)), codec.key(key), text(before, after));
    }

    private String text(Bytes before, Bytes after) {
        String text = codec.value(after != null ? after : before);
        return before != null && after != null ? EntryChange.changed(text, codec.value(before)) : text;
    }

    /** {@link EntryChange#key} of change {@code i}. */
    public String key(int i) {
        return codec.key(rawKey(i));
    }

    /** The length of {@link #key}{@code (i)}, counted by the codec ({@link EntryCodec#keyLength}). */
    public int keyLength(int i) {
        return codec.keyLength(rawKey(i));
    }

    /** {@link EntryChange#text} of change {@code i}. */
    public String text(int i) {
        // each value read where it is (EntryCodec.value(SortedEntries, int)): no copy of it per change shown
        String text = wanted[i] >= 0 ? codec.value(want, wanted[i]) : codec.value(have, had[i]);
        return had[i] >= 0 && wanted[i] >= 0 ? EntryChange.changed(text, codec.value(have, had[i])) : text;
    }

    /** {@link EntryChange#rawKey} of change {@code i}. */
    public Bytes rawKey(int i) {
        return wanted[i] >= 0 ? want.key(wanted[i]) : have.key(had[i]);
    }

    /** The entry change {@code i} writes: its key and its value after; for a removal, the value before. */
    public Entry entry(int i) {
        return new Entry(rawKey(i), wanted[i] >= 0 ? want.value(wanted[i]) : have.value(had[i]));
    }

    /** {@link EntryChange#symbol} of change {@code i}. */
    public char symbol(int i) {
        return had[i] < 0 ? '+' : wanted[i] < 0 ? '-' : '~';
    }

    /** {@link EntryChange#owner} of change {@code i}. */
    public String owner(int i) {
        return owners.apply(wanted[i] >= 0 ? codec.owner(want, wanted[i]) : codec.owner(have, had[i]));
    }

    /** How many changes have this {@link #symbol}. */
    public int count(char symbol) {
        int n = 0;
        for (int i = 0; i < wanted.length; i++) {
            n += symbol(i) == symbol ? 1 : 0;
        }
        return n;
    }
}
