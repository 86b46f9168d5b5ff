package dev.bpfgit.state;

import dev.bpfgit.kernel.AdoptedSocket;
import dev.bpfgit.kernel.AttachPoint;
import dev.bpfgit.kernel.Feature;
import dev.bpfgit.kernel.Features;
import dev.bpfgit.kernel.AttachedProgram;
import dev.bpfgit.kernel.Bytes;
import dev.bpfgit.kernel.Entry;
import dev.bpfgit.kernel.Errno;
import dev.bpfgit.kernel.Interface;
import dev.bpfgit.kernel.Kernel;
import dev.bpfgit.kernel.KernelException;
import dev.bpfgit.kernel.LinkInfo;
import dev.bpfgit.kernel.Listener;
import dev.bpfgit.kernel.MapInfo;
import dev.bpfgit.kernel.MapSpec;
import dev.bpfgit.kernel.Pin;
import dev.bpfgit.kernel.PinType;
import dev.bpfgit.kernel.ProgramInfo;
import dev.bpfgit.kernel.ProgramSpec;
import dev.bpfgit.kernel.SocketProtocol;
import dev.bpfgit.kernel.TestRun;

import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * A kernel in memory: pins, maps with entries, programs and links, with the kernel's rules that matter to
 * plans (EEXIST on a taken pin, one XDP program per interface, compare-and-swap link updates). It stands in
 * for the kernel in unit tests of the pure stages and in CI plans against a state file, never in a test
 * that claims a kernel behaviour.
 */
public final class MemoryKernel implements Kernel {

    sealed interface Obj permits MapObj, ProgObj, LinkObj {
    }

    record MapObj(MapInfo info, Map<Bytes, Bytes> entries) implements Obj {
    }

    record ProgObj(ProgramInfo info) implements Obj {
    }

    record LinkObj(LinkInfo info, AttachPoint at) implements Obj {
    }

    private final Map<Path, Obj> pins = new TreeMap<>();
    private final TreeSet<Path> dirs = new TreeSet<>();
    private final Map<String, Integer> interfaces = new LinkedHashMap<>();
    private final Map<AttachPoint, List<AttachedProgram>> attached = new HashMap<>();
    private final int cpus;
    private int nextId = 100;
    // other processes and their sockets, as tests declare them; the inode doubles as the socket cookie
    private final Map<Path, Integer> pidFiles = new HashMap<>();
    private final Map<Integer, List<Listener>> processes = new HashMap<>();
    private final Map<Long, Boolean> reusePort = new HashMap<>();
    private final Map<Long, Path> reuseportPrograms = new HashMap<>();
    private boolean ptrace = true;
    private Features features = Features.ALL;

    public MemoryKernel(Map<String, Integer> interfaces, int possibleCpus) {
        this.interfaces.putAll(interfaces);
        this.cpus = possibleCpus;
    }

    /** Restores a pinned object as a state file describes it. */
    void restoreMap(Path pin, MapInfo info, Map<Bytes, Bytes> entries) {
        // packed entries are kept as they are (a state file of a million entries, read for a plan) and copied
        // into a HashMap at the first write (mutable)
        boolean packed = entries instanceof dev.bpfgit.kernel.SortedEntries
                && info.type() != dev.bpfgit.kernel.MapType.SOCKMAP.id;
        pins.put(pin, new MapObj(info, packed ? entries : new HashMap<>(entries)));
        nextId = Math.max(nextId, info.id() + 1);
        addParents(pin);
    }

    void restoreProgram(Path pin, ProgramInfo info) {
        pins.put(pin, new ProgObj(info));
        nextId = Math.max(nextId, info.id() + 1);
        addParents(pin);
    }

    void restoreLink(Path pin, LinkInfo info) {
        pins.put(pin, new LinkObj(info, null));
        nextId = Math.max(nextId, info.id() + 1);
        addParents(pin);
    }

    /** The kernel's features as a state file recorded them; tests set them to plan for an older kernel. */
    public void restoreFeatures(Features f) {
        this.features = f;
    }

    @Override
    public Features features() {
        return features;
    }

    void restoreDir(Path dir) {
        dirs.add(dir);
    }

