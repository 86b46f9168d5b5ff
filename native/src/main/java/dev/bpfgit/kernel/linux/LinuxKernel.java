package dev.bpfgit.kernel.linux;

import dev.bpfgit.kernel.AdoptedSocket;
import dev.bpfgit.kernel.AttachPoint;
import dev.bpfgit.kernel.AttachedProgram;
import dev.bpfgit.kernel.Bytes;
import dev.bpfgit.kernel.Entry;
import dev.bpfgit.kernel.Interface;
import dev.bpfgit.kernel.Kernel;
import dev.bpfgit.kernel.Listener;
import dev.bpfgit.kernel.SocketProtocol;
import dev.bpfgit.kernel.LinkInfo;
import dev.bpfgit.kernel.MapInfo;
import dev.bpfgit.kernel.MapSpec;
import dev.bpfgit.kernel.Pin;
import dev.bpfgit.kernel.PinType;
import dev.bpfgit.kernel.ProgramInfo;
import dev.bpfgit.kernel.ProgramSpec;
import dev.bpfgit.kernel.SortedEntries;
import dev.bpfgit.kernel.TestRun;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetAddress;
import java.nio.file.FileStore;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.SortedMap;
import java.util.function.BiPredicate;
import java.util.function.Predicate;

import static dev.bpfgit.kernel.linux.Structs.TEST_RUN_OPTS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;

/**
 * The real kernel: libbpf.so.1 through the FFM API, libc through jnr-ffi. Stateless and thread-safe;
 * device names resolve in the network namespace of the calling thread (see {@link Netns}).
 */
public final class LinuxKernel implements Kernel {
    private static final int TEST_RUN_HEADROOM = 4096;
    private final int cpus;

    public LinuxKernel() {
        LibbpfLog.silence();
        this.cpus = Failures.check(Libbpf.numPossibleCpus(), "count possible CPUs", "/sys/devices/system/cpu/possible");
    }

    // ---- observe

    @Override
    public List<Pin> pins(Path dir) {
        return pinTree(dir).pins();
    }

    @Override
    public List<Path> directories(Path dir) {
        return pinTree(dir).directories();
    }

    /**
     * One walk of the tree for both lists, with the attributes each entry is listed with (no second stat per
     * entry): observe asks for both on every reconcile.
     */
    @Override
    public PinTree pinTree(Path dir) {
        Listing listed = listing(dir);
        List<Pin> pins = new ArrayList<>(listed.files().size());
        for (Path p : listed.files()) {
            int r = Pins.objGet(p);
            if (r == -Failures.ENOENT) {
                continue; // unpinned while we walked
            }
            try (Fd fd = Fd.own(Failures.check(r, "open pin", p))) {
                PinType type = Pins.kind(fd.value());
                if (type == PinType.MAP && LegacyTc.isRecord(fd.value(), p)) {
                    type = PinType.LINK;   // a legacy tc filter's record stands where its link would be
                }
                if (type != null) {
                    pins.add(new Pin(p, type));
                }
            }
        }
        return new PinTree(List.copyOf(pins), listed.directories());
    }

    /** The files and directories under a directory, sorted. */
    private record Listing(List<Path> files, List<Path> directories) {
    }

    /** One walk of {@code dir}. */
    private static Listing listing(Path dir) {
        if (!Files.isDirectory(dir)) {
            return new Listing(List.of(), List.of());
        }
        List<Path> files = new ArrayList<>();
        List<Path> dirs = new ArrayList<>();
        try {
            Files.walkFileTree(dir, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult preVisitDirectory(Path d, BasicFileAttributes attrs) {
                    dirs.add(d);
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
                    files.add(file);   // links are not followed: a symlink to a directory is listed here
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFileFailed(Path file, IOException e) throws IOException {
                    if (e instanceof NoSuchFileException && !file.equals(dir)) {
                        return FileVisitResult.CONTINUE;   // unpinned or removed while we walked
                    }
                    throw e;
                }
            });
        } catch (IOException e) {
            throw Failures.io("list pins under", dir, e);
        }
        files.sort(null);
        dirs.sort(null);
        return new Listing(files, List.copyOf(dirs));
    }

    /**
     * One open of each pin for its kind and everything observe reads of it (the listing and the read used to
     * open it once each, with a readlink and an info call every time).
     */
    @Override
    public PinReads readPins(Path dir, BiPredicate<Path, MapInfo> withEntries) {
        return startReadPins(dir, withEntries).await();
    }

