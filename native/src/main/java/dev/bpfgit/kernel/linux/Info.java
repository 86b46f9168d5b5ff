package dev.bpfgit.kernel.linux;

import dev.bpfgit.kernel.LinkInfo;
import dev.bpfgit.kernel.MapInfo;
import dev.bpfgit.kernel.ProgramInfo;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.HexFormat;

import static dev.bpfgit.kernel.linux.Structs.LINK_INFO;
import static dev.bpfgit.kernel.linux.Structs.MAP_INFO;
import static dev.bpfgit.kernel.linux.Structs.PROG_INFO;
import static dev.bpfgit.kernel.linux.Structs.getInt;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;

/** BPF_OBJ_GET_INFO_BY_FD for maps, programs and links. */
final class Info {
    static final int BPF_XDP = 37;
    private static final int LINK_CGROUP = 3;
    private static final int LINK_NETNS = 5;

    private Info() {
    }

    private static MemorySegment read(Arena arena, int fd, java.lang.foreign.StructLayout layout, Object what) {
        MemorySegment info = arena.allocate(layout);
        Failures.check(Libbpf.objGetInfo(fd, info, arena.allocate(JAVA_INT)), "read info of", what);
        return info;
    }

    static MapInfo map(int fd, Object what) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment i = read(arena, fd, MAP_INFO, what);
            return new MapInfo(getInt(i, MAP_INFO, "id"), Structs.cString(i, MAP_INFO, "name", 16),
                    getInt(i, MAP_INFO, "type"), getInt(i, MAP_INFO, "key_size"), getInt(i, MAP_INFO, "value_size"),
                    getInt(i, MAP_INFO, "max_entries"), getInt(i, MAP_INFO, "map_flags"), getInt(i, MAP_INFO, "btf_id"));
        }
    }

    static ProgramInfo program(int fd, Object what) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment i = read(arena, fd, PROG_INFO, what);
            byte[] tag = i.asSlice(Structs.offset(PROG_INFO, "tag"), 8).toArray(JAVA_BYTE);
            return new ProgramInfo(getInt(i, PROG_INFO, "id"), Structs.cString(i, PROG_INFO, "name", 16),
                    getInt(i, PROG_INFO, "type"), HexFormat.of().formatHex(tag));
        }
    }

    static LinkInfo link(int fd, Object what) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment i = read(arena, fd, LINK_INFO, what);
            int type = getInt(i, LINK_INFO, "type");
            int u0 = getInt(i, LINK_INFO, "u0");
            int u1 = getInt(i, LINK_INFO, "u1");
            int u2 = getInt(i, LINK_INFO, "u2");
            int ifindex = 0;
            int attachType = 0;
            switch (type) {
                case LinkInfo.TYPE_XDP -> {
                    ifindex = u0;
                    attachType = BPF_XDP;
                }
                case LinkInfo.TYPE_TCX -> {
                    ifindex = u0;
                    attachType = u1;
                }
                case LINK_NETNS -> attachType = u1;
                case LINK_CGROUP -> {
                    ifindex = u0;   // the low half of the cgroup id: see LinkInfo
                    attachType = u2;
                }
                default -> {
                }
            }
            return new LinkInfo(getInt(i, LINK_INFO, "id"), type, getInt(i, LINK_INFO, "prog_id"), ifindex, attachType);
        }
    }

    /** Per-CPU map types (values hold one 8-byte-aligned slot per possible CPU from user space). */
    static boolean perCpu(int mapType) {
        return mapType == 5 || mapType == 6 || mapType == 10 || mapType == 21;
    }

    static int userValueSize(MapInfo m, int cpus) {
        return perCpu(m.type()) ? ((m.valueSize() + 7) & ~7) * cpus : m.valueSize();
    }
}
