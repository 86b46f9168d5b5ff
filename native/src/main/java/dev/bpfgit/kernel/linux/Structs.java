package dev.bpfgit.kernel.linux;

import java.lang.foreign.Arena;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.Map;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The C structs LinuxKernel passes to libbpf, as in the 6.1 uapi headers and libbpf 1.1 that are installed
 * here. The running kernel is newer: it accepts the shorter info structs and fills what fits, so these
 * layouts stay valid; fields we never read are padding.
 */
final class Structs {
    private Structs() {
    }

    private static MemoryLayout pad(long bytes) {
        return MemoryLayout.paddingLayout(bytes);
    }

    /** struct bpf_map_info (88 bytes). */
    static final StructLayout MAP_INFO = MemoryLayout.structLayout(
            JAVA_INT.withName("type"), JAVA_INT.withName("id"),
            JAVA_INT.withName("key_size"), JAVA_INT.withName("value_size"),
            JAVA_INT.withName("max_entries"), JAVA_INT.withName("map_flags"),
            MemoryLayout.sequenceLayout(16, JAVA_BYTE).withName("name"),
            pad(24), // ifindex, btf_vmlinux_value_type_id, netns_dev, netns_ino
            JAVA_INT.withName("btf_id"), JAVA_INT.withName("btf_key_type_id"),
            JAVA_INT.withName("btf_value_type_id"),
            pad(12)); // 4 bytes hole, map_extra

    /** struct bpf_prog_info (232 bytes). */
    static final StructLayout PROG_INFO = MemoryLayout.structLayout(
            JAVA_INT.withName("type"), JAVA_INT.withName("id"),
            MemoryLayout.sequenceLayout(8, JAVA_BYTE).withName("tag"),
            pad(48), // jited/xlated lengths and pointers, load_time, created_by_uid, nr_map_ids, map_ids
            MemoryLayout.sequenceLayout(16, JAVA_BYTE).withName("name"),
            pad(152));

    /**
     * struct bpf_link_info (48 bytes): type, id, prog_id, then a union. The 6.1 header has no {@code tcx}
     * member, but the kernel's {@code tcx {ifindex; attach_type}} sits where {@code xdp.ifindex} is, and
     * {@code netns {netns_ino; attach_type}} has the same shape; cgroup links carry a u64 id first.
     */
    static final StructLayout LINK_INFO = MemoryLayout.structLayout(
            JAVA_INT.withName("type"), JAVA_INT.withName("id"), JAVA_INT.withName("prog_id"),
            pad(4),
            JAVA_INT.withName("u0"), JAVA_INT.withName("u1"), JAVA_INT.withName("u2"),
            pad(20));

    /** struct bpf_map_create_opts (libbpf, 48 bytes). */
    static final StructLayout MAP_CREATE_OPTS = MemoryLayout.structLayout(
            JAVA_LONG.withName("sz"),
            JAVA_INT.withName("btf_fd"), JAVA_INT.withName("btf_key_type_id"),
            JAVA_INT.withName("btf_value_type_id"), JAVA_INT.withName("btf_vmlinux_value_type_id"),
            JAVA_INT.withName("inner_map_fd"), JAVA_INT.withName("map_flags"),
            JAVA_LONG.withName("map_extra"),
            JAVA_INT.withName("numa_node"), JAVA_INT.withName("map_ifindex"));

    /** struct bpf_map_batch_opts (libbpf, 24 bytes). */
    static final StructLayout BATCH_OPTS = MemoryLayout.structLayout(
            JAVA_LONG.withName("sz"), JAVA_LONG.withName("elem_flags"), JAVA_LONG.withName("flags"));

    /** struct bpf_object_open_opts (libbpf 1.1, 80 bytes); only object_name is set. */
    static final StructLayout OPEN_OPTS = MemoryLayout.structLayout(
            JAVA_LONG.withName("sz"), ADDRESS.withName("object_name"), pad(64));

    /** struct bpf_link_update_opts (libbpf, 16 bytes). */
    static final StructLayout LINK_UPDATE_OPTS = MemoryLayout.structLayout(
            JAVA_LONG.withName("sz"), JAVA_INT.withName("flags"), JAVA_INT.withName("old_prog_fd"));