    /**
     * As {@link #readPins}, the maps' dumps handed to a second thread ({@link Beside}) with the pin's open fd as
     * each is found, while this thread opens and reads the other pins and returns; {@link PendingReads#await}
     * dumps here those the other thread has not started. A dump reads the map the fd was opened on, as a dump
     * on this thread would: a pin removed or replaced meanwhile does not change what is read.
     */
    @Override
    public PendingReads startReadPins(Path dir, BiPredicate<Path, MapInfo> withEntries) {
        Beside.Group<SortedEntries> dumps = Beside.group();
        // the map with the most entries dumped under this dir last time is opened and handed over before the listing
        // and the opens of the pins before it (0.5-0.8 ms at 10k, all on the dump's critical path)
        DumpFirst hint = dumpFirst;
        Path aheadPin = hint != null && hint.dir().equals(dir) ? hint.pin() : null;
        Object ahead = aheadPin == null ? null : readAhead(aheadPin, withEntries, dumps);
        Listing tree;
        try {
            tree = listing(dir);
        } catch (RuntimeException x) {
            throw dumps.failed(x);   // the dump started ahead has finished (and closed its fd) when this returns
        }
        List<Object> out = new ArrayList<>(tree.files().size());   // a PinRead, or a Dumping
        for (Path p : tree.files()) {
            if (ahead != null && p.equals(aheadPin)) {
                // read before the listing: in its place in the path order (a pin no longer listed is dropped)
                if (ahead instanceof Dumping d) {
                    dumps.place(d.task());
                }
                out.add(ahead);
                ahead = null;
                continue;
            }
            int r = Pins.objGet(p);
            if (r == -Failures.ENOENT) {
                continue; // unpinned since the listing
            }
            Fd fd = null;
            try {
                fd = Fd.own(Failures.check(r, "open pin", p));
                PinType type = Pins.kind(fd.value());
                if (type == PinType.MAP) {
                    MapInfo info = Info.map(fd.value(), p);
                    if (LegacyTc.isRecord(info)) {
                        out.add(new LinkPin(p, LegacyTc.info(p)));
                    } else if (withEntries.test(p, info)) {
                        Fd owned = fd;
                        fd = null;   // the task owns it now
                        java.util.concurrent.Callable<SortedEntries> dump = () -> {
                            try (owned) {
                                return new MapAccess(owned.value(), p, info, cpus).sortedEntries();
                            }
                        };
                        // a small map's dump stays with this thread, which waits for the large ones anyway:
                        // handed over, the bookkeeping map's (root/meta, first in path order) ran on the worker
                        // ahead of the rule trie's, and delayed it by its own length
                        out.add(new Dumping(p, info, info.maxEntries() <= KEEP_DUMPS_UP_TO
                                ? dumps.keep(dump) : dumps.submit(dump)));
                    } else {
                        out.add(new MapPin(p, new MapRead(info, Optional.empty())));
                    }
                } else if (type == PinType.PROG) {
                    out.add(new ProgramPin(p, Info.program(fd.value(), p)));
                } else if (type == PinType.LINK) {
                    out.add(new LinkPin(p, Info.link(fd.value(), p)));
                }
            } catch (RuntimeException x) {
                throw dumps.failed(x);
            } finally {
                if (fd != null) {
                    fd.close();
                }
            }
        }
        return () -> {
            List<SortedEntries> dumped = dumps.await();
            List<PinRead> reads = new ArrayList<>(out.size());
            Path largest = null;
            int most = 0;
            for (Object o : out) {
                if (o instanceof Dumping d) {
                    SortedEntries e = dumped.get(d.task());
                    if (d.info().maxEntries() > KEEP_DUMPS_UP_TO && e.size() > most) {
                        largest = d.path();
                        most = e.size();
                    }
                    reads.add(new MapPin(d.path(), new MapRead(d.info(), Optional.of(e))));
                } else {
                    reads.add((PinRead) o);
                }
            }
            if (largest != null) {
                dumpFirst = new DumpFirst(dir, largest);   // else (nothing dumped, say all kept) the hint stays
            }
            return new PinReads(List.copyOf(reads), tree.directories());
        };
    }

