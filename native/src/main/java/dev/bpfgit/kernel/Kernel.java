package dev.bpfgit.kernel;

import java.net.InetAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.SortedMap;
import java.util.Map;
import java.util.function.BiPredicate;
import java.util.function.Predicate;

/**
 * Everything observe and apply need from the kernel. Implemented by {@code LinuxKernel} (libbpf through the
 * FFM API) and by an in-memory kernel for unit tests and for plans against a state file.
 *
 * <p>Objects are named by their pin path. Methods that read return {@link Optional#empty()} when nothing is
 * pinned at the path; every other failure is a {@link KernelException} carrying operation, path and errno.
 * Implementations do not police the pin root: the caller checks paths stay under it.
 */
public interface Kernel {

    // ---- observe

    /** Every pin below {@code dir} (recursively), sorted by path; empty when {@code dir} does not exist. */
    List<Pin> pins(Path dir);

    /** {@code dir} and every directory below it, sorted; empty when {@code dir} does not exist. */
    List<Path> directories(Path dir);

    /** {@link #pins} and {@link #directories} of the same tree. */
    record PinTree(List<Pin> pins, List<Path> directories) {
    }

    /**
     * {@link #pins} and {@link #directories} of {@code dir} together; an implementation may list the tree once
     * for both (observe asks for both on every reconcile).
     */
    default PinTree pinTree(Path dir) {
        return new PinTree(pins(dir), directories(dir));
    }

    Optional<MapInfo> mapInfo(Path pin);

    /** All entries (batch lookup where the map type has it). Per-CPU values are all CPUs' slots concatenated. */
    List<Entry> entries(Path pin);

    /** {@link #entries} as a map sorted by key; an implementation may build it without an object per entry. */
    default SortedEntries sortedEntries(Path pin) {
        return SortedEntries.of(entries(pin));
    }

    /**
     * {@link #entries} in the kernel's order, packed: no sort and no object per entry (a per-CPU array's counters
     * read whole and indexed by the reader).
     */
    default PackedEntries packedEntries(Path pin) {
        return PackedEntries.of(entries(pin));
    }

    /** A map's info and, when it was asked for, its entries sorted by key. */
    record MapRead(MapInfo info, Optional<SortedEntries> entries) {
    }

    /**
     * {@link #mapInfo} and, when {@code withEntries} accepts the info, {@link #sortedEntries} of the same map; an
     * implementation may read both through one open of the pin. Empty when nothing is pinned.
     */
    default Optional<MapRead> readMap(Path pin, Predicate<MapInfo> withEntries) {
        return mapInfo(pin).map(i -> new MapRead(i,
                withEntries.test(i) ? Optional.of(sortedEntries(pin)) : Optional.empty()));
    }

    /** One pinned object with what {@link #readPins} read of it. */
    sealed interface PinRead permits MapPin, ProgramPin, LinkPin {
        Path path();
    }

    /** A map: its info and, when asked for, its entries ({@link #readMap}). */
    record MapPin(Path path, MapRead read) implements PinRead {
    }

    /** A program: {@link #programInfo}. */
    record ProgramPin(Path path, ProgramInfo info) implements PinRead {
    }

    /** A link, or a legacy tc filter's record standing where its link would be: {@link #linkInfo}. */
    record LinkPin(Path path, LinkInfo info) implements PinRead {
    }

    /** Every pin below a directory with what was read of it, and the directories. */
    record PinReads(List<PinRead> pins, List<Path> directories) {
    }

    /**
     * {@link #pinTree} of {@code dir}, and of each pin what {@link #readMap} (entries when {@code withEntries}
     * accepts the map's pin and info), {@link #programInfo} or {@link #linkInfo} reads, sorted by path; a pin
     * gone between the listing and its read is left out. An implementation may open each pin once for all of
     * it (observe reads every pin on every reconcile).
     */
    default PinReads readPins(Path dir, BiPredicate<Path, MapInfo> withEntries) {
        PinTree tree = pinTree(dir);
        List<PinRead> out = new ArrayList<>(tree.pins().size());
        for (Pin pin : tree.pins()) {
            Path p = pin.path();
            switch (pin.type()) {
                case MAP -> readMap(p, i -> withEntries.test(p, i)).ifPresent(r -> out.add(new MapPin(p, r)));
                case PROG -> programInfo(p).ifPresent(i -> out.add(new ProgramPin(p, i)));
                case LINK -> linkInfo(p).ifPresent(i -> out.add(new LinkPin(p, i)));
            }
        }
        return new PinReads(List.copyOf(out), tree.directories());
    }