    private final java.util.SortedMap<String, Long> cgroups = new TreeMap<>();

    /** Cgroups of the host (path to id), as a state file or a test declares them. */
    public void restoreCgroups(Map<String, Long> cgroups) {
        this.cgroups.putAll(cgroups);
    }

    @Override
    public java.util.SortedMap<String, Long> cgroups() {
        return new TreeMap<>(cgroups);
    }

    void restoreAttached(AttachPoint at, List<AttachedProgram> progs) {
        attached.put(at, new ArrayList<>(progs));
    }

    private void addParents(Path pin) {
        for (Path d = pin.getParent(); d != null && d.getNameCount() > 0; d = d.getParent()) {
            if (d.toString().equals("/sys/fs/bpf")) {
                break;
            }
            dirs.add(d);
        }
    }

    @Override
    public List<Pin> pins(Path dir) {
        List<Pin> out = new ArrayList<>();
        pins.forEach((p, o) -> {
            if (p.startsWith(dir)) {
                out.add(new Pin(p, switch (o) {
                    case MapObj m -> PinType.MAP;
                    case ProgObj pr -> PinType.PROG;
                    case LinkObj l -> PinType.LINK;
                }));
            }
        });
        return out;
    }

    @Override
    public List<Path> directories(Path dir) {
        return dirs.stream().filter(d -> d.startsWith(dir)).toList();
    }

    private <T extends Obj> Optional<T> get(Path pin, Class<T> type, String op) {
        Obj o = pins.get(pin);
        if (o == null) {
            return Optional.empty();
        }
        if (!type.isInstance(o)) {
            throw KernelException.of(op, pin.toString(), Errno.of(22), "pinned object is not a " + type.getSimpleName());
        }
        return Optional.of(type.cast(o));
    }

    /** The map at {@code pin}, its entries writable. */
    private MapObj mutable(Path pin, String op) {
        MapObj m = need(pin, MapObj.class, op);
        if (m.entries() instanceof dev.bpfgit.kernel.SortedEntries s) {
            m = new MapObj(m.info(), new HashMap<>(s));
            pins.put(pin, m);
        }
        return m;
    }

    private <T extends Obj> T need(Path pin, Class<T> type, String op) {
        return get(pin, type, op).orElseThrow(() -> KernelException.of(op, pin.toString(), 2));
    }

    @Override
    public Optional<MapInfo> mapInfo(Path pin) {
        return get(pin, MapObj.class, "map info").map(MapObj::info);
    }

    @Override
    public List<Entry> entries(Path pin) {
        MapObj m = need(pin, MapObj.class, "dump map");
        List<Entry> out = new ArrayList<>();
        m.entries().forEach((k, v) -> out.add(new Entry(k, v)));
        return out;
    }

    @Override
    public dev.bpfgit.kernel.SortedEntries sortedEntries(Path pin) {
        return dev.bpfgit.kernel.SortedEntries.copyOf(need(pin, MapObj.class, "dump map").entries());
    }

    @Override
    public Optional<Bytes> lookup(Path pin, Bytes key) {
        MapObj m = need(pin, MapObj.class, "lookup");
        if (m.info().type() != dev.bpfgit.kernel.MapType.LPM_TRIE.id) {
            return Optional.ofNullable(m.entries().get(key));
        }
        return longestPrefix(m, pin, key);
    }

    /**
     * As the kernel's trie answers a lookup: of the stored prefixes no longer than the key's prefix length
     * whose bits match the key's address, the longest; bits past a prefix's length are not compared.
     */
    private static Optional<Bytes> longestPrefix(MapObj m, Path pin, Bytes key) {
        byte[] k = key.toArray();
        int maxBits = (k.length - 4) * 8;
        long keyLen = dev.bpfgit.compile.Le.u32(k, 0);
        if (k.length != m.info().keySize() || keyLen > maxBits) {
            throw KernelException.of("lookup", pin.toString(), 22);
        }
        Bytes best = null;
        long bestLen = -1;
        for (Map.Entry<Bytes, Bytes> e : m.entries().entrySet()) {
            byte[] s = e.getKey().toArray();
            long len = dev.bpfgit.compile.Le.u32(s, 0);
            if (len <= keyLen && len > bestLen && samePrefix(s, k, (int) len)) {
                best = e.getValue();
                bestLen = len;
            }
        }
        return Optional.ofNullable(best);
    }

