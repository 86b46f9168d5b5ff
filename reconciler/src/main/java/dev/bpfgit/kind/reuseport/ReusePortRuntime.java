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
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SortedMap;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * Keeps each group's SOCKMAP holding its members' live listeners: finds each member's process and listener,
 * takes a duplicate, and writes it at the member's key only when the map holds another socket (a restarted
 * member), then (re)attaches the group's program. A member without a process or listener is degraded, with
 * the reason recorded as {@code runtime/<unit>/<member index>} in the bookkeeping map for {@code status}; the
 * other members still apply.
 */
final class ReusePortRuntime implements PolicyKind.Runtime {
    private static final Logger LOG = LoggerFactory.getLogger(ReusePortRuntime.class);

    private record Group(Policy policy, Unit unit) {
    }

    private final Kernel kernel;
    private final Path root;
    private final List<Group> groups = new ArrayList<>();
    /** Per unit, the program id this runtime last attached: a replaced program is attached again. */
    private final Map<Path, Integer> attached = new HashMap<>();
    /** Per meta key, the state last written: the map is written only on a change. */
    private final Map<String, String> written = new HashMap<>();

    ReusePortRuntime(Kernel kernel, DesiredState enforced, String kind) {
        this.kernel = kernel;
        this.root = enforced.root();
        Map<String, Policy> byId = new HashMap<>();
        enforced.policies().forEach(p -> byId.put(p.id(), p));
        for (Unit u : enforced.units()) {
            if (u.kind().equals(kind) && byId.containsKey(u.policies().getFirst())) {
                groups.add(new Group(byId.get(u.policies().getFirst()), u));
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
                LOG.warn("ReusePortGroup {}: {}", g.policy().name(), e.getMessage());
            }
        }
    }

    /**
     * Per group a heading and per member its process and listener, and whether the map holds that socket
     * (taking a duplicate to read its cookie, as a pass would) or a pass would put it there.
     */
    @Override
    public List<String> describe() {
        List<String> out = new ArrayList<>();
        for (Group g : groups) {
            ReusePortSpec s = (ReusePortSpec) g.policy().spec();
            Path sockmap = g.unit().dir().resolve("rp_sockets");
            boolean exists = kernel.mapInfo(sockmap).isPresent();
            SortedMap<Integer, Long> live = exists ? kernel.sockets(sockmap) : new java.util.TreeMap<>();
            out.add(g.policy().id() + " (" + g.unit().label() + ") members:");
            for (Member m : s.members()) {
                String line;
                try {
                    List<Listener> found = listeners(s, m);
                    String where;
                    try (AdoptedSocket a = kernel.adopt(found.getFirst())) {
                        Long have = live.get(m.index());
                        where = have != null && have == a.cookie() ? "in the map" : "to be put in the map";
                    }
                    line = found.stream().map(Listener::label).collect(Collectors.joining(", ")) + ": " + where;
                } catch (Degraded | KernelException e) {
                    line = "degraded: " + e.getMessage();
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

    private void group(Group g) {
        ReusePortSpec s = (ReusePortSpec) g.policy().spec();
        Path dir = g.unit().dir();
        Path sockmap = dir.resolve("rp_sockets");
        Path prog = dir.resolve("prog");
        var info = kernel.programInfo(prog);
        if (info.isEmpty() || kernel.mapInfo(sockmap).isEmpty()) {
            return;   // the unit failed to apply: its failure is recorded already
        }
        int progId = info.map(ProgramInfo::id).get();
        boolean attach = !Objects.equals(attached.get(dir), progId);
        SortedMap<Integer, Long> live = kernel.sockets(sockmap);
        String rel = root.relativize(dir).toString();
        List<Entry> meta = new ArrayList<>();
        for (Member m : s.members()) {
            String state;
            try {
                List<Listener> found = listeners(s, m);
                Listener l = found.getFirst();
                try (AdoptedSocket a = kernel.adopt(l)) {
                    Long have = live.get(m.index());
                    if (have == null || have != a.cookie()) {
                        kernel.putSocket(sockmap, m.index(), a);
                        LOG.info("ReusePortGroup {}: member {} now {}", g.policy().name(), m.name(), l.label());
                        attach = true;
                    }
                    if (attach) {
                        kernel.attachReuseport(prog, a);
                        attached.put(dir, progId);
                        attach = false;
                    }
                }
                state = m.name() + " ok " + found.stream().map(Listener::label).collect(Collectors.joining(", "));
            } catch (Degraded | KernelException e) {
                state = m.name() + " degraded " + e.getMessage();
            }
            String key = metaKey(rel, m.index());
            if (!state.equals(written.get(key))) {
                if (state.contains(" degraded ")) {
                    LOG.warn("ReusePortGroup {}: member {}", g.policy().name(), state);
                }
                meta.addAll(Meta.encode(key, Meta.fit(state)));
                written.put(key, state);
            }
        }
        // members removed from the group: their keys would still select a socket
        List<dev.bpfgit.kernel.Bytes> stale = live.keySet().stream().filter(k -> k >= s.members().size())
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

    /** Why a member has no socket in the map. */
    static final class Degraded extends RuntimeException {
        Degraded(String message) {
            super(message, null, false, false);
        }
    }

    private List<Listener> listeners(ReusePortSpec s, Member m) {
        List<Integer> pids = pids(m.process());
        if (pids.isEmpty()) {
            throw new Degraded(m.process().describe() + ": no process");
        }
        List<Listener> found = new ArrayList<>();
        for (int pid : pids) {
            try {
                found.addAll(kernel.listeners(pid, s.protocol(), s.port(), s.address()));
            } catch (KernelException.NotFound e) {
                // this process has none (or just ended); another of the member's may
            }
        }
        if (found.isEmpty()) {
            throw new Degraded("no " + s.protocol().name().toLowerCase() + " listener on "
                    + s.address().map(a -> a.getHostAddress() + ":").orElse("port ") + s.port() + " in pid "
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