    /** struct bpf_xdp_query_opts (libbpf 1.1, 32 bytes). */
    static final StructLayout XDP_QUERY_OPTS = MemoryLayout.structLayout(
            JAVA_LONG.withName("sz"),
            JAVA_INT.withName("prog_id"), JAVA_INT.withName("drv_prog_id"),
            JAVA_INT.withName("hw_prog_id"), JAVA_INT.withName("skb_prog_id"),
            JAVA_BYTE.withName("attach_mode"), pad(7));

    /** struct bpf_test_run_opts (libbpf, 80 bytes). */
    static final StructLayout TEST_RUN_OPTS = MemoryLayout.structLayout(
            JAVA_LONG.withName("sz"),
            ADDRESS.withName("data_in"), ADDRESS.withName("data_out"),
            JAVA_INT.withName("data_size_in"), JAVA_INT.withName("data_size_out"),
            ADDRESS.withName("ctx_in"), ADDRESS.withName("ctx_out"),
            JAVA_INT.withName("ctx_size_in"), JAVA_INT.withName("ctx_size_out"),
            JAVA_INT.withName("retval"), JAVA_INT.withName("repeat"),
            JAVA_INT.withName("duration"), JAVA_INT.withName("flags"),
            JAVA_INT.withName("cpu"), JAVA_INT.withName("batch_size"));

    /**
     * Each layout above by identity, then each named member's offset: the layout path that {@code byteOffset} walks
     * by name (a list search, a path object, checks) was about 7% of apply's own Java at 10k (JFR; an info call
     * reads eight fields, and a reconcile makes about a dozen). Read-only once the class is initialised.
     */
    private static final Map<StructLayout, Map<String, Long>> OFFSETS = offsets(MAP_INFO, PROG_INFO, LINK_INFO,
            MAP_CREATE_OPTS, BATCH_OPTS, OPEN_OPTS, LINK_UPDATE_OPTS, XDP_QUERY_OPTS, TEST_RUN_OPTS);

    private static Map<StructLayout, Map<String, Long>> offsets(StructLayout... layouts) {
        Map<StructLayout, Map<String, Long>> out = new IdentityHashMap<>();
        for (StructLayout s : layouts) {
            Map<String, Long> byName = new HashMap<>();
            for (MemoryLayout m : s.memberLayouts()) {
                m.name().ifPresent(n -> byName.put(n, s.byteOffset(groupElement(n))));
            }
            out.put(s, Map.copyOf(byName));
        }
        return out;
    }

    /** The offset of member {@code field}, as {@code s.byteOffset(groupElement(field))} (which throws for none). */
    static long offset(StructLayout s, String field) {
        Map<String, Long> byName = OFFSETS.get(s);
        Long at = byName == null ? null : byName.get(field);
        return at != null ? at : s.byteOffset(groupElement(field));
    }

    static int getInt(MemorySegment seg, StructLayout s, String field) {
        return seg.get(JAVA_INT, offset(s, field));
    }

    static void setInt(MemorySegment seg, StructLayout s, String field, int v) {
        seg.set(JAVA_INT, offset(s, field), v);
    }

    static void setLong(MemorySegment seg, StructLayout s, String field, long v) {
        seg.set(JAVA_LONG, offset(s, field), v);
    }

    static void setAddress(MemorySegment seg, StructLayout s, String field, MemorySegment v) {
        seg.set(ADDRESS, offset(s, field), v);
    }

    /** A zeroed libbpf options struct with its leading {@code sz} field set, as LIBBPF_OPTS() does. */
    static MemorySegment opts(Arena arena, StructLayout s) {
        MemorySegment seg = arena.allocate(s); // allocate() zeroes
        seg.set(JAVA_LONG, 0, s.byteSize());
        return seg;
    }

    /** A NUL-terminated char array field as a Java string. */
    static String cString(MemorySegment seg, StructLayout s, String field, int max) {
        MemorySegment f = seg.asSlice(offset(s, field), max);
        int n = 0;
        while (n < max && f.get(JAVA_BYTE, n) != 0) {
            n++;
        }
        return new String(f.asSlice(0, n).toArray(JAVA_BYTE), java.nio.charset.StandardCharsets.UTF_8);
    }
}
