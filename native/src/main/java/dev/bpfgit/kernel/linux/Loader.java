package dev.bpfgit.kernel.linux;

import dev.bpfgit.kernel.BtfTypes;
import dev.bpfgit.kernel.MapInfo;
import dev.bpfgit.kernel.MapSpec;
import dev.bpfgit.kernel.PinType;
import dev.bpfgit.kernel.ProgramSpec;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

import static dev.bpfgit.kernel.linux.Structs.MAP_CREATE_OPTS;

/** Creates maps (with BTF from an object file) and loads programs with their maps bound to pins. */
final class Loader {
    private static final int BPF_F_RDONLY_PROG = 0x80;
    private static final long LOG_SIZE = 1 << 20;
    private static final int LOG_TAIL_LINES = 40;

    private Loader() {
    }

    static void createMap(Path pin, MapSpec spec) {
        try (Fd map = Fd.own(createMapFd(pin, spec))) {
            Pins.pin(map.value(), pin, "pin map");
        }
    }

    /** Creates a map as specified, unpinned: the caller owns the file descriptor. {@code what} names it in errors. */
    static int createMapFd(Object what, MapSpec spec) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment opts = Structs.opts(arena, MAP_CREATE_OPTS);
            Structs.setInt(opts, MAP_CREATE_OPTS, "map_flags", spec.flags());
            BpfObject btfSource = null;
            try {
                if (spec.btf().isPresent()) {
                    btfSource = BpfObject.open(spec.btf().get().object());
                    setBtf(arena, opts, btfSource, spec);
                }
                int r = Libbpf.mapCreate(spec.type().id, arena.allocateFrom(spec.name()), spec.keySize(),
                        spec.valueSize(), spec.maxEntries(), opts);
                if (r < 0) {
                    throw Failures.of("create map", what, -r, "%s key %d value %d max_entries %d flags 0x%x".formatted(
                            spec.type(), spec.keySize(), spec.valueSize(), spec.maxEntries(), spec.flags()));
                }
                return r;
            } finally {
                if (btfSource != null) {
                    btfSource.close(); // the kernel map keeps its own reference to the loaded BTF
                }
            }
        }
    }

    private static void setBtf(Arena arena, MemorySegment opts, BpfObject object, MapSpec spec) {
        BtfTypes types = spec.btf().orElseThrow();
        MemorySegment btf = object.btf();
        Failures.check(LibbpfObjects.btfLoadIntoKernel(btf), "load BTF of", object.name());
        Structs.setInt(opts, MAP_CREATE_OPTS, "btf_fd", LibbpfObjects.btfFd(btf));
        Structs.setInt(opts, MAP_CREATE_OPTS, "btf_key_type_id",
                typeId(arena, btf, object.name(), types.keyType(), spec.keySize(), "key"));
        Structs.setInt(opts, MAP_CREATE_OPTS, "btf_value_type_id",
                typeId(arena, btf, object.name(), types.valueType(), spec.valueSize(), "value"));
    }

    private static int typeId(Arena arena, MemorySegment btf, String object, String type, int size, String role) {
        // accept C spelling ("struct lpm_v4"); BTF names carry no kind prefix
        String name = type.replaceFirst("^(struct|union|enum)\\s+", "");
        int id = LibbpfObjects.btfFindByName(btf, arena.allocateFrom(name));
        if (id < 0) {
            throw Failures.of("find BTF type " + type + " in", object, -id, "no such type for the map " + role);
        }
        long actual = LibbpfObjects.btfResolveSize(btf, id);
        if (actual != size) {
            throw Failures.of("use BTF type " + type + " of", object, Failures.EINVAL,
                    "it is " + actual + " bytes but the map " + role + " size is " + size);
        }
        return id;
    }

    static void loadProgram(Path pin, ProgramSpec spec) {
        try (BpfObject object = BpfObject.open(spec.object())) {
            bindMaps(object, spec);
            BpfObject.DeclaredProgram program = selectProgram(object, spec.program());
            MemorySegment log = object.arena().allocate(LOG_SIZE);
            Failures.check(LibbpfObjects.programSetLogBuf(program.ptr(), log), "set log buffer of", spec.program());
            LibbpfLog.clear();
            int r = object.load();
            if (r < 0) {
                String detail = failureDetail(log.getString(0));
                if (-r == Failures.ENOSPC && detail != null) {
                    // the verifier reports a log overflow instead of the rejection; the tail still shows it
                    detail = "the verifier log exceeded " + (LOG_SIZE >> 20) + " MiB; " + detail;
                }
                throw Failures.of("load program " + spec.program() + " of " + object.name() + " for", pin, -r, detail);
            }
            pinReplacing(LibbpfObjects.programFd(program.ptr()), pin);
        }
    }

    /**
     * Loads the named programs of one object (the others stay unloaded) with its maps bound to the given pins,
     * without pinning anything. The caller owns the returned object: the programs live until it is closed.
     */
    static BpfObject loadUnpinned(ProgramSpec maps, List<String> programs) {
        BpfObject object = BpfObject.open(maps.object());
        try {
            bindMaps(object, maps);
            load(object, programs);
            return object;
        } catch (RuntimeException e) {
            object.close();
            throw e;
        }
    }

    /** Loads the named programs of an object whose maps are bound; the others stay unloaded. */
    static void load(BpfObject object, List<String> programs) {
        for (BpfObject.DeclaredProgram p : object.programs()) {
            Failures.check(LibbpfObjects.programSetAutoload(p.ptr(), programs.contains(p.name())),
                    "select program", p.name());
        }
        LibbpfLog.clear();
        int r = object.load();
        if (r < 0) {
            throw Failures.of("load programs " + String.join(", ", programs) + " of", object.name(), -r,
                    failureDetail(null));
        }
    }

    static int programFd(BpfObject object, String name) {
        for (BpfObject.DeclaredProgram p : object.programs()) {
            if (p.name().equals(name)) {
                return LibbpfObjects.programFd(p.ptr());
            }
        }
        throw Failures.of("find program " + name + " in", object.name(), Failures.ENOENT, null);
    }

    private static void bindMaps(BpfObject object, ProgramSpec spec) {
        Set<String> unused = new HashSet<>(spec.maps().keySet());
        for (BpfObject.DeclaredMap m : object.maps()) {
            Path mapPin = spec.maps().get(m.name());
            unused.remove(m.name());
            if (mapPin == null) {
                // read-only globals (.rodata, .kconfig) are constants of the program, not state to manage
                if (m.internal() && (m.flags() & BPF_F_RDONLY_PROG) != 0) {
                    continue;
                }
                throw Failures.of("load program " + spec.program() + " of", object.name(), Failures.EINVAL,
                        "the object declares map '" + m.name() + "' but no pinned map is given for it");
            }
            try (Fd fd = Pins.open(mapPin, PinType.MAP, "open map '" + m.name() + "'")) {
                bind(object, m, fd.value(), mapPin);
            }
        }
        if (!unused.isEmpty()) {
            throw Failures.of("load program " + spec.program() + " of", object.name(), Failures.EINVAL,
                    "the object declares no map named " + String.join(", ", unused.stream().sorted().toList()));
        }
    }

    /** Makes the object use an existing map (pinned, or made by the caller) for its declared map {@code m}. */
    static void bind(BpfObject object, BpfObject.DeclaredMap m, int fd, Object what) {
        MapInfo live = Info.map(fd, what);
        if (live.type() != m.type() || live.keySize() != m.keySize() || live.valueSize() != m.valueSize()) {
            throw Failures.of("bind map '" + m.name() + "' of " + object.name() + " to", what, Failures.EINVAL,
                    "the object declares type %d key %d value %d, the %s has type %d key %d value %d"
                            .formatted(m.type(), m.keySize(), m.valueSize(), what instanceof Path p && p.isAbsolute()
                                    ? "pinned map" : "map", live.type(), live.keySize(), live.valueSize()));
        }
        Failures.check(LibbpfObjects.mapReuseFd(m.ptr(), fd), "reuse map", what);
    }

    private static BpfObject.DeclaredProgram selectProgram(BpfObject object, String name) {
        List<BpfObject.DeclaredProgram> programs = object.programs();
        BpfObject.DeclaredProgram selected = null;
        for (BpfObject.DeclaredProgram p : programs) {
            boolean load = p.name().equals(name);
            Failures.check(LibbpfObjects.programSetAutoload(p.ptr(), load), "select program", p.name());
            if (load) {
                selected = p;
            }
        }
        if (selected == null) {
            throw Failures.of("find program " + name + " in", object.name(), Failures.ENOENT,
                    "it has " + String.join(", ", programs.stream().map(BpfObject.DeclaredProgram::name).toList()));
        }
        return selected;
    }

    /** Pins under a temporary name, then renames over {@code pin}: readers see the old or the new program. */
    private static void pinReplacing(int progFd, Path pin) {
        // bpffs refuses names with a dot (EPERM): they are reserved for its own files
        Path tmp = pin.resolveSibling(pin.getFileName() + "_tmp_" + Long.toHexString(ThreadLocalRandom.current().nextLong()));
        Pins.pin(progFd, tmp, "pin program");
        try {
            Files.move(tmp, pin, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw Failures.io("replace pin", pin, e);
        }
    }

    /** The tail of the verifier log (the rejection is at the end), else what libbpf said. */
    static String failureDetail(String verifierLog) {
        if (verifierLog != null && !verifierLog.isBlank()) {
            return "verifier log (tail):\n" + tail(verifierLog, LOG_TAIL_LINES);
        }
        List<String> said = LibbpfLog.recent();
        return said.isEmpty() ? null : "libbpf: " + String.join("\n", said);
    }

    static String tail(String text, int lines) {
        String[] all = text.strip().split("\n");
        int from = Math.max(0, all.length - lines);
        StringBuilder sb = new StringBuilder();
        if (from > 0) {
            sb.append("... (").append(from).append(" lines before)\n");
        }
        for (int i = from; i < all.length; i++) {
            sb.append(all[i]);
            if (i < all.length - 1) {
                sb.append('\n');
            }
        }
        return sb.toString();
    }
}
