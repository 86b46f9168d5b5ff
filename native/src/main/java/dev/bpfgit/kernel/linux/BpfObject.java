package dev.bpfgit.kernel.linux;

import dev.bpfgit.kernel.ObjectFile;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

/**
 * An opened libbpf {@code struct bpf_object}, with the native copy of its ELF bytes; closing it frees the
 * object together with everything libbpf created for it (program fds, map fds, BTF fd).
 */
final class BpfObject implements AutoCloseable {
    /** A map the object declares, as declared (before any reuse of a pinned map). */
    record DeclaredMap(MemorySegment ptr, String name, int type, int keySize, int valueSize, int flags,
                       boolean internal) {
    }

    /** A program of the object. */
    record DeclaredProgram(MemorySegment ptr, String name) {
    }

    private final Arena arena;
    private final MemorySegment obj;
    private final String name;

    private BpfObject(Arena arena, MemorySegment obj, String name) {
        this.arena = arena;
        this.obj = obj;
        this.name = name;
    }

    /** bpf_object__open_mem: parses the ELF, creates nothing in the kernel yet. */
    static BpfObject open(ObjectFile file) {
        LibbpfLog.install();
        Arena arena = Arena.ofConfined();
        try {
            byte[] elf = file.elf();
            MemorySegment buf = arena.allocate(elf.length, 8);
            MemorySegment.copy(elf, 0, buf, JAVA_BYTE, 0, elf.length);
            MemorySegment opts = Structs.opts(arena, Structs.OPEN_OPTS);
            // like bpf_object__open_file: the file name up to the first dot, the prefix of .rodata & co
            String objName = file.name().contains(".") ? file.name().substring(0, file.name().indexOf('.')) : file.name();
            Structs.setAddress(opts, Structs.OPEN_OPTS, "object_name", arena.allocateFrom(objName));
            MemorySegment state = arena.allocate(Libbpf.ERRNO_STATE);
            LibbpfLog.clear();
            MemorySegment obj = LibbpfObjects.openMem(state, buf, elf.length, opts);
            if (obj.equals(MemorySegment.NULL)) {
                throw Failures.of("open object", file.name(), Libbpf.errno(state), String.join("; ", LibbpfLog.recent()));
            }
            return new BpfObject(arena, obj, file.name());
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    String name() {
        return name;
    }

    Arena arena() {
        return arena;
    }

    List<DeclaredMap> maps() {
        List<DeclaredMap> out = new ArrayList<>();
        for (MemorySegment m = LibbpfObjects.nextMap(obj, MemorySegment.NULL); !m.equals(MemorySegment.NULL);
             m = LibbpfObjects.nextMap(obj, m)) {
            out.add(new DeclaredMap(m, LibbpfObjects.mapName(m), LibbpfObjects.mapType(m),
                    LibbpfObjects.mapKeySize(m), LibbpfObjects.mapValueSize(m), LibbpfObjects.mapFlags(m),
                    LibbpfObjects.mapIsInternal(m)));
        }
        return out;
    }

    List<DeclaredProgram> programs() {
        List<DeclaredProgram> out = new ArrayList<>();
        for (MemorySegment p = LibbpfObjects.nextProgram(obj, MemorySegment.NULL); !p.equals(MemorySegment.NULL);
             p = LibbpfObjects.nextProgram(obj, p)) {
            out.add(new DeclaredProgram(p, LibbpfObjects.programName(p)));
        }
        return out;
    }

    /** The object's BTF (owned by the object), failing when it was compiled without -g. */
    MemorySegment btf() {
        MemorySegment btf = LibbpfObjects.objectBtf(obj);
        if (btf.equals(MemorySegment.NULL)) {
            throw Failures.of("read BTF of object", name, Failures.ENOENT, "the object has no BTF (compile with -g)");
        }
        return btf;
    }

    /** bpf_object__load; returns 0 or -errno. */
    int load() {
        return LibbpfObjects.load(obj);
    }

    @Override
    public void close() {
        try {
            LibbpfObjects.close(obj);
        } finally {
            arena.close();
        }
    }
}