    private static boolean samePrefix(byte[] a, byte[] b, int bits) {
        for (int i = 0; i < bits; i++) {
            int mask = 0x80 >>> (i % 8);
            if ((a[4 + i / 8] & mask) != (b[4 + i / 8] & mask)) {
                return false;
            }
        }
        return true;
    }

    @Override
    public Optional<ProgramInfo> programInfo(Path pin) {
        return get(pin, ProgObj.class, "program info").map(ProgObj::info);
    }

    @Override
    public Optional<LinkInfo> linkInfo(Path pin) {
        return get(pin, LinkObj.class, "link info").map(LinkObj::info);
    }

    @Override
    public List<AttachedProgram> attached(AttachPoint at) {
        // tcx programs and legacy tc filters of a direction see the same packets: each lists both, as on Linux
        List<AttachedProgram> out = new ArrayList<>(attached.getOrDefault(at, List.of()));
        switch (at) {
            case AttachPoint.Tcx t -> out.addAll(attached.getOrDefault(new AttachPoint.LegacyTc(t.ifname(), t.direction()), List.of()));
            case AttachPoint.LegacyTc t -> out.addAll(attached.getOrDefault(new AttachPoint.Tcx(t.ifname(), t.direction()), List.of()));
            case AttachPoint.Xdp x -> {
            }
            case AttachPoint.Cgroup c -> {
            }
        }
        return List.copyOf(out);
    }

    @Override
    public List<Interface> interfaces() {
        List<Interface> out = new ArrayList<>();
        interfaces.forEach((n, i) -> out.add(new Interface(n, i)));
        return out;
    }

    @Override
    public int possibleCpus() {
        return cpus;
    }

    @Override
    public void makeDirs(Path dir) {
        for (Path d = dir; d != null && !dirs.contains(d); d = d.getParent()) {
            if (d.toString().equals("/sys/fs/bpf")) {
                break;
            }
            dirs.add(d);
        }
    }

    private void checkFree(Path pin, String op) {
        if (pins.containsKey(pin) || dirs.contains(pin)) {
            throw KernelException.of(op, pin.toString(), 17);
        }
        if (!dirs.contains(pin.getParent())) {
            throw KernelException.of(op, pin.toString(), 2);
        }
    }

    @Override
    public void createMap(Path pin, MapSpec spec) {
        checkFree(pin, "pin map");
        pins.put(pin, new MapObj(new MapInfo(nextId++, spec.name(), spec.type().id, spec.keySize(),
                spec.valueSize(), spec.maxEntries(), spec.flags(), spec.btf().isPresent() ? 1 : 0), new HashMap<>()));
    }

    @Override
    public void update(Path pin, Collection<Entry> entries) {
        MapObj m = mutable(pin, "update map");
        for (Entry e : entries) {
            if (e.key().size() != m.info().keySize()) {
                throw KernelException.of("update map", pin.toString(), 22);
            }
            if (!m.entries().containsKey(e.key()) && m.entries().size() >= m.info().maxEntries()) {
                // as the kernel answers (6.18): an LPM trie ENOSPC, a hash map E2BIG
                boolean lpm = m.info().type() == dev.bpfgit.kernel.MapType.LPM_TRIE.id;
                throw KernelException.of("update map", pin.toString(), lpm ? 28 : 7);
            }
            m.entries().put(e.key(), e.value());
        }
    }

    @Override
    public void delete(Path pin, Collection<Bytes> keys) {
        MapObj m = mutable(pin, "delete from map");
        keys.forEach(m.entries()::remove);
    }

    @Override
    public void loadProgram(Path pin, ProgramSpec spec) {
        for (Map.Entry<String, Path> e : spec.maps().entrySet()) {
            need(e.getValue(), MapObj.class, "load program " + spec.program() + ": map " + e.getKey());
        }
        if (!dirs.contains(pin.getParent())) {
            throw KernelException.of("pin program", pin.toString(), 2);
        }
        String name = spec.program().length() > 15 ? spec.program().substring(0, 15) : spec.program();
        pins.put(pin, new ProgObj(new ProgramInfo(nextId++, name, spec.program().contains("xdp") ? 6 : 3,
                spec.object().sha256().substring(0, 16))));
    }

