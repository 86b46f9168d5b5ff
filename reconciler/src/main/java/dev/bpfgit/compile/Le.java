package dev.bpfgit.compile;

import dev.bpfgit.kernel.Bytes;

/** Little-endian field access in map keys and values (the BPF structs are host order, x86-64). */
public final class Le {
    private Le() {
    }

    public static void putU32(byte[] b, int off, long v) {
        b[off] = (byte) v;
        b[off + 1] = (byte) (v >>> 8);
        b[off + 2] = (byte) (v >>> 16);
        b[off + 3] = (byte) (v >>> 24);
    }

    public static long u32(byte[] b, int off) {
        return (b[off] & 0xffL) | (b[off + 1] & 0xffL) << 8 | (b[off + 2] & 0xffL) << 16 | (b[off + 3] & 0xffL) << 24;
    }

    /** {@link #u32(byte[], int)} of a key or value read in place, without its copy. */
    public static long u32(Bytes b, int off) {
        return (b.get(off) & 0xffL) | (b.get(off + 1) & 0xffL) << 8 | (b.get(off + 2) & 0xffL) << 16
                | (b.get(off + 3) & 0xffL) << 24;
    }

    public static long u64(byte[] b, int off) {
        return u32(b, off) | u32(b, off + 4) << 32;
    }

    public static byte[] u32(long v) {
        byte[] b = new byte[4];
        putU32(b, 0, v);
        return b;
    }
}
