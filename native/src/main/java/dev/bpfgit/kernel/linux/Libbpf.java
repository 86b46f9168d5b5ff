package dev.bpfgit.kernel.linux;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Hand-written downcalls into libbpf.so.1 for the bpf(2) wrappers of bpf.h. libbpf 1.x returns
 * {@code -errno} from every int function, so these return the raw result and callers check it with
 * {@link Failures#check}. Object, program and BTF functions are in {@link LibbpfObjects}.
 */
final class Libbpf {
    static final Linker LINKER = Linker.nativeLinker();
    static final SymbolLookup LIB;

    static {
        try {
            LIB = SymbolLookup.libraryLookup("libbpf.so.1", Arena.global());
        } catch (IllegalArgumentException e) {
            throw new UnsupportedOperationException("libbpf.so.1 not found: install libbpf1 (libbpf 1.x)", e);
        }
    }

    static final MemoryLayout ERRNO_STATE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = ERRNO_STATE.varHandle(MemoryLayout.PathElement.groupElement("errno"));

    static MethodHandle fn(String name, MemoryLayout ret, MemoryLayout... args) {
        FunctionDescriptor d = ret == null ? FunctionDescriptor.ofVoid(args) : FunctionDescriptor.of(ret, args);
        return LINKER.downcallHandle(LIB.findOrThrow(name), d);
    }

    /** For functions that report failure through errno (those returning pointers): a leading state segment. */
    static MethodHandle fnErrno(String name, MemoryLayout ret, MemoryLayout... args) {
        return LINKER.downcallHandle(LIB.findOrThrow(name), FunctionDescriptor.of(ret, args),
                Linker.Option.captureCallState("errno"));
    }

    /**
     * A downcall whose parameters and result are C {@code int}s, 64-bit integers or pointers (the layouts name
     * them: {@code JAVA_INT}, {@code JAVA_LONG}, {@code ADDRESS}; any other is refused), each one passed and
     * returned as a Java {@code long}: callers pass an int as {@code (long) i} and a pointer as {@link #ptr},
     * and take an int result as {@code (int) (long) h.invokeExact(...)}. So every function of one arity
     * shares one descriptor, and the linker specialises (spins the classes and method-handle forms of) one
     * downcall per arity rather than one per mix of types: a cold run made 21 distinct descriptors.
     *
     * <p>This relies on a property of the two ABIs the JDK's linker and libbpf's packages have here, SysV
     * x86-64 and AAPCS64 (both LP64): an int, a 64-bit integer and a pointer are each passed in one 64-bit
     * general-purpose register or one 8-byte stack slot (the 7th and later parameter on x86-64), and the
     * bits above an int's 32 are unspecified in both directions: the callee reads only the low 32 of an int
     * parameter, and the caller only the low 32 of an int result ({@code (int)} here). A pointer is passed
     * as its address, exactly what the linker passes for {@code ADDRESS}.
     */
    static MethodHandle wide(String name, MemoryLayout ret, MemoryLayout... args) {
        return wide(LIB.findOrThrow(name), ret, args);
    }

    /** As {@link #wide(String, MemoryLayout, MemoryLayout...)}, for a function of another library (libc's). */
    static MethodHandle wide(MemorySegment function, MemoryLayout ret, MemoryLayout... args) {
        MemoryLayout[] words = new MemoryLayout[args.length];
        for (int i = 0; i < args.length; i++) {
            words[i] = word(args[i]);
        }
        FunctionDescriptor d = ret == null ? FunctionDescriptor.ofVoid(words) : FunctionDescriptor.of(word(ret), words);
        return LINKER.downcallHandle(function, d);
    }

    private static MemoryLayout word(MemoryLayout c) {
        if (c != JAVA_INT && c != JAVA_LONG && c != ADDRESS) {
            throw new IllegalArgumentException("not an int, a 64-bit integer or a pointer: " + c);
        }
        return JAVA_LONG;
    }

    /**
     * A pointer argument of a {@link #wide} downcall: the address of a native segment (NULL included). As the
     * linker does for an {@code ADDRESS} parameter, a heap segment or a closed arena's segment is refused.
     * The segments passed here come from the calling thread's confined arenas, the global arena or the
     * thread's {@link Scratch} buffer (an automatic arena that its thread-local keeps reachable), so none can
     * be closed or freed during the call: the native layer makes no shared arena.
     */
    static long ptr(MemorySegment s) {
        if (!s.isNative()) {
            throw new IllegalArgumentException("heap segment not allowed: " + s);
        }
        if (!s.scope().isAlive()) {
            throw new IllegalStateException("already closed: " + s);
        }
        return s.address();
    }

    static int errno(MemorySegment state) {
        return (int) ERRNO.get(state, 0L);
    }

    static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) {
            throw r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        throw new IllegalStateException("libbpf downcall failed", t);
    }

    private static final MethodHandle OBJ_GET = wide("bpf_obj_get", JAVA_INT, ADDRESS);
    private static final MethodHandle OBJ_PIN = wide("bpf_obj_pin", JAVA_INT, JAVA_INT, ADDRESS);
    private static final MethodHandle OBJ_GET_INFO = wide("bpf_obj_get_info_by_fd", JAVA_INT, JAVA_INT, ADDRESS, ADDRESS);
    private static final MethodHandle MAP_CREATE = wide("bpf_map_create", JAVA_INT,
            JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS);
    private static final MethodHandle MAP_LOOKUP = wide("bpf_map_lookup_elem", JAVA_INT, JAVA_INT, ADDRESS, ADDRESS);
    private static final MethodHandle MAP_UPDATE = wide("bpf_map_update_elem", JAVA_INT,
            JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG);
    private static final MethodHandle MAP_DELETE = wide("bpf_map_delete_elem", JAVA_INT, JAVA_INT, ADDRESS);
    private static final MethodHandle MAP_NEXT_KEY = wide("bpf_map_get_next_key", JAVA_INT, JAVA_INT, ADDRESS, ADDRESS);
    private static final MethodHandle LOOKUP_BATCH = wide("bpf_map_lookup_batch", JAVA_INT,
            JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS);
    private static final MethodHandle UPDATE_BATCH = wide("bpf_map_update_batch", JAVA_INT,
            JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS);
    private static final MethodHandle DELETE_BATCH = wide("bpf_map_delete_batch", JAVA_INT,
            JAVA_INT, ADDRESS, ADDRESS, ADDRESS);
    private static final MethodHandle LINK_CREATE = wide("bpf_link_create", JAVA_INT,
            JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS);
    private static final MethodHandle ITER_CREATE = wide("bpf_iter_create", JAVA_INT, JAVA_INT);
    private static final MethodHandle LINK_UPDATE = wide("bpf_link_update", JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS);
    private static final MethodHandle LINK_DETACH = wide("bpf_link_detach", JAVA_INT, JAVA_INT);
    private static final MethodHandle PROG_FD_BY_ID = wide("bpf_prog_get_fd_by_id", JAVA_INT, JAVA_INT);
    private static final MethodHandle LINK_FD_BY_ID = wide("bpf_link_get_fd_by_id", JAVA_INT, JAVA_INT);
    private static final MethodHandle PROG_QUERY = wide("bpf_prog_query", JAVA_INT,
            JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, ADDRESS);
    private static final MethodHandle XDP_QUERY = wide("bpf_xdp_query", JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS);
    private static final MethodHandle TEST_RUN = wide("bpf_prog_test_run_opts", JAVA_INT, JAVA_INT, ADDRESS);
    private static final MethodHandle NUM_CPUS = wide("libbpf_num_possible_cpus", JAVA_INT);
    private static final MethodHandle RAW_TP_OPEN = wide("bpf_raw_tracepoint_open", JAVA_INT, ADDRESS, JAVA_INT);

    private Libbpf() {
    }

    static int objGet(MemorySegment path) {
        try {
            return (int) (long) OBJ_GET.invokeExact(ptr(path));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int objPin(int fd, MemorySegment path) {
        try {
            return (int) (long) OBJ_PIN.invokeExact((long) fd, ptr(path));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Fills {@code info} (its size is passed as info_len: the kernel fills what fits). */
    static int objGetInfo(int fd, MemorySegment info, MemorySegment infoLen) {
        infoLen.set(JAVA_INT, 0, (int) info.byteSize());
        try {
            return (int) (long) OBJ_GET_INFO.invokeExact((long) fd, ptr(info), ptr(infoLen));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int mapCreate(int type, MemorySegment name, int keySize, int valueSize, int maxEntries, MemorySegment opts) {
        try {
            return (int) (long) MAP_CREATE.invokeExact((long) type, ptr(name), (long) keySize, (long) valueSize,
                    (long) maxEntries, ptr(opts));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** BPF_RAW_TRACEPOINT_OPEN: the returned fd holds the attachment (closing it detaches). */
    static int rawTracepointOpen(MemorySegment name, int progFd) {
        try {
            return (int) (long) RAW_TP_OPEN.invokeExact(ptr(name), (long) progFd);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int mapLookup(int fd, MemorySegment key, MemorySegment value) {
        try {
            return (int) (long) MAP_LOOKUP.invokeExact((long) fd, ptr(key), ptr(value));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int mapUpdate(int fd, MemorySegment key, MemorySegment value, long flags) {
        try {
            return (int) (long) MAP_UPDATE.invokeExact((long) fd, ptr(key), ptr(value), flags);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int mapDelete(int fd, MemorySegment key) {
        try {
            return (int) (long) MAP_DELETE.invokeExact((long) fd, ptr(key));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code key} NULL for the first key. */
    static int mapNextKey(int fd, MemorySegment key, MemorySegment next) {
        try {
            return (int) (long) MAP_NEXT_KEY.invokeExact((long) fd, ptr(key), ptr(next));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code count} is a u32 in/out: capacity in, entries returned out (also on the final ENOENT). */
    static int lookupBatch(int fd, MemorySegment inBatch, MemorySegment outBatch, MemorySegment keys,
                           MemorySegment values, MemorySegment count, MemorySegment opts) {
        try {
            return (int) (long) LOOKUP_BATCH.invokeExact((long) fd, ptr(inBatch), ptr(outBatch), ptr(keys), ptr(values),
                    ptr(count), ptr(opts));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int updateBatch(int fd, MemorySegment keys, MemorySegment values, MemorySegment count, MemorySegment opts) {
        try {
            return (int) (long) UPDATE_BATCH.invokeExact((long) fd, ptr(keys), ptr(values), ptr(count), ptr(opts));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int deleteBatch(int fd, MemorySegment keys, MemorySegment count, MemorySegment opts) {
        try {
            return (int) (long) DELETE_BATCH.invokeExact((long) fd, ptr(keys), ptr(count), ptr(opts));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int linkCreate(int progFd, int targetFd, int attachType, MemorySegment opts) {
        try {
            return (int) (long) LINK_CREATE.invokeExact((long) progFd, (long) targetFd, (long) attachType, ptr(opts));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int iterCreate(int linkFd) {
        try {
            return (int) (long) ITER_CREATE.invokeExact((long) linkFd);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int linkUpdate(int linkFd, int newProgFd, MemorySegment opts) {
        try {
            return (int) (long) LINK_UPDATE.invokeExact((long) linkFd, (long) newProgFd, ptr(opts));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int progGetFdById(int id) {
        try {
            return (int) (long) PROG_FD_BY_ID.invokeExact((long) id);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** BPF_LINK_DETACH: the link leaves its attach point now, whoever else still holds it (5.9+). */
    static int linkDetach(int linkFd) {
        try {
            return (int) (long) LINK_DETACH.invokeExact((long) linkFd);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int linkGetFdById(int id) {
        try {
            return (int) (long) LINK_FD_BY_ID.invokeExact((long) id);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int progQuery(int targetFd, int attachType, int queryFlags, MemorySegment attachFlags,
                         MemorySegment progIds, MemorySegment progCnt) {
        try {
            return (int) (long) PROG_QUERY.invokeExact((long) targetFd, (long) attachType, (long) queryFlags,
                    ptr(attachFlags), ptr(progIds), ptr(progCnt));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int xdpQuery(int ifindex, int flags, MemorySegment opts) {
        try {
            return (int) (long) XDP_QUERY.invokeExact((long) ifindex, (long) flags, ptr(opts));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int testRun(int progFd, MemorySegment opts) {
        try {
            return (int) (long) TEST_RUN.invokeExact((long) progFd, ptr(opts));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int numPossibleCpus() {
        try {
            return (int) (long) NUM_CPUS.invokeExact();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }
}
