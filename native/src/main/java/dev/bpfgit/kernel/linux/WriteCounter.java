package dev.bpfgit.kernel.linux;

import dev.bpfgit.kernel.KernelException;
import dev.bpfgit.kernel.MapWriteCounter;
import dev.bpfgit.kernel.ObjectFile;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.OptionalLong;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * bpf/mapwrites.bpf.o loaded and attached to the raw tracepoint sys_exit, owned by this process (nothing is
 * pinned: the attachment ends with the process). Open and close it on one thread (the object's arena).
 */
final class WriteCounter implements MapWriteCounter {
    private static final String PROGRAM = "mw_sys_exit";
    private static final long BPF_NOEXIST = 1;

    private final BpfObject object;
    private final Fd attachment;
    private final int counts;
    private final int unresolved;

    private WriteCounter(BpfObject object, Fd attachment, int counts, int unresolved) {
        this.object = object;
        this.attachment = attachment;
        this.counts = counts;
        this.unresolved = unresolved;
    }

    /** @throws KernelException when the kernel refuses to load or attach it */
    static WriteCounter open(ObjectFile file) {
        BpfObject object = BpfObject.open(file);
        try {
            LibbpfLog.clear();
            int r = object.load();
            if (r < 0) {
                throw Failures.of("load map write counter", file.name(), -r, String.join("; ", LibbpfLog.recent()));
            }
            int counts = -1;
            int unresolved = -1;
            for (BpfObject.DeclaredMap m : object.maps()) {
                switch (m.name()) {
                    case "mw_counts" -> counts = LibbpfObjects.mapFd(m.ptr());
                    case "mw_unresolved" -> unresolved = LibbpfObjects.mapFd(m.ptr());
                    default -> { }
                }
            }
            if (counts < 0 || unresolved < 0) {
                throw Failures.of("find the maps of", file.name(), Failures.ENOENT, "mw_counts, mw_unresolved");
            }
            int prog = Loader.programFd(object, PROGRAM);
            Fd attachment;
            try (Arena arena = Arena.ofConfined()) {
                attachment = Fd.own(Failures.check(Libbpf.rawTracepointOpen(arena.allocateFrom("sys_exit"), prog),
                        "attach " + PROGRAM + " to raw tracepoint", "sys_exit"));
            }
            return new WriteCounter(object, attachment, counts, unresolved);
        } catch (RuntimeException e) {
            object.close();
            throw e;
        }
    }

    @Override
    public void watch(int mapId) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment key = arena.allocateFrom(JAVA_INT, mapId);
            MemorySegment zero = arena.allocate(JAVA_LONG);
            int r = Libbpf.mapUpdate(counts, key, zero, BPF_NOEXIST);
            if (r < 0 && -r != Failures.EEXIST) {
                // E2BIG: the table is full; the map is then simply not watched (read every time)
                if (-r != Failures.E2BIG) {
                    Failures.check(r, "watch map id " + mapId + " in", "mw_counts");
                }
            }
        }
    }

    @Override
    public void unwatch(int mapId) {
        try (Arena arena = Arena.ofConfined()) {
            Libbpf.mapDelete(counts, arena.allocateFrom(JAVA_INT, mapId));   // absent is fine
        }
    }

    @Override
    public OptionalLong writes(int mapId) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment value = arena.allocate(JAVA_LONG);
            int r = Libbpf.mapLookup(counts, arena.allocateFrom(JAVA_INT, mapId), value);
            if (r == -Failures.ENOENT) {
                return OptionalLong.empty();
            }
            Failures.check(r, "read the write count of map id " + mapId + " in", "mw_counts");
            return OptionalLong.of(value.get(JAVA_LONG, 0));
        }
    }

    @Override
    public long unresolved() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment value = arena.allocate(JAVA_LONG);
            Failures.check(Libbpf.mapLookup(unresolved, arena.allocateFrom(JAVA_INT, 0), value),
                    "read", "mw_unresolved");
            return value.get(JAVA_LONG, 0);
        }
    }

    @Override
    public void close() {
        try {
            attachment.close();
        } finally {
            object.close();
        }
    }
}
