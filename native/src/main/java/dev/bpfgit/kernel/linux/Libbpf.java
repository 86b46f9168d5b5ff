package dev.bpfgit.kernel.linux;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;

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
    /** errno's offset in the captured state (read as an int: no var handle of the state's layout to make). */
    private static final long ERRNO_OFFSET = ERRNO_STATE.byteOffset(MemoryLayout.PathElement.groupElement("errno"));

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
     * A function called through {@link #call}: its parameters and result are C {@code int}s, 64-bit integers or
     * pointers (the layouts name them: {@code JAVA_INT}, {@code JAVA_LONG}, {@code ADDRESS}; any other is
     * refused), each one passed and returned as a Java {@code long}: callers pass an int as {@code (long) i} and
     * a pointer as {@link #ptr}, and take an int result as {@code (int) call(...)}.
     *
     * <p>Every such function goes through one downcall handle, {@link #CALL}: seven {@code long} parameters and
     * a {@code long} result, the function's address passed at each call, and a function of fewer parameters
     * gets zeros for the rest. The linker specialises (spins the classes and method-handle forms of) one
     * downcall per distinct descriptor, about 10 ms of CPU each on a cold start: one per arity made 8 on a cold
     * plan (bench/README.md, "native14"), this makes one.
     *
     * <p>This relies on properties of the two ABIs the JDK's linker and libbpf's packages have here, SysV
     * x86-64 and AAPCS64 (both LP64):
     * <ul>
     * <li>an int, a 64-bit integer and a pointer are each passed in one 64-bit general-purpose register or one
     * 8-byte stack slot (the 7th parameter on x86-64), and the bits above an int's 32 are unspecified in both
     * directions: the callee reads only the low 32 of an int parameter, and the caller only the low 32 of an
     * int result ({@code (int)} here). A pointer is passed as its address, exactly what the linker passes for
     * {@code ADDRESS};</li>
     * <li>arguments beyond those a (non-variadic) function declares are harmless: they sit in argument
     * registers the callee does not read (x86-64: rdi, rsi, rdx, rcx, r8, r9; AAPCS64: x0-x7) or, for the 7th
     * on x86-64, in a stack slot of the caller's own frame that the caller also removes. None of these
     * functions is variadic. A void function's result register is read and ignored.</li>
     * </ul>
     */
    static final class Fn {
        final MemorySegment address;
        final int arity;

        private Fn(MemorySegment address, int arity) {
            this.address = address;
            this.arity = arity;
        }
    }

    /** The most parameters a {@link Fn} may have: bpf_map_lookup_batch's seven. */
    static final int MAX_ARITY = 7;

    private static final MethodHandle CALL = LINKER.downcallHandle(FunctionDescriptor.of(JAVA_LONG,
            JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG));

    /** libbpf's function {@code name}, declared with its C types (see {@link Fn}); {@code ret} null for void. */
    static Fn wide(String name, MemoryLayout ret, MemoryLayout... args) {
        return wide(LIB.findOrThrow(name), ret, args);
    }

    /** As {@link #wide(String, MemoryLayout, MemoryLayout...)}, for a function of another library (libc's). */
    static Fn wide(MemorySegment function, MemoryLayout ret, MemoryLayout... args) {
        if (args.length > MAX_ARITY) {
            throw new IllegalArgumentException("more than " + MAX_ARITY + " parameters: " + args.length);
        }
        for (MemoryLayout a : args) {
            word(a);
        }
        if (ret != null) {
            word(ret);
        }
        if (!function.isNative() || function.equals(MemorySegment.NULL)) {
            throw new IllegalArgumentException("not a function's address: " + function);
        }
        return new Fn(function, args.length);
    }

    private static long invoke(Fn f, int arity, long a, long b, long c, long d, long e, long g, long h) {
        if (f.arity != arity) {
            throw new IllegalArgumentException("a function of " + f.arity + " parameters called with " + arity);
        }
        try {
            return (long) CALL.invokeExact(f.address, a, b, c, d, e, g, h);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static long call(Fn f) {
        return invoke(f, 0, 0L, 0L, 0L, 0L, 0L, 0L, 0L);
    }

    static long call(Fn f, long a) {
        return invoke(f, 1, a, 0L, 0L, 0L, 0L, 0L, 0L);
    }

    static long call(Fn f, long a, long b) {
        return invoke(f, 2, a, b, 0L, 0L, 0L, 0L, 0L);
    }

    static long call(Fn f, long a, long b, long c) {
        return invoke(f, 3, a, b, c, 0L, 0L, 0L, 0L);
    }

    static long call(Fn f, long a, long b, long c, long d) {
        return invoke(f, 4, a, b, c, d, 0L, 0L, 0L);
    }

    static long call(Fn f, long a, long b, long c, long d, long e) {
        return invoke(f, 5, a, b, c, d, e, 0L, 0L);
    }

    static long call(Fn f, long a, long b, long c, long d, long e, long g) {
        return invoke(f, 6, a, b, c, d, e, g, 0L);
    }

    static long call(Fn f, long a, long b, long c, long d, long e, long g, long h) {
        return invoke(f, 7, a, b, c, d, e, g, h);
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
        return state.get(JAVA_INT, ERRNO_OFFSET);
    }

    static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) {
            throw r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        throw new IllegalStateException("downcall failed", t);   // libbpf's, libcrypto's (BulkSha256)
    }

    private static final Fn OBJ_GET = wide("bpf_obj_get", JAVA_INT, ADDRESS);
    private static final Fn OBJ_PIN = wide("bpf_obj_pin", JAVA_INT, JAVA_INT, ADDRESS);
    private static final Fn OBJ_GET_INFO = wide("bpf_obj_get_info_by_fd", JAVA_INT, JAVA_INT, ADDRESS, ADDRESS);
    private static final Fn MAP_CREATE = wide("bpf_map_create", JAVA_INT,
            JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS);
    private static final Fn MAP_LOOKUP = wide("bpf_map_lookup_elem", JAVA_INT, JAVA_INT, ADDRESS, ADDRESS);
    private static final Fn MAP_UPDATE = wide("bpf_map_update_elem", JAVA_INT,
            JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG);
    private static final Fn MAP_DELETE = wide("bpf_map_delete_elem", JAVA_INT, JAVA_INT, ADDRESS);
    private static final Fn MAP_NEXT_KEY = wide("bpf_map_get_next_key", JAVA_INT, JAVA_INT, ADDRESS, ADDRESS);
    private static final Fn LOOKUP_BATCH = wide("bpf_map_lookup_batch", JAVA_INT,
            JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS);
    private static final Fn UPDATE_BATCH = wide("bpf_map_update_batch", JAVA_INT,
            JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS);
    private static final Fn DELETE_BATCH = wide("bpf_map_delete_batch", JAVA_INT,
            JAVA_INT, ADDRESS, ADDRESS, ADDRESS);
    private static final Fn LINK_CREATE = wide("bpf_link_create", JAVA_INT,
            JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS);
    private static final Fn ITER_CREATE = wide("bpf_iter_create", JAVA_INT, JAVA_INT);
    private static final Fn LINK_UPDATE = wide("bpf_link_update", JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS);
    private static final Fn LINK_DETACH = wide("bpf_link_detach", JAVA_INT, JAVA_INT);
    private static final Fn PROG_FD_BY_ID = wide("bpf_prog_get_fd_by_id", JAVA_INT, JAVA_INT);
    private static final Fn LINK_FD_BY_ID = wide("bpf_link_get_fd_by_id", JAVA_INT, JAVA_INT);
    private static final Fn PROG_QUERY = wide("bpf_prog_query", JAVA_INT,
            JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, ADDRESS);
    private static final Fn XDP_QUERY = wide("bpf_xdp_query", JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS);
    private static final Fn TEST_RUN = wide("bpf_prog_test_run_opts", JAVA_INT, JAVA_INT, ADDRESS);
    private static final Fn NUM_CPUS = wide("libbpf_num_possible_cpus", JAVA_INT);
    private static final Fn RAW_TP_OPEN = wide("bpf_raw_tracepoint_open", JAVA_INT, ADDRESS, JAVA_INT);

    private Libbpf() {
    }

    static int objGet(MemorySegment path) {
        return (int) call(OBJ_GET, ptr(path));
    }

    static int objPin(int fd, MemorySegment path) {
        return (int) call(OBJ_PIN, (long) fd, ptr(path));
    }

    /** Fills {@code info} (its size is passed as info_len: the kernel fills what fits). */
    static int objGetInfo(int fd, MemorySegment info, MemorySegment infoLen) {
        infoLen.set(JAVA_INT, 0, (int) info.byteSize());
        return (int) call(OBJ_GET_INFO, (long) fd, ptr(info), ptr(infoLen));
    }

    static int mapCreate(int type, MemorySegment name, int keySize, int valueSize, int maxEntries, MemorySegment opts) {
        return (int) call(MAP_CREATE, (long) type, ptr(name), (long) keySize, (long) valueSize,
                (long) maxEntries, ptr(opts));
    }

    /** BPF_RAW_TRACEPOINT_OPEN: the returned fd holds the attachment (closing it detaches). */
    static int rawTracepointOpen(MemorySegment name, int progFd) {
        return (int) call(RAW_TP_OPEN, ptr(name), (long) progFd);
    }

    static int mapLookup(int fd, MemorySegment key, MemorySegment value) {
        return (int) call(MAP_LOOKUP, (long) fd, ptr(key), ptr(value));
    }

    static int mapUpdate(int fd, MemorySegment key, MemorySegment value, long flags) {
        return (int) call(MAP_UPDATE, (long) fd, ptr(key), ptr(value), flags);
    }

    static int mapDelete(int fd, MemorySegment key) {
        return (int) call(MAP_DELETE, (long) fd, ptr(key));
    }

    /** {@code key} NULL for the first key. */
    static int mapNextKey(int fd, MemorySegment key, MemorySegment next) {
        return (int) call(MAP_NEXT_KEY, (long) fd, ptr(key), ptr(next));
    }

    /** {@code count} is a u32 in/out: capacity in, entries returned out (also on the final ENOENT). */
    static int lookupBatch(int fd, MemorySegment inBatch, MemorySegment outBatch, MemorySegment keys,
                           MemorySegment values, MemorySegment count, MemorySegment opts) {
        return (int) call(LOOKUP_BATCH, (long) fd, ptr(inBatch), ptr(outBatch), ptr(keys), ptr(values),
                ptr(count), ptr(opts));
    }

    static int updateBatch(int fd, MemorySegment keys, MemorySegment values, MemorySegment count, MemorySegment opts) {
        return (int) call(UPDATE_BATCH, (long) fd, ptr(keys), ptr(values), ptr(count), ptr(opts));
    }

    static int deleteBatch(int fd, MemorySegment keys, MemorySegment count, MemorySegment opts) {
        return (int) call(DELETE_BATCH, (long) fd, ptr(keys), ptr(count), ptr(opts));
    }

    static int linkCreate(int progFd, int targetFd, int attachType, MemorySegment opts) {
        return (int) call(LINK_CREATE, (long) progFd, (long) targetFd, (long) attachType, ptr(opts));
    }

    static int iterCreate(int linkFd) {
        return (int) call(ITER_CREATE, (long) linkFd);
    }

    static int linkUpdate(int linkFd, int newProgFd, MemorySegment opts) {
        return (int) call(LINK_UPDATE, (long) linkFd, (long) newProgFd, ptr(opts));
    }

    static int progGetFdById(int id) {
        return (int) call(PROG_FD_BY_ID, (long) id);
    }

    /** BPF_LINK_DETACH: the link leaves its attach point now, whoever else still holds it (5.9+). */
    static int linkDetach(int linkFd) {
        return (int) call(LINK_DETACH, (long) linkFd);
    }

    static int linkGetFdById(int id) {
        return (int) call(LINK_FD_BY_ID, (long) id);
    }

    static int progQuery(int targetFd, int attachType, int queryFlags, MemorySegment attachFlags,
                         MemorySegment progIds, MemorySegment progCnt) {
        return (int) call(PROG_QUERY, (long) targetFd, (long) attachType, (long) queryFlags,
                ptr(attachFlags), ptr(progIds), ptr(progCnt));
    }

    static int xdpQuery(int ifindex, int flags, MemorySegment opts) {
        return (int) call(XDP_QUERY, (long) ifindex, (long) flags, ptr(opts));
    }

    static int testRun(int progFd, MemorySegment opts) {
        return (int) call(TEST_RUN, (long) progFd, ptr(opts));
    }

    static int numPossibleCpus() {
        return (int) call(NUM_CPUS);
    }
}
