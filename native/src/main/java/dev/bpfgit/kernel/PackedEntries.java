package dev.bpfgit.kernel;

/**
 * Entries of a map in the order the kernel returned them, packed: entry {@code i}'s key at
 * {@code keys[i * keySize]}, its value at {@code values[i * valueSize]} (per-CPU: every CPU's slot). For a reader
 * that indexes the entries itself and needs neither the sort nor an object per entry of {@link SortedEntries}.
 */
public record PackedEntries(int count, int keySize, byte[] keys, int valueSize, byte[] values) {

    /** Packs entries of one key size and one value size. */
    public static PackedEntries of(java.util.List<Entry> entries) {
        int n = entries.size();
        int ks = n == 0 ? 0 : entries.getFirst().key().size();
        int vs = n == 0 ? 0 : entries.getFirst().value().size();
        byte[] k = new byte[Math.multiplyExact(n, ks)];
        byte[] v = new byte[Math.multiplyExact(n, vs)];
        for (int i = 0; i < n; i++) {
            Entry e = entries.get(i);
            if (e.key().size() != ks || e.value().size() != vs) {
                throw new IllegalArgumentException("entries of different sizes");
            }
            e.key().copyTo(k, i * ks);
            e.value().copyTo(v, i * vs);
        }
        return new PackedEntries(n, ks, k, vs, v);
    }
}