    /** A {@link #readPins} under way: {@link #await} gives its result. */
    interface PendingReads {
        /**
         * The reads, once every one has finished; what a read threw, as it threw it (the first in path order,
         * as {@link #readPins} would have). Waits through an interrupt (the interrupt is kept): nothing of the
         * reads runs after this returns.
         */
        PinReads await();
    }

    /**
     * {@link #readPins}, of which an implementation may leave the maps' dumps running on another thread when it
     * returns, so that the caller reads something else meanwhile (observe: the interfaces and the attach points,
     * while a large trie is dumped). The caller must {@link PendingReads#await} it before writing to the kernel.
     * The predicate runs on the calling thread, before the dump of the map it accepts starts. The default reads
     * everything before it returns.
     */
    default PendingReads startReadPins(Path dir, BiPredicate<Path, MapInfo> withEntries) {
        PinReads reads = readPins(dir, withEntries);
        return () -> reads;
    }

    /** One entry, or empty. In an LPM trie the kernel answers with the longest stored prefix that matches. */
    Optional<Bytes> lookup(Path pin, Bytes key);

    Optional<ProgramInfo> programInfo(Path pin);

    Optional<LinkInfo> linkInfo(Path pin);

    /** The programs the kernel runs at an attach point, ours or not. */
    List<AttachedProgram> attached(AttachPoint at);

    /** The interfaces of the caller's network namespace. */
    List<Interface> interfaces();

    /**
     * The cgroups of the cgroup v2 hierarchy ({@link CgroupRoot}), each named as policies name it ({@code /},
     * {@code /a/b}) with its id (the directory's inode, which bpf_link_info and BPF programs report).
     */
    default java.util.SortedMap<String, Long> cgroups() {
        return new java.util.TreeMap<>();
    }

    /** Number of possible CPUs: the multiplier of per-CPU values. */
    int possibleCpus();

    /**
     * What this kernel can do ({@link Feature}), probed once per process. The default, for kernels that are
     * not probed (an in-memory one), assumes a current kernel.
     */
    default Features features() {
        return Features.ALL;
    }

    // ---- apply

    /** Creates the directory and its parents in bpffs (mode 0700); no error if it exists. */
    void makeDirs(Path dir);

    /** Creates a map as specified (with BTF when the spec names types) and pins it. EEXIST if pinned. */
    void createMap(Path pin, MapSpec spec);

    /** Writes entries (BPF_ANY), batched. Values of per-CPU maps carry every CPU's slot. */
    void update(Path pin, Collection<Entry> entries);

    /** Deletes keys, batched; a key already absent is not an error. */
    void delete(Path pin, Collection<Bytes> keys);

    /**
     * Loads one program of an object with its maps bound to the given pins and pins it. If a program is
     * already pinned there, the pin is replaced atomically (rename in bpffs); links that run the old
     * program keep running it until {@link #updateLink} is called.
     */
    void loadProgram(Path pin, ProgramSpec spec);

    /** Creates a bpf_link running the pinned program at the attach point and pins the link. */
    void attach(Path linkPin, Path progPin, AttachPoint at);

    /**
     * Atomically makes the pinned link run the pinned program (BPF_LINK_UPDATE). With {@code expectedProgId}
     * present the update is a compare-and-swap (BPF_F_REPLACE) and fails with EPERM if the link runs another
     * program.
     */
    void updateLink(Path linkPin, Path progPin, Optional<Integer> expectedProgId);

    /** Removes a pin (an object dies with its last reference), or an empty directory. Absent: no error. */
    void unpin(Path pin);

