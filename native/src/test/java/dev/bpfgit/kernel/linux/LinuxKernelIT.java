package dev.bpfgit.kernel.linux;

import dev.bpfgit.kernel.AttachPoint;
import dev.bpfgit.kernel.AttachedProgram;
import dev.bpfgit.kernel.BtfTypes;
import dev.bpfgit.kernel.Bytes;
import dev.bpfgit.kernel.Entry;
import dev.bpfgit.kernel.Interface;
import dev.bpfgit.kernel.Kernel;
import dev.bpfgit.kernel.KernelException;
import dev.bpfgit.kernel.LinkInfo;
import dev.bpfgit.kernel.MapInfo;
import dev.bpfgit.kernel.MapSpec;
import dev.bpfgit.kernel.MapType;
import dev.bpfgit.kernel.ObjectFile;
import dev.bpfgit.kernel.Pin;
import dev.bpfgit.kernel.PinType;
import dev.bpfgit.kernel.ProgramInfo;
import dev.bpfgit.kernel.ProgramSpec;
import dev.bpfgit.kernel.TestRun;
import dev.bpfgit.kernel.testing.BpfCompiler;
import dev.bpfgit.kernel.testing.Commands;
import dev.bpfgit.kernel.testing.KernelTest;
import dev.bpfgit.kernel.testing.PinRoot;
import dev.bpfgit.kernel.testing.TestNetns;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.BiPredicate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** LinuxKernel against the running kernel; every test has its own pin root and namespaces. */
@KernelTest
class LinuxKernelIT {
    private static final int XDP_DROP = 1;
    private static final int XDP_PASS = 2;
    private static final int PROG_TYPE_XDP = 6;

    @TempDir
    static Path build;
    static ObjectFile it;
    static ObjectFile globals;

    final LinuxKernel kernel = new LinuxKernel();
    PinRoot root;

    @BeforeAll
    static void compile() {
        it = BpfCompiler.compile("/bpf/it.bpf.c", build);
        globals = BpfCompiler.compile("/bpf/globals.bpf.c", build);
    }

    @BeforeEach
    void pinRoot() {
        root = PinRoot.create();
    }

    @AfterEach
    void cleanUp() {
        root.close();
    }

    // ---- maps

    @Test
    void createMapPinsItAndReportsItsShape() {
        Path pin = root.resolve("rules");
        MapSpec spec = new MapSpec("rules", MapType.HASH, 4, 16, 1024, 0, Optional.empty());
        kernel.createMap(pin, spec);

        MapInfo info = kernel.mapInfo(pin).orElseThrow();
        assertEquals("rules", info.name());
        assertEquals(List.of(1, 4, 16, 1024, 0), List.of(info.type(), info.keySize(), info.valueSize(),
                info.maxEntries(), info.flags()));
        assertTrue(info.id() > 0);
        assertEquals(0, info.btfId());
        assertEquals(List.of(), spec.incompatibilities(info));
        MapSpec bigger = new MapSpec("rules", MapType.HASH, 8, 16, 4096, 0, Optional.empty());
        assertEquals(List.of("key_size: 4 changed to 8", "max_entries: 1024 changed to 4096"),
                bigger.incompatibilities(info));

        KernelException again = assertThrows(KernelException.AlreadyExists.class, () -> kernel.createMap(pin, spec));
        assertEquals("pin map " + pin + ": EEXIST (File exists)", again.getMessage());
        assertEquals(info.id(), kernel.mapInfo(pin).orElseThrow().id(), "the pinned map was not replaced");
        assertEquals(Optional.empty(), kernel.mapInfo(root.resolve("absent")));
    }

    @Test
    void createMapRefusedByTheKernelSaysWhat() {
        // an LPM trie must be created with BPF_F_NO_PREALLOC
        KernelException e = assertThrows(KernelException.class, () -> kernel.createMap(root.resolve("lpm"),
                new MapSpec("lpm", MapType.LPM_TRIE, 8, 8, 16, 0, Optional.empty())));
        assertEquals("EINVAL", e.errno().name());
        assertTrue(e.getMessage().startsWith("create map " + root.resolve("lpm") + ": EINVAL (Invalid argument)"),
                e.getMessage());
        assertFalse(Files.exists(root.resolve("lpm")));
    }

    @Test
    void lpmTrieWith8ByteKeysRoundTripsTenThousandEntriesInBatches() {
        batchRoundTrip(4);
    }

    @Test
    void lpmTrieWith20ByteKeysRoundTripsTenThousandEntriesInBatches() {
        batchRoundTrip(16);
    }

    private void batchRoundTrip(int addrBytes) {
        Path pin = root.resolve("lpm");
        kernel.createMap(pin, new MapSpec("lpm", MapType.LPM_TRIE, 4 + addrBytes, 8, 20_000,
                MapSpec.BPF_F_NO_PREALLOC, Optional.empty()));
        List<Entry> all = new ArrayList<>();
        for (int i = 0; i < 10_000; i++) {
            all.add(new Entry(lpmKey(addrBytes, false, i), value(i)));
        }
        kernel.update(pin, all);
        assertEquals(asMap(all), asMap(kernel.entries(pin)));
        assertEquals(Optional.of(value(1234)), kernel.lookup(pin, lpmKey(addrBytes, false, 1234)));
        // a lookup in an LPM trie is a longest-prefix match: the longer prefix inside finds the stored one
        assertEquals(Optional.of(value(1234)), kernel.lookup(pin, lpmKey(addrBytes, true, 1234)));
        assertEquals(Optional.empty(), kernel.lookup(pin, lpmKey(addrBytes, false, 20_000)));

        List<Entry> rewritten = new ArrayList<>();
        for (int i = 0; i < 10_000; i += 2) {
            rewritten.add(new Entry(lpmKey(addrBytes, false, i), value(i + 1_000_000)));
        }
        kernel.update(pin, rewritten);

        List<Bytes> gone = new ArrayList<>();
        for (int i = 1; i < 10_000; i += 2) {
            gone.add(lpmKey(addrBytes, false, i));
            if (i % 100 == 1) {
                gone.add(lpmKey(addrBytes, true, i)); // absent (deletes match exactly): skipped, not an error
            }
        }
        kernel.delete(pin, gone);
        assertEquals(asMap(rewritten), asMap(kernel.entries(pin)));
    }

