package dev.bpfgit.kernel;

import java.util.Arrays;
import java.util.HexFormat;

/** An immutable byte string: a map key or value. Equality is by content, ordering is unsigned lexicographic. */
public final class Bytes implements Comparable<Bytes> {
    private static final HexFormat HEX = HexFormat.of();
    private final byte[] b;
    private final int hash;

    private Bytes(byte[] b) {
        this.b = b;
        this.hash = Arrays.hashCode(b);
    }

    /** Takes a copy. */
    public static Bytes of(byte[] b) {
        return new Bytes(b.clone());
    }

    /** Takes ownership: the caller must not modify {@code b} afterwards. */
    public static Bytes wrap(byte[] b) {
        return new Bytes(b);
    }

    public static Bytes hex(String hex) {
        return new Bytes(HEX.parseHex(hex));
    }

    public int size() {
        return b.length;
    }

    public byte get(int i) {
        return b[i];
    }

    /** A copy of the content. */
    public byte[] toArray() {
        return b.clone();
    }

    /** Copies the content into {@code dst} at {@code off}. */
    public void copyTo(byte[] dst, int off) {
        System.arraycopy(b, 0, dst, off, b.length);
    }

    public String toHex() {
        return HEX.formatHex(b);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Bytes other && hash == other.hash && Arrays.equals(b, other.b);
    }

    @Override
    public int hashCode() {
        return hash;
    }

    @Override
    public int compareTo(Bytes o) {
        return Arrays.compareUnsigned(b, o.b);
    }

    @Override
    public String toString() {
        return toHex();
    }
}