    @Override
    public void attach(Path linkPin, Path progPin, AttachPoint at) {
        ProgObj p = need(progPin, ProgObj.class, "attach");
        if (at instanceof AttachPoint.Cgroup c) {
            // a kernel with unknown cgroups (a plan without a state file) has every cgroup a policy names
            Long id = cgroups.isEmpty() ? Long.valueOf(c.path().hashCode() & 0x7fffffff) : cgroups.get(c.path());
            if (id == null) {
                throw KernelException.of("attach " + at.label(), linkPin.toString(), Errno.of(2), "no cgroup " + c.path());
            }
            checkFree(linkPin, "pin link");
            pins.put(linkPin, new LinkObj(new LinkInfo(nextId++, 3, p.info().id(), id.intValue(),
                    c.hook().attachType), at));
            attached.computeIfAbsent(at, k -> new ArrayList<>()).add(new AttachedProgram(p.info().id(), p.info().name()));
            return;
        }
        String ifname = at.ifname();
        if (at instanceof AttachPoint.Tcx && !features.has(Feature.TCX_LINK)) {
            throw Feature.TCX_LINK.notSupported("attach " + at.label() + " link", linkPin.toString());
        }
        Integer ifindex = interfaces.get(ifname);
        if (ifindex == null) {
            throw KernelException.of("attach " + at.label(), linkPin.toString(), Errno.of(19), "no interface " + ifname);
        }
        List<AttachedProgram> there = attached.computeIfAbsent(at, k -> new ArrayList<>());
        if (at instanceof AttachPoint.Xdp && !there.isEmpty()) {
            throw KernelException.of("attach " + at.label(), linkPin.toString(), 16);
        }
        checkFree(linkPin, "pin link");
        int type = switch (at) {
            case AttachPoint.Xdp x -> LinkInfo.TYPE_XDP;
            case AttachPoint.Tcx t -> LinkInfo.TYPE_TCX;
            case AttachPoint.LegacyTc t -> LinkInfo.TYPE_LEGACY_TC;
            case AttachPoint.Cgroup c -> throw new IllegalStateException("cgroup links are made above");
        };
        int attachType = switch (at) {
            case AttachPoint.Xdp x -> 37;
            case AttachPoint.Tcx t -> t.direction() == AttachPoint.Direction.INGRESS ? 46 : 47;
            case AttachPoint.Cgroup c -> c.hook().attachType;
            case AttachPoint.LegacyTc t -> t.direction() == AttachPoint.Direction.INGRESS ? 46 : 47;
        };
        pins.put(linkPin, new LinkObj(new LinkInfo(nextId++, type, p.info().id(), ifindex, attachType), at));
        there.add(new AttachedProgram(p.info().id(), p.info().name()));
    }

    @Override
    public void updateLink(Path linkPin, Path progPin, Optional<Integer> expectedProgId) {
        LinkObj l = need(linkPin, LinkObj.class, "update link");
        ProgObj p = need(progPin, ProgObj.class, "update link");
        if (expectedProgId.isPresent() && expectedProgId.get() != l.info().progId()) {
            throw KernelException.of("update link", linkPin.toString(), 1);
        }
        LinkInfo old = l.info();
        pins.put(linkPin, new LinkObj(new LinkInfo(old.id(), old.type(), p.info().id(), old.ifindex(),
                old.attachType()), l.at()));
        if (l.at() != null) {
            List<AttachedProgram> there = attached.get(l.at());
            there.replaceAll(a -> a.progId() == old.progId() ? new AttachedProgram(p.info().id(), p.info().name()) : a);
        }
    }

    @Override
    public void unpin(Path pin) {
        Obj o = pins.remove(pin);
        if (o instanceof LinkObj l && l.at() != null) {
            attached.getOrDefault(l.at(), new ArrayList<>()).removeIf(a -> a.progId() == l.info().progId());
        }
        if (o == null && dirs.contains(pin)) {
            boolean empty = pins.keySet().stream().noneMatch(p -> p.startsWith(pin))
                    && dirs.stream().noneMatch(d -> !d.equals(pin) && d.startsWith(pin));
            if (!empty) {
                throw KernelException.of("remove directory", pin.toString(), 39);
            }
            dirs.remove(pin);
        }
    }

