package dev.bpfgit.kernel;

import java.util.Arrays;

/**
 * Entry indexes gathered by a merge (the matches, changes or removals of a map's sorted entries), at most
 * {@code limit} of them: a plain int array that doubles up to the limit and is trimmed once, by {@link #toArray}.
 * Most of a warm diff's lists are short, so it starts at 1,024 ints at most.
 */
public final class IndexRun {
    private final int limit;
    private int[] at;
    private int size;

    /** @param limit how many indexes can be added at most (the entries the merge walks) */
    public IndexRun(int limit) {
        if (limit < 0) {
            throw new IllegalArgumentException("limit " + limit);
        }
        this.limit = limit;
        this.at = new int[Math.min(limit, 1024)];
    }

    /** Adds {@code index}; more than {@code limit} adds: IndexOutOfBoundsException. */
    public void add(int index) {
        if (size == at.length) {
            if (size == limit) {
                throw new IndexOutOfBoundsException("more than " + limit + " indexes");
            }
            at = Arrays.copyOf(at, (int) Math.min(limit, 2L * size));
        }
        at[size++] = index;
    }

    public int size() {
        return size;
    }

    /** The indexes added, in the order added. */
    public int[] toArray() {
        return Arrays.copyOf(at, size);
    }
}