    /**
     * The pin whose dump {@link #startReadPins} starts first under {@code dir}: of the maps it handed to the
     * worker last time there, the one with the most entries. Only an order: a stale hint (the pin gone, replaced,
     * small now, not a map) costs one open, and what is read is what the listing finds pinned.
     */
    private record DumpFirst(Path dir, Path pin) {
    }

    /** The last call's hint, for one dir (a process observes one pin root). */
    private volatile DumpFirst dumpFirst;

    /**
     * The large map pinned at {@code pin}, read as the listing's loop would and its dump handed over ahead of its
     * place (a {@link Dumping} of an ahead task, or a {@link MapPin} when {@code withEntries} declines it); null
     * when it is anything else, which the listing then reads in its turn as usual (failures included).
     */
    private Object readAhead(Path pin, BiPredicate<Path, MapInfo> withEntries, Beside.Group<SortedEntries> dumps) {
        int r = Pins.objGet(pin);
        if (r < 0) {
            return null;
        }
        Fd fd = Fd.own(r);
        try {
            if (Pins.kind(fd.value()) != PinType.MAP) {
                return null;
            }
            MapInfo info = Info.map(fd.value(), pin);
            if (LegacyTc.isRecord(info) || info.maxEntries() <= KEEP_DUMPS_UP_TO) {
                return null;
            }
            if (!withEntries.test(pin, info)) {
                return new MapPin(pin, new MapRead(info, Optional.empty()));
            }
            Fd owned = fd;
            fd = null;   // the task owns it now
            int task = dumps.submitAhead(() -> {
                try (owned) {
                    return new MapAccess(owned.value(), pin, info, cpus).sortedEntries();
                }
            });
            return new Dumping(pin, info, task);
        } catch (RuntimeException x) {
            return null;   // read again in the listing's turn, which reports it in path order
        } finally {
            if (fd != null) {
                fd.close();
            }
        }
    }

    /**
     * Maps of at most this many entries are dumped by the observing thread in {@code await}, not by the worker:
     * the bookkeeping map's size (its dump, a walk of 4,096 hash buckets, is 0.17-0.23 ms of CPU).
     */
    static final int KEEP_DUMPS_UP_TO = 4096;

    /** A map whose dump is task {@code task} of the group. */
    private record Dumping(Path path, MapInfo info, int task) {
    }

    @Override
    public Optional<MapInfo> mapInfo(Path pin) {
        return Pins.openIfPinned(pin, PinType.MAP, "open map").map(fd -> {
            try (fd) {
                return Info.map(fd.value(), pin);
            }
        });
    }

    @Override
    public List<Entry> entries(Path pin) {
        try (Fd fd = Pins.open(pin, PinType.MAP, "open map")) {
            return access(fd, pin).entries();
        }
    }

    @Override
    public SortedEntries sortedEntries(Path pin) {
        try (Fd fd = Pins.open(pin, PinType.MAP, "open map")) {
            return access(fd, pin).sortedEntries();
        }
    }

    @Override
    public dev.bpfgit.kernel.PackedEntries packedEntries(Path pin) {
        try (Fd fd = Pins.open(pin, PinType.MAP, "open map")) {
            return access(fd, pin).packedEntries();
        }
    }

    @Override
    public Optional<MapRead> readMap(Path pin, Predicate<MapInfo> withEntries) {
        return Pins.openIfPinned(pin, PinType.MAP, "open map").map(fd -> {
            try (fd) {
                MapInfo info = Info.map(fd.value(), pin);
                return new MapRead(info, withEntries.test(info)
                        ? Optional.of(new MapAccess(fd.value(), pin, info, cpus).sortedEntries()) : Optional.empty());
            }
        });
    }

    @Override
    public Optional<Bytes> lookup(Path pin, Bytes key) {
        try (Fd fd = Pins.open(pin, PinType.MAP, "open map")) {
            return access(fd, pin).lookup(key);
        }
    }

    private MapAccess access(Fd fd, Path pin) {
        return new MapAccess(fd.value(), pin, Info.map(fd.value(), pin), cpus);
    }

    @Override
    public Optional<ProgramInfo> programInfo(Path pin) {
        return Pins.openIfPinned(pin, PinType.PROG, "open program").map(fd -> {
            try (fd) {
                return Info.program(fd.value(), pin);
            }
        });
    }