    @Override
    public void rename(Path from, Path to) {
        Obj o = pins.remove(from);
        if (o == null) {
            throw KernelException.of("rename", from.toString(), 2);
        }
        pins.put(to, o);
    }

    @Override
    public TestRun testRun(Path progPin, byte[] packet, int repeat) {
        throw new KernelException.NotSupported("test run", progPin.toString(), Errno.of(95),
                "the in-memory kernel runs no programs", null, null);
    }

    /** For tests: what a foreign tool attached outside bpfgit. */
    public void attachForeign(AttachPoint at, int progId, String name) {
        attached.computeIfAbsent(at, k -> new ArrayList<>()).add(new AttachedProgram(progId, name));
    }

    /** For tests: the foreign tool detaches what it attached. */
    public void detachForeign(AttachPoint at, int progId) {
        attached.getOrDefault(at, new ArrayList<>()).removeIf(a -> a.progId() == progId);
    }

    /** For tests: change a map entry behind bpfgit's back. */
    public void tamper(Path pin, Bytes key, Bytes value) {
        mutable(pin, "tamper").entries().put(key, value);
    }

    // ---- sockets of other processes: a table the test fills, with the kernel's refusals

    /** For tests: a process with a pid file and the sockets it holds. */
    public void process(Path pidFile, int pid, List<Listener> sockets, boolean soReusePort) {
        if (pidFile != null) {
            pidFiles.put(pidFile, pid);
        }
        processes.put(pid, List.copyOf(sockets));
        sockets.forEach(l -> reusePort.put(l.inode(), soReusePort));
    }

    /** For tests: the process exits; its sockets leave every map and group. */
    public void exit(int pid) {
        List<Listener> gone = processes.remove(pid);
        if (gone == null) {
            return;
        }
        for (Listener l : gone) {
            reuseportPrograms.remove(l.inode());
            for (Obj o : pins.values()) {
                if (o instanceof MapObj m && m.info().type() == dev.bpfgit.kernel.MapType.SOCKMAP.id) {
                    m.entries().values().removeIf(v -> v.equals(cookieValue(l.inode())));
                }
            }
        }
    }

    /** For tests: as if bpfgit ran without CAP_SYS_PTRACE. */
    public void ptrace(boolean allowed) {
        this.ptrace = allowed;
    }

    /** The program attached to the group of the socket with this cookie, if any. */
    public Optional<Path> reuseportProgram(long cookie) {
        return Optional.ofNullable(reuseportPrograms.get(cookie));
    }

    @Override
    public int readPidFile(Path pidFile) {
        Integer pid = pidFiles.get(pidFile);
        if (pid == null) {
            throw KernelException.of("read pid file", pidFile.toString(), 2);
        }
        return pid;
    }

    @Override
    public List<Listener> listeners(int pid, SocketProtocol protocol, int port, Optional<InetAddress> address) {
        List<Listener> all = processes.get(pid);
        String what = protocol.name().toLowerCase() + " port " + port + " of pid " + pid;
        if (all == null) {
            throw KernelException.of("find sockets", what, Errno.of(2), "no process " + pid);
        }
        List<Listener> out = all.stream().filter(l -> l.protocol() == protocol && l.local().getPort() == port
                && address.map(a -> a.equals(l.local().getAddress())).orElse(true)).toList();
        if (out.isEmpty()) {
            throw KernelException.of("find sockets", what, Errno.of(2), "process " + pid + " has no such socket");
        }
        return out;
    }

    /** A memory host has one network namespace: {@code netns} names it. */
    @Override
    public List<Listener> listeners(int pid, SocketProtocol protocol, int port, Optional<InetAddress> address,
                                    Optional<Path> netns) {
        return listeners(pid, protocol, port, address);
    }

