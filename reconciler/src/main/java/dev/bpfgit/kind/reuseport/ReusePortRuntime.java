package dev.bpfgit.kind.reuseport;

import dev.bpfgit.compile.DesiredState;
import dev.bpfgit.compile.Unit;
import dev.bpfgit.kernel.AdoptedSocket;
import dev.bpfgit.kernel.Entry;
import dev.bpfgit.kernel.Kernel;
import dev.bpfgit.kernel.KernelException;
import dev.bpfgit.kernel.Listener;
import dev.bpfgit.kernel.ProgramInfo;
import dev.bpfgit.kind.PolicyKind;
import dev.bpfgit.kind.reuseport.ReusePortSpec.Member;
import dev.bpfgit.observe.Meta;
import dev.bpfgit.policy.Policy;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * Keeps each group's SOCKMAP holding its members' live listeners: finds each member's processes and their
 * listeners in the group's network namespace and fills the member's {@link ReusePortLayout#SLOTS} slots
 * round-robin with them, writing only slots that hold another socket (a restarted member), then attaches the
 * group's program through every socket it put (a socket may be in a new reuseport group). Which socket a slot
 * holds is told by cookies read with sock_diag; a duplicate (pidfd_getfd) is taken only to write or attach,
 * and closed right after: one held while its member dies keeps the dead listener open and in the group, and
 * its close, the last, resets every connection steered there meanwhile. A member without a process or listener is degraded, with the reason recorded as
 * {@code runtime/<unit>/<member index>} in the bookkeeping map for {@code status}; the other members still
 * apply. When no member has a listener the program is detached from what is left of the group (sockets of
 * other processes on the port), recorded as {@code runtime/<unit>/program}, and attached again as soon as a
 * member's listener returns.
 */
final class ReusePortRuntime implements PolicyKind.Runtime {
    private static final Logger LOG = LoggerFactory.getLogger(ReusePortRuntime.class);
    static final String ATTACHED = "attached";
    /** bpfgit's own network namespace: {@link dev.bpfgit.kernel.Kernel#listeners} reads it without entering. */
    static final Path OWN_NETNS = Path.of("/proc/self/ns/net");
    static final String DETACHED = "detached: no member has a listener";

    /** @param id the policy id ({@code ReusePortGroup/<name>}); @param label the unit's, for plan lines */
    private record Group(String id, String name, ReusePortSpec spec, Path dir, String label, Policy policy) {
        /** Where the member's process is named, e.g. {@code web.yaml:12}; empty without the policy. */
        String where(Member m) {
            return policy == null ? "" : " (" + dev.bpfgit.policy.UniqueNames.where(policy.at("/spec/members/"
                    + m.index() + "/process")) + ", /spec/members/" + m.index() + "/process)";
        }
    }

    private final Kernel kernel;
    private final Path root;
    private final ReusePortStats stats;
    private final List<Group> groups = new ArrayList<>();
    /** Per unit, the program id this runtime last attached: a replaced program is attached again. */
    private final Map<Path, Integer> attached = new HashMap<>();
    /** Per meta key, the state last written: the map is written only on a change. */
    private final Map<String, String> written = new HashMap<>();

    ReusePortRuntime(Kernel kernel, DesiredState enforced, String kind, ReusePortStats stats) {
        this.kernel = kernel;
        this.root = enforced.root();
        this.stats = stats;
        Map<String, Policy> byId = new HashMap<>();
        for (Policy p : enforced.policies()) {   // a loop: a lambda here was spun at every cold apply
            byId.put(p.id(), p);
        }
        for (Unit u : enforced.units()) {
            Policy p = byId.get(u.policies().getFirst());
            if (u.kind().equals(kind) && p != null) {
                groups.add(new Group(p.id(), p.name(), (ReusePortSpec) p.spec(), u.dir(), u.label(), p));
            }
        }
    }

    /**
     * The runtime of the groups pinned under {@code root}, as their rp_members maps record them: for a bpfgit
     * that applied a saved plan and holds no policies.
     */
    ReusePortRuntime(Kernel kernel, Path root, String kind, ReusePortStats stats) {
        this.kernel = kernel;
        this.root = root;
        this.stats = stats;
        Path dir = root.resolve(ReusePortCompiler.DIRECTORY);
        for (dev.bpfgit.kernel.Pin pin : kernel.pins(root)) {
            Path unit = pin.path().getParent();
            if (!pin.path().getFileName().toString().equals("rp_members") || unit == null
                    || !dir.equals(unit.getParent())) {
                continue;
            }
            Map<Long, String> entries = new HashMap<>();
            for (Entry e : kernel.entries(pin.path())) {
                entries.put(dev.bpfgit.compile.Le.u32(e.key().toArray(), 0), ReusePortLayout.text(e.value()));
            }
            try {
                ReusePortLayout.recorded(entries).ifPresent(r -> groups.add(new Group(kind + "/" + r.policyName(),
                        r.policyName(), r.spec(), unit, ReusePortCompiler.label(r.spec()), null)));
            } catch (RuntimeException e) {
                LOG.warn("ReusePortGroup in {}: its rp_members map cannot be read back: {}", unit, e.toString());
            }
        }
    }

    boolean isEmpty() {
        return groups.isEmpty();
    }

    @Override
    public void reconcile() {
        for (Group g : groups) {
            try {
                group(g);
            } catch (RuntimeException e) {
                LOG.warn("ReusePortGroup {}: {}", g.name(), e.getMessage());
            }
        }
    }

    /**
     * Per group a heading and per member its process and listeners, and whether the map holds those sockets
     * (their cookies read as a pass reads them, without duplicates) or a pass would put them there.
     */
    @Override
    public List<String> describe() {
        List<String> out = new ArrayList<>();
        for (Group g : groups) {
            ReusePortSpec s = g.spec();
            Path sockmap = g.dir().resolve("rp_sockets");
            boolean exists = kernel.mapInfo(sockmap).isPresent();
            SortedMap<Integer, Long> live = exists ? kernel.sockets(sockmap) : new java.util.TreeMap<>();
            Map<Long, Long> cookies = null;
            out.add(g.id() + " (" + g.label() + ") members:");
            for (Member m : s.members()) {
                String line;
                List<AdoptedSocket> adopted = new ArrayList<>();
                try {
                    List<Listener> found = listeners(s, m);
                    cookies = cookies == null ? cookies(s) : cookies;
                    boolean held = inMap(found, cookies, live, m);
                    if (!held) {
                        // as a pass that writes: duplicates tell a listener gone or without SO_REUSEPORT
                        adopted = adopt(found);
                        held = true;
                        for (int slot = 0; slot < ReusePortLayout.SLOTS; slot++) {
                            Long have = live.get(ReusePortLayout.slot(m.index(), slot));
                            held &= have != null && have == adopted.get(slot % adopted.size()).cookie();
                        }
                    }
                    line = labels(found) + ": " + (held ? "in the map" : "to be put in the map");
                } catch (Degraded | KernelException e) {
                    line = "degraded: " + e.getMessage() + g.where(m);
                } finally {
                    adopted.forEach(AdoptedSocket::close);
                }
                out.add("  " + m.index() + " " + m.name() + (m.drain() ? " (drain)" : "")
                        + (s.strategy() == ReusePortSpec.Strategy.WEIGHTED ? " weight " + m.weight() : "")
                        + ", " + m.process().describe() + ": " + line);
            }
        }
        return out;
    }

    static String metaKey(String unitRel, int member) {
        return Meta.RUNTIME + unitRel + "/" + member;
    }

    static String programKey(String unitRel) {
        return Meta.RUNTIME + unitRel + "/program";
    }

    /** The listeners bpfgit uses (at most one per slot), and how many it leaves out. */
    private static String labels(List<Listener> found) {
        int used = Math.min(found.size(), ReusePortLayout.SLOTS);
        return found.subList(0, used).stream().map(Listener::label).collect(Collectors.joining(", "))
                + (found.size() > used ? " (" + (found.size() - used) + " more not used: " + ReusePortLayout.SLOTS
                + " per member)" : "");
    }

    /**
     * Cookie by inode of the group's listeners in its namespace, read without duplicates; empty when the kernel
     * cannot tell (a pass then takes duplicates to read them, as before).
     */
    private Map<Long, Long> cookies(ReusePortSpec s) {
        try {
            return kernel.listenerCookies(s.protocol(), s.port(), Optional.of(netns(s)));
        } catch (RuntimeException e) {
            LOG.debug("ReusePortGroup on port {}: socket cookies: {}", s.port(), e.getMessage());
            return Map.of();
        }
    }

    /** The listeners {@link #adopt} would take (one per slot at most), without those closed meanwhile. */
    private static List<Listener> used(List<Listener> found, Map<Long, Long> cookies) {
        return found.subList(0, Math.min(found.size(), ReusePortLayout.SLOTS)).stream()
                .filter(l -> cookies.containsKey(l.inode())).toList();
    }

    /** Whether every slot of the member holds the socket a pass would put there, told by the cookies. */
    private static boolean inMap(List<Listener> found, Map<Long, Long> cookies, SortedMap<Integer, Long> live,
                                 Member m) {
        List<Listener> used = used(found, cookies);
        if (used.isEmpty()) {
            return false;
        }
        for (int slot = 0; slot < ReusePortLayout.SLOTS; slot++) {
            Long have = live.get(ReusePortLayout.slot(m.index(), slot));
            if (have == null || have.longValue() != cookies.get(used.get(slot % used.size()).inode())) {
                return false;
            }
        }
        return true;
    }

    /** Duplicates of the listeners (one per slot at most); a listener closed meanwhile is skipped. */
    private List<AdoptedSocket> adopt(List<Listener> found) {
        List<AdoptedSocket> out = new ArrayList<>();
        KernelException gone = null;
        try {
            for (Listener l : found.subList(0, Math.min(found.size(), ReusePortLayout.SLOTS))) {
                try {
                    out.add(kernel.adopt(l));
                } catch (KernelException.NotFound e) {
                    gone = e;
                }
            }
        } catch (RuntimeException e) {
            out.forEach(AdoptedSocket::close);
            throw e;
        }
        if (out.isEmpty()) {
            throw gone;
        }
        return out;
    }

    private void group(Group g) {
        ReusePortSpec s = g.spec();
        String policy = g.id();
        Path dir = g.dir();
        Path sockmap = dir.resolve("rp_sockets");
        Path prog = dir.resolve("prog");
        var info = kernel.programInfo(prog);
        if (info.isEmpty() || kernel.mapInfo(sockmap).isEmpty()) {
            return;   // the unit failed to apply: its failure is recorded already
        }
        int progId = info.map(ProgramInfo::id).get();
        // a new program, a first pass, or a group that lost its program: attach through every member socket
        boolean attachAll = !Objects.equals(attached.get(dir), progId);
        SortedMap<Integer, Long> live = kernel.sockets(sockmap);
        String rel = root.relativize(dir).toString();
        List<Entry> meta = new ArrayList<>();
        int serving = 0;
        Map<Long, Long> cookies = null;
        for (Member m : s.members()) {
            String state;
            List<AdoptedSocket> adopted = new ArrayList<>();
            try {
                List<Listener> found = listeners(s, m);
                cookies = cookies == null ? cookies(s) : cookies;
                if (!attachAll && inMap(found, cookies, live, m)) {
                    // the steady state: the map holds this member's listeners, and no duplicate is taken
                    serving++;
                    state = m.name() + " ok " + labels(found);
                    stats.state(policy, m.name(), false);
                    String now = state;
                    record(meta, metaKey(rel, m.index()), now, () -> { });
                    continue;
                }
                // a slot to write or a group to attach to: duplicates, each closed right after (finally)
                adopted = adopt(found);
                Set<Long> before = new HashSet<>();
                List<AdoptedSocket> put = new ArrayList<>();
                for (int slot = 0; slot < ReusePortLayout.SLOTS; slot++) {
                    int key = ReusePortLayout.slot(m.index(), slot);
                    Long have = live.get(key);
                    if (have != null) {
                        before.add(have);
                    }
                    AdoptedSocket a = adopted.get(slot % adopted.size());
                    if (have == null || have != a.cookie()) {
                        kernel.putSocket(sockmap, key, a);
                        if (!put.contains(a)) {
                            put.add(a);
                        }
                    }
                }
                // counted once in the map, before the attach that lets connections reach them: a scrape that
                // follows the first connection to a member counts its socket
                int fresh = (int) put.stream().filter(a -> !before.contains(a.cookie())).count();
                if (fresh > 0) {
                    stats.adopted(policy, m.name(), fresh);
                }
                for (AdoptedSocket a : attachAll ? adopted : put) {
                    kernel.attachReuseport(prog, a);
                }
                if (fresh > 0) {
                    LOG.info("ReusePortGroup {}: member {} now {}", g.name(), m.name(), labels(found));
                }
                serving++;
                state = m.name() + " ok " + labels(found);
                stats.state(policy, m.name(), false);
            } catch (Degraded | KernelException e) {
                state = m.name() + " degraded " + e.getMessage();
                stats.state(policy, m.name(), true);
            } finally {
                adopted.forEach(AdoptedSocket::close);
            }
            String now = state;
            record(meta, metaKey(rel, m.index()), now, () -> {
                if (now.startsWith(m.name() + " degraded ")) {
                    LOG.warn("ReusePortGroup {}: member {}{}", g.name(), now, g.where(m));
                }
            });
        }
        String program;
        if (serving > 0) {
            attached.put(dir, progId);
            program = ATTACHED;
        } else {
            if (attached.remove(dir) != null) {
                detachFromTheRest(g, s);
            }
            program = DETACHED;
        }
        record(meta, programKey(rel), program, () -> LOG.info("ReusePortGroup {}: program {}", g.name(),
                program));
        // members removed from the group: their keys would still select a socket
        int used = ReusePortLayout.slot(s.members().size(), 0);
        List<dev.bpfgit.kernel.Bytes> stale = live.keySet().stream().filter(k -> k >= used)
                .map(ReusePortLayout::key).toList();
        if (!stale.isEmpty()) {
            kernel.delete(sockmap, stale);
        }
        if (!meta.isEmpty()) {
            Path metaPin = Meta.pin(root);
            if (kernel.mapInfo(metaPin).isPresent()) {
                kernel.update(metaPin, meta);
            }
        }
    }

    private void record(List<Entry> meta, String key, String state, Runnable onChange) {
        if (!state.equals(written.get(key))) {
            onChange.run();
            meta.addAll(Meta.encode(key, Meta.fit(state)));
            written.put(key, state);
        }
    }

    /**
     * Every member's listener is gone, but the reuseport group lives on while another process (one the policy
     * does not name) still has a socket on the port: detached, the program no longer picks (nor counts) for
     * sockets bpfgit does not manage. Without such a socket the group, and its program, are gone already.
     */
    private void detachFromTheRest(Group g, ReusePortSpec s) {
        detach(kernel, g.name(), s, "no member has a listener");
    }

    /** Detaches the program from every reuseport group on the spec's port (each socket there is tried). */
    static void detach(Kernel kernel, String group, ReusePortSpec s, String why) {
        for (Listener l : kernel.boundSockets(s.protocol(), s.port(), s.address(), Optional.of(netns(s)))) {
            try (AdoptedSocket a = kernel.adopt(l)) {
                kernel.detachReuseport(a);
                LOG.info("ReusePortGroup {}: {}; program detached from the group of {}", group, why, l.label());
            } catch (KernelException e) {
                // another socket of a group already detached, or gone meanwhile
                LOG.debug("ReusePortGroup {}: detach through {}: {}", group, l.label(), e.getMessage());
            }
        }
    }

    /** Before the unit is removed: its program leaves the members' groups, which bpfgit no longer steers. */
    static void release(Kernel kernel, Path unitDir) {
        Path members = unitDir.resolve("rp_members");
        if (kernel.mapInfo(members).isEmpty()) {
            return;
        }
        Map<Long, String> entries = new HashMap<>();
        for (Entry e : kernel.entries(members)) {
            entries.put(dev.bpfgit.compile.Le.u32(e.key().toArray(), 0), ReusePortLayout.text(e.value()));
        }
        ReusePortLayout.recorded(entries).ifPresent(r -> detach(kernel, r.policyName(), r.spec(),
                "the group is removed"));
    }

    /** Why a member has no socket in the map. */
    static final class Degraded extends RuntimeException {
        Degraded(String message) {
            super(message, null, false, false);
        }
    }

    private List<Listener> listeners(ReusePortSpec s, Member m) {
        if (s.netns().isPresent() && !Files.exists(Path.of(s.netns().get()))) {
            throw new Degraded("netns " + s.netns().get() + " does not exist");
        }
        List<Integer> pids = pids(m.process());
        if (pids.isEmpty()) {
            throw new Degraded(m.process().describe() + ": no process");
        }
        List<Listener> found = new ArrayList<>();
        List<Integer> gone = new ArrayList<>();
        for (int pid : pids) {
            try {
                found.addAll(kernel.listeners(pid, s.protocol(), s.port(), s.address(), Optional.of(netns(s))));
            } catch (KernelException.NotFound e) {
                // this process has none (or just ended); another of the member's may
                if (e.getMessage().endsWith("no process " + pid)) {
                    gone.add(pid);
                }
            }
        }
        if (found.isEmpty() && gone.size() == pids.size()) {
            throw new Degraded("no process " + gone.stream().map(String::valueOf).collect(Collectors.joining(", "))
                    + (m.process() instanceof ReusePortSpec.PidFile f ? " (the pid in pidFile " + f.path() + ")" : ""));
        }
        if (found.isEmpty()) {
            throw new Degraded("no " + s.protocol().name().toLowerCase() + " listener on "
                    + s.address().map(a -> (a.getHostAddress().contains(":") ? "[" + Listener.host(a) + "]"
                    : a.getHostAddress()) + ":").orElse("port ") + s.port()
                    + s.netns().map(n -> " in netns " + n).orElse(" in bpfgit's network namespace") + " in pid "
                    + pids.stream().map(String::valueOf).collect(Collectors.joining(", ")));
        }
        return found;
    }

    private List<Integer> pids(ReusePortSpec.Process process) {
        return switch (process) {
            case ReusePortSpec.PidFile f -> {
                try {
                    yield List.of(kernel.readPidFile(f.path()));
                } catch (KernelException.NotFound e) {
                    throw new Degraded("pidFile " + f.path() + " is missing");
                } catch (KernelException e) {
                    throw new Degraded("pidFile " + f.path() + ": " + e.getMessage());
                }
            }
            case ReusePortSpec.Cgroup c -> cgroup(c.path());
            case ReusePortSpec.Command c -> command(c);
        };
    }

    /**
     * Where the group's listeners are: its {@code netns}, else bpfgit's own namespace (design §3: the host's),
     * so that a process found by cgroup or command in another namespace, with a socket on the same port there,
     * is not taken into this group.
     */
    static Path netns(ReusePortSpec s) {
        return s.netns().map(Path::of).orElse(OWN_NETNS);
    }

    static Path cgroupRoot() {
        Path unified = Path.of("/sys/fs/cgroup/unified");
        return Files.isDirectory(unified) ? unified : Path.of("/sys/fs/cgroup");
    }

    private static List<Integer> cgroup(String path) {
        Path procs = cgroupRoot().resolve(path.substring(1)).resolve("cgroup.procs");
        try {
            return Files.readAllLines(procs).stream().filter(l -> !l.isBlank()).map(Integer::parseInt).sorted().toList();
        } catch (IOException e) {
            throw new Degraded("cgroup " + path + ": cannot read " + procs + " (" + e.getClass().getSimpleName() + ")");
        }
    }

    private static List<Integer> command(ReusePortSpec.Command c) {
        TreeSet<Integer> pids = new TreeSet<>();
        long self = ProcessHandle.current().pid();
        try (DirectoryStream<Path> procs = Files.newDirectoryStream(Path.of("/proc"), "[0-9]*")) {
            for (Path p : procs) {
                int pid = Integer.parseInt(p.getFileName().toString());
                if (pid == self) {
                    continue;
                }
                try {
                    byte[] raw = Files.readAllBytes(p.resolve("cmdline"));
                    String cmdline = new String(raw, StandardCharsets.UTF_8).replace('\0', ' ').strip();
                    if (!cmdline.isEmpty() && c.regex().matcher(cmdline).find()) {
                        pids.add(pid);
                    }
                } catch (IOException e) {
                    // ended meanwhile
                }
            }
        } catch (IOException e) {
            throw new Degraded("command: cannot list /proc (" + e.getMessage() + ")");
        }
        return List.copyOf(pids);
    }
}
