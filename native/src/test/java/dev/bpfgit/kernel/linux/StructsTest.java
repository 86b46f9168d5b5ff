package dev.bpfgit.kernel.linux;

import org.junit.jupiter.api.Test;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The layouts against sizeof/offsetof printed by gcc from the installed 6.1 uapi and libbpf 1.1 headers. */
class StructsTest {

    @Test
    void sizesMatchTheCHeaders() {
        Map<String, Long> expected = new LinkedHashMap<>();
        expected.put("bpf_map_info", 88L);
        expected.put("bpf_prog_info", 232L);
        expected.put("bpf_link_info", 48L);
        expected.put("bpf_map_create_opts", 48L);
        expected.put("bpf_map_batch_opts", 24L);
        expected.put("bpf_object_open_opts", 80L);
        expected.put("bpf_link_update_opts", 16L);
        expected.put("bpf_xdp_query_opts", 32L);
        expected.put("bpf_test_run_opts", 80L);
        Map<String, Long> actual = new LinkedHashMap<>();
        actual.put("bpf_map_info", Structs.MAP_INFO.byteSize());
        actual.put("bpf_prog_info", Structs.PROG_INFO.byteSize());
        actual.put("bpf_link_info", Structs.LINK_INFO.byteSize());
        actual.put("bpf_map_create_opts", Structs.MAP_CREATE_OPTS.byteSize());
        actual.put("bpf_map_batch_opts", Structs.BATCH_OPTS.byteSize());
        actual.put("bpf_object_open_opts", Structs.OPEN_OPTS.byteSize());
        actual.put("bpf_link_update_opts", Structs.LINK_UPDATE_OPTS.byteSize());
        actual.put("bpf_xdp_query_opts", Structs.XDP_QUERY_OPTS.byteSize());
        actual.put("bpf_test_run_opts", Structs.TEST_RUN_OPTS.byteSize());
        assertEquals(expected, actual);
    }

    @Test
    void fieldOffsetsMatchTheCHeaders() {
        assertOffsets(Structs.MAP_INFO, Map.of("type", 0L, "key_size", 8L, "max_entries", 16L, "map_flags", 20L,
                "name", 24L, "btf_id", 64L, "btf_value_type_id", 72L));
        assertOffsets(Structs.PROG_INFO, Map.of("tag", 8L, "name", 64L));
        // tcx.ifindex shares xdp.ifindex's offset; tcx.attach_type follows it
        assertOffsets(Structs.LINK_INFO, Map.of("prog_id", 8L, "u0", 16L, "u1", 20L));
        assertOffsets(Structs.MAP_CREATE_OPTS, Map.of("btf_fd", 8L, "btf_key_type_id", 12L,
                "btf_value_type_id", 16L, "map_flags", 28L));
        assertOffsets(Structs.LINK_UPDATE_OPTS, Map.of("flags", 8L, "old_prog_fd", 12L));
        assertOffsets(Structs.XDP_QUERY_OPTS, Map.of("drv_prog_id", 12L, "hw_prog_id", 16L, "skb_prog_id", 20L));
        assertOffsets(Structs.TEST_RUN_OPTS, Map.of("data_in", 8L, "data_out", 16L, "data_size_in", 24L,
                "data_size_out", 28L, "retval", 56L, "repeat", 60L, "duration", 64L));
    }

    @Test
    void keptOffsetsAreTheLayoutPathsOffsets() {
        int fields = 0;
        for (StructLayout s : List.of(Structs.MAP_INFO, Structs.PROG_INFO, Structs.LINK_INFO, Structs.MAP_CREATE_OPTS,
                Structs.BATCH_OPTS, Structs.OPEN_OPTS, Structs.LINK_UPDATE_OPTS, Structs.XDP_QUERY_OPTS,
                Structs.TEST_RUN_OPTS)) {
            for (MemoryLayout m : s.memberLayouts()) {
                if (m.name().isPresent()) {
                    String n = m.name().get();
                    assertEquals(s.byteOffset(MemoryLayout.PathElement.groupElement(n)), Structs.offset(s, n),
                            s + "." + n);
                    fields++;
                }
            }
            assertThrows(IllegalArgumentException.class, () -> Structs.offset(s, "no_such_field"));
        }
        assertEquals(59, fields);
        // a layout it does not keep: the layout path's answer
        StructLayout other = MemoryLayout.structLayout(ValueLayout.JAVA_LONG.withName("a"),
                ValueLayout.JAVA_INT.withName("b"));
        assertEquals(8, Structs.offset(other, "b"));
        assertThrows(IllegalArgumentException.class, () -> Structs.offset(other, "c"));
    }

    private static void assertOffsets(StructLayout s, Map<String, Long> expected) {
        for (var e : expected.entrySet()) {
            assertEquals(e.getValue(), Structs.offset(s, e.getKey()), s + "." + e.getKey());
        }
    }
}
