package dev.bpfgit.kernel.linux;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

import static dev.bpfgit.kernel.linux.Libbpf.fn;
import static dev.bpfgit.kernel.linux.Libbpf.fnErrno;
import static dev.bpfgit.kernel.linux.Libbpf.rethrow;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BOOLEAN;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Downcalls for libbpf's object model (libbpf.h: bpf_object, bpf_map, bpf_program) and BTF (btf.h).
 * Pointers come back as zero-length segments; {@link BpfObject} owns their lifetime.
 */
final class LibbpfObjects {
    private static final MethodHandle OPEN_MEM = fnErrno("bpf_object__open_mem", ADDRESS, ADDRESS, JAVA_LONG, ADDRESS);
    private static final MethodHandle NEXT_MAP = fn("bpf_object__next_map", ADDRESS, ADDRESS, ADDRESS);
    private static final MethodHandle MAP_NAME = fn("bpf_map__name", ADDRESS, ADDRESS);
    private static final MethodHandle MAP_REUSE_FD = fn("bpf_map__reuse_fd", JAVA_INT, ADDRESS, JAVA_INT);
    private static final MethodHandle MAP_TYPE = fn("bpf_map__type", JAVA_INT, ADDRESS);
    private static final MethodHandle MAP_KEY_SIZE = fn("bpf_map__key_size", JAVA_INT, ADDRESS);
    private static final MethodHandle MAP_VALUE_SIZE = fn("bpf_map__value_size", JAVA_INT, ADDRESS);
    private static final MethodHandle MAP_IS_INTERNAL = fn("bpf_map__is_internal", JAVA_BOOLEAN, ADDRESS);
    private static final MethodHandle MAP_FLAGS = fn("bpf_map__map_flags", JAVA_INT, ADDRESS);
    private static final MethodHandle NEXT_PROGRAM = fn("bpf_object__next_program", ADDRESS, ADDRESS, ADDRESS);
    private static final MethodHandle PROG_NAME = fn("bpf_program__name", ADDRESS, ADDRESS);
    private static final MethodHandle PROG_SET_AUTOLOAD = fn("bpf_program__set_autoload", JAVA_INT, ADDRESS, JAVA_BOOLEAN);
    private static final MethodHandle PROG_FD = fn("bpf_program__fd", JAVA_INT, ADDRESS);
    private static final MethodHandle MAP_FD = fn("bpf_map__fd", JAVA_INT, ADDRESS);
    private static final MethodHandle PROG_SET_LOG_BUF = fn("bpf_program__set_log_buf", JAVA_INT,
            ADDRESS, ADDRESS, JAVA_LONG);
    private static final MethodHandle LOAD = fn("bpf_object__load", JAVA_INT, ADDRESS);
    private static final MethodHandle CLOSE = fn("bpf_object__close", null, ADDRESS);
    private static final MethodHandle OBJECT_BTF = fn("bpf_object__btf", ADDRESS, ADDRESS);
    private static final MethodHandle BTF_LOAD = fn("btf__load_into_kernel", JAVA_INT, ADDRESS);
    private static final MethodHandle BTF_FD = fn("btf__fd", JAVA_INT, ADDRESS);
    private static final MethodHandle BTF_FIND = fn("btf__find_by_name", JAVA_INT, ADDRESS, ADDRESS);
    private static final MethodHandle BTF_RESOLVE_SIZE = fn("btf__resolve_size", JAVA_LONG, ADDRESS, JAVA_INT);

    private LibbpfObjects() {
    }

    /** NULL on failure, with errno in {@code state}. */
    static MemorySegment openMem(MemorySegment state, MemorySegment buf, long size, MemorySegment opts) {
        try {
            return (MemorySegment) OPEN_MEM.invokeExact(state, buf, size, opts);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static MemorySegment nextMap(MemorySegment obj, MemorySegment prev) {
        try {
            return (MemorySegment) NEXT_MAP.invokeExact(obj, prev);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static String mapName(MemorySegment map) {
        try {
            return cString((MemorySegment) MAP_NAME.invokeExact(map));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int mapReuseFd(MemorySegment map, int fd) {
        try {
            return (int) MAP_REUSE_FD.invokeExact(map, fd);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int mapType(MemorySegment map) {
        return intOf(MAP_TYPE, map);
    }

    static int mapKeySize(MemorySegment map) {
        return intOf(MAP_KEY_SIZE, map);
    }

    static int mapValueSize(MemorySegment map) {
        return intOf(MAP_VALUE_SIZE, map);
    }

    static int mapFlags(MemorySegment map) {
        return intOf(MAP_FLAGS, map);
    }

    /** .rodata, .data, .bss, .kconfig: maps libbpf makes from global variables rather than SEC(".maps"). */
    static boolean mapIsInternal(MemorySegment map) {
        try {
            return (boolean) MAP_IS_INTERNAL.invokeExact(map);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static MemorySegment nextProgram(MemorySegment obj, MemorySegment prev) {
        try {
            return (MemorySegment) NEXT_PROGRAM.invokeExact(obj, prev);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static String programName(MemorySegment prog) {
        try {
            return cString((MemorySegment) PROG_NAME.invokeExact(prog));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int programSetAutoload(MemorySegment prog, boolean autoload) {
        try {
            return (int) PROG_SET_AUTOLOAD.invokeExact(prog, autoload);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int programFd(MemorySegment prog) {
        return intOf(PROG_FD, prog);
    }

    /** The fd of a loaded object's map (owned by the object). */
    static int mapFd(MemorySegment map) {
        return intOf(MAP_FD, map);
    }

    static int programSetLogBuf(MemorySegment prog, MemorySegment buf) {
        try {
            return (int) PROG_SET_LOG_BUF.invokeExact(prog, buf, buf.byteSize());
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int load(MemorySegment obj) {
        return intOf(LOAD, obj);
    }

    static void close(MemorySegment obj) {
        try {
            CLOSE.invokeExact(obj);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** The object's BTF, or NULL when it was compiled without -g. Owned by the object. */
    static MemorySegment objectBtf(MemorySegment obj) {
        try {
            return (MemorySegment) OBJECT_BTF.invokeExact(obj);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int btfLoadIntoKernel(MemorySegment btf) {
        return intOf(BTF_LOAD, btf);
    }

    static int btfFd(MemorySegment btf) {
        return intOf(BTF_FD, btf);
    }

    /** The type id of the first type with this name (any kind), or -ENOENT. */
    static int btfFindByName(MemorySegment btf, MemorySegment name) {
        try {
            return (int) BTF_FIND.invokeExact(btf, name);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static long btfResolveSize(MemorySegment btf, int typeId) {
        try {
            return (long) BTF_RESOLVE_SIZE.invokeExact(btf, typeId);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static int intOf(MethodHandle h, MemorySegment p) {
        try {
            return (int) h.invokeExact(p);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Reads a C string libbpf returned; its owner keeps it alive while we copy. */
    static String cString(MemorySegment p) {
        return p.equals(MemorySegment.NULL) ? null : p.reinterpret(Long.MAX_VALUE).getString(0);
    }
}