    @Override
    public Optional<LinkInfo> linkInfo(Path pin) {
        if (LegacyTc.record(pin).isPresent()) {
            return Optional.of(LegacyTc.info(pin));
        }
        return Pins.openIfPinned(pin, PinType.LINK, "open link").map(fd -> {
            try (fd) {
                return Info.link(fd.value(), pin);
            }
        });
    }

    @Override
    public List<AttachedProgram> attached(AttachPoint at) {
        return Links.attached(at);
    }

    @Override
    public List<Interface> interfaces() {
        return Libc.interfaces().stream().sorted(Comparator.comparingInt(Interface::ifindex)).toList();
    }

    @Override
    public java.util.SortedMap<String, Long> cgroups() {
        Path root = dev.bpfgit.kernel.CgroupRoot.path();
        return java.nio.file.Files.isDirectory(root) ? cgroupsUnder(root, root) : new java.util.TreeMap<>();
    }

    /**
     * The cgroups at and below {@code dir}, named from {@code root}: one walk for the whole tree ({@link #cgroups})
     * and for one subtree ({@link #cgroupIds}, every pass of a SocketTermination).
     */
    private static java.util.SortedMap<String, Long> cgroupsUnder(Path root, Path dir) {
        java.util.SortedMap<String, Long> out = new java.util.TreeMap<>();
        try (java.util.stream.Stream<Path> dirs = java.nio.file.Files.walk(dir)) {
            dirs.filter(java.nio.file.Files::isDirectory).forEach(d -> {
                try {
                    out.put("/" + root.relativize(d), ((Number) java.nio.file.Files.getAttribute(d, "unix:ino")).longValue());
                } catch (java.io.IOException | RuntimeException e) {
                    // removed while walking
                }
            });
        } catch (java.io.IOException | java.io.UncheckedIOException e) {
            throw Failures.io("list cgroups under", dir, e instanceof java.io.UncheckedIOException u ? u.getCause()
                    : (java.io.IOException) e);
        }
        return out;
    }

    @Override
    public int possibleCpus() {
        return cpus;
    }

    @Override
    public dev.bpfgit.kernel.Features features() {
        return Probes.features();
    }

    // ---- apply

    @Override
    public void makeDirs(Path dir) {
        Path existing = dir.toAbsolutePath();
        while (existing != null && !Files.exists(existing)) {
            existing = existing.getParent();
        }
        try {
            FileStore store = Files.getFileStore(existing);
            if (!"bpf".equals(store.type())) {
                throw Failures.of("make directory", dir, Failures.EINVAL, existing + " is on " + store.type()
                        + ", not on a bpf filesystem (mount it with: mount -t bpf bpf /sys/fs/bpf)");
            }
            Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        } catch (IOException e) {
            throw Failures.io("make directory", dir, e);
        }
    }

    @Override
    public void createMap(Path pin, MapSpec spec) {
        Loader.createMap(pin, spec);
    }

    @Override
    public void update(Path pin, Collection<Entry> entries) {
        try (Fd fd = Pins.open(pin, PinType.MAP, "open map")) {
            access(fd, pin).update(entries);
        }
    }

    @Override
    public void delete(Path pin, Collection<Bytes> keys) {
        try (Fd fd = Pins.open(pin, PinType.MAP, "open map")) {
            access(fd, pin).delete(keys);
        }
    }

    @Override
    public void loadProgram(Path pin, ProgramSpec spec) {
        Loader.loadProgram(pin, spec);
    }

    @Override
    public void attach(Path linkPin, Path progPin, AttachPoint at) {
        Links.attach(linkPin, progPin, at);
    }

    @Override
    public void updateLink(Path linkPin, Path progPin, Optional<Integer> expectedProgId) {
        Links.update(linkPin, progPin, expectedProgId);
    }

    @Override
    public void unpin(Path pin) {
        if (!Files.isDirectory(pin)) {
            // a legacy tc filter lives as long as its record says bpfgit owns it
            LegacyTc.detach(pin);
        }
        Fd link = Files.isDirectory(pin) ? null : openIfLink(pin);
        try {
            try {
                Files.deleteIfExists(pin);
            } catch (IOException e) {
                throw Failures.io("unpin", pin, e);
            }
            if (link != null) {
                detach(link, pin);
            }
        } finally {
            if (link != null) {
                link.close();
            }
        }
    }

    /** An fd of the pinned object if it is a link, else null. */
    private static Fd openIfLink(Path pin) {
        int r = Pins.objGet(pin);
        if (r < 0) {
            return null;
        }
        Fd fd = Fd.own(r);
        if (Pins.kind(fd.value()) == dev.bpfgit.kernel.PinType.LINK) {
            return fd;
        }
        fd.close();
        return null;
    }