    /** Renames a pin within bpffs, replacing the target if it exists. */
    void rename(Path from, Path to);

    /** BPF_PROG_TEST_RUN of a pinned program on one packet. */
    TestRun testRun(Path progPin, byte[] packet, int repeat);

    // ---- sockets of other processes (ReusePortGroup)

    /** The pid a pid file names. NotFound when the file is missing; EINVAL when it holds no pid. */
    int readPidFile(Path pidFile);

    /**
     * The sockets of process {@code pid} bound to {@code port}: TCP in LISTEN, UDP bound and unconnected; with
     * {@code address} present only those bound to exactly that address (a wildcard matches only a wildcard).
     * Read from the process's own network namespace. Sorted by fd. NotFound when the process does not exist or
     * has no such socket.
     */
    List<Listener> listeners(int pid, SocketProtocol protocol, int port, Optional<InetAddress> address);

    /**
     * As {@link #listeners(int, SocketProtocol, int, Optional)}, but the sockets bound in the network namespace
     * at {@code netns} (e.g. {@code /run/netns/app}) when present, whatever namespace the process is in: a
     * process's socket bound in another namespace is not there ({@code /proc/self/ns/net}: this process's own).
     * NotFound when the namespace does not exist.
     */
    default List<Listener> listeners(int pid, SocketProtocol protocol, int port, Optional<InetAddress> address,
                                     Optional<Path> netns) {
        if (netns.isEmpty()) {
            return listeners(pid, protocol, port, address);
        }
        throw new UnsupportedOperationException("listeners in network namespace " + netns.get());
    }

    /**
     * Every process's sockets bound to {@code port} in {@code netns} (empty: this process's namespace), each
     * with one process that holds it; an empty list when there are none.
     */
    default List<Listener> boundSockets(SocketProtocol protocol, int port, Optional<InetAddress> address,
                                        Optional<Path> netns) {
        throw new UnsupportedOperationException("bound sockets of every process");
    }

    /**
     * The cookie of each TCP listener (UDP: bound unconnected socket) on {@code port} in {@code netns} (empty:
     * this process's namespace), by socket inode, read without taking any socket (NETLINK_SOCK_DIAG): a
     * duplicate held by bpfgit would keep a dead process's listener open, and its close reset the connections
     * queued on it. Empty when this kernel cannot tell; the caller then takes duplicates to read the cookies.
     */
    default java.util.Map<Long, Long> listenerCookies(SocketProtocol protocol, int port, Optional<Path> netns) {
        return java.util.Map.of();
    }

    /**
     * Takes a duplicate of the listener's socket (pidfd_getfd), checking it is still that socket and that it
     * has SO_REUSEPORT. PermissionDenied without CAP_SYS_PTRACE; NotFound when the process or fd is gone;
     * EINVAL when the socket lacks SO_REUSEPORT.
     */
    AdoptedSocket adopt(Listener listener);

    /** Puts the socket into the pinned SOCKMAP at {@code key}, replacing what was there. */
    void putSocket(Path sockmap, int key, AdoptedSocket socket);

    /** The keys of a pinned SOCKMAP that hold a socket, each with the socket's cookie. */
    SortedMap<Integer, Long> sockets(Path sockmap);

    /**
     * Attaches the pinned sk_reuseport program to the socket's reuseport group (SO_ATTACH_REUSEPORT_EBPF),
     * replacing the group's program. There is no bpf_link: the attachment lives as long as the group.
     */
    void attachReuseport(Path progPin, AdoptedSocket socket);

    /** Detaches the group's sk_reuseport program (SO_DETACH_REUSEPORT_BPF); NotFound when none is attached. */
    void detachReuseport(AdoptedSocket socket);

    // ---- BPF iterators (SocketTermination, EgressTimeout)

    /**
     * Creates a bpf_link running the pinned iterator program (a {@code SEC("iter/...")} program whose target
     * takes no parameter, e.g. iter/tcp, iter/udp, iter/task) and pins it. Nothing runs until
     * {@link #runIterator}.
     */
    void attachIterator(Path linkPin, Path progPin);

