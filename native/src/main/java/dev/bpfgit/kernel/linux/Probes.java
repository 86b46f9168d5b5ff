package dev.bpfgit.kernel.linux;

import dev.bpfgit.kernel.Feature;
import dev.bpfgit.kernel.Features;
import dev.bpfgit.kernel.MapType;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.EnumSet;
import java.util.Set;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Asks the running kernel what it can do, the way the feature would be used: a query with the attach type,
 * a tiny program load, a map and a batch call, or the kernel's own BTF where the feature is a kernel
 * function. Nothing is attached and nothing outlives a probe. Probed once per process ({@link #features()}).
 */
final class Probes {
    // enum bpf_prog_type / bpf_attach_type / bpf_func_id / BTF kinds, from the uapi headers
    private static final int PROG_SCHED_CLS = 3;
    private static final int PROG_SOCK_OPS = 13;
    private static final int PROG_SK_REUSEPORT = 21;
    private static final int ATTACH_TCX_INGRESS = 46;
    private static final int ATTACH_SK_REUSEPORT_SELECT_OR_MIGRATE = 40;
    private static final int FUNC_SETSOCKOPT = 49;
    private static final int FUNC_FIB_LOOKUP = 69;
    private static final int FIB_LOOKUP_MARK = 32;
    private static final int BTF_KIND_STRUCT = 4;
    private static final int BTF_KIND_FUNC = 12;
    private static final int SK_REUSEPORT_MD_MIGRATING_SK = 48;
    private static final int BPF_F_NO_PREALLOC = 1;
    /** struct bpf_prog_load_opts of libbpf 1.1 (104 bytes); expected_attach_type at 12. */
    private static final long PROG_LOAD_OPTS_SIZE = 104;

    private static final Libbpf.Fn PROG_LOAD = Libbpf.wide("bpf_prog_load", JAVA_INT,
            JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, ADDRESS);
    private static final Libbpf.Fn PROBE_PROG_TYPE = Libbpf.wide("libbpf_probe_bpf_prog_type", JAVA_INT,
            JAVA_INT, ADDRESS);
    private static final Libbpf.Fn PROBE_HELPER = Libbpf.wide("libbpf_probe_bpf_helper", JAVA_INT,
            JAVA_INT, JAVA_INT, ADDRESS);
    // errno is not read: a NULL result says "no kernel BTF", whatever the reason
    private static final Libbpf.Fn LOAD_VMLINUX_BTF = Libbpf.wide("btf__load_vmlinux_btf", ADDRESS);
    private static final Libbpf.Fn BTF_FIND_KIND = Libbpf.wide("btf__find_by_name_kind", JAVA_INT,
            ADDRESS, ADDRESS, JAVA_INT);
    private static final Libbpf.Fn BTF_FREE = Libbpf.wide("btf__free", null, ADDRESS);

    private Probes() {
    }

    private static final class Once {
        static final Features PROBED = probe();
    }

    /** This kernel's features, probed on first use; minus those turned off by {@link Features#forcedOff()}. */
    static Features features() {
        return Once.PROBED.without(Features.forcedOff());
    }

    /** Whether the kernel has the feature, even if bpfgit was told not to use it. */
    static boolean kernelHas(Feature f) {
        return Once.PROBED.has(f);
    }

    static Features probe() {
        Set<Feature> present = EnumSet.noneOf(Feature.class);
        try (Arena arena = Arena.ofConfined()) {
            if (tcxQuery()) {
                present.add(Feature.TCX_LINK);
            }
            if (progType(PROG_SCHED_CLS)) {
                present.add(Feature.LEGACY_TC);
            }
            if (helper(PROG_SOCK_OPS, FUNC_SETSOCKOPT)) {
                present.add(Feature.SOCK_OPS_SETSOCKOPT);
            }
            if (fibLookupMark(arena)) {
                present.add(Feature.FIB_LOOKUP_MARK);
            }
            if (reuseportMigrate(arena)) {
                present.add(Feature.REUSEPORT_MIGRATE);
            }
            for (MapType t : MapType.values()) {
                Feature.batch(t).filter(f -> batch(arena, t)).ifPresent(present::add);
            }
            long btf = Libbpf.call(LOAD_VMLINUX_BTF);
            if (btf != 0) {
                try {
                    // each of these kernels' objects exists exactly when the feature does
                    if (btfHas(arena, btf, "bpf_xdp_link", BTF_KIND_STRUCT)) {
                        present.add(Feature.XDP_LINK);
                    }
                    if (btfHas(arena, btf, "bpf_sock_destroy", BTF_KIND_FUNC)) {
                        present.add(Feature.SOCK_DESTROY);
                    }
                    // DEFINE_BPF_ITER_FUNC(tcp, ...) defines bpf_iter_tcp, which libbpf looks up to attach
                    if (btfHas(arena, btf, "bpf_iter_tcp", BTF_KIND_FUNC)) {
                        present.add(Feature.ITER_TCP);
                    }
                    if (btfHas(arena, btf, "bpf_iter_udp", BTF_KIND_FUNC)) {
                        present.add(Feature.ITER_UDP);
                    }
                } finally {
                    Libbpf.call(BTF_FREE, btf);
                }
            }
            // without kernel BTF neither iterators nor kfuncs can be used, and XDP links are counted absent
        } catch (Throwable t) {
            throw Libbpf.rethrow(t);
        }
        return new Features(System.getProperty("os.version", "unknown"), present, Set.of());
    }

    /**
     * tcx: a query of the loopback device's tcx ingress programs. Kernels before tcx reject the attach type
     * (EINVAL); loopback exists in every network namespace, and a query attaches nothing.
     */
    private static boolean tcxQuery() {
        int lo = Libc.ifNameToIndex("lo");
        if (lo == 0) {
            return false;
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ids = arena.allocate(JAVA_INT, 64);
            MemorySegment count = arena.allocate(JAVA_INT);
            count.set(JAVA_INT, 0, 64);
            int r = Libbpf.progQuery(lo, ATTACH_TCX_INGRESS, 0, arena.allocate(JAVA_INT), ids, count);
            return r == 0 || r == -Failures.ENOSPC;
        }
    }

    private static boolean progType(int type) {
        return (int) Libbpf.call(PROBE_PROG_TYPE, (long) type, 0L) == 1;
    }

    private static boolean helper(int progType, int func) {
        return (int) Libbpf.call(PROBE_HELPER, (long) progType, (long) func, 0L) == 1;
    }

    /**
     * A select-or-migrate sk_reuseport program that reads {@code migrating_sk}: kernels before 5.14 accept the
     * attach type silently but refuse the context field, so the field decides.
     */
    private static boolean reuseportMigrate(Arena arena) {
        ByteBuffer insns = ByteBuffer.allocate(24).order(ByteOrder.LITTLE_ENDIAN);
        insn(insns, 0x79, 0, 1, SK_REUSEPORT_MD_MIGRATING_SK, 0);   // r0 = *(u64 *)(r1 + migrating_sk)
        insn(insns, 0xb7, 0, 0, 0, 1);                              // r0 = SK_PASS
        insn(insns, 0x95, 0, 0, 0, 0);                              // exit
        MemorySegment opts = arena.allocate(PROG_LOAD_OPTS_SIZE, 8);
        opts.set(JAVA_LONG, 0, PROG_LOAD_OPTS_SIZE);
        opts.set(JAVA_INT, 12, ATTACH_SK_REUSEPORT_SELECT_OR_MIGRATE);
        int fd = (int) Libbpf.call(PROG_LOAD, (long) PROG_SK_REUSEPORT,
                Libbpf.ptr(arena.allocateFrom("bpfgit_probe")), Libbpf.ptr(arena.allocateFrom("GPL")),
                Libbpf.ptr(arena.allocateFrom(JAVA_BYTE, insns.array())), 3L, Libbpf.ptr(opts));
        if (fd < 0) {
            return false;
        }
        Fd.own(fd).close();
        return true;
    }

    /**
     * bpf_fib_lookup with the mark flag, run once on a dummy packet: kernels before 6.10 refuse the unknown
     * flag (EINVAL) before anything else; later ones get as far as the family, 0 here (EAFNOSUPPORT).
     */
    private static boolean fibLookupMark(Arena arena) {
        ByteBuffer insns = ByteBuffer.allocate(17 * 8).order(ByteOrder.LITTLE_ENDIAN);
        insn(insns, 0xbf, 6, 1, 0, 0);                  // r6 = ctx
        insn(insns, 0xb7, 1, 0, 0, 0);                  // r1 = 0
        for (int off = -8; off >= -64; off -= 8) {
            insn(insns, 0x7b, 10, 1, off, 0);           // struct bpf_fib_lookup on the stack, zeroed
        }
        insn(insns, 0xbf, 1, 6, 0, 0);                  // r1 = ctx
        insn(insns, 0xbf, 2, 10, 0, 0);                 // r2 = fp
        insn(insns, 0x07, 2, 0, 0, -64);                // r2 -= 64
        insn(insns, 0xb7, 3, 0, 0, 64);                 // r3 = sizeof(struct bpf_fib_lookup)
        insn(insns, 0xb7, 4, 0, 0, FIB_LOOKUP_MARK);    // r4 = BPF_FIB_LOOKUP_MARK
        insn(insns, 0x85, 0, 0, 0, FUNC_FIB_LOOKUP);    // r0 = bpf_fib_lookup(...)
        insn(insns, 0x95, 0, 0, 0, 0);                  // exit
        MemorySegment opts = arena.allocate(PROG_LOAD_OPTS_SIZE, 8);
        opts.set(JAVA_LONG, 0, PROG_LOAD_OPTS_SIZE);
        int fd = (int) Libbpf.call(PROG_LOAD, (long) PROG_SCHED_CLS,
                Libbpf.ptr(arena.allocateFrom("bpfgit_probe")), Libbpf.ptr(arena.allocateFrom("GPL")),
                Libbpf.ptr(arena.allocateFrom(JAVA_BYTE, insns.array())), 17L, Libbpf.ptr(opts));
        if (fd < 0) {
            return false;
        }
        try (Fd prog = Fd.own(fd)) {
            MemorySegment packet = arena.allocate(64);   // an Ethernet header and zeros
            MemorySegment run = Structs.opts(arena, Structs.TEST_RUN_OPTS);
            Structs.setAddress(run, Structs.TEST_RUN_OPTS, "data_in", packet);
            Structs.setInt(run, Structs.TEST_RUN_OPTS, "data_size_in", 64);
            Structs.setInt(run, Structs.TEST_RUN_OPTS, "repeat", 1);
            if (Libbpf.testRun(prog.value(), run) < 0) {
                return false;
            }
            return Structs.getInt(run, Structs.TEST_RUN_OPTS, "retval") != -Failures.EINVAL;
        }
    }

    private static void insn(ByteBuffer b, int code, int dst, int src, int off, int imm) {
        b.put((byte) code).put((byte) ((src << 4) | dst)).putShort((short) off).putInt(imm);
    }

    /** A one-entry map of the type and a batch lookup on it: the empty map answers ENOENT when batches work. */
    private static boolean batch(Arena arena, MapType type) {
        boolean lpm = type == MapType.LPM_TRIE;
        int keySize = lpm ? 8 : 4;
        int valueSize = type.perCpu() ? 8 : 4;
        MemorySegment opts = Structs.opts(arena, Structs.MAP_CREATE_OPTS);
        Structs.setInt(opts, Structs.MAP_CREATE_OPTS, "map_flags", lpm ? BPF_F_NO_PREALLOC : 0);
        int fd = Libbpf.mapCreate(type.id, arena.allocateFrom("bpfgit_probe"), keySize, valueSize, 1, opts);
        if (fd < 0) {
            return false;
        }
        try (Fd map = Fd.own(fd)) {
            int cpus = Math.max(1, Libbpf.numPossibleCpus());
            MemorySegment count = arena.allocate(JAVA_INT);
            count.set(JAVA_INT, 0, 1);
            int r = Libbpf.lookupBatch(map.value(), MemorySegment.NULL, arena.allocate(64),
                    arena.allocate(keySize), arena.allocate((long) valueSize * cpus),
                    count, Structs.opts(arena, Structs.BATCH_OPTS));
            return r == 0 || r == -Failures.ENOENT;
        }
    }

    private static boolean btfHas(Arena arena, long btf, String name, int kind) {
        return (int) Libbpf.call(BTF_FIND_KIND, btf, Libbpf.ptr(arena.allocateFrom(name)),
                (long) kind) > 0;
    }
}