    @Override
    public List<Listener> boundSockets(SocketProtocol protocol, int port, Optional<InetAddress> address,
                                       Optional<Path> netns) {
        Map<Long, Listener> out = new java.util.TreeMap<>();
        processes.keySet().stream().sorted().forEach(pid -> processes.get(pid).stream()
                .filter(l -> l.protocol() == protocol && l.local().getPort() == port
                        && address.map(a -> a.equals(l.local().getAddress())).orElse(true))
                .forEach(l -> out.putIfAbsent(l.inode(), l)));
        return List.copyOf(out.values());
    }

    /** The cookies of the declared processes' sockets on the port (the inode doubles as the cookie). */
    @Override
    public Map<Long, Long> listenerCookies(SocketProtocol protocol, int port, Optional<Path> netns) {
        Map<Long, Long> out = new HashMap<>();
        processes.values().forEach(all -> all.stream().filter(l -> l.protocol() == protocol && l.local().getPort() == port)
                .forEach(l -> out.put(l.inode(), l.inode())));
        return out;
    }

    @Override
    public AdoptedSocket adopt(Listener listener) {
        if (!ptrace) {
            throw new KernelException.PermissionDenied("take a duplicate of socket (pidfd_getfd)", listener.label(),
                    Errno.of(1), "bpfgit needs CAP_SYS_PTRACE to take another process's sockets");
        }
        if (!processes.getOrDefault(listener.pid(), List.of()).contains(listener)) {
            throw KernelException.of("take a duplicate of socket (pidfd_getfd)", listener.label(), Errno.of(2),
                    "the process or socket is gone");
        }
        if (!reusePort.getOrDefault(listener.inode(), false)) {
            throw KernelException.of("adopt socket", listener.label(), Errno.of(22),
                    "the socket was bound without SO_REUSEPORT: the server must set it before bind()");
        }
        return new MemorySocket(listener);
    }

    private record MemorySocket(Listener listener) implements AdoptedSocket {
        @Override
        public long cookie() {
            return listener.inode();
        }

        @Override
        public void close() {
        }
    }

    private static Bytes cookieValue(long cookie) {
        return Bytes.wrap(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(cookie).array());
    }

    @Override
    public void putSocket(Path sockmap, int key, AdoptedSocket socket) {
        MapObj m = mutable(sockmap, "put socket into map");
        if (key < 0 || key >= m.info().maxEntries()) {
            throw KernelException.of("put socket into map", sockmap.toString(), 7);
        }
        m.entries().put(Bytes.wrap(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(key).array()),
                cookieValue(socket.cookie()));
    }

    @Override
    public SortedMap<Integer, Long> sockets(Path sockmap) {
        SortedMap<Integer, Long> out = new java.util.TreeMap<>();
        need(sockmap, MapObj.class, "look up socket in map").entries().forEach((k, v) ->
                out.put(ByteBuffer.wrap(k.toArray()).order(ByteOrder.LITTLE_ENDIAN).getInt(),
                        ByteBuffer.wrap(v.toArray()).order(ByteOrder.LITTLE_ENDIAN).getLong()));
        return out;
    }

    @Override
    public void attachReuseport(Path progPin, AdoptedSocket socket) {
        need(progPin, ProgObj.class, "open program");
        // one program per group: every member of the socket's process group on that port shares it
        groupOf(socket).forEach(inode -> reuseportPrograms.put(inode, progPin));
    }

    @Override
    public void detachReuseport(AdoptedSocket socket) {
        if (!reuseportPrograms.containsKey(socket.cookie())) {
            throw KernelException.of("detach the program of the reuseport group of", socket.listener().label(), 2);
        }
        groupOf(socket).forEach(reuseportPrograms::remove);
    }

    /** The inodes of every live socket bound where this one is. */
    private List<Long> groupOf(AdoptedSocket socket) {
        Listener s = socket.listener();
        return processes.values().stream().flatMap(List::stream)
                .filter(l -> l.protocol() == s.protocol() && l.local().equals(s.local()))
                .map(Listener::inode).toList();
    }

    // ---- BPF iterators: links are recorded; running one walks nothing, since this kernel has no sockets or tasks

    @Override
    public void attachIterator(Path linkPin, Path progPin) {
        ProgObj p = need(progPin, ProgObj.class, "attach iterator");
        checkFree(linkPin, "pin link");
        pins.put(linkPin, new LinkObj(new LinkInfo(nextId++, LinkInfo.TYPE_ITER, p.info().id(), 0, 28), null));
    }