    /**
     * Detaches an unpinned link before unpin returns, so that its attach point is free then (an apply right
     * after a destroy would otherwise see bpfgit's own old program as foreign, and a removed unit's program
     * would go on running for a while). Dropping the last reference is not enough: the kernel frees the pin's
     * inode after an RCU grace period and the link from a workqueue after that, and it takes the link out of
     * its id table before it detaches it, so not even "no link by that id" means detached (an XDP program
     * stayed on its interface up to 350 ms after that at load 12). Nor is any of it if another process holds
     * the link open. BPF_LINK_DETACH detaches at once, whoever holds it; links without a detach operation
     * (iterators) are waited for as before.
     * The pin is gone already: a failed detach is not an error of the unpin.
     */
    private static void detach(Fd link, Path pin) {
        int r = Libbpf.linkDetach(link.value());
        if (r == 0) {
            return;
        }
        // EOPNOTSUPP (no detach operation) or a kernel before 5.9: its release detaches it
        int id = Info.link(link.value(), pin).id();
        link.close();
        awaitGone(id);
    }

    /** The link by that id is released (the kernel may still be detaching it: see {@link #detach}). */
    private static void awaitGone(int linkId) {
        long deadline = System.nanoTime() + 2_000_000_000L;
        while (System.nanoTime() < deadline) {
            int fd = Libbpf.linkGetFdById(linkId);
            if (fd < 0) {
                return;   // ENOENT: released
            }
            Fd.own(fd).close();
            try {
                Thread.sleep(2);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        // still held: another process has the link open; it detaches when that process lets go
    }

    @Override
    public void rename(Path from, Path to) {
        try {
            // rename(2): replaces an existing target in one step
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw Failures.io("rename pin", Path.of(from + " to " + to), e);
        }
    }

    @Override
    public TestRun testRun(Path progPin, byte[] packet, int repeat) {
        try (Fd prog = Pins.open(progPin, PinType.PROG, "open program");
             Arena arena = Arena.ofConfined()) {
            MemorySegment in = arena.allocateFrom(JAVA_BYTE, packet);
            // room for programs that grow the packet (bpf_xdp_adjust_head, bpf_skb_change_tail)
            MemorySegment out = arena.allocate(packet.length + TEST_RUN_HEADROOM);
            MemorySegment opts = Structs.opts(arena, TEST_RUN_OPTS);
            Structs.setAddress(opts, TEST_RUN_OPTS, "data_in", in);
            Structs.setInt(opts, TEST_RUN_OPTS, "data_size_in", packet.length);
            Structs.setAddress(opts, TEST_RUN_OPTS, "data_out", out);
            Structs.setInt(opts, TEST_RUN_OPTS, "data_size_out", (int) out.byteSize());
            Structs.setInt(opts, TEST_RUN_OPTS, "repeat", repeat);
            Failures.check(Libbpf.testRun(prog.value(), opts), "test run", progPin);
            int outSize = Math.min(Structs.getInt(opts, TEST_RUN_OPTS, "data_size_out"), (int) out.byteSize());
            return new TestRun(Structs.getInt(opts, TEST_RUN_OPTS, "retval"),
                    Integer.toUnsignedLong(Structs.getInt(opts, TEST_RUN_OPTS, "duration")),
                    out.asSlice(0, outSize).toArray(JAVA_BYTE));
        }
    }

    // ---- sockets of other processes

    @Override
    public int readPidFile(Path pidFile) {
        return Sockets.readPidFile(pidFile);
    }

    @Override
    public List<Listener> listeners(int pid, SocketProtocol protocol, int port, Optional<InetAddress> address) {
        return Sockets.listeners(pid, protocol, port, address);
    }

    @Override
    public List<Listener> listeners(int pid, SocketProtocol protocol, int port, Optional<InetAddress> address,
                                    Optional<Path> netns) {
        return Sockets.listeners(pid, protocol, port, address, netns);
    }

    @Override
    public List<Listener> boundSockets(SocketProtocol protocol, int port, Optional<InetAddress> address,
                                       Optional<Path> netns) {
        return Sockets.bound(protocol, port, address, netns);
    }

    @Override
    public java.util.Map<Long, Long> listenerCookies(SocketProtocol protocol, int port, Optional<Path> netns) {
        // this process's namespace is the calling thread's: no thread needs to enter it
        Optional<Path> where = netns.filter(n -> !n.equals(Path.of("/proc/self/ns/net")));
        java.util.Map<Long, Long> out = new java.util.HashMap<>();
        try (SockDiag d = SockDiag.open(where)) {
            // TCP LISTEN (10); a bound unconnected UDP socket is in TCP_CLOSE (7) with no remote port
            for (dev.bpfgit.kernel.InetSocket s : d.dump(protocol == SocketProtocol.TCP ? 1 << 10 : 0,
                    protocol == SocketProtocol.UDP ? 1 << 7 : 0)) {
                if (s.local().getPort() == port && s.remote().getPort() == 0 && s.inode() != 0) {
                    out.put(s.inode(), s.cookie());
                }
            }
        }
        return out;
    }

    @Override
    public AdoptedSocket adopt(Listener listener) {
        return Sockets.adopt(listener);
    }

    @Override
    public void putSocket(Path sockmap, int key, AdoptedSocket socket) {
        Sockets.put(sockmap, key, socket);
    }

    @Override
    public SortedMap<Integer, Long> sockets(Path sockmap) {
        return Sockets.sockets(sockmap);
    }

    @Override
    public void attachReuseport(Path progPin, AdoptedSocket socket) {
        Sockets.attach(progPin, socket);
    }

    @Override
    public void detachReuseport(AdoptedSocket socket) {
        Sockets.detach(socket);
    }

    // ---- BPF iterators

    @Override
    public void attachIterator(Path linkPin, Path progPin) {
        Iterators.attach(linkPin, progPin);
    }

    @Override
    public byte[] runIterator(Path iterPin, Optional<Path> netns) {
        return Iterators.run(iterPin, netns);
    }

    @Override
    public List<byte[]> runIterators(List<ProgramSpec> programs, Optional<Path> netns) {
        return Iterators.run(programs, netns);
    }

    // ---- sockets by destination

    /** TCP states but LISTEN (10), TIME_WAIT (6), NEW_SYN_RECV (12) and CLOSE (7); UDP ESTABLISHED (1). */
    private static final int CONNECTED_TCP = 0xfff & ~(1 << 10 | 1 << 6 | 1 << 12 | 1 << 7 | 1);
    private static final int CONNECTED_UDP = 1 << 1;

    @Override
    public List<dev.bpfgit.kernel.InetSocket> connectedSockets(Optional<Path> netns) {
        try (SockDiag d = SockDiag.open(netns)) {
            return d.dump(CONNECTED_TCP, CONNECTED_UDP);
        }
    }

    @Override
    public int[] destroySockets(Optional<Path> netns, List<dev.bpfgit.kernel.InetSocket> sockets) {
        if (sockets.isEmpty()) {
            return new int[0];
        }
        try (SockDiag d = SockDiag.open(netns)) {
            return d.destroy(sockets);
        }
    }

    @Override
    public java.util.Map<Long, List<dev.bpfgit.kernel.SocketOwner>> socketOwners(Collection<Long> inodes) {
        return SocketScan.owners(inodes);
    }

    @Override
    public java.util.Set<Long> cgroupIds(String cgroup) {
        Path root = dev.bpfgit.kernel.CgroupRoot.path();
        Path dir = dev.bpfgit.kernel.CgroupRoot.resolve(cgroup).normalize();
        if (!dir.startsWith(root)) {
            throw Failures.of("find cgroup", cgroup, Failures.EINVAL, "it leaves the cgroup v2 root " + root);
        }
        if (!Files.isDirectory(dir)) {
            throw Failures.of("find cgroup", dir, Failures.ENOENT, null);
        }
        return new java.util.TreeSet<>(cgroupsUnder(root, dir).values());
    }

    @Override
    public List<byte[]> runIterators(dev.bpfgit.kernel.ObjectFile object, List<String> programs,
                                     java.util.Map<String, dev.bpfgit.kernel.MapSource> maps, Optional<Path> netns) {
        return Iterators.run(object, programs, maps, netns, cpus);
    }

    @Override
    public Optional<dev.bpfgit.kernel.MapWriteCounter> mapWriteCounter(dev.bpfgit.kernel.ObjectFile object) {
        return Optional.of(WriteCounter.open(object));
    }
}