    /**
     * Runs a BPF iterator once: BPF_ITER_CREATE, then read(2) to end of file; the program runs during the
     * reads. {@code iterPin} is a pinned iter link, or a pinned iterator program (then a link is made for this
     * run only and released after). Network iterators (tcp, udp) walk the network namespace the iterator is
     * created in: {@code netns} (e.g. {@code /run/netns/app}) when present, else the calling thread's.
     *
     * @return what the program wrote (bpf_seq_write, bpf_seq_printf), in order
     */
    byte[] runIterator(Path iterPin, Optional<Path> netns);

    /**
     * {@link #runIterator(Path, Optional)} of each program, in order, loaded from their common object (same
     * maps bound to the same pins) without pinning them: a kernel that cannot load them fails only here, not
     * in apply. An implementation may keep them loaded for the next call while the pins hold the same maps.
     *
     * @return what each program wrote, in the order of {@code programs}
     */
    List<byte[]> runIterators(List<ProgramSpec> programs, Optional<Path> netns);

    // ---- sockets by destination (SocketTermination)

    /**
     * The connected TCP and UDP sockets, IPv4 and IPv6, of the network namespace at {@code netns} (else the
     * calling thread's), from a sock_diag dump: TCP in every state but LISTEN, TIME_WAIT, NEW_SYN_RECV and
     * CLOSE; UDP only when connected.
     */
    List<InetSocket> connectedSockets(Optional<Path> netns);

    /**
     * Netlink SOCK_DESTROY of each socket (as {@code ss -K} does), matched by its id and cookie: the owner sees
     * ECONNABORTED. The result per socket, in order: 0, or the errno (ENOENT: it closed meanwhile).
     */
    int[] destroySockets(Optional<Path> netns, List<InetSocket> sockets);

    /** For each of these socket inodes that a process has open: the processes (a scan of /proc/PID/fd). */
    Map<Long, List<SocketOwner>> socketOwners(Collection<Long> inodes);

    /**
     * The ids of cgroup v2 {@code cgroup} (a path below the cgroup v2 root, e.g. {@code /kubepods/pod1}) and of
     * every cgroup below it. NotFound when it does not exist.
     */
    default java.util.Set<Long> cgroupIds(String cgroup) {
        java.util.SortedMap<String, Long> all = cgroups();
        if (!all.containsKey(cgroup)) {
            throw KernelException.of("find cgroup", CgroupRoot.resolve(cgroup).toString(), 2);
        }
        String below = cgroup.equals("/") ? "/" : cgroup + "/";
        java.util.Set<Long> ids = new java.util.TreeSet<>();
        all.forEach((name, id) -> {
            if (name.equals(cgroup) || name.startsWith(below)) {
                ids.add(id);
            }
        });
        return ids;
    }

    /**
     * {@link #runIterator(Path, Optional)} of each of {@code programs} of {@code object}, with every map the object
     * declares bound as {@code maps} says: a pinned map, or a map created for this call only (never pinned) and
     * filled with its entries. Nothing is pinned or attached, and every reference to the temporary maps is released
     * when it returns (the kernel frees them with the programs, after an RCU grace period): a plan can run a unit's
     * iterators against its desired maps before the unit exists.
     *
     * @return what each program wrote, in the order of {@code programs}
     */
    default List<byte[]> runIterators(ObjectFile object, List<String> programs, Map<String, MapSource> maps,
                                      Optional<Path> netns) {
        throw new UnsupportedOperationException("iterators with temporary maps");
    }

    /**
     * Loads and attaches {@code object}'s map write counter (bpf/mapwrites.bpf.o), owned by this process: it
     * detaches when closed or when the process ends. Empty when this implementation has none; the caller then
     * reads every map every time, as it does when this throws.
     *
     * @throws KernelException where the kernel refuses it (no raw tracepoints, no BTF for its relocations)
     */
    default java.util.Optional<MapWriteCounter> mapWriteCounter(ObjectFile object) {
        return java.util.Optional.empty();
    }
}
