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

    private static final MethodHandle OBJ_GET = fn("bpf_obj_get", JAVA_INT, ADDRESS);
    private static final MethodHandle OBJ_PIN = fn("bpf_obj_pin", JAVA_INT, JAVA_INT, ADDRESS);
    private static final MethodHandle OBJ_GET_INFO = fn("bpf_obj_get_info_by_fd", JAVA_INT, JAVA_INT, ADDRESS, ADDRESS);
    private static final MethodHandle MAP_CREATE = fn("bpf_map_create", JAVA_INT,
            JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS);
    private static final MethodHandle MAP_LOOKUP = fn("bpf_map_lookup_elem", JAVA_INT, JAVA_INT, ADDRESS, ADDRESS);
    private static final MethodHandle MAP_UPDATE = fn("bpf_map_update_elem", JAVA_INT,
            JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG);
    private static final MethodHandle MAP_DELETE = fn("bpf_map_delete_elem", JAVA_INT, JAVA_INT, ADDRESS);
    private static final MethodHandle MAP_NEXT_KEY = fn("bpf_map_get_next_key", JAVA_INT, JAVA_INT, ADDRESS, ADDRESS);
    private static final MethodHandle LOOKUP_BATCH = fn("bpf_map_lookup_batch", JAVA_INT,
            JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS);
    private static final MethodHandle UPDATE_BATCH = fn("bpf_map_update_batch", JAVA_INT,
            JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS);
    private static final MethodHandle DELETE_BATCH = fn("bpf_map_delete_batch", JAVA_INT,
            JAVA_INT, ADDRESS, ADDRESS, ADDRESS);
    private static final MethodHandle LINK_CREATE = fn("bpf_link_create", JAVA_INT,
            JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS);
    private static final MethodHandle ITER_CREATE = fn("bpf_iter_create", JAVA_INT, JAVA_INT);
    private static final MethodHandle LINK_UPDATE = fn("bpf_link_update", JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS);
    private static final MethodHandle PROG_FD_BY_ID = fn("bpf_prog_get_fd_by_id", JAVA_INT, JAVA_INT);
    private static final MethodHandle LINK_FD_BY_ID = fn("bpf_link_get_fd_by_id", JAVA_INT, JAVA_INT);
    private static final MethodHandle PROG_QUERY = fn("bpf_prog_query", JAVA_INT,
            JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, ADDRESS);
    private static final MethodHandle XDP_QUERY = fn("bpf_xdp_query", JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS);
    private static final MethodHandle TEST_RUN = fn("bpf_prog_test_run_opts", JAVA_INT, JAVA_INT, ADDRESS);
    private static final MethodHandle NUM_CPUS = fn("libbpf_num_possible_cpus", JAVA_INT);
    private static final MethodHandle RAW_TP_OPEN = fn("bpf_raw_tracepoint_open", JAVA_INT, ADDRESS, JAVA_INT);

    private Libbpf() {
    }

    static int objGet(MemorySegment path) {
        try {
            return (int) OBJ_GET.invokeExact(path);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int objPin(int fd, MemorySegment path) {
        try {
            return (int) OBJ_PIN.invokeExact(fd, path);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Fills {@code info} (its size is passed as info_len: the kernel fills what fits). */
    static int objGetInfo(int fd, MemorySegment info, MemorySegment infoLen) {
        infoLen.set(JAVA_INT, 0, (int) info.byteSize());
        try {
            return (int) OBJ_GET_INFO.invokeExact(fd, info, infoLen);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int mapCreate(int type, MemorySegment name, int keySize, int valueSize, int maxEntries, MemorySegment opts) {
        try {
            return (int) MAP_CREATE.invokeExact(type, name, keySize, valueSize, maxEntries, opts);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** BPF_RAW_TRACEPOINT_OPEN: the returned fd holds the attachment (closing it detaches). */
    static int rawTracepointOpen(MemorySegment name, int progFd) {
        try {
            return (int) RAW_TP_OPEN.invokeExact(name, progFd);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int mapLookup(int fd, MemorySegment key, MemorySegment value) {
        try {
            return (int) MAP_LOOKUP.invokeExact(fd, key, value);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int mapUpdate(int fd, MemorySegment key, MemorySegment value, long flags) {
        try {
            return (int) MAP_UPDATE.invokeExact(fd, key, value, flags);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int mapDelete(int fd, MemorySegment key) {
        try {
            return (int) MAP_DELETE.invokeExact(fd, key);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code key} NULL for the first key. */
    static int mapNextKey(int fd, MemorySegment key, MemorySegment next) {
        try {
            return (int) MAP_NEXT_KEY.invokeExact(fd, key, next);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code count} is a u32 in/out: capacity in, entries returned out (also on the final ENOENT). */
    static int lookupBatch(int fd, MemorySegment inBatch, MemorySegment outBatch, MemorySegment keys,
                           MemorySegment values, MemorySegment count, MemorySegment opts) {
        try {
            return (int) LOOKUP_BATCH.invokeExact(fd, inBatch, outBatch, keys, values, count, opts);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int updateBatch(int fd, MemorySegment keys, MemorySegment values, MemorySegment count, MemorySegment opts) {
        try {
            return (int) UPDATE_BATCH.invokeExact(fd, keys, values, count, opts);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int deleteBatch(int fd, MemorySegment keys, MemorySegment count, MemorySegment opts) {
        try {
            return (int) DELETE_BATCH.invokeExact(fd, keys, count, opts);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int linkCreate(int progFd, int targetFd, int attachType, MemorySegment opts) {
        try {
            return (int) LINK_CREATE.invokeExact(progFd, targetFd, attachType, opts);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int iterCreate(int linkFd) {
        try {
            return (int) ITER_CREATE.invokeExact(linkFd);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int linkUpdate(int linkFd, int newProgFd, MemorySegment opts) {
        try {
            return (int) LINK_UPDATE.invokeExact(linkFd, newProgFd, opts);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int progGetFdById(int id) {
        try {
            return (int) PROG_FD_BY_ID.invokeExact(id);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int linkGetFdById(int id) {
        try {
            return (int) LINK_FD_BY_ID.invokeExact(id);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int progQuery(int targetFd, int attachType, int queryFlags, MemorySegment attachFlags,
                         MemorySegment progIds, MemorySegment progCnt) {
        try {
            return (int) PROG_QUERY.invokeExact(targetFd, attachType, queryFlags, attachFlags, progIds, progCnt);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int xdpQuery(int ifindex, int flags, MemorySegment opts) {
        try {
            return (int) XDP_QUERY.invokeExact(ifindex, flags, opts);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int testRun(int progFd, MemorySegment opts) {
        try {
            return (int) TEST_RUN.invokeExact(progFd, opts);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int numPossibleCpus() {
        try {
            return (int) NUM_CPUS.invokeExact();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }
}