    /**
     * The dump buffer is kept per thread across calls (Scratch): consecutive dumps of maps of other shapes and
     * sizes, one of more than one chunk, one emptied after being full, read exactly what each map holds now and
     * nothing a previous dump left in the buffer.
     */
    @Test
    void dumpsOnOneThreadReadOnlyWhatEachMapHoldsNow() {
        Path big = root.resolve("big");
        Path hash = root.resolve("hash");
        Path v6 = root.resolve("v6");
        kernel.createMap(big, new MapSpec("big", MapType.LPM_TRIE, 8, 8, 40_000, MapSpec.BPF_F_NO_PREALLOC,
                Optional.empty()));
        kernel.createMap(hash, new MapSpec("hash", MapType.HASH, 4, 16, 4096, 0, Optional.empty()));
        kernel.createMap(v6, new MapSpec("v6", MapType.LPM_TRIE, 20, 8, 1000, MapSpec.BPF_F_NO_PREALLOC,
                Optional.empty()));
        List<Entry> bigAll = new ArrayList<>();
        for (int i = 0; i < 30_000; i++) {   // more than one 16,384-entry chunk
            bigAll.add(new Entry(lpmKey(4, false, i), value(i)));
        }
        kernel.update(big, bigAll);
        List<Entry> hashAll = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            hashAll.add(new Entry(u32(i), Bytes.wrap(ByteBuffer.allocate(16).putLong(i).putLong(-i).array())));
        }
        kernel.update(hash, hashAll);
        for (int round = 0; round < 2; round++) {
            assertEquals(asMap(bigAll), asMap(kernel.entries(big)));
            assertEquals(bigAll.size(), kernel.sortedEntries(big).size());
            assertEquals(asMap(hashAll), asMap(kernel.entries(hash)));
            assertEquals(Map.of(), asMap(kernel.entries(v6)));
            assertEquals(0, kernel.readMap(v6, i -> true).orElseThrow().entries().orElseThrow().size());
            kernel.update(v6, List.of(new Entry(lpmKey(16, false, 7), value(7))));
            assertEquals(Map.of(lpmKey(16, false, 7), value(7)), asMap(kernel.entries(v6)));
            kernel.delete(v6, List.of(lpmKey(16, false, 7)));
            // drift of one value, the entry count unchanged: read from the kernel, not from the kept buffer
            Entry changed = new Entry(lpmKey(4, false, 29_999), value(-1 - round));
            kernel.update(big, List.of(changed));
            bigAll.set(29_999, changed);
        }
        assertEquals(Optional.of(value(-2)), Optional.ofNullable(asMap(kernel.entries(big)).get(lpmKey(4, false, 29_999))));
        kernel.delete(big, bigAll.stream().map(Entry::key).toList());
        assertEquals(Map.of(), asMap(kernel.entries(big)), "an emptied map reads empty after a full dump");
        assertEquals(0, kernel.readMap(big, i -> true).orElseThrow().entries().orElseThrow().size());
    }

    /**
     * A hash map of the bookkeeping map's shape (96-byte keys, 160-byte values, 4,096 entries: a whole-map chunk is
     * a few bytes more than the per-thread buffer keeps, so its dump is cut in two chunks) reads exactly what it
     * holds: empty, a few entries, full, and after entries are deleted.
     */
    @Test
    void aMapOfTheBookkeepingsShapeDumpsWhole() {
        Path meta = root.resolve("meta");
        kernel.createMap(meta, new MapSpec("meta", MapType.HASH, 96, 160, 4096, 0, Optional.empty()));
        assertEquals(Map.of(), asMap(kernel.entries(meta)));
        List<Entry> all = new ArrayList<>();
        for (int i = 0; i < 4096; i++) {
            byte[] k = new byte[96];
            byte[] v = new byte[160];
            ByteBuffer.wrap(k).putInt(i).putInt(92, ~i);
            ByteBuffer.wrap(v).putInt(i * 7).putInt(156, i);
            all.add(new Entry(Bytes.wrap(k), Bytes.wrap(v)));
        }
        kernel.update(meta, all.subList(0, 10));
        assertEquals(asMap(all.subList(0, 10)), asMap(kernel.entries(meta)));
        kernel.update(meta, all);
        for (int round = 0; round < 2; round++) {
            assertEquals(asMap(all), asMap(kernel.entries(meta)));
            assertEquals(4096, kernel.readMap(meta, i -> true).orElseThrow().entries().orElseThrow().size());
        }
        kernel.delete(meta, all.subList(0, 4000).stream().map(Entry::key).toList());
        assertEquals(asMap(all.subList(4000, 4096)), asMap(kernel.entries(meta)));
    }

    /** pinTree lists what pins and directories list, in one walk: empty directories included, sorted. */
    @Test
    void pinTreeIsPinsAndDirectoriesTogether() {
        kernel.makeDirs(root.resolve("a/empty"));
        kernel.makeDirs(root.resolve("b"));
        kernel.createMap(root.resolve("a/m"), new MapSpec("m", MapType.HASH, 4, 4, 16, 0, Optional.empty()));
        kernel.createMap(root.resolve("b/n"), new MapSpec("n", MapType.ARRAY, 4, 4, 4, 0, Optional.empty()));
        kernel.createMap(root.resolve("top"), new MapSpec("top", MapType.ARRAY, 4, 4, 4, 0, Optional.empty()));
        var tree = kernel.pinTree(root.path());
        assertEquals(List.of(new Pin(root.resolve("a/m"), PinType.MAP), new Pin(root.resolve("b/n"), PinType.MAP),
                new Pin(root.resolve("top"), PinType.MAP)), tree.pins());
        assertEquals(List.of(root.path(), root.resolve("a"), root.resolve("a/empty"), root.resolve("b")),
                tree.directories());
        assertEquals(kernel.pins(root.path()), tree.pins());
        assertEquals(kernel.directories(root.path()), tree.directories());
        var absent = kernel.pinTree(root.resolve("absent"));
        assertEquals(List.of(), absent.pins());
        assertEquals(List.of(), absent.directories());
    }

    /**
     * readPins opens each pin once for everything: what it reads is what the listing and a read of each pin
     * by itself (the interface's default) read, entries only where asked for, directories included.
     */
    @Test
    void readPinsIsTheListingAndTheReadOfEachPin() throws Exception {
        Path prog = load("xdp_pass");
        kernel.makeDirs(root.resolve("a/empty"));
        kernel.createMap(root.resolve("a/m"), new MapSpec("m", MapType.HASH, 4, 4, 16, 0, Optional.empty()));
        kernel.update(root.resolve("a/m"), List.of(new Entry(Bytes.wrap(new byte[]{1, 0, 0, 0}),
                Bytes.wrap(new byte[]{7, 0, 0, 0}))));
        try (TestNetns a = TestNetns.create(); TestNetns b = TestNetns.create()) {
            TestNetns.Veth veth = TestNetns.veth(a, b);
            b.call(() -> {
                kernel.attach(root.resolve("a/link"), prog, new AttachPoint.Xdp(veth.ifB()));
                return null;
            });
            List<Path> asked = new ArrayList<>();
            Kernel.PinReads reads = kernel.readPins(root.path(), (pin, info) -> {
                asked.add(pin);
                return !pin.endsWith("counters");
            });
            List<Kernel.PinRead> expected = new ArrayList<>();
            for (Pin pin : kernel.pins(root.path())) {
                Path p = pin.path();
                switch (pin.type()) {
                    case MAP -> expected.add(new Kernel.MapPin(p,
                            kernel.readMap(p, i -> !p.endsWith("counters")).orElseThrow()));
                    case PROG -> expected.add(new Kernel.ProgramPin(p, kernel.programInfo(p).orElseThrow()));
                    case LINK -> expected.add(new Kernel.LinkPin(p, kernel.linkInfo(p).orElseThrow()));
                }
            }
            assertEquals(expected, reads.pins());
            assertEquals(List.of(root.resolve("a/link"), root.resolve("a/m"), root.resolve("counters"),
                    root.resolve("rules"), prog), reads.pins().stream().map(Kernel.PinRead::path).toList());
            assertEquals(List.of(root.resolve("a/m"), root.resolve("counters"), root.resolve("rules")), asked);
            Kernel.MapPin m = (Kernel.MapPin) reads.pins().get(1);
            assertEquals(Map.of(Bytes.wrap(new byte[]{1, 0, 0, 0}), Bytes.wrap(new byte[]{7, 0, 0, 0})),
                    m.read().entries().orElseThrow());
            assertEquals(Optional.empty(), ((Kernel.MapPin) reads.pins().get(2)).read().entries());
            Kernel.LinkPin l = (Kernel.LinkPin) reads.pins().get(0);
            assertEquals(kernel.programInfo(prog).orElseThrow().id(), l.info().progId());
            assertEquals(kernel.directories(root.path()), reads.directories());
            kernel.unpin(root.resolve("a/link"));
        }
        assertEquals(new Kernel.PinReads(List.of(), List.of()), kernel.readPins(root.resolve("absent"), (p, i) -> true));
    }

    /**
     * The dumps left running by startReadPins read the maps their pins held when they were opened: a pin replaced
     * by another map, and one unpinned, before the caller waits, are read as they were (the same id as the info,
     * the old contents), and the result is readPins' of the tree at the start.
     */
    @Test
    void dumpsLeftRunningReadTheMapsThePinsHeldWhenOpened() {
        MapSpec big = new MapSpec("big", MapType.HASH, 4, 4, 40_000, 0, Optional.empty());
        List<Entry> many = new ArrayList<>();
        for (int i = 0; i < 30_000; i++) {
            many.add(new Entry(u32(i), u32(i * 3)));
        }
        kernel.makeDirs(root.resolve("a"));
        kernel.makeDirs(root.resolve("b"));
        kernel.createMap(root.resolve("a/big"), big);
        kernel.update(root.resolve("a/big"), many);
        kernel.createMap(root.resolve("b/small"), new MapSpec("small", MapType.HASH, 4, 4, 16, 0, Optional.empty()));
        kernel.update(root.resolve("b/small"), List.of(new Entry(u32(1), u32(2))));
        Kernel.PinReads before = kernel.readPins(root.path(), (p, i) -> true);
        for (int round = 0; round < 20; round++) {
            Kernel.PendingReads pending = kernel.startReadPins(root.path(), (p, i) -> true);
            kernel.unpin(root.resolve("a/big"));
            kernel.createMap(root.resolve("a/big"), big);
            kernel.update(root.resolve("a/big"), List.of(new Entry(u32(5), u32(5))));
            kernel.unpin(root.resolve("b/small"));
            Kernel.PinReads reads = pending.await();
            assertEquals(before.pins().size(), reads.pins().size());
            for (int k = 0; k < reads.pins().size(); k++) {
                if (before.pins().get(k) instanceof Kernel.MapPin was && was.read().entries().isPresent()) {
                    Kernel.MapPin now = (Kernel.MapPin) reads.pins().get(k);
                    assertEquals(was.read().entries(), now.read().entries(), now.path().toString());
                }
            }
            Kernel.MapPin b = (Kernel.MapPin) reads.pins().stream().filter(r -> r.path().endsWith("a/big"))
                    .findFirst().orElseThrow();
            assertEquals(30_000, b.read().entries().orElseThrow().size());
            // the next round starts from the tree as it was: the old contents pinned again
            kernel.unpin(root.resolve("a/big"));
            kernel.createMap(root.resolve("a/big"), big);
            kernel.update(root.resolve("a/big"), many);
            kernel.createMap(root.resolve("b/small"), new MapSpec("small", MapType.HASH, 4, 4, 16, 0, Optional.empty()));
            kernel.update(root.resolve("b/small"), List.of(new Entry(u32(1), u32(2))));
            before = kernel.readPins(root.path(), (p, i) -> true);
        }
    }

    /**
     * The map with the most entries dumped last time under the dir is opened and handed over before the listing
     * (its pin tested first); what is read is still what the listing finds, in path order: the pin replaced by a
     * small or another large map, declined by the predicate, or gone.
     */
    @Test
    void theLargestDumpLastTimeStartsFirstAndReadsWhatIsPinnedNow() {
        MapSpec big = new MapSpec("big", MapType.HASH, 4, 4, 40_000, 0, Optional.empty());
        List<Entry> many = new ArrayList<>();
        for (int i = 0; i < 30_000; i++) {
            many.add(new Entry(u32(i), u32(i * 7)));
        }
        kernel.makeDirs(root.resolve("a"));
        kernel.makeDirs(root.resolve("b"));
        kernel.makeDirs(root.resolve("c"));
        kernel.createMap(root.resolve("a/small"), new MapSpec("small", MapType.HASH, 4, 4, 16, 0, Optional.empty()));
        kernel.update(root.resolve("a/small"), List.of(new Entry(u32(1), u32(2))));
        kernel.createMap(root.resolve("b/big"), big);
        kernel.update(root.resolve("b/big"), many);
        kernel.createMap(root.resolve("c/other"), new MapSpec("other", MapType.HASH, 4, 4, 8_000, 0, Optional.empty()));
        kernel.update(root.resolve("c/other"), List.of(new Entry(u32(3), u32(4)), new Entry(u32(5), u32(6))));
        List<String> tested = new ArrayList<>();
        BiPredicate<Path, MapInfo> all = (p, i) -> tested.add(root.path().relativize(p).toString());

        Kernel.PinReads first = kernel.startReadPins(root.path(), all).await();
        assertEquals(List.of("a/small", "b/big", "c/other"), tested);
        tested.clear();
        Kernel.PinReads second = kernel.startReadPins(root.path(), all).await();
        assertEquals(List.of("b/big", "a/small", "c/other"), tested, "the largest dump last time is started first");
        assertEquals(first, second);
        assertEquals(30_000, ((Kernel.MapPin) second.pins().get(1)).read().entries().orElseThrow().size());

        // replaced by another large map: that one is read
        kernel.unpin(root.resolve("b/big"));
        kernel.createMap(root.resolve("b/big"), big);
        kernel.update(root.resolve("b/big"), many.subList(0, 20_000));
        tested.clear();
        Kernel.PinReads replaced = kernel.startReadPins(root.path(), all).await();
        assertEquals(List.of("b/big", "a/small", "c/other"), tested);
        assertEquals(kernel.readPins(root.path(), (p, i) -> true), replaced);
        assertEquals(20_000, ((Kernel.MapPin) replaced.pins().get(1)).read().entries().orElseThrow().size());

        // declined by the predicate: listed in its place without entries
        Kernel.PinReads declined = kernel.startReadPins(root.path(), (p, i) -> !p.endsWith("b/big")).await();
        assertEquals(List.of("a/small", "b/big", "c/other"),
                declined.pins().stream().map(r -> root.path().relativize(r.path()).toString()).toList());
        assertEquals(Optional.empty(), ((Kernel.MapPin) declined.pins().get(1)).read().entries());

        // replaced by a small map: read in its turn
        kernel.unpin(root.resolve("b/big"));
        kernel.createMap(root.resolve("b/big"), new MapSpec("small2", MapType.HASH, 4, 4, 16, 0, Optional.empty()));
        kernel.update(root.resolve("b/big"), List.of(new Entry(u32(9), u32(9))));
        tested.clear();
        Kernel.PinReads small = kernel.startReadPins(root.path(), all).await();
        // the declined call's largest dump handed over was c/other's: that one went first
        assertEquals(List.of("c/other", "a/small", "b/big"), tested);
        assertEquals(kernel.readPins(root.path(), (p, i) -> true), small);

        // gone: not read (the hint is c/other now, the largest dump handed over); then c/other unpinned too
        kernel.unpin(root.resolve("b/big"));
        kernel.unpin(root.resolve("c/other"));
        tested.clear();
        Kernel.PinReads gone = kernel.startReadPins(root.path(), all).await();
        assertEquals(List.of("a/small"), tested);
        assertEquals(List.of("a/small"),
                gone.pins().stream().map(r -> root.path().relativize(r.path()).toString()).toList());
    }

    /**
     * A pin that fails to read after dumps were handed over: the failure is reported once they have finished,
     * and nothing of them is left open (the pins can be removed and the maps are freed: their ids vanish).
     */
    @Test
    void aFailureAfterDumpsWereHandedOverWaitsForThem() throws Exception {
        kernel.makeDirs(root.resolve("a"));
        kernel.makeDirs(root.resolve("b"));
        kernel.createMap(root.resolve("a/m"), new MapSpec("m", MapType.HASH, 4, 4, 40_000, 0, Optional.empty()));
        List<Entry> many = new ArrayList<>();
        for (int i = 0; i < 30_000; i++) {
            many.add(new Entry(u32(i), u32(i)));
        }
        kernel.update(root.resolve("a/m"), many);
        int id = kernel.mapInfo(root.resolve("a/m")).orElseThrow().id();
        kernel.createMap(root.resolve("b/m"), new MapSpec("m2", MapType.HASH, 4, 4, 16, 0, Optional.empty()));
        RuntimeException boom = new IllegalStateException("the predicate failed");
        RuntimeException thrown = assertThrows(RuntimeException.class, () -> kernel.startReadPins(root.path(),
                (p, i) -> {
                    if (p.endsWith("b/m")) {
                        throw boom;
                    }
                    return true;
                }));
        assertSame(boom, thrown);
        // the dump of a/m, handed over before b/m failed, has finished and closed its fd: no fd of this
        // process is on the map any more (a dump still running would hold one for ~10 ms)
        assertEquals(List.of(), fdsOnMap(id));
        Kernel.PinReads again = kernel.readPins(root.path(), (p, i) -> true);
        assertEquals(30_000, ((Kernel.MapPin) again.pins().get(0)).read().entries().orElseThrow().size());
    }

    /** The fds of this process open on the map with this id (/proc/self/fdinfo). */
    private static List<String> fdsOnMap(int id) throws java.io.IOException {
        List<String> out = new ArrayList<>();
        try (var fds = Files.list(Path.of("/proc/self/fdinfo"))) {
            for (Path f : fds.toList()) {
                try {
                    if (Files.readAllLines(f).contains("map_id:\t" + id)) {
                        out.add(f.getFileName().toString());
                    }
                } catch (java.io.IOException closed) {
                    // closed meanwhile
                }
            }
        }
        return out;
    }

    @Test
    void perCpuArrayValuesCarryEveryCpusSlot() {
        int cpus = kernel.possibleCpus();
        assertEquals(possibleCpusFromSysfs(), cpus);
        Path pin = root.resolve("pcpu");
        MapSpec spec = new MapSpec("pcpu", MapType.PERCPU_ARRAY, 4, 12, 10_000, 0, Optional.empty());
        kernel.createMap(pin, spec);
        int slot = 16; // 12 rounded up to 8
        assertEquals(slot * cpus, spec.userValueSize(cpus));

        List<Entry> all = new ArrayList<>();
        for (int i = 0; i < 10_000; i++) {
            ByteBuffer v = ByteBuffer.allocate(slot * cpus).order(ByteOrder.LITTLE_ENDIAN);
            for (int c = 0; c < cpus; c++) {
                v.putLong(c * slot, i * 100L + c).putInt(c * slot + 8, c);
            }
            all.add(new Entry(u32(i), Bytes.wrap(v.array())));
        }
        kernel.update(pin, all);
        assertEquals(asMap(all), asMap(kernel.entries(pin)));
        assertEquals(Optional.of(all.get(77).value()), kernel.lookup(pin, u32(77)));
        // packed: the same entries in the kernel's (slot) order, no sort
        dev.bpfgit.kernel.PackedEntries packed = kernel.packedEntries(pin);
        assertEquals(10_000, packed.count());
        assertEquals(4, packed.keySize());
        assertEquals(slot * cpus, packed.valueSize());
        for (int i : new int[]{0, 1, 77, 256, 9_999}) {
            assertEquals(all.get(i).key(), Bytes.wrap(java.util.Arrays.copyOfRange(packed.keys(), 4 * i, 4 * i + 4)));
            assertEquals(all.get(i).value(), Bytes.wrap(java.util.Arrays.copyOfRange(packed.values(),
                    i * packed.valueSize(), (i + 1) * packed.valueSize())));
        }

        // array slots always exist: deleting one is refused, not silently ignored
        KernelException e = assertThrows(KernelException.class, () -> kernel.delete(pin, List.of(u32(1))));
        assertEquals("EINVAL", e.errno().name());
        KernelException wrongSize = assertThrows(KernelException.class,
                () -> kernel.update(pin, List.of(new Entry(u32(1), Bytes.wrap(new byte[12])))));
        assertTrue(wrongSize.getMessage().contains("value #0 has 12 bytes, the map's value size is " + slot * cpus),
                wrongSize.getMessage());
    }

    @Test
    void deletingAbsentKeysIsNotAnError() {
        Path pin = root.resolve("hash");
        kernel.createMap(pin, new MapSpec("hash", MapType.HASH, 4, 8, 20_000, 0, Optional.empty()));
        List<Entry> present = new ArrayList<>();
        for (int i = 0; i < 10_000; i++) {
            present.add(new Entry(u32(i), value(i)));
        }
        kernel.update(pin, present);
        kernel.delete(pin, List.of(u32(50_000), u32(50_001)));
        assertEquals(10_000, kernel.entries(pin).size());

        List<Bytes> mixed = new ArrayList<>();
        for (int i = 0; i < 20_000; i += 2) {
            mixed.add(u32(i)); // half of them were never there
        }
        kernel.delete(pin, mixed);
        Map<Bytes, Bytes> left = asMap(kernel.entries(pin));
        assertEquals(5_000, left.size());
        assertTrue(left.keySet().stream().allMatch(k -> ByteBuffer.wrap(k.toArray()).order(ByteOrder.LITTLE_ENDIAN)
                .getInt() % 2 == 1));
        kernel.delete(pin, List.of());
        assertEquals(List.of(), kernel.entries(emptyMap()));
    }

    private Path emptyMap() {
        Path pin = root.resolve("empty");
        kernel.createMap(pin, new MapSpec("empty", MapType.HASH, 4, 8, 16, 0, Optional.empty()));
        return pin;
    }

    @Test
    void mapsWithoutBatchOpsAreReadOneByOne() {
        // REUSEPORT_SOCKARRAY has no batch lookup; its empty slots read as ENOENT
        Path pin = root.resolve("socks");
        kernel.createMap(pin, new MapSpec("socks", MapType.REUSEPORT_SOCKARRAY, 4, 8, 4, 0, Optional.empty()));
        assertEquals(List.of(), kernel.entries(pin));
        kernel.delete(pin, List.of(u32(0), u32(3)));
    }

    @Test
    void btfTypedMapsPrintTypedEntriesInBpftool() {
        Path pin = root.resolve("typed");
        kernel.createMap(pin, new MapSpec("typed", MapType.LPM_TRIE, 8, 8, 64, MapSpec.BPF_F_NO_PREALLOC,
                Optional.of(new BtfTypes(it, "struct lpm_v4", "rule"))));
        assertTrue(kernel.mapInfo(pin).orElseThrow().btfId() > 0);
        kernel.update(pin, List.of(new Entry(Bytes.hex("180000000a010200"), Bytes.hex("0100000010000000"))));

        String json = Commands.run("bpftool", "-j", "map", "dump", "pinned", pin.toString());
        assertTrue(json.contains("\"formatted\":{\"key\":{\"prefixlen\":24,\"addr\":[10,1,2,0]},"
                + "\"value\":{\"action\":1,\"mark\":16}}"), json);

        Path counters = root.resolve("counters");
        kernel.createMap(counters, new MapSpec("counters", MapType.PERCPU_HASH, 4, 16, 8, 0,
                Optional.of(new BtfTypes(it, "__u32", "counter"))));
        assertTrue(Commands.run("bpftool", "map", "show", "pinned", counters.toString()).contains("btf_id"));

        KernelException unknown = assertThrows(KernelException.NotFound.class, () -> kernel.createMap(
                root.resolve("x"), new MapSpec("x", MapType.HASH, 4, 8, 8, 0, Optional.of(new BtfTypes(it, "nope", "rule")))));
        assertTrue(unknown.getMessage().startsWith("find BTF type nope in it.bpf.o: ENOENT"), unknown.getMessage());
        KernelException size = assertThrows(KernelException.class, () -> kernel.createMap(root.resolve("y"),
                new MapSpec("y", MapType.HASH, 4, 4, 8, 0, Optional.of(new BtfTypes(it, "__u32", "rule")))));
        assertTrue(size.getMessage().contains("it is 8 bytes but the map value size is 4"), size.getMessage());
        assertFalse(Files.exists(root.resolve("x")) || Files.exists(root.resolve("y")));
    }

    // ---- programs

    private Map<String, Path> itMaps() {
        Path rules = root.resolve("rules");
        Path counters = root.resolve("counters");
        if (!Files.exists(rules)) {
            kernel.createMap(rules, new MapSpec("rules", MapType.LPM_TRIE, 8, 8, 1024, MapSpec.BPF_F_NO_PREALLOC,
                    Optional.empty()));
            kernel.createMap(counters, new MapSpec("counters", MapType.PERCPU_ARRAY, 4, 16, 4, 0, Optional.empty()));
        }
        return Map.of("rules", rules, "counters", counters);
    }

    private Path load(String program) {
        Path pin = root.resolve(program);
        kernel.loadProgram(pin, new ProgramSpec(it, program, itMaps()));
        return pin;
    }

    @Test
    void loadedProgramUsesThePinnedMaps() {
        Path prog = load("xdp_filter");
        ProgramInfo info = kernel.programInfo(prog).orElseThrow();
        assertEquals("xdp_filter", info.name());
        assertEquals(PROG_TYPE_XDP, info.type());
        assertTrue(info.tag().matches("[0-9a-f]{16}"), info.tag());

        byte[] packet = ipv4Packet(new byte[]{(byte) 192, 0, 2, 7});
        assertEquals(XDP_PASS, kernel.testRun(prog, packet, 1).retval());
        kernel.update(itMaps().get("rules"), List.of(new Entry(Bytes.hex("20000000c0000207"), Bytes.hex("0100000000000000"))));
        TestRun dropped = kernel.testRun(prog, packet, 1);
        assertEquals(XDP_DROP, dropped.retval(), "the program reads the pinned rules map");
        // slot 1 counts drops: the program also writes the pinned counters map
        byte[] slot1 = kernel.lookup(itMaps().get("counters"), u32(1)).orElseThrow().toArray();
        long packets = 0;
        for (int c = 0; c < kernel.possibleCpus(); c++) {
            packets += ByteBuffer.wrap(slot1, c * 16, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        }
        assertEquals(1, packets);

        // loading again replaces the pin with a new program, leaving no temporary pin behind
        kernel.loadProgram(prog, new ProgramSpec(it, "xdp_filter", itMaps()));
        assertNotEquals(info.id(), kernel.programInfo(prog).orElseThrow().id());
        assertEquals(info.tag(), kernel.programInfo(prog).orElseThrow().tag());
        assertEquals(List.of(new Pin(root.resolve("counters"), PinType.MAP), new Pin(root.resolve("rules"), PinType.MAP),
                new Pin(prog, PinType.PROG)), kernel.pins(root.path()));
    }

    @Test
    void readOnlyGlobalsNeedNoPin() {
        Path prog = root.resolve("verdict");
        kernel.loadProgram(prog, new ProgramSpec(globals, "xdp_verdict", Map.of()));
        assertEquals(XDP_PASS, kernel.testRun(prog, ipv4Packet(new byte[]{10, 0, 0, 1}), 1).retval());
    }

    @Test
    void loadRefusesMapsThatAreNotPinnedOrDoNotFit() {
        Map<String, Path> onlyRules = Map.of("rules", itMaps().get("rules"));
        KernelException missing = assertThrows(KernelException.class,
                () -> kernel.loadProgram(root.resolve("p"), new ProgramSpec(it, "xdp_filter", onlyRules)));
        assertTrue(missing.getMessage().contains("declares map 'counters' but no pinned map is given"), missing.getMessage());

        Map<String, Path> extra = new HashMap<>(itMaps());
        extra.put("nonesuch", itMaps().get("rules"));
        KernelException unknown = assertThrows(KernelException.class,
                () -> kernel.loadProgram(root.resolve("p"), new ProgramSpec(it, "xdp_filter", extra)));
        assertTrue(unknown.getMessage().contains("declares no map named nonesuch"), unknown.getMessage());

        Path wide = root.resolve("wide");
        kernel.createMap(wide, new MapSpec("wide", MapType.LPM_TRIE, 20, 8, 16, MapSpec.BPF_F_NO_PREALLOC, Optional.empty()));
        Map<String, Path> wrongShape = Map.of("rules", wide, "counters", itMaps().get("counters"));
        KernelException shape = assertThrows(KernelException.class,
                () -> kernel.loadProgram(root.resolve("p"), new ProgramSpec(it, "xdp_filter", wrongShape)));
        assertTrue(shape.getMessage().contains("declares type 11 key 8 value 8, the pinned map has type 11 key 20 value 8"),
                shape.getMessage());

        KernelException noProgram = assertThrows(KernelException.NotFound.class,
                () -> kernel.loadProgram(root.resolve("p"), new ProgramSpec(it, "xdp_nope", itMaps())));
        assertTrue(noProgram.getMessage().contains("xdp_filter, xdp_pass, xdp_drop"), noProgram.getMessage());

        // what libbpf prints (through the print callback) ends up in the exception
        KernelException junk = assertThrows(KernelException.class, () -> kernel.loadProgram(root.resolve("p"),
                new ProgramSpec(new ObjectFile("junk.bpf.o", "not an ELF file".getBytes()), "x", Map.of())));
        assertEquals("open object junk.bpf.o: LIBBPF_ERRNO__FORMAT (BPF object format invalid): "
                + "libbpf: elf: 'junk' is not a proper ELF object", junk.getMessage());
        assertFalse(Files.exists(root.resolve("p")));
    }

    @Test
    void verifierRejectionCarriesTheLogTail() {
        KernelException e = assertThrows(KernelException.class, () -> load("xdp_unsafe"));
        assertEquals("EACCES", e.errno().name());
        assertTrue(e.getMessage().startsWith("load program xdp_unsafe of it.bpf.o for " + root.resolve("xdp_unsafe")),
                e.getMessage());
        assertTrue(e.getMessage().contains("verifier log (tail):"), e.getMessage());
        assertTrue(e.getMessage().contains("invalid access to packet"), e.getMessage());
    }

    @Test
    void testRunReturnsVerdictPacketAndTiming() {
        Path pass = load("xdp_pass");
        byte[] packet = ipv4Packet(new byte[]{10, 1, 2, 3});
        TestRun run = kernel.testRun(pass, packet, 1000);
        assertEquals(XDP_PASS, run.retval());
        assertArrayEquals(packet, run.dataOut());
        assertTrue(run.durationNs() >= 0);
        assertEquals(XDP_DROP, kernel.testRun(load("xdp_drop"), packet, 1).retval());
    }

    // ---- links

    @Test
    void xdpLinkControlsTrafficAndIsSwappedAtomically() throws Exception {
        Path drop = load("xdp_drop");
        Path pass = load("xdp_pass");
        int dropId = kernel.programInfo(drop).orElseThrow().id();
        int passId = kernel.programInfo(pass).orElseThrow().id();
        Path link = root.resolve("xdp_link");
        try (TestNetns a = TestNetns.create(); TestNetns b = TestNetns.create()) {
            TestNetns.Veth veth = TestNetns.veth(a, b);
            assertTrue(ping(a, veth.ipv4B()), "traffic flows before anything is attached");
            AttachPoint at = new AttachPoint.Xdp(veth.ifB());
            b.call(() -> {
                kernel.attach(link, drop, at);
                return null;
            });

            LinkInfo info = kernel.linkInfo(link).orElseThrow();
            assertEquals(List.of(LinkInfo.TYPE_XDP, dropId, b.ifindex(veth.ifB()), 37),
                    List.of(info.type(), info.progId(), info.ifindex(), info.attachType()));
            assertFalse(info.defunct());
            assertEquals(List.of(new AttachedProgram(dropId, "xdp_drop")), b.call(() -> kernel.attached(at)));
            assertFalse(ping(a, veth.ipv4B()), "xdp_drop drops the pings");
            assertFalse(ping(a, veth.ipv6B()));

            kernel.updateLink(link, pass, Optional.of(dropId));
            assertEquals(passId, kernel.linkInfo(link).orElseThrow().progId());
            assertTrue(ping(a, veth.ipv4B()), "xdp_pass lets them through");
            assertTrue(ping(a, veth.ipv6B()));

            KernelException stale = assertThrows(KernelException.PermissionDenied.class,
                    () -> kernel.updateLink(link, drop, Optional.of(dropId)));
            assertTrue(stale.getMessage().contains("the link runs program id " + passId + ", expected id " + dropId),
                    stale.getMessage());
            assertEquals(passId, kernel.linkInfo(link).orElseThrow().progId());
            kernel.updateLink(link, drop, Optional.empty());
            assertEquals(dropId, kernel.linkInfo(link).orElseThrow().progId());

            KernelException busy = assertThrows(KernelException.Busy.class,
                    () -> b.call(() -> {
                        kernel.attach(root.resolve("second"), pass, at);
                        return null;
                    }));
            assertTrue(busy.getMessage().contains("another program owns the XDP hook of veth-b (id " + dropId
                    + " 'xdp_drop')"), busy.getMessage());
            assertFalse(Files.exists(root.resolve("second")));
        }
        // the namespace and its veth are gone; the pinned link survives as a defunct object
        assertTrue(waitForDefunct(link), "link still bound to a device");
    }

    /** Tagged tcx: tcx links need 6.6, so .ci/kernels leaves this out on older kernels. */
    @Test
    @Tag("tcx")
    void tcxLinksAttachOnBothDirectionsAlongsideOthers() throws Exception {
        Path count = load("tc_count");
        Path pass = load("tc_pass");
        int countId = kernel.programInfo(count).orElseThrow().id();
        int passId = kernel.programInfo(pass).orElseThrow().id();
        try (TestNetns a = TestNetns.create(); TestNetns b = TestNetns.create()) {
            TestNetns.Veth veth = TestNetns.veth(a, b);
            AttachPoint ingress = new AttachPoint.Tcx(veth.ifB(), AttachPoint.Direction.INGRESS);
            AttachPoint egress = new AttachPoint.Tcx(veth.ifB(), AttachPoint.Direction.EGRESS);
            b.call(() -> {
                kernel.attach(root.resolve("in"), count, ingress);
                kernel.attach(root.resolve("eg"), count, egress);
                return null;
            });
            LinkInfo in = kernel.linkInfo(root.resolve("in")).orElseThrow();
            LinkInfo eg = kernel.linkInfo(root.resolve("eg")).orElseThrow();
            int ifindex = b.ifindex(veth.ifB());
            assertEquals(List.of(LinkInfo.TYPE_TCX, countId, ifindex, 46), List.of(in.type(), in.progId(), in.ifindex(), in.attachType()));
            assertEquals(List.of(LinkInfo.TYPE_TCX, countId, ifindex, 47), List.of(eg.type(), eg.progId(), eg.ifindex(), eg.attachType()));

            assertTrue(ping(a, veth.ipv4B()));
            long ingressPackets = perCpuSum(itMaps().get("counters"), 2);
            long egressPackets = perCpuSum(itMaps().get("counters"), 3);
            assertTrue(ingressPackets >= 3 && egressPackets >= 3, ingressPackets + " in, " + egressPackets + " out");

            // tcx is multi-program: a second ingress link joins the first
            b.call(() -> {
                kernel.attach(root.resolve("in2"), pass, ingress);
                return null;
            });
            assertEquals(List.of(new AttachedProgram(countId, "tc_count"), new AttachedProgram(passId, "tc_pass")),
                    b.call(() -> kernel.attached(ingress)));
            assertEquals(List.of(new AttachedProgram(countId, "tc_count")), b.call(() -> kernel.attached(egress)));

            kernel.updateLink(root.resolve("eg"), pass, Optional.of(countId));
            assertEquals(List.of(new AttachedProgram(passId, "tc_pass")), b.call(() -> kernel.attached(egress)));
            kernel.unpin(root.resolve("in2"));
            assertEquals(List.of(new AttachedProgram(countId, "tc_count")), b.call(() -> kernel.attached(ingress)),
                    "unpinned: detached when unpin returns");
        }
    }

    @Test
    void attachResolvesInterfacesInTheCallersNamespace() throws Exception {
        Path pass = load("xdp_pass");
        try (TestNetns a = TestNetns.create(); TestNetns b = TestNetns.create()) {
            TestNetns.Veth veth = TestNetns.veth(a, b);
            AttachPoint at = new AttachPoint.Xdp(veth.ifB());
            KernelException notHere = assertThrows(KernelException.NotFound.class,
                    () -> kernel.attach(root.resolve("link"), pass, at));
            assertEquals("resolve interface veth-b: ENODEV (No such device): no interface veth-b in the calling "
                    + "thread's network namespace", notHere.getMessage());
            assertEquals(List.of("lo", "veth-b"), b.call(() -> kernel.interfaces().stream().map(Interface::name).toList()));
            assertEquals(b.ifindex(veth.ifB()), b.call(() -> kernel.interfaces()).get(1).ifindex());
            assertFalse(kernel.interfaces().stream().anyMatch(i -> i.name().startsWith("veth-")));
            assertEquals(List.of(), b.call(() -> kernel.attached(at)));
        }
    }

    /** What libbpf's bpf_xdp_query (a dump of every interface) reports for {@code ifindex}: drv, skb, hw ids. */
    private static List<Integer> libbpfXdpIds(int ifindex) {
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
            java.lang.foreign.MemorySegment opts = Structs.opts(arena, Structs.XDP_QUERY_OPTS);
            Failures.check(Libbpf.xdpQuery(ifindex, 0, opts), "query", "ifindex " + ifindex);
            List<Integer> ids = new ArrayList<>();
            for (String mode : List.of("drv_prog_id", "skb_prog_id", "hw_prog_id")) {
                int id = Structs.getInt(opts, Structs.XDP_QUERY_OPTS, mode);
                if (id != 0 && !ids.contains(id)) {
                    ids.add(id);
                }
            }
            return ids;
        }
    }

    /** XdpQuery's request for the one ifindex, checked against libbpf's dump of all in the same namespace. */
    private static List<Integer> xdpIds(TestNetns ns, int ifindex) throws Exception {
        return ns.call(() -> {
            List<Integer> one = List.copyOf(XdpQuery.programIds(ifindex, "ifindex " + ifindex));
            assertEquals(libbpfXdpIds(ifindex), one, "XdpQuery against bpf_xdp_query");
            return one;
        });
    }

    @Test
    void xdpQueryOfOneInterfaceReadsWhatLibbpfsDumpOfAllReads() throws Exception {
        Path drop = load("xdp_drop");
        Path pass = load("xdp_pass");
        int dropId = kernel.programInfo(drop).orElseThrow().id();
        int passId = kernel.programInfo(pass).orElseThrow().id();
        Path link = root.resolve("xdp_link");
        try (TestNetns a = TestNetns.create(); TestNetns b = TestNetns.create()) {
            TestNetns.Veth veth = TestNetns.veth(a, b);
            b.run("ip", "link", "add", "other0", "type", "veth", "peer", "name", "other1");   // more than one interface in the dump
            b.run("ip", "link", "set", "dev", "other0", "xdpgeneric", "pinned", drop.toString());
            int ifb = b.ifindex(veth.ifB());
            assertEquals(List.of(), xdpIds(b, ifb), "nothing attached, while another interface has a program");
            assertEquals(List.of(dropId), xdpIds(b, b.ifindex("other0")), "generic (skb) mode");

            AttachPoint at = new AttachPoint.Xdp(veth.ifB());
            b.call(() -> {
                kernel.attach(link, pass, at);
                return null;
            });
            assertEquals(List.of(passId), xdpIds(b, ifb), "a link, native (drv) mode");
            assertEquals(List.of(new AttachedProgram(passId, "xdp_pass")), b.call(() -> kernel.attached(at)));
            kernel.unpin(link);
            assertEquals(List.of(), xdpIds(b, ifb), "unpinned: detached");

            // a program attached without a link, as another tool would: foreign, and seen
            b.run("ip", "link", "set", "dev", veth.ifB(), "xdpdrv", "pinned", drop.toString());
            assertEquals(List.of(dropId), xdpIds(b, ifb));
            assertEquals(List.of(new AttachedProgram(dropId, "xdp_drop")), b.call(() -> kernel.attached(at)));
            b.run("ip", "link", "set", "dev", veth.ifB(), "xdpdrv", "off");
            assertEquals(List.of(), xdpIds(b, ifb));
            assertEquals(List.of(), b.call(() -> List.copyOf(XdpQuery.programIds(1 << 30, "absent"))),
                    "no such ifindex: nothing attached, as libbpf's dump");
        }
    }

    // ---- pins

    @Test
    void pinsAreClassifiedRenamedAndUnpinned() throws Exception {
        Path prog = load("xdp_pass");
        kernel.makeDirs(root.resolve("deep/er"));
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(root.resolve("deep/er"))));
        kernel.makeDirs(root.resolve("deep/er"));
        try (TestNetns a = TestNetns.create(); TestNetns b = TestNetns.create()) {
            TestNetns.Veth veth = TestNetns.veth(a, b);
            b.call(() -> {
                kernel.attach(root.resolve("deep/er/link"), prog, new AttachPoint.Xdp(veth.ifB()));
                return null;
            });
            assertEquals(List.of(
                    new Pin(root.resolve("counters"), PinType.MAP),
                    new Pin(root.resolve("deep/er/link"), PinType.LINK),
                    new Pin(root.resolve("rules"), PinType.MAP),
                    new Pin(prog, PinType.PROG)), kernel.pins(root.path()));

            KernelException wrongKind = assertThrows(KernelException.class, () -> kernel.mapInfo(prog));
            assertTrue(wrongKind.getMessage().endsWith("pinned object is a program, not a map"), wrongKind.getMessage());
            assertThrows(KernelException.class, () -> kernel.linkInfo(root.resolve("rules")));

            int rulesId = kernel.mapInfo(root.resolve("rules")).orElseThrow().id();
            kernel.rename(root.resolve("rules"), root.resolve("counters"));
            assertEquals(rulesId, kernel.mapInfo(root.resolve("counters")).orElseThrow().id());
            assertEquals(Optional.empty(), kernel.mapInfo(root.resolve("rules")));

            KernelException notEmpty = assertThrows(KernelException.class, () -> kernel.unpin(root.resolve("deep/er")));
            assertEquals("ENOTEMPTY", notEmpty.errno().name());
            kernel.unpin(root.resolve("deep/er/link"));
            assertEquals(List.of(), b.call(() -> kernel.attached(new AttachPoint.Xdp(veth.ifB()))),
                    "unpinning the last reference has detached when unpin returns");
            kernel.unpin(root.resolve("deep/er"));
            kernel.unpin(root.resolve("deep/er"));
            kernel.unpin(root.resolve("counters"));
            kernel.unpin(prog);
            assertEquals(List.of(), kernel.pins(root.path()));
            assertEquals(Optional.empty(), kernel.programInfo(prog));
            assertEquals(List.of(), kernel.pins(root.resolve("absent")));
        }
    }

    /**
     * Unpin detaches a link before it returns: also while another process holds the link open (the kernel
     * would keep it attached until that one lets go), and without one, where the kernel releases the
     * link's last reference from deferred work after the unlink (and only after it drops the link's id
     * detaches it: at load 12 the program stayed on the interface up to 350 ms after that). Before unpin
     * called BPF_LINK_DETACH the first part failed every time and the rounds most times under load.
     */
    @Test
    void unpinHasDetachedTheLinkWhenItReturns() throws Exception {
        Path drop = load("xdp_drop");
        int dropId = kernel.programInfo(drop).orElseThrow().id();
        Path link = root.resolve("held_link");
        try (TestNetns a = TestNetns.create(); TestNetns b = TestNetns.create()) {
            TestNetns.Veth veth = TestNetns.veth(a, b);
            AttachPoint at = new AttachPoint.Xdp(veth.ifB());
            int ifb = b.ifindex(veth.ifB());
            b.call(() -> {
                kernel.attach(link, drop, at);
                return null;
            });
            assertEquals(List.of(dropId), xdpIds(b, ifb));
            try (Fd held = Fd.own(Pins.objGet(link))) {
                kernel.unpin(link);
                assertFalse(Files.exists(link));
                assertEquals(List.of(), xdpIds(b, ifb), "detached although another fd holds the link");
                assertTrue(Info.link(held.value(), link).defunct(), "the held link is detached, not attached elsewhere");
                assertTrue(ping(a, veth.ipv4B()), "xdp_drop no longer drops");
            }
            for (int round = 0; round < 20; round++) {
                b.call(() -> {
                    kernel.attach(link, drop, at);
                    return null;
                });
                kernel.unpin(link);
                assertEquals(List.of(), xdpIds(b, ifb), "round " + round + ": detached when unpin returned");
            }
        }
    }

    @Test
    void makeDirsRefusesDirectoriesOutsideBpffs(@TempDir Path tmp) {
        KernelException e = assertThrows(KernelException.class, () -> kernel.makeDirs(tmp.resolve("pins")));
        assertTrue(e.getMessage().contains("not on a bpf filesystem"), e.getMessage());
        assertFalse(Files.exists(tmp.resolve("pins")));
    }

    // ---- helpers

    private static boolean ping(TestNetns from, String address) {
        return from.exec("ping", "-c", "3", "-i", "0.2", "-W", "1", address).ok();
    }

    private boolean waitForDefunct(Path link) throws Exception {
        // namespace teardown runs asynchronously in the kernel
        return eventually(true, () -> kernel.linkInfo(link).orElseThrow().defunct());
    }

    /**
     * What {@code probe} returns once it returns {@code expected}, or its last answer after 5 s. The kernel
     * frees an object whose last pin went away from a workqueue, so detachment shows up a moment later.
     */
    private static <T> T eventually(T expected, java.util.concurrent.Callable<T> probe) throws Exception {
        T last = probe.call();
        for (int i = 0; i < 100 && !expected.equals(last); i++) {
            Thread.sleep(50);
            last = probe.call();
        }
        return last;
    }

    private long perCpuSum(Path counters, int slot) {
        byte[] v = kernel.lookup(counters, u32(slot)).orElseThrow().toArray();
        long sum = 0;
        for (int c = 0; c < kernel.possibleCpus(); c++) {
            sum += ByteBuffer.wrap(v, c * 16, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        }
        return sum;
    }

    private static int possibleCpusFromSysfs() {
        try {
            String range = Files.readString(Path.of("/sys/devices/system/cpu/possible")).strip();
            int n = 0;
            for (String part : range.split(",")) {
                String[] ends = part.split("-");
                n += ends.length == 1 ? 1 : Integer.parseInt(ends[1]) - Integer.parseInt(ends[0]) + 1;
            }
            return n;
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /**
     * An LPM key: host-order prefix length, then an address in network order whose first 24 prefix bits
     * after a fixed head (none for IPv4, 2001:db8::/32 for IPv6) are {@code i}; {@code longer} adds one bit.
     */
    static Bytes lpmKey(int addrBytes, boolean longer, int i) {
        int head = addrBytes == 4 ? 0 : 4;
        ByteBuffer b = ByteBuffer.allocate(4 + addrBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt((head + 3) * 8 + (longer ? 1 : 0));
        if (head > 0) {
            b.put(new byte[]{0x20, 0x01, 0x0d, (byte) 0xb8});
        }
        b.put((byte) (i >> 16)).put((byte) (i >> 8)).put((byte) i);
        return Bytes.wrap(b.array());
    }

    static Bytes u32(int i) {
        return Bytes.wrap(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(i).array());
    }

    static Bytes value(long v) {
        return Bytes.wrap(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v).array());
    }

    static Map<Bytes, Bytes> asMap(List<Entry> entries) {
        Map<Bytes, Bytes> m = new HashMap<>();
        for (Entry e : entries) {
            assertEquals(null, m.put(e.key(), e.value()), "duplicate key " + e.key());
        }
        return m;
    }

    /** Ethernet + IPv4 header (UDP, no payload) from {@code src} to 10.0.0.1. */
    static byte[] ipv4Packet(byte[] src) {
        ByteBuffer b = ByteBuffer.allocate(64);
        b.position(12);
        b.putShort((short) 0x0800);
        b.put((byte) 0x45).put((byte) 0).putShort((short) 50).putInt(0).put((byte) 64).put((byte) 17).putShort((short) 0);
        b.put(src).put(new byte[]{10, 0, 0, 1});
        return b.array();
    }
}