    @Override
    public byte[] runIterator(Path iterPin, Optional<Path> netns) {
        Obj o = pins.get(iterPin);
        if (!(o instanceof LinkObj) && !(o instanceof ProgObj)) {
            throw KernelException.of("open iterator", iterPin.toString(), 2);
        }
        return new byte[0];
    }

    @Override
    public List<byte[]> runIterators(List<ProgramSpec> programs, Optional<Path> netns) {
        List<byte[]> out = new ArrayList<>();
        for (ProgramSpec spec : programs) {
            for (Map.Entry<String, Path> e : spec.maps().entrySet()) {
                need(e.getValue(), MapObj.class, "load program " + spec.program() + ": map " + e.getKey());
            }
            out.add(new byte[0]);
        }
        return out;
    }

    // ---- sockets by destination: what tests declare with connect(); a plan without a kernel sees none

    private final Map<Optional<Path>, List<dev.bpfgit.kernel.InetSocket>> connected = new HashMap<>();
    private final Map<Long, List<dev.bpfgit.kernel.SocketOwner>> owners = new HashMap<>();
    private final Map<String, java.util.Set<Long>> cgroupTrees = new HashMap<>();

    /** Declares a connected socket of a namespace and its owner. */
    public void connect(Optional<Path> netns, dev.bpfgit.kernel.InetSocket socket, dev.bpfgit.kernel.SocketOwner owner) {
        connected.computeIfAbsent(netns, k -> new ArrayList<>()).add(socket);
        owners.computeIfAbsent(socket.inode(), k -> new ArrayList<>()).add(owner);
    }

    /** Declares a cgroup and the ids of it and its descendants. */
    public void cgroup(String path, java.util.Set<Long> ids) {
        cgroupTrees.put(path, java.util.Set.copyOf(ids));
    }

    @Override
    public List<dev.bpfgit.kernel.InetSocket> connectedSockets(Optional<Path> netns) {
        return List.copyOf(connected.getOrDefault(netns, List.of()));
    }

    @Override
    public int[] destroySockets(Optional<Path> netns, List<dev.bpfgit.kernel.InetSocket> sockets) {
        List<dev.bpfgit.kernel.InetSocket> live = connected.getOrDefault(netns, new ArrayList<>());
        int[] out = new int[sockets.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = live.remove(sockets.get(i)) ? 0 : 2;
        }
        return out;
    }

    @Override
    public Map<Long, List<dev.bpfgit.kernel.SocketOwner>> socketOwners(Collection<Long> inodes) {
        Map<Long, List<dev.bpfgit.kernel.SocketOwner>> out = new HashMap<>();
        inodes.forEach(i -> {
            if (owners.containsKey(i)) {
                out.put(i, List.copyOf(owners.get(i)));
            }
        });
        return out;
    }

    @Override
    public java.util.Set<Long> cgroupIds(String cgroup) {
        java.util.Set<Long> ids = cgroupTrees.get(cgroup);
        if (ids != null) {
            return ids;
        }
        return Kernel.super.cgroupIds(cgroup);   // the cgroups of a state file
    }

    private final Map<String, byte[]> iteratorOutput = new HashMap<>();

    /** Declares what an iterator program writes when run with temporary maps (it runs no programs). */
    public void iteratorOutput(String program, String output) {
        iteratorOutput.put(program, output.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
    }

    /** It runs no programs: each writes what a test declared ({@link #iteratorOutput}), else nothing. */
    @Override
    public List<byte[]> runIterators(dev.bpfgit.kernel.ObjectFile object, List<String> programs,
                                     Map<String, dev.bpfgit.kernel.MapSource> maps, Optional<Path> netns) {
        maps.forEach((name, m) -> {
            if (m instanceof dev.bpfgit.kernel.MapSource.Pinned p) {
                need(p.pin(), MapObj.class, "load programs of " + object.name() + ": map " + name);
            }
        });
        return programs.stream().map(p -> iteratorOutput.getOrDefault(p, new byte[0])).toList();
    }
}
