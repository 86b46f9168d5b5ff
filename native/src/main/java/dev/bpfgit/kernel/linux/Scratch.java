package dev.bpfgit.kernel.linux;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * One native buffer per thread for the batch calls of {@link MapAccess}, kept across calls: a warm observe
 * dumps the same maps every reconcile, and a fresh buffer per dump was allocated, zeroed and page-faulted in
 * every time. Only its bytes are reused, never what they held: every call writes before it reads. A request
 * larger than {@link #RETAIN} is served from the caller's arena, as before, so a thread never keeps more than
 * that. Freed with its thread (an automatic arena).
 */
final class Scratch {
    /** The most a thread keeps: a 16k-entry chunk of 8-byte keys and 56-byte values. */
    static final long RETAIN = 1 << 20;

    private static final ThreadLocal<Scratch> MINE = ThreadLocal.withInitial(Scratch::new);

    private MemorySegment buffer = MemorySegment.NULL;

    private Scratch() {
    }

    /**
     * {@code bytes} of native memory, 8-byte aligned, contents undefined; valid until the calling thread asks
     * again (one batch operation at a time per thread), or until {@code fallback} closes when it came from there.
     */
    static MemorySegment get(long bytes, Arena fallback) {
        if (bytes > RETAIN) {
            return fallback.allocate(bytes, 8);
        }
        Scratch s = MINE.get();
        if (s.buffer.byteSize() < bytes) {
            s.buffer = Arena.ofAuto().allocate(Math.max(bytes, 64 << 10), 8);
        }
        return s.buffer.asSlice(0, bytes);
    }
}
